"""Getting a Qt application object for work without a screen (PDFs from the CLI)."""

from __future__ import annotations

import sys

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QApplication


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
    return QApplication(argv)
