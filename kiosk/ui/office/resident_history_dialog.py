"""One resident in the office: who they are, their household, their passes (with the
Passes tab's revoke, reissue and print), their holds and their passages through the
gate, newest first, a page at a time.

Opened by the office window when the Residents tab emits ``openResident(id)``.
"""

from __future__ import annotations

from typing import Any

import shiboken6
from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)
from sqlite_utils import Database

from kiosk.core.clock import utcnow
from kiosk.core.i18n import N_, tr
from kiosk.core.rules import Level, note_text, reason_label
from kiosk.store.anchors import anchor_now
from kiosk.store.checkpoint import checkpoint_id
from kiosk.store.corrections import correct_visit
from kiosk.store.register import get_resident
from kiosk.store.visits import (
    PASSAGE_DEFAULT_ORDER,
    PASSAGE_SORT_AT,
    PASSAGE_SORT_DIRECTION,
    PASSAGE_SORT_GUARD,
    PASSAGE_SORT_LEVEL,
    PASSAGE_SORT_TEMPERATURE,
    resident_passages,
    visit_by_id,
)
from kiosk.ui.dialogs.common import open_once
from kiosk.ui.dialogs.correction import CorrectionDialog
from kiosk.ui.dialogs.pin import PinDialog
from kiosk.ui.office.context import OfficeContext, local_time
from kiosk.ui.office.holds_tab import HoldsTab
from kiosk.ui.office.passes_tab import PassesTab, fit_columns
from kiosk.ui.office.table import Column, Query, QueryModel, Row, SearchTable
from kiosk.ui.ops import QueryOp
from kiosk.ui.verdict_panel import headline

_DIRECTIONS = {"in": N_("In"), "out": N_("Out")}
_ROLES = {"resident": N_("resident"), "staff": N_("staff")}


def _label(table: dict[str, str], code: str | None) -> str:
    return tr(table[code]) if code in table else (code or "")


def _temperature(row: Row) -> str:
    value = row["temperature"]
    return f"{value:.1f} °C" if value is not None else ""


class PassagesTable(SearchTable):
    """A resident's passages: time, direction, verdict, reason, temperature, guard."""

    def __init__(self, ctx: OfficeContext, resident_id: str, parent: QWidget | None = None) -> None:
        self.ctx = ctx
        self.resident_id = resident_id
        model = QueryModel(
            [
                Column(
                    tr("Time"),
                    lambda r: local_time(r["at"], "%Y-%m-%d %H:%M:%S"),
                    PASSAGE_SORT_AT,
                ),
                Column(
                    tr("Direction"),
                    lambda r: _label(_DIRECTIONS, r["direction"]),
                    PASSAGE_SORT_DIRECTION,
                ),
                Column(tr("Verdict"), lambda r: headline(Level(r["level"])), PASSAGE_SORT_LEVEL),
                Column(tr("Reason"), lambda r: reason_label(r["reason"])),
                Column(tr("Temperature"), _temperature, PASSAGE_SORT_TEMPERATURE, numeric=True),
                Column(tr("Guard"), lambda r: r["guard"], PASSAGE_SORT_GUARD),
                Column(tr("Pass"), lambda r: r["pass_serial"] or ""),
                Column(tr("Note"), lambda r: note_text(str(r["note"] or ""))),
            ],
            self._fetch,
            worker=ctx.reader,
            default_order=PASSAGE_DEFAULT_ORDER,
            muted=lambda r: r["corrected_by"] is not None,  # as it stood before a correction
        )
        super().__init__(model, placeholder=tr("Guard, pass serial or note"), parent=parent)
        fit_columns(self)
        self.correct_button = QPushButton(tr("Correct…"))
        self.correct_button.setToolTip(tr("Correct the selected passage (admin PIN)"))
        self.correct_button.clicked.connect(self.correct_selected)
        outer = self.layout()
        first = outer.itemAt(0) if outer is not None else None
        top = first.layout() if first is not None else None
        assert isinstance(top, QHBoxLayout)  # SearchTable's search row
        top.addWidget(self.correct_button)
        self.selectionChanged.connect(self._selection_changed)
        self._selection_changed()
        ctx.signals.dataChanged.connect(self._data_changed)

    def _selection_changed(self) -> None:
        row = self.selected()
        self.correct_button.setEnabled(
            row is not None and row["corrected_by"] is None and row["reason"] != "void"
        )

    def correct_selected(self) -> None:
        """The admin PIN, then the correction of the selected passage, written by the
        office's jobs (a running gate takes it in at its next passage)."""
        row = self.selected()
        if row is None:
            return
        visit_id = str(row["id"])
        QueryOp(
            self.ctx.reader,
            parent=self,
            op=lambda db: visit_by_id(db, visit_id),
            success=self._correct,
        ).failure(self._show_failure).run_in_background()

    def _correct(self, visit: dict[str, Any] | None) -> None:
        if visit is None:
            return
        ctx = self.ctx

        def corrected(dialog: QDialog) -> None:
            result = getattr(dialog, "result_value", None)
            if dialog.result() != QDialog.DialogCode.Accepted or result is None:
                return

            def job(db: Database) -> str:
                new_id = correct_visit(
                    db,
                    result.visit_id,
                    result.kind,
                    reason=result.reason,
                    actor=ctx.actor,
                    now=utcnow(),
                    resident_id=result.resident_id or None,
                )
                anchor_now(ctx.home, db, checkpoint_id(db))  # the log's new head, signed
                return new_id

            def failed(message: str) -> None:
                if shiboken6.isValid(self):
                    self._show_failure(message)

            # No parent: the other tabs hear of the correction even if this was closed.
            QueryOp(
                ctx.jobs, parent=None, op=job, success=lambda _id: ctx.changed("visits")
            ).failure(failed).run_in_background()

        def pin_done(dialog: QDialog) -> None:
            if dialog.result() == QDialog.DialogCode.Accepted:
                open_once(
                    "correction",
                    lambda: CorrectionDialog(ctx.reader, [visit], visit["id"], self),
                    corrected,
                )

        open_once(
            "pin",
            lambda: PinDialog(ctx.jobs, self, title=tr("Admin PIN to correct"), actor=ctx.actor),
            pin_done,
        )

    def _fetch(self, search: str, order: str, limit: int, offset: int) -> Query:
        resident_id = self.resident_id
        return lambda db: resident_passages(
            db, resident_id, search=search, order=order, limit=limit, offset=offset
        )

    def _data_changed(self, what: str) -> None:
        if what == "visits":
            self.model.reload()


