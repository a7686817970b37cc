"""A resident without their pass: found by room or name, let through by hand with a
reason. The dialog only picks; the gate decides and records the passage."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)
from sqlite_utils import Database

from kiosk.core.i18n import tr
from kiosk.core.rules import Encounter, Source
from kiosk.home import Home
from kiosk.store.db import connect
from kiosk.store.search import search_residents
from kiosk.store.visits import resident_holder
from kiosk.ui.dialogs.common import (
    TOUCH_PX,
    GloveDialog,
    error_label,
    field_box,
    open_once,
    set_problem,
)


@dataclass(frozen=True)
class ManualResult:
    resident_id: str
    note: str


class ManualPassDialog(GloveDialog):
    """Search (``3-2-501`` or a name), pick a resident, give a reason.

    Accepted: :attr:`result_value` (:class:`ManualResult`). Inactive residents are
    listed (marked) but cannot be picked.
    """

    def __init__(self, home: Home, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.home = home
        self.result_value: ManualResult | None = None
        self.found: list[dict[str, Any]] = []
        self.setWindowTitle(tr("Let a resident through by hand"))
        self.setMinimumWidth(760)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(tr("Room (3-2-501) or name")))
        self.search = QLineEdit()
        self.search.setPlaceholderText(tr("3-2-501 or a name"))
        self.search_problem = error_label()
        self.add_field(self.search)
        layout.addWidget(field_box(self.search, self.search_problem))
        self.results = QListWidget()
        self.results.setMinimumHeight(TOUCH_PX * 4)
        self.results.setStyleSheet(f"QListWidget::item {{ min-height: {TOUCH_PX}px; }}")
        self.add_field(self.results)
        layout.addWidget(self.results, 1)
        layout.addWidget(QLabel(tr("Reason (required)")))
        self.note = QLineEdit()
        self.note.setPlaceholderText(tr("e.g. pass left at home"))
        self.note_problem = error_label()
        self.add_field(self.note)
        layout.addWidget(field_box(self.note, self.note_problem))
        row, self.ok_button, _ = self.button_row(tr("Let through"))
        layout.addLayout(row)
        self.search.textEdited.connect(self.run_search)
        self.results.itemClicked.connect(lambda _item: self.note.setFocus())
        self.search.setFocus()

    def run_search(self, text: str) -> None:
        db: Database = connect(self.home.database)
        try:
            self.found = search_residents(db, text) if text.strip() else []
        finally:
            db.close()
        self.results.clear()
        for resident in self.found:
            words = f"{resident['household']}   {resident['name']}   {resident['id_masked']}"
            if not resident["active"]:
                words += "   " + tr("(moved out)")
            item = QListWidgetItem(words.rstrip())
            item.setData(Qt.ItemDataRole.UserRole, resident["id"])
            if not resident["active"]:
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEnabled)
            self.results.addItem(item)
        first = next((i for i, r in enumerate(self.found) if r["active"]), None)
        if first is not None:
            self.results.setCurrentRow(first)
        message = tr("Nobody found.") if text.strip() and not self.found else ""
        set_problem(self.search, self.search_problem, message)

    def enter_pressed(self, field: QWidget) -> None:
        if field is self.search and not self.found:
            self.run_search(self.search.text())
            if not self.found:
                return
        if field is self.search and self.results.currentItem() is not None:
            self.note.setFocus()  # the highlighted resident is the one
            return
        self.focus_next(field)

    def selected_id(self) -> str | None:
        item = self.results.currentItem()
        if item is None or not item.flags() & Qt.ItemFlag.ItemIsEnabled:
            return None
        return str(item.data(Qt.ItemDataRole.UserRole))

    def submit(self) -> None:
        resident_id = self.selected_id()
        note = " ".join(self.note.text().split())
        set_problem(self.search, self.search_problem, "" if resident_id else tr("Pick a resident."))
        set_problem(self.note, self.note_problem, "" if note else tr("Give a reason."))
        if resident_id is None:
            self.search.setFocus()
            return
        if not note:
            self.note.setFocus()
            return
        self.result_value = ManualResult(resident_id, note)
        self.accept()


def show_dialog(window: Any) -> None:
    """From the main window (``window.home``, ``window.worker``): pick the resident, then
    hand the passage to the worker, which decides and records it."""

    def done(dialog: QDialog) -> None:
        result = getattr(dialog, "result_value", None)
        if dialog.result() != QDialog.DialogCode.Accepted or result is None:
            return
        db = connect(window.home.database)
        try:
            holder = resident_holder(db, result.resident_id)
        finally:
            db.close()
        if holder is not None:
            window.worker.submit_encounter(
                Encounter(Source.MANUAL, None, None, result.note), holder=holder
            )

    open_once("manual", lambda: ManualPassDialog(window.home, window), done)
