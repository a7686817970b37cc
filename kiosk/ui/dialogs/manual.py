"""A resident without their pass: found by room or name, picked by the guard, let
through by hand with a reason chosen by key. The dialog only picks; the gate decides
and records the passage (the resident picked, and the reason as the visit's note).

Keys: type ``3-2-501`` (or a name), Enter: the household's residents, with their
masked ID numbers; Up/Down and Enter pick the person (nobody is picked for the guard:
a household of four is four people); then 1-3 (or Up/Down and Enter) the reason, which
lets them through; 4 "other" asks for the reason in words. Esc cancels.

The search runs on the window's reader (:class:`~kiosk.ui.ops.DbWorker`), never on
the UI thread: the list keeps what it shows until the answer for the text typed now
comes (an older answer is dropped), and Enter in the search field before that answer
waits for it, then highlights the first resident as it does at once otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from kiosk.core.i18n import tr
from kiosk.core.rules import Encounter, ManualReason, Source
from kiosk.store.register import search_residents
from kiosk.store.visits import resident_holder
from kiosk.ui.dialogs.common import (
    TOUCH_PX,
    GloveDialog,
    error_label,
    field_box,
    open_once,
    set_problem,
)
from kiosk.ui.ops import DbWorker, QueryOp

SEARCH_PAUSE_MS = 250  # search when typing pauses (or at once on Enter), not per key
OTHER = "other"
REASON_KEYS = (*ManualReason, OTHER)  # key 1, 2, 3, 4 in this order


@dataclass(frozen=True)
class ManualResult:
    resident_id: str
    note: str  # a ManualReason code, or the guard's words for "other"


class ManualPassDialog(GloveDialog):
    """Search (``3-2-501`` or a name), pick a resident, pick a reason.

    Accepted: :attr:`result_value` (:class:`ManualResult`). Inactive residents are
    listed (marked) but cannot be picked.
    """

    def __init__(self, reader: DbWorker, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.reader = reader
        self.result_value: ManualResult | None = None
        self.found: list[dict[str, Any]] = []
        self.shown_for = ""  # the search text the list shows the answer for
        self._wanted = ""  # the search text asked for last
        self._highlight_when_found = False  # Enter came before the answer
        self.setWindowTitle(tr("Let a resident through by hand"))
        self.setMinimumWidth(760)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(tr("1. Room (3-2-501) or name, then Enter")))
        self.search = QLineEdit()
        self.search.setPlaceholderText(tr("3-2-501 or a name"))
        self.search_problem = error_label()
        self.add_field(self.search)
        layout.addWidget(field_box(self.search, self.search_problem))
        layout.addWidget(QLabel(tr("2. Who is it? Compare the face; ↑ ↓ and Enter")))
        self.results = QListWidget()
        self.results.setStyleSheet(f"QListWidget::item {{ min-height: {TOUCH_PX}px; }}")
        self.add_field(self.results)
        self.results.setMinimumHeight(TOUCH_PX * 4 + 12)  # a household of four, whole
        layout.addWidget(self.results, 1)
        layout.addWidget(QLabel(tr("3. Why without a pass? Press 1-4")))
        self.reasons = QListWidget()
        self.reasons.setStyleSheet(f"QListWidget::item {{ min-height: {TOUCH_PX}px; }}")
        for number, code in enumerate(REASON_KEYS, start=1):
            words = code.label() if isinstance(code, ManualReason) else tr("Other: type it")
            item = QListWidgetItem(f"{number}   {words}")
            item.setData(Qt.ItemDataRole.UserRole, str(code))
            self.reasons.addItem(item)
        self.add_field(self.reasons)
        self.reasons.ensurePolished()
        rows = sum(self.reasons.sizeHintForRow(i) for i in range(self.reasons.count()))
        self.reasons.setFixedHeight(rows + 2 * self.reasons.frameWidth() + 4)
        self.reasons.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        layout.addWidget(self.reasons)
        self.note = QLineEdit()
        self.note.setPlaceholderText(tr("the reason in words"))
        self.note.setEnabled(False)
        self.note_problem = error_label()
        self.add_field(self.note)
        layout.addWidget(field_box(self.note, self.note_problem))
        row, self.ok_button, self.cancel_button = self.button_row(tr("Let through"))
        layout.addLayout(row)
        self._pause = QTimer(self)
        self._pause.setSingleShot(True)
        self._pause.setInterval(SEARCH_PAUSE_MS)
        self._pause.timeout.connect(lambda: self.run_search(self.search.text()))
        self.search.textEdited.connect(lambda _text: self._pause.start())
        self.results.itemClicked.connect(lambda _item: self.reasons.setFocus())
        self.reasons.itemClicked.connect(lambda _item: self.choose_reason())
        self.search.setFocus()

    def done(self, result: int) -> None:
        self._pause.stop()
        super().done(result)

    # -- 1. search -----------------------------------------------------------------

    @property
    def searching(self) -> bool:
        """An answer for the text in the search field is still to come."""
        return self.shown_for != self.search.text()

    def run_search(self, text: str) -> None:
        """Search for ``text`` on the reader; the list changes when the answer comes."""
        self._pause.stop()
        self._wanted = text
        if not text.strip():
            self._show_found(text, [])
            return
        QueryOp(
            self.reader,
            parent=self,
            op=lambda db: search_residents(db, text),
            success=lambda found: self._show_found(text, found),
        ).failure(self._search_failed).newest(("manual-search", id(self))).run_in_background()

    def _search_failed(self, message: str) -> None:
        self._highlight_when_found = False
        self._wanted = ""  # Enter searches again
        set_problem(self.search, self.search_problem, message)

    def _show_found(self, text: str, found: list[dict[str, Any]]) -> None:
        if text != self._wanted:
            return  # an older search's answer: a newer one is coming
        self.shown_for = text
        same = found == self.found and self.results.count() == len(found)
        self.found = found
        if same:  # the same people: the list stays as it is, a pick too
            self._found_shown(text)
            return
        self.results.clear()  # a new search: nobody is picked
        for resident in self.found:
            words = f"{resident['household']}   {resident['name']}   {resident['id_masked']}"
            if not resident["active"]:
                words += "   " + tr("(moved out)")
            item = QListWidgetItem(words.rstrip())
            item.setData(Qt.ItemDataRole.UserRole, resident["id"])
            if not resident["active"]:
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEnabled)
            self.results.addItem(item)
        self._found_shown(text)

    def _found_shown(self, text: str) -> None:
        message = tr("Nobody found.") if text.strip() and not self.found else ""
        set_problem(self.search, self.search_problem, message)
        if self._highlight_when_found and text == self.search.text():
            self._highlight_when_found = False
            self._highlight_first()

    def _first_active(self) -> int | None:
        return next((i for i, r in enumerate(self.found) if r["active"]), None)

    # -- keys --------------------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Keys 1-4 in the reasons list choose that reason."""
        if (
            watched is getattr(self, "reasons", None)
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.text() in {str(n) for n in range(1, len(REASON_KEYS) + 1)}
        ):
            self.reasons.setCurrentRow(int(event.text()) - 1)
            self.choose_reason()
            return True
        return super().eventFilter(watched, event)

    def enter_pressed(self, field: QWidget) -> None:
        if field is self.search:
            if self.searching or self._pause.isActive():
                self._highlight_when_found = True  # when the answer comes
                if self._wanted != self.search.text() or self._pause.isActive():
                    self.run_search(self.search.text())
                return
            self._highlight_first()
        elif field is self.results:
            if self.selected_id() is not None:
                self.reasons.setFocus(Qt.FocusReason.TabFocusReason)
        elif field is self.reasons:
            self.choose_reason()
        else:
            self.submit()

    def _highlight_first(self) -> None:
        first = self._first_active()
        if first is None:
            return
        self.results.setCurrentRow(first)  # highlighted, not picked: Enter picks
        self.results.setFocus(Qt.FocusReason.TabFocusReason)

    def choose_reason(self) -> None:
        code = self.reason_code()
        if code is None:
            return
        other = code == OTHER
        self.note.setEnabled(other)
        if other:
            self.note.setFocus(Qt.FocusReason.TabFocusReason)
            return
        self.submit()

    # -- result ------------------------------------------------------------------------

    def selected_id(self) -> str | None:
        item = self.results.currentItem()
        if item is None or not item.flags() & Qt.ItemFlag.ItemIsEnabled:
            return None
        return str(item.data(Qt.ItemDataRole.UserRole))

    def reason_code(self) -> str | None:
        item = self.reasons.currentItem()
        return None if item is None else str(item.data(Qt.ItemDataRole.UserRole))

    def submit(self) -> None:
        resident_id = self.selected_id()
        code = self.reason_code()
        note = " ".join(self.note.text().split()) if code == OTHER else (code or "")
        set_problem(self.search, self.search_problem, "" if resident_id else tr("Pick a resident."))
        reason_problem = "" if note else tr("Give a reason.")
        set_problem(self.note, self.note_problem, reason_problem)
        self.note_problem.setVisible(bool(reason_problem))
        if resident_id is None:
            (self.results if self.results.count() else self.search).setFocus()
            return
        if not note:
            (self.note if code == OTHER else self.reasons).setFocus()
            return
        self.result_value = ManualResult(resident_id, note)
        self.accept()


def show_dialog(window: Any) -> None:
    """From the main window (``window.home``, ``window.worker``): pick the resident, then
    hand the passage to the worker, which reads the resident, decides and records it."""

    def done(dialog: QDialog) -> None:
        result = getattr(dialog, "result_value", None)
        if dialog.result() != QDialog.DialogCode.Accepted or result is None:
            return
        worker = window.worker

        def let_through(gate: Any) -> None:  # in the worker thread, on its connection
            holder = resident_holder(gate.db, result.resident_id)
            if holder is not None:
                worker.submit_encounter(
                    Encounter(Source.MANUAL, None, None, result.note), holder=holder
                )

        worker.request(let_through)

    open_once("manual", lambda: ManualPassDialog(window.reader, window), done)
