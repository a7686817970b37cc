"""The office's file dialogs open in the user's Documents folder, not the program's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QStandardPaths
from PySide6.QtWidgets import QFileDialog, QWidget
from pytestqt.qtbot import QtBot

from kiosk.ui.office import files

pytestmark = pytest.mark.gui


@pytest.fixture
def documents(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home with a Documents folder, and the program started from somewhere else."""
    home = tmp_path / "user"
    folder = home / "Documents"
    folder.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))  # no user-dirs.dirs
    monkeypatch.delenv("XDG_DOCUMENTS_DIR", raising=False)
    program = tmp_path / "program"
    program.mkdir()
    monkeypatch.chdir(program)
    monkeypatch.setattr(files, "_last_folder", None)
    return folder


def fake_dialogs(monkeypatch: pytest.MonkeyPatch, answer: str) -> list[tuple[Any, ...]]:
    asked: list[tuple[Any, ...]] = []

    def dialog(_parent: QWidget, _title: str, start: str, _filters: str) -> tuple[str, str]:
        asked.append((start,))
        return answer, ""

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(dialog))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(dialog))
    return asked


def test_documents_is_qts_documents_location(documents: Path) -> None:
    location = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    assert Path(location) == documents
    assert files.documents_folder() == documents


def test_save_and_open_start_in_documents_then_where_the_clerk_went(
    qtbot: QtBot, documents: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parent = QWidget()
    qtbot.addWidget(parent)
    elsewhere = tmp_path / "usb"
    elsewhere.mkdir()
    asked = fake_dialogs(monkeypatch, str(elsewhere / "visits.csv"))
    chosen = files.ask_save_path(parent, "Save", "visits.csv", "CSV (*.csv)")
    assert chosen == elsewhere / "visits.csv"
    assert asked == [(str(documents / "visits.csv"),)]  # not the program's folder
    files.ask_open_path(parent, "Open", "Excel (*.xlsx)")
    assert asked[-1] == (str(elsewhere),)  # the folder chosen last time


def test_no_documents_folder_starts_at_home(documents: Path) -> None:
    documents.rmdir()
    assert files.documents_folder() == documents.parent