class ResidentHistoryDialog(QDialog):
    """A resident's record: details, passes, holds, passages."""

    def __init__(self, ctx: OfficeContext, resident_id: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.resident_id = resident_id
        self.resize(1180, 680)
        self.name = QLabel()
        self.name.setStyleSheet("font-size: 16pt; font-weight: bold;")
        self.household = QLabel()
        self.id_number = QLabel()
        self.phone = QLabel()
        self.role = QLabel()
        details = QFormLayout()
        details.addRow(tr("Household"), self.household)
        details.addRow(tr("ID number"), self.id_number)
        details.addRow(tr("Phone"), self.phone)
        details.addRow(tr("Role"), self.role)

        self.passes = PassesTab(ctx, resident_id=resident_id)
        self.holds = HoldsTab(ctx, resident_id=resident_id)
        self.passages = PassagesTable(ctx, resident_id)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.passages, tr("Passages"))
        self.tabs.addTab(self.passes, tr("Passes"))
        self.tabs.addTab(self.holds, tr("Home quarantine"))

        close = QPushButton(tr("Close"))
        close.setAutoDefault(False)
        close.clicked.connect(self.accept)
        bottom = QHBoxLayout()
        bottom.addStretch(1)
        bottom.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.name)
        layout.addLayout(details)
        layout.addWidget(self.tabs, 1)
        layout.addLayout(bottom)
        ctx.signals.dataChanged.connect(self._data_changed)
        ctx.signals.unmaskedChanged.connect(self._unmasked_changed)
        self.show_resident()

    def show_resident(self) -> None:
        """Read the resident (on the reader), then show them."""
        resident_id = self.resident_id
        QueryOp(
            self.ctx.reader,
            parent=self,
            op=lambda db: get_resident(db, resident_id),
            success=self._show_resident,
        ).run_in_background()

    def _show_resident(self, row: dict[str, Any] | None) -> None:
        if row is None:
            self.setWindowTitle(tr("Resident"))
            self.name.setText(tr("No resident with id {id}.", id=self.resident_id))
            return
        self.setWindowTitle(tr("Resident: {name}", name=row["name"]))
        state = "" if row["active"] else "  " + tr("(moved out)")
        self.name.setText(f"{row['name']}{state}")
        self.household.setText(row["household"])
        self.id_number.setText(self.ctx.id_text(row["id_number"]))
        self.phone.setText(self.ctx.phone_text(row["phone"]))
        self.role.setText(_label(_ROLES, row["role"]))

    def _data_changed(self, what: str) -> None:
        if what == "residents":
            self.show_resident()

    def _unmasked_changed(self, _on: bool) -> None:
        self.show_resident()
