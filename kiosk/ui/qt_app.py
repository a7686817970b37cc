"""Getting a Qt application object for work without a screen (PDFs from the CLI)."""

from __future__ import annotations

import sys

from PySide6.QtGui import QGuiApplication


def ensure_gui_app(*, offscreen: bool = True) -> QGuiApplication:
    """The running QGuiApplication, or a new one (offscreen by default, for printing)."""
    app = QGuiApplication.instance()
    if app is not None:
        return app  # type: ignore[return-value]
    argv = [sys.argv[0] if sys.argv else "kiosk"]
    if offscreen:
        argv += ["-platform", "offscreen"]
    return QGuiApplication(argv)
