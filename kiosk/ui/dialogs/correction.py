"""Correcting a wrongly recorded passage, behind the admin PIN: pick the passage (the
gate's recent ones, newest first, or the one the office chose), say what was wrong
(not a passage / the other direction / another person of the household) and why. The
dialog only asks; the gate's worker (or the office's jobs) writes the correcting row
(kiosk.store.corrections). What the dialog reads (the household's other residents, whether
the passage may still be corrected) it reads on the window's reader, off the UI thread."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from kiosk.core.clock import from_db
from kiosk.core.errors import KioskError
from kiosk.core.i18n import tr
from kiosk.core.identity import mask_name
from kiosk.core.rules import Direction, Level, Reason
from kiosk.store.corrections import correctable, household_others
from kiosk.ui.dialogs.common import (
    GloveDialog,
    error_label,
    field_box,
    open_once,
    set_problem,
)
from kiosk.ui.dialogs.pin import PinDialog
from kiosk.ui.ops import DbWorker, QueryOp
from kiosk.ui.verdict_panel import direction_text, headline


@dataclass(frozen=True)
class CorrectionResult:
    visit_id: str
    kind: Reason
    reason: str
    resident_id: str = ""


def kind_text(kind: Reason) -> str:
    return {
        Reason.VOID: tr("It was no passage (void it)"),
        Reason.WRONG_DIRECTION: tr("The person went the other way"),
        Reason.WRONG_PERSON: tr("It was another person of the household"),
    }[kind]


def passage_text(row: dict[str, Any]) -> str:
    """One passage as the gate's recent list shows it: time, verdict, name, direction."""
    at = from_db(str(row["at"])).astimezone().strftime("%m-%d %H:%M:%S")
    name = mask_name(str(row["name"])) if row.get("name") else tr("unknown")
    return (
        f"{at}  {headline(Level(str(row['level'])))}  {name}  "
        f"{direction_text(Direction(str(row['direction'])))}"
    )


