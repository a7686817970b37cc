"""Where the office saves and opens files: one save and one open dialog for every tab
(replaced in tests). They start in the user's Documents folder (then in the folder
last chosen), never in the program's own folder."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QStandardPaths
from PySide6.QtWidgets import QFileDialog, QWidget

_last_folder: Path | None = None  # where the clerk last saved or opened a file


def documents_folder() -> Path:
    """The user's Documents folder (Qt's DocumentsLocation); their home folder where
    there is none."""
    found = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    if found and Path(found).is_dir():
        return Path(found)
    return Path.home()


def start_folder() -> Path:
    """Where a file dialog opens: the folder last chosen, else Documents."""
    if _last_folder is not None and _last_folder.is_dir():
        return _last_folder
    return documents_folder()


def _chosen(path: str) -> Path | None:
    global _last_folder
    if not path:
        return None
    _last_folder = Path(path).parent
    return Path(path)


def ask_save_path(parent: QWidget, title: str, suggested: str, filters: str) -> Path | None:
    """The file the clerk chose to save to, or None when they cancelled. ``suggested``
    is a file name, offered in :func:`start_folder`."""
    path, _filter = QFileDialog.getSaveFileName(
        parent, title, str(start_folder() / suggested), filters
    )
    return _chosen(path)


def ensure_suffix(path: Path, suffix: str) -> Path:
    """``path`` ending in ``suffix`` (``.pdf``): added when the clerk typed a bare name."""
    return path if path.suffix.casefold() == suffix else path.with_name(path.name + suffix)


def ask_open_path(parent: QWidget, title: str, filters: str) -> Path | None:
    """The file the clerk chose to open, or None when they cancelled."""
    path, _filter = QFileDialog.getOpenFileName(parent, title, str(start_folder()), filters)
    return _chosen(path)
