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
_handler: logging.Handler | None = None


def log_file() -> Path | str:
    return _log_path if _log_path is not None else "stderr"


def setup_logging(home: Home, *, verbose: bool = False) -> None:
    """Send logs to ``<home>/logs/kiosk.log`` when the home exists, else warnings to
    stderr. Called again for another home (tests, the demo), it moves the one handler."""
    global _log_path, _handler
    root = logging.getLogger("kiosk")
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    path = home.logs_dir / "kiosk.log" if home.root.is_dir() else None
    if _handler is not None:
        if path == _log_path:
            return
        root.removeHandler(_handler)
        _handler.close()
    handler: logging.Handler
    if path is not None:
        path.parent.mkdir(exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=2_000_000, backupCount=5, encoding="utf-8"
        )
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    _handler, _log_path = handler, path
    if sys.stderr is not None and hasattr(sys.stderr, "fileno"):
        with contextlib.suppress(ValueError, OSError):  # stderr without a file
            faulthandler.enable()
