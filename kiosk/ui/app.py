"""Starting the kiosk window: ``run_window()`` (``kiosk run``, ``kiosk demo``) and the
office on its own (``run_office()``, ``kiosk office``); both run inside the same crash
hook (:func:`crash_hook`) and tell of a native crash of the run before
(:func:`show_crash_notice`)."""

from __future__ import annotations

import functools
import logging
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType

from PySide6.QtCore import QEvent, QMessageLogContext, Qt, QTimer, QtMsgType, qInstallMessageHandler
from PySide6.QtWidgets import QApplication, QMessageBox, QProgressDialog, QWidget

from kiosk.core.errors import EnvironmentFault
from kiosk.core.i18n import set_language, tr
from kiosk.home import Home
from kiosk.logs import log_file, previous_crash
from kiosk.settings import Settings, move_pin_hash_out
from kiosk.store.anchors import check_log, damage_hint
from kiosk.store.checkpoint import checkpoint_id
from kiosk.store.db import connect
from kiosk.store.pin_lock import adopt_pin_hash
from kiosk.ui.dialogs.unlock import unlock_database
from kiosk.ui.main_window import MainWindow
from kiosk.ui.ops import DbWorker
from kiosk.ui.qt_app import ensure_gui_app, qt_translations, quit_on_signals
from kiosk.ui.theme import apply_theme, theme_for, ui_font

log = logging.getLogger("kiosk.ui")
qt_log = logging.getLogger("kiosk.qt")

_QT_LEVELS = {
    QtMsgType.QtDebugMsg: logging.DEBUG,
    QtMsgType.QtInfoMsg: logging.INFO,
    QtMsgType.QtWarningMsg: logging.WARNING,
    QtMsgType.QtCriticalMsg: logging.ERROR,
    QtMsgType.QtFatalMsg: logging.CRITICAL,
}


def _qt_message(kind: QtMsgType, context: QMessageLogContext, message: str) -> None:
    qt_log.log(_QT_LEVELS.get(kind, logging.WARNING), "%s (%s)", message, context.category)


def install_qt_logging() -> None:
    """Route Qt's own messages into Python logging (``kiosk.qt``)."""
    qInstallMessageHandler(_qt_message)


def _excepthook(
    kind: type[BaseException],
    value: BaseException,
    tb: TracebackType | None,
    *,
    office: bool = False,
) -> None:
    log.critical("unexpected error:\n%s", "".join(traceback.format_exception(kind, value, tb)))
    app = QApplication.instance()
    if app is None or QApplication.platformName() == "offscreen":
        return
    if office:
        text = tr(
            "Something went wrong inside Gatepass (our fault). The office keeps running. "
            "Details are in {log}.",
            log=log_file(),
        )
    else:
        text = tr(
            "Something went wrong inside Gatepass (our fault). The gate keeps running. "
            "Details are in {log}.",
            log=log_file(),
        )
    QMessageBox.critical(None, tr("Gatepass"), text)


@contextmanager
def crash_hook(*, office: bool = False) -> Iterator[None]:
    """While inside, a Python error no code caught (a slot, a relayed callback) is
    logged with its traceback and told in a box, and the window keeps running. The gate
    window (``run_window``) and the office (``run_office``) both run inside one; a
    native crash is ``faulthandler``'s (``kiosk.logs``)."""
    previous = sys.excepthook
    sys.excepthook = functools.partial(_excepthook, office=office)
    try:
        yield
    finally:
        sys.excepthook = previous


def show_crash_notice(parent: QWidget, home: Home) -> QMessageBox | None:
    """If the run before this one on ``home`` crashed natively (found by
    ``kiosk.logs.setup_logging``), say so once, when, and where the trace is: a box
    over ``parent`` that blocks nothing (the gate keeps deciding behind it)."""
    crash = previous_crash()
    if crash is None or crash.path.parent != home.logs_dir:
        return None
    box = QMessageBox(
        QMessageBox.Icon.Warning,
        tr("Gatepass"),
        tr(
            "Gatepass stopped unexpectedly at {when} (a crash) and has been started "
            "again. For the technician, the details are in {path}.",
            when=crash.time_text(),
            path=crash.path,
        ),
        QMessageBox.StandardButton.Ok,
        parent,
    )
    box.setWindowModality(Qt.WindowModality.NonModal)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.show()
    return box


def show_notice(parent: QWidget, title: str, text: str) -> QMessageBox:
    """A warning box over ``parent`` that blocks nothing."""
    box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok, parent)
    box.setWindowModality(Qt.WindowModality.NonModal)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.show()
    return box


def build_window(
    home: Home,
    *,
    camera: str | None = None,
    demo: bool = False,
    sound: bool = True,
    theme: str | None = None,
) -> MainWindow:
    """The main window on ``home`` (not yet started); needs a QApplication."""
    settings = Settings.load(home.settings_file)
    return MainWindow(
        home,
        settings,
        camera=camera if camera is not None else settings.camera,
        demo=demo,
        sound=sound,
        theme=theme,
    )


