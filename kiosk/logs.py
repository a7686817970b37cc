"""Logging: named loggers per area, one rotating file in the checkpoint's home."""

from __future__ import annotations

import contextlib
import faulthandler
import logging
import logging.handlers
import sys
from pathlib import Path

from kiosk.home import Home

_log_path: Path | None = None


def log_file() -> Path | str:
    return _log_path if _log_path is not None else "stderr"


def setup_logging(home: Home, *, verbose: bool = False) -> None:
    """Send logs to ``<home>/logs/kiosk.log`` when the home exists, else to stderr."""
    global _log_path
    root = logging.getLogger("kiosk")
    if getattr(root, "_kiosk_configured", False):
        return
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handler: logging.Handler
    if home.root.is_dir():
        home.logs_dir.mkdir(exist_ok=True)
        _log_path = home.logs_dir / "kiosk.log"
        handler = logging.handlers.RotatingFileHandler(
            _log_path, maxBytes=2_000_000, backupCount=5, encoding="utf-8"
        )
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setLevel(logging.WARNING)
    handler.setFormatter(fmt)
    root.addHandler(handler)
    root._kiosk_configured = True  # type: ignore[attr-defined]
    if sys.stderr is not None and hasattr(sys.stderr, "fileno"):
        with contextlib.suppress(ValueError, OSError):  # stderr without a file
            faulthandler.enable()
