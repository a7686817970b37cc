"""Where the office saves a file: one save dialog for every tab (replaced in tests)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QWidget


def ask_save_path(parent: QWidget, title: str, suggested: str, filters: str) -> Path | None:
    """The file the clerk chose to save to, or None when they cancelled."""
    path, _chosen = QFileDialog.getSaveFileName(parent, title, suggested, filters)
    return Path(path) if path else None


def ensure_suffix(path: Path, suffix: str) -> Path:
    """``path`` ending in ``suffix`` (``.pdf``): added when the clerk typed a bare name."""
    return path if path.suffix.casefold() == suffix else path.with_name(path.name + suffix)


def ask_open_path(parent: QWidget, title: str, filters: str) -> Path | None:
    """The file the clerk chose to open, or None when they cancelled."""
    path, _chosen = QFileDialog.getOpenFileName(parent, title, "", filters)
    return Path(path) if path else None
