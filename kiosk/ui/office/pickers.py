"""Picking a resident in the office's dialogs: type a room (3-2-501) or a name, choose
one from the list. Reads on the UI thread's connection (indexed, a few rows)."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from kiosk.core.i18n import tr
from kiosk.store.register import search_residents
from kiosk.ui.office.context import OfficeContext

SEARCH_DELAY_MS = 200


class ResidentPicker(QWidget):
    """A search field over a short list of active residents; :meth:`resident_id` is the
    chosen one."""

    picked = Signal(str)  # resident id, or "" when nothing is chosen

    def __init__(self, ctx: OfficeContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.search = QLineEdit()
        self.search.setPlaceholderText(tr("Room (3-2-501) or name"))
        self.search.setClearButtonEnabled(True)
        self.results = QListWidget()
        self.results.setMinimumHeight(120)
        self.results.setMaximumHeight(180)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SEARCH_DELAY_MS)
        self._timer.timeout.connect(self.refresh)
        self.search.textChanged.connect(lambda _t: self._timer.start())
        self.results.currentItemChanged.connect(
            lambda *_: self.picked.emit(self.resident_id() or "")
        )
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.search)
        layout.addWidget(self.results)

    def refresh(self) -> None:
        """Search now (the field searches by itself 200 ms after the last key)."""
        self._timer.stop()
        self.results.clear()
        for row in search_residents(self.ctx.db, self.search.text()):
            if not row["active"]:
                continue
            item = QListWidgetItem(f"{row['name']}    {row['household']}")
            item.setData(Qt.ItemDataRole.UserRole, row["id"])
            self.results.addItem(item)
        if self.results.count() == 1:
            self.results.setCurrentRow(0)

    def resident_id(self) -> str | None:
        item = self.results.currentItem()
        return str(item.data(Qt.ItemDataRole.UserRole)) if item is not None else None

    def choose(self, text: str, resident_id: str | None = None) -> bool:
        """Search for ``text`` and choose ``resident_id`` (or the only match)."""
        self.search.setText(text)
        self.refresh()
        for row in range(self.results.count()):
            item = self.results.item(row)
            if resident_id is None or item.data(Qt.ItemDataRole.UserRole) == resident_id:
                self.results.setCurrentRow(row)
                return True
        return False
