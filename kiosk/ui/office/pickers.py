"""Picking a resident in the office's dialogs: type a room (3-2-501) or a name, choose
one from the list; and checking that a household typed in a dialog exists. Both read
on the office's reader thread (indexed, a few rows); the UI thread never waits."""

from __future__ import annotations

from collections.abc import Callable

import shiboken6
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from kiosk.core.i18n import tr
from kiosk.store.register import find_household, search_residents
from kiosk.ui.dialogs.common import set_problem
from kiosk.ui.office.context import OfficeContext
from kiosk.ui.ops import QueryOp

SEARCH_DELAY_MS = 200


def check_household(
    ctx: OfficeContext,
    parent: QWidget,
    button: QPushButton,
    field: QLineEdit,
    problem: QLabel,
    then: Callable[[], object],
) -> None:
    """Look the household typed in ``field`` (3-2-501) up on the reader, ``button``
    disabled meanwhile; then, on the UI thread (not if ``parent`` was closed), say
    under ``field`` that there is no such household, or go on with ``then()``."""
    label = field.text().strip()
    button.setEnabled(False)

    def answer(found: bool) -> None:
        button.setEnabled(True)
        if not found:
            set_problem(field, problem, tr("No household {household}.", household=label or "?"))
            return
        then()

    def failed(message: str) -> None:
        if shiboken6.isValid(button):
            button.setEnabled(True)

    QueryOp(
        ctx.reader,
        parent=parent,
        op=lambda db: find_household(db, label) is not None,
        success=answer,
    ).failure(failed).run_in_background()


class ResidentPicker(QWidget):
    """A search field over a short list of active residents; :meth:`resident_id` is the
    chosen one."""

    picked = Signal(str)  # resident id, or "" when nothing is chosen
    listed = Signal()  # the matches of the last search are in the list

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
        self._key = object()  # a newer search skips an older one still queued
        self._wanted: str | None = None  # choose(): the resident to pick once listed
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.search)
        layout.addWidget(self.results)

    def refresh(self) -> None:
        """Search now (the field searches by itself 200 ms after the last key)."""
        self._timer.stop()
        text = self.search.text()
        QueryOp(
            self.ctx.reader,
            parent=self,
            op=lambda db: [r for r in search_residents(db, text) if r["active"]],
            success=self._show,
        ).newest(self._key).run_in_background()

    def _show(self, rows: list[dict[str, object]]) -> None:
        self.results.clear()
        for row in rows:
            item = QListWidgetItem(f"{row['name']}    {row['household']}")
            item.setData(Qt.ItemDataRole.UserRole, row["id"])
            self.results.addItem(item)
        wanted, self._wanted = self._wanted, None
        if wanted:
            for number in range(self.results.count()):
                if self.results.item(number).data(Qt.ItemDataRole.UserRole) == wanted:
                    self.results.setCurrentRow(number)
        elif self.results.count() == 1:
            self.results.setCurrentRow(0)
        self.listed.emit()

    def resident_id(self) -> str | None:
        item = self.results.currentItem()
        return str(item.data(Qt.ItemDataRole.UserRole)) if item is not None else None

    def choose(self, text: str, resident_id: str | None = None) -> None:
        """Search for ``text`` and, once listed, choose ``resident_id`` (or the only
        match); :attr:`listed` tells when."""
        self.search.setText(text)
        self._wanted = resident_id
        self.refresh()