class CorrectionDialog(GloveDialog):
    """Accepted: :attr:`result_value` (:class:`CorrectionResult`). Passages already
    corrected, or voided, are listed but cannot be picked."""

    KINDS = (Reason.VOID, Reason.WRONG_DIRECTION, Reason.WRONG_PERSON)

    def __init__(
        self,
        reader: DbWorker,
        passages: list[dict[str, Any]],
        selected: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.reader = reader
        self.result_value: CorrectionResult | None = None
        self.people_for: str | None = None  # the passage whose household is listed
        self.setWindowTitle(tr("Correct a passage"))
        self.setMinimumWidth(760)
        self.resize(820, 760)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(tr("Which passage was recorded wrongly?")))
        self.passages = QListWidget()
        for row in passages:
            item = QListWidgetItem(passage_text(row))
            item.setData(Qt.ItemDataRole.UserRole, str(row["id"]))
            if row.get("corrected_by") or row.get("reason") == Reason.VOID:
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEnabled)
                item.setText(item.text() + "  " + tr("(corrected)"))
            self.passages.addItem(item)
        self._select(selected)
        self.add_field(self.passages)
        self.passages.setMinimumHeight(280)
        layout.addWidget(self.passages)

        layout.addWidget(QLabel(tr("What was wrong?")))
        self.kinds = QListWidget()
        for kind in self.KINDS:
            item = QListWidgetItem(kind_text(kind))
            item.setData(Qt.ItemDataRole.UserRole, kind.value)
            self.kinds.addItem(item)
        self.kinds.setCurrentRow(0)
        self.add_field(self.kinds)
        layout.addWidget(self.kinds)

        self.person_label = QLabel(tr("Who was it?"))
        layout.addWidget(self.person_label)
        self.person = QComboBox()
        self.add_field(self.person)
        layout.addWidget(self.person)

        layout.addWidget(QLabel(tr("Why (kept with the record)")))
        self.reason = QLineEdit()
        self.reason.setPlaceholderText(tr("e.g. the card was read while nobody passed"))
        self.reason.setMaxLength(200)
        self.problem = error_label()
        self.add_field(self.reason)
        layout.addWidget(field_box(self.reason, self.problem))
        buttons, self.ok_button, _ = self.button_row(tr("Save the correction"))
        layout.addLayout(buttons)

        self.passages.currentItemChanged.connect(lambda *_: self._kind_changed())
        self.kinds.currentRowChanged.connect(lambda *_: self._kind_changed())
        self._kind_changed()
        self.passages.setFocus()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        # All three choices in view; row heights are known once the style is applied.
        rows = sum(self.kinds.sizeHintForRow(i) for i in range(self.kinds.count()))
        self.kinds.setFixedHeight(rows + 2 * self.kinds.frameWidth() + 4)

    def _select(self, selected: str | None) -> None:
        for index in range(self.passages.count()):
            item = self.passages.item(index)
            enabled = bool(item.flags() & Qt.ItemFlag.ItemIsEnabled)
            if enabled and (selected is None or item.data(Qt.ItemDataRole.UserRole) == selected):
                self.passages.setCurrentRow(index)
                return

    def visit_id(self) -> str | None:
        item = self.passages.currentItem()
        if item is None or not item.flags() & Qt.ItemFlag.ItemIsEnabled:
            return None
        return str(item.data(Qt.ItemDataRole.UserRole))

    def kind(self) -> Reason:
        return Reason(self.kinds.currentItem().data(Qt.ItemDataRole.UserRole))

    def _kind_changed(self) -> None:
        """ "Another person": the other residents of the household, to pick from (read
        on the reader; the list fills when they come)."""
        person = self.kind() is Reason.WRONG_PERSON
        visit_id = self.visit_id()
        if person and visit_id and visit_id != self.people_for:
            self.person.clear()
            self.person.setEnabled(False)
            QueryOp(
                self.reader,
                parent=self,
                op=lambda db: household_others(db, visit_id),
                success=lambda people: self._show_people(visit_id, people),
            ).failure(lambda message: set_problem(self.person, self.problem, message)).newest(
                ("correction-people", id(self))
            ).run_in_background()
        elif not visit_id:
            self.person.clear()
            self.people_for = None
        self.person.setVisible(person)
        self.person_label.setVisible(person)
        self.person.setEnabled(person and self.people_for == visit_id and self.person.count() > 0)

    def _show_people(self, visit_id: str, people: list[tuple[str, str]]) -> None:
        if visit_id != self.visit_id():
            return  # another passage was picked meanwhile
        self.person.clear()
        for rid, name in people:
            self.person.addItem(name, rid)
        self.people_for = visit_id
        self.person.setEnabled(self.kind() is Reason.WRONG_PERSON and self.person.count() > 0)

    def submit(self) -> None:
        visit_id = self.visit_id()
        if visit_id is None:
            set_problem(self.passages, self.problem, tr("Pick the passage to correct."))
            return
        kind = self.kind()
        if kind is Reason.WRONG_PERSON and self.people_for != visit_id:
            return  # the household is still being read: the list fills, then Enter
        resident_id = str(self.person.currentData() or "") if kind is Reason.WRONG_PERSON else ""
        if kind is Reason.WRONG_PERSON and not resident_id:
            set_problem(self.person, self.problem, tr("Nobody else in this household."))
            return
        reason = " ".join(self.reason.text().split())
        if not reason:
            set_problem(self.reason, self.problem, tr("Say why the passage is corrected."))
            return
        wanted = CorrectionResult(visit_id, kind, reason, resident_id)

        def checked(problem: str) -> None:
            if problem:
                set_problem(self.passages, self.problem, problem)
            elif self._asked() == wanted:  # nothing changed while it was checked
                self.result_value = wanted
                self.accept()

        QueryOp(
            self.reader, parent=self, op=lambda db: _problem(db, visit_id), success=checked
        ).failure(lambda message: set_problem(self.passages, self.problem, message)).newest(
            ("correction-check", id(self))
        ).run_in_background()

    def _asked(self) -> CorrectionResult | None:
        """What the dialog asks for now (None: a passage is not picked)."""
        visit_id = self.visit_id()
        if visit_id is None:
            return None
        kind = self.kind()
        resident_id = str(self.person.currentData() or "") if kind is Reason.WRONG_PERSON else ""
        return CorrectionResult(visit_id, kind, " ".join(self.reason.text().split()), resident_id)


def _problem(db: Any, visit_id: str) -> str:
    """Why ``visit_id`` cannot be corrected ("" if it can); on the reader's thread."""
    try:
        correctable(db, visit_id)
    except KioskError as exc:
        return str(exc)
    return ""


def show_dialog(window: Any, selected: str | None = None) -> None:
    """From the gate (F8): the admin PIN, then the correction of one of the recent
    passages (``selected``, else the newest); the worker writes it."""
    from kiosk.ui.dialogs.admin import settings_actor

    stats = getattr(window, "stats", None)
    passages = list(reversed(stats.recent)) if stats is not None else []

    def answered(new_id: str, problem: str) -> None:
        window.worker.corrected.disconnect(answered)
        if problem:
            QMessageBox.warning(window, tr("Correct a passage"), problem)

    def done(dialog: QDialog) -> None:
        result = getattr(dialog, "result_value", None)
        if dialog.result() == QDialog.DialogCode.Accepted and result is not None:
            window.worker.corrected.connect(answered)
            window.worker.correct_visit(
                result.visit_id,
                result.kind.value,
                result.reason,
                actor=settings_actor(window),
                resident_id=result.resident_id,
            )

    def pin_done(dialog: QDialog) -> None:
        if dialog.result() == QDialog.DialogCode.Accepted:
            open_once(
                "correction",
                lambda: CorrectionDialog(window.reader, passages, selected, window),
                done,
            )

    open_once(
        "pin",
        lambda: PinDialog(
            window.reader,
            window,
            title=tr("Admin PIN to correct"),
            actor=settings_actor(window),
        ),
        pin_done,
    )
