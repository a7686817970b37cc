"""The Qt application in a ``kiosk`` command: made once, in our language, torn down in
order.

Every command that needs Qt (the windows, the PDFs) gets the application from
:func:`ensure_gui_app` (the window, the office and the demo through kiosk/ui/app.py);
``kiosk.cli.main`` calls :func:`end_gui_app` when the command is over, so the widgets,
painters and writers are gone before the application, and the application before the
interpreter starts tearing modules down (where the order is left to chance).
:func:`quit_on_signals` lets SIGTERM/SIGINT (the kiosk laptop being shut down, Ctrl+C)
end the event loop normally instead of killing the process. Each application gets
Qt's translations (:func:`qt_translations`), so that Qt's own buttons and dialogs
(Yes/No, Cancel, the file dialog) speak the language of the rest of the program.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import signal
import socket
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib.resources import as_file
from types import FrameType

from PySide6.QtCore import (
    QCoreApplication,
    QEvent,
    QLibraryInfo,
    QLocale,
    QSocketNotifier,
    QTimer,
    QTranslator,
)
from PySide6.QtWidgets import QApplication

from kiosk.core.i18n import RESOURCES, language

log = logging.getLogger("kiosk.ui")

QUIT_SIGNALS = (signal.SIGINT, signal.SIGTERM)

QT_CATALOGUES = ("qtbase",)  # Qt's own strings (buttons, message boxes, file dialogs)
_installed: list[QTranslator] = []


def qt_translations(app: QCoreApplication, lang: str | None = None) -> list[str]:
    """Install Qt's catalogues for ``lang`` (default: the current language) into ``app``,
    replacing those installed before; the names loaded (none for English)."""
    lang = lang or language()
    for old in _installed:
        app.removeTranslator(old)
    _installed.clear()
    if lang == "en":
        return []
    folder = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
    loaded = []
    for name in QT_CATALOGUES:
        translator = QTranslator(app)
        if translator.load(QLocale(lang), name, "_", folder):
            app.installTranslator(translator)
            _installed.append(translator)
            loaded.append(name)
        else:
            log.info("Qt's %s translation for %s not found in %s", name, lang, folder)
    return loaded


def ensure_gui_app(*, offscreen: bool = True) -> QCoreApplication:
    """The running Qt application, or a new one (offscreen by default, for printing).

    A ``QApplication`` (not a bare ``QGuiApplication``) so that the window, the test
    harness or a print dialog can share it later in the same process.
    """
    app = QApplication.instance()
    if app is not None:
        return app
    argv = [sys.argv[0] if sys.argv else "kiosk"]
    if offscreen:
        argv += ["-platform", "offscreen"]
    app = QApplication(argv)
    qt_translations(app)
    add_bundled_fonts()
    return app


def add_bundled_fonts() -> list[str]:
    """Where no installed font writes Chinese, the fonts a built Gatepass carries
    (``kiosk/resources/fonts``, put there by packaging/gatepass.spec; none in a source
    checkout, where the system's fonts are used). The families added."""
    from PySide6.QtGui import QFontDatabase

    if QFontDatabase.families(QFontDatabase.WritingSystem.SimplifiedChinese):
        return []
    folder = RESOURCES / "fonts"
    added: list[str] = []
    if not folder.is_dir():
        log.warning("no font here writes Chinese, and none is bundled")
        return added
    for font in folder.iterdir():
        with contextlib.suppress(OSError):
            with as_file(font) as path:
                found = QFontDatabase.addApplicationFont(str(path))
            if found >= 0:
                added += QFontDatabase.applicationFontFamilies(found)
    log.info("no installed font writes Chinese: using the bundled %s", added)
    return added


def end_gui_app() -> None:
    """Tear the process's Qt application down, if there is one: close and delete the
    windows, run the deferred deletions, collect Python's garbage (painters, writers,
    wrappers) while Qt is still whole, then delete the application itself."""
    app = QCoreApplication.instance()
    if app is None:
        return
    if isinstance(app, QApplication):
        for widget in QApplication.topLevelWidgets():
            widget.close()
            widget.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    QCoreApplication.processEvents()
    gc.collect()
    app.shutdown()  # deletes the C++ application now, not at interpreter exit
    del app
    gc.collect()


def _exit_loops() -> None:
    QCoreApplication.exit(0)  # every running event loop; quit() only app.exec()'s


@dataclass
class Stopped:
    """Which signal ended the event loop (None: none did)."""

    signum: int | None = None


@contextlib.contextmanager
def quit_on_signals(
    app: QCoreApplication, quit: Callable[[], None] | None = None
) -> Iterator[Stopped]:
    """Within the block, SIGTERM and SIGINT call ``quit`` from the event loop (default:
    ``QCoreApplication.exit(0)``, which ends a dialog's ``exec()`` too, unlike
    ``quit()``), so the program ends the way its window's "Exit" would. The
    :class:`Stopped` yielded tells which signal came.

    Python runs a signal handler only between two bytecodes, never while Qt's event
    loop waits in C++: the C-level handler writes to a socket (``signal.set_wakeup_fd``)
    that a ``QSocketNotifier`` watches, and its slot gives Python the moment to run it.
    """
    reader, writer = socket.socketpair()
    reader.setblocking(False)
    writer.setblocking(False)
    notifier = QSocketNotifier(reader.fileno(), QSocketNotifier.Type.Read)

    def drain() -> None:
        with contextlib.suppress(OSError):
            reader.recv(64)  # the Python handler runs as this slot's bytecode runs

    stopped = Stopped()

    def handler(signum: int, frame: FrameType | None) -> None:
        stopped.signum = signum
        QTimer.singleShot(0, quit or _exit_loops)  # also when the loop has yet to start

    notifier.activated.connect(drain)
    previous_fd = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    previous = {signum: signal.signal(signum, handler) for signum in QUIT_SIGNALS}
    try:
        yield stopped
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
        signal.set_wakeup_fd(previous_fd)
        notifier.setEnabled(False)
        notifier.deleteLater()
        reader.close()
        writer.close()
