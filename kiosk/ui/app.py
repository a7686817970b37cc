"""Starting the kiosk window: ``run_window()`` (``kiosk run``, ``kiosk demo``)."""

from __future__ import annotations

import logging
import os
import sys
import traceback
from types import TracebackType

from PySide6.QtCore import QEvent, QMessageLogContext, QtMsgType, qInstallMessageHandler
from PySide6.QtWidgets import QApplication, QMessageBox

from kiosk.core.errors import EnvironmentFault
from kiosk.core.i18n import set_language, tr
from kiosk.home import Home
from kiosk.logs import log_file
from kiosk.settings import Settings
from kiosk.ui.main_window import MainWindow
from kiosk.ui.qt_app import ensure_gui_app, quit_on_signals
from kiosk.ui.theme import apply_theme, theme_for

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


def _excepthook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
    log.critical("unexpected error:\n%s", "".join(traceback.format_exception(kind, value, tb)))
    app = QApplication.instance()
    if app is None or QApplication.platformName() == "offscreen":
        return
    QMessageBox.critical(
        None,
        tr("Gatepass"),
        tr(
            "Something went wrong inside Gatepass (our fault). The gate keeps running. "
            "Details are in {log}.",
            log=log_file(),
        ),
    )


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
        camera=camera if camera is not None else settings["camera"],
        demo=demo,
        sound=sound,
        theme=theme,
    )


def require_screen() -> None:
    """A clear error, not Qt's abort, on a Linux machine with no display at all."""
    if not sys.platform.startswith("linux") or QApplication.instance() is not None:
        return
    if any(os.environ.get(v) for v in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")):
        return
    raise EnvironmentFault(
        tr(
            "No screen found (DISPLAY is not set). Run on the laptop's desktop, or use "
            "'kiosk demo --headless' / 'kiosk gate' without a window."
        )
    )


def _application(lang: str | None, settings: Settings) -> QApplication:
    set_language(lang or settings["language"] or None)
    install_qt_logging()
    app = ensure_gui_app(offscreen=False)
    assert isinstance(app, QApplication)
    app.setApplicationName("Gatepass")
    return app


def run_office(home: Home, *, lang: str | None = None) -> int:
    """The office window on its own (``kiosk office``), after the admin PIN."""
    from kiosk.ui.dialogs.pin import PinDialog
    from kiosk.ui.office.window import OfficeWindow

    require_screen()
    settings = Settings.load(home.settings_file)
    app = _application(lang, settings)
    apply_theme(app, "day")
    with quit_on_signals(app) as stopped:  # SIGTERM (shutdown), Ctrl+C: a normal end
        pin = PinDialog(str(settings["admin_pin_hash"]))
        if pin.exec() != PinDialog.DialogCode.Accepted:
            return 0 if stopped.signum else 1
        window = OfficeWindow(home, settings)
        window.resize(1366, 768)
        window.show()
        try:
            return int(app.exec())
        finally:
            window.shut()


def run_window(
    home: Home,
    *,
    camera: str | None = None,
    demo: bool = False,
    windowed: bool = False,
    lang: str | None = None,
) -> int:
    """Show the gate window until it is closed; the exit code of the Qt event loop."""
    require_screen()
    settings = Settings.load(home.settings_file)
    app = _application(lang, settings)
    theme = theme_for()
    apply_theme(app, theme)
    previous_hook = sys.excepthook
    sys.excepthook = _excepthook
    window = build_window(home, camera=camera, demo=demo, theme=theme)
    window.install_scanner()
    if windowed:
        window.resize(1366, 768)
        window.show()
    else:
        window.kiosk_mode = True
        window.showFullScreen()
    window.start()
    try:
        with quit_on_signals(app):  # SIGTERM (shutdown), Ctrl+C: the normal way out
            return int(app.exec())
    finally:
        window.stop()
        window.deleteLater()
        QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        sys.excepthook = previous_hook