def has_screen() -> bool:
    """Whether Qt can open a window here: always but on a Linux machine with neither a
    display nor a platform named (QT_QPA_PLATFORM)."""
    if not sys.platform.startswith("linux"):
        return True
    return any(os.environ.get(v) for v in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"))


def require_screen() -> None:
    """A clear error, not Qt's abort, on a Linux machine with no display at all."""
    if QApplication.instance() is not None or has_screen():
        return
    raise EnvironmentFault(
        tr(
            "No screen found (DISPLAY is not set). Run on the laptop's desktop, or use "
            "'kiosk demo --headless' / 'kiosk gate' without a window."
        )
    )


def _application(lang: str | None, settings: Settings) -> QApplication:
    set_language(lang or settings.language or None)
    install_qt_logging()
    app = ensure_gui_app(offscreen=False)
    assert isinstance(app, QApplication)
    app.setApplicationName("Gatepass")
    qt_translations(app)
    return app


@contextmanager
def preparing(
    home: Home, text: str, *, lang: str | None = None
) -> Iterator[Callable[[float], None]]:
    """A small window with a progress bar, shown at once, while slow set-up runs on
    this thread (``kiosk demo`` making its video); yields the function that moves the
    bar (0 to 1). The window closes after; the application stays for the next one."""
    require_screen()
    app = _application(lang, Settings.load(home.settings_file))
    app.setFont(ui_font(14))  # Qt's plain look: legible by day and night
    dialog = QProgressDialog(text, "", 0, 100)
    dialog.setWindowTitle(tr("Gatepass"))
    dialog.setCancelButton(None)
    dialog.setMinimumDuration(0)
    dialog.setWindowModality(Qt.WindowModality.ApplicationModal)
    dialog.setMinimumWidth(520)
    dialog.show()
    app.processEvents()
    shown = [-1]

    def advance(done: float) -> None:
        value = round(done * 100)
        if value != shown[0]:
            shown[0] = value
            dialog.setValue(value)
            app.processEvents()

    try:
        yield advance
    finally:
        dialog.close()
        dialog.deleteLater()
        QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def adopt_settings_pin(home: Home, actor: str) -> None:
    """At start, before any window: the checkpoint is opened (a damaged one refused:
    the workers' connections do not check) and an older home's admin PIN hash moved
    from settings.toml into the database (docs/security.md)."""
    db = connect(home.database, check=True)
    try:
        move_pin_hash_out(home.settings_file, lambda legacy: adopt_pin_hash(db, legacy, actor))
    finally:
        db.close()


def run_office(home: Home, *, lang: str | None = None) -> int:
    """The office window on its own (``kiosk office``), after the admin PIN."""
    from kiosk.ui.dialogs.pin import PinDialog
    from kiosk.ui.office.window import OfficeWindow

    require_screen()
    settings = Settings.load(home.settings_file)
    app = _application(lang, settings)
    apply_theme(app, "day")
    if not unlock_database(home):
        return 1
    adopt_settings_pin(home, "office")  # (a damaged database refused here)
    db = connect(home.database)
    try:
        damage = check_log(db, home, checkpoint_id(db))  # the visit log (docs/chain.md)
    finally:
        db.close()
    told = ""
    if damage.damaged:
        told = "\n\n".join([*damage.messages(), damage_hint()])
        log.warning("visit log: %s", " ".join(damage.messages()))
        print(told, file=sys.stderr)
    # SIGTERM (shutdown), Ctrl+C: a normal end
    with crash_hook(office=True), quit_on_signals(app) as stopped:
        worker = DbWorker(home.database, name="kiosk-office-pin")  # the lock is on disk
        try:
            pin = PinDialog(worker, actor="office")
            accepted = pin.exec() == PinDialog.DialogCode.Accepted
        finally:
            worker.close()
        if not accepted:
            return 0 if stopped.signum else 1
        window = OfficeWindow(home, settings)
        window.resize(1366, 768)
        window.show()
        show_crash_notice(window, home)
        if told:
            show_notice(window, tr("Visit log"), told)
        try:
            return int(app.exec())
        finally:
            window.shut()


def start_shift(window: MainWindow, *, demo: bool, guard: str | None) -> None:
    """Who is on duty, at start: ``guard`` signed in, else the sign-in dialog as soon as
    the window is on screen. Not in the demo, which runs unattended."""
    if demo:
        return
    from kiosk.ui.dialogs import shift

    if guard:
        shift.sign_in(window, guard)
    else:
        QTimer.singleShot(0, window.open_shift)


def run_window(
    home: Home,
    *,
    camera: str | None = None,
    demo: bool = False,
    windowed: bool = False,
    lang: str | None = None,
    guard: str | None = None,
) -> int:
    """Show the gate window until it is closed; the exit code of the Qt event loop.

    The guard on duty is ``guard``, else asked for as the window opens (the shift
    sign-in); not in the unattended demo."""
    require_screen()
    settings = Settings.load(home.settings_file)
    app = _application(lang, settings)
    theme = theme_for(settings.theme)
    apply_theme(app, theme)
    if not unlock_database(home, camera=camera if camera is not None else settings.camera):
        return 1
    adopt_settings_pin(home, "window")
    settings = Settings.load(home.settings_file)  # (without an older home's PIN hash)
    with crash_hook():
        window = build_window(home, camera=camera, demo=demo, theme=theme)
        window.install_scanner()
        if windowed:
            window.resize(1366, 768)
            window.show()
        else:
            window.kiosk_mode = True
            window.showFullScreen()
        window.start()
        show_crash_notice(window, home)
        start_shift(window, demo=demo, guard=guard)
        try:
            with quit_on_signals(app):  # SIGTERM (shutdown), Ctrl+C: the normal way out
                return int(app.exec())
        finally:
            window.stop()
            window.deleteLater()
            QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
