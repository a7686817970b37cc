"""The office's Home quarantine tab: current holds (or all, with "Show past"), putting
a household or a person under a hold until a date, and lifting one.

A hold lets its people come home but not go out; the gate stops them with the hold's
end date. Writes run on the office's jobs thread.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from PySide6.QtCore import QDate
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QDateEdit,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)
from sqlite_utils import Database

from kiosk.core.clock import parse_user_time
from kiosk.core.i18n import tr
from kiosk.store.holds import (
    HOLD_DEFAULT_ORDER,
    HOLD_SORT_BY,
    HOLD_SORT_FROM,
    HOLD_SORT_HOUSEHOLD,
    HOLD_SORT_REASON,
    HOLD_SORT_UNTIL,
    HOLD_SORT_WHO,
    add_hold,
    lift_hold,
    search_holds,
)
from kiosk.store.register import get_resident, household_label
from kiosk.ui.dialogs.common import GloveDialog, error_label, set_problem
from kiosk.ui.office.context import OfficeContext, local_time
from kiosk.ui.office.passes_tab import (
    RADIO_STYLE,
    Confirm,
    confirm,
    fit_columns,
)
from kiosk.ui.office.pickers import ResidentPicker, check_household
from kiosk.ui.office.table import Column, MessageLine, Query, QueryModel, Row, SearchTable
from kiosk.ui.ops import QueryOp

DEFAULT_HOLD_DAYS = 14


def hold_who(row: Row) -> str:
    """A hold's subject: the household, or the person and their household."""
    label = household_label(row["building"], row["unit"], row["room"])
    if row["resident_id"] is None:
        return tr("Household {label}", label=label)
    return f"{row['name'] or ''} ({label})"


def _who_cell(row: Row) -> str:
    return tr("Whole household") if row["resident_id"] is None else str(row["name"] or "")


def hold_state(row: Row) -> str:
    if row["lifted_at"]:
        return tr("lifted {time}", time=local_time(row["lifted_at"]))
    return tr("in force") if row["current"] else tr("ended")


class HoldDialog(GloveDialog):
    """A new hold: on a household (label) or a resident, until a day, with a reason."""

    def __init__(
        self,
        ctx: OfficeContext,
        parent: QWidget | None = None,
        *,
        resident: dict[str, Any] | None = None,  # fixed: this person or their household
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.fixed = resident
        self.setStyleSheet(self.styleSheet() + RADIO_STYLE)
        self.setWindowTitle(tr("Home quarantine"))
        self.group = QButtonGroup(self)
        self.on_household = QRadioButton(tr("A household"))
        self.on_resident = QRadioButton(tr("One person"))
        self.group.addButton(self.on_household, 0)
        self.group.addButton(self.on_resident, 1)
        self.household = QLineEdit()
        self.household.setPlaceholderText(tr("Household, e.g. 3-2-501"))
        self.picker = ResidentPicker(ctx)
        self.until = QDateEdit()
        self.until.setCalendarPopup(True)
        self.until.setDisplayFormat("yyyy-MM-dd")
        today = ctx.now().date()
        self.until.setMinimumDate(QDate(today.year, today.month, today.day))
        self.set_until(today + timedelta(days=DEFAULT_HOLD_DAYS))
        self.reason = QLineEdit()
        self.reason.setPlaceholderText(tr("Reason (required)"))
        self.problem = error_label()

        layout = QVBoxLayout(self)
        layout.addWidget(self.on_household)
        layout.addWidget(self.household)
        layout.addWidget(self.on_resident)
        if resident is None:
            layout.addWidget(self.picker)
            self.add_field(self.household)
        else:
            self.on_resident.setText(tr("Only {name}", name=resident["name"]))
            self.on_household.setText(tr("The household {label}", label=resident["household"]))
            self.household.setText(resident["household"])
            self.household.hide()
        self.on_household.setChecked(True)
        form = QFormLayout()
        form.addRow(tr("Until (inclusive)"), self.until)
        form.addRow(tr("Reason"), self.reason)
        layout.addLayout(form)
        layout.addWidget(self.problem)
        self.add_field(self.until)
        self.add_field(self.reason)
        row, self.ok, _cancel = self.button_row(tr("Put under home quarantine"))
        layout.addLayout(row)
        self.group.idToggled.connect(lambda *_: self._enable())
        self._enable()
        self.resize(640, self.sizeHint().height())

    def set_until(self, day: date) -> None:
        self.until.setDate(QDate(day.year, day.month, day.day))

    def _enable(self) -> None:
        self.household.setEnabled(self.on_household.isChecked())
        self.picker.setEnabled(self.on_resident.isChecked())

    def subject(self) -> dict[str, str | None]:
        """``add_hold`` keywords: household or resident."""
        if self.on_household.isChecked():
            return {"household": self.household.text().strip()}
        if self.fixed is not None:
            return {"resident": self.fixed["id"]}
        return {"resident": self.picker.resident_id()}

    def until_day(self) -> date:
        return date.fromisoformat(self.until.date().toString("yyyy-MM-dd"))

    def submit(self) -> None:
        if not self.ok.isEnabled():
            return  # the household is being looked up
        if "household" not in self.subject():
            self._check_the_rest()
            return
        check_household(self.ctx, self, self.ok, self.household, self.problem, self._check_the_rest)

    def _check_the_rest(self) -> None:
        subject = self.subject()
        if "resident" in subject and not subject["resident"]:
            set_problem(self.picker.search, self.problem, tr("Pick a resident."))
            return
        if not self.reason.text().strip():
            set_problem(self.reason, self.problem, tr("Give a reason for the hold."))
            return
        self.accept()


class HoldsTab(QWidget):
    """Holds: current ones (or all), add, lift. With ``resident_id``: the holds on that
    resident or on their household (the history dialog)."""

    def __init__(
        self,
        ctx: OfficeContext,
        parent: QWidget | None = None,
        *,
        resident_id: str | None = None,
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.resident_id = resident_id
        self.confirm: Confirm = confirm
        self.dialog: HoldDialog | None = None

        self.show_past = QCheckBox(tr("Show past holds"))
        self.show_past.toggled.connect(lambda _on: self.reload())
        self.add_button = QPushButton(tr("Add hold…"))
        self.lift_button = QPushButton(tr("Lift"))
        self.add_button.clicked.connect(self.open_add)
        self.lift_button.clicked.connect(self.lift_selected)
        self.model = QueryModel(
            [
                Column(tr("Who"), _who_cell, HOLD_SORT_WHO),
                Column(
                    tr("Household"),
                    lambda r: household_label(r["building"], r["unit"], r["room"]),
                    HOLD_SORT_HOUSEHOLD,
                ),
                Column(tr("Since"), lambda r: local_time(r["created_at"]), HOLD_SORT_FROM),
                Column(tr("Until"), lambda r: local_time(r["until"]), HOLD_SORT_UNTIL),
                Column(tr("By"), lambda r: r["created_by"], HOLD_SORT_BY),
                Column(tr("Status"), hold_state),
                Column(tr("Reason"), lambda r: r["reason"], HOLD_SORT_REASON),
            ],
            self._fetch,
            worker=ctx.reader,
            default_order=HOLD_DEFAULT_ORDER,
            muted=lambda r: not r["current"],
        )
        self.table = SearchTable(self.model, placeholder=tr("Household (3-2-501), name or reason"))
        self.table.selectionChanged.connect(self._enable)
        fit_columns(self.table)
        self.message = MessageLine()
        top = QHBoxLayout()
        top.addWidget(self.show_past)
        top.addStretch(1)
        top.addWidget(self.add_button)
        top.addWidget(self.lift_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.message)
        ctx.signals.dataChanged.connect(self._data_changed)
        self._enable()

    def _fetch(self, search: str, order: str, limit: int, offset: int) -> Query:
        now, past, resident_id = self.ctx.now(), self.show_past.isChecked(), self.resident_id
        return lambda db: search_holds(
            db,
            now=now,
            include_past=past,
            search=search,
            resident_id=resident_id,
            order=order,
            limit=limit,
            offset=offset,
        )

    def reload(self) -> None:
        self.model.reload()  # the buttons follow through the table's selectionChanged

    def _data_changed(self, what: str) -> None:
        if what in ("holds", "residents"):
            self.reload()

    def _enable(self) -> None:
        row = self.table.selected()
        self.lift_button.setEnabled(row is not None and bool(row["current"]))

    def say(self, text: str, *, error: bool = False) -> None:
        """``text`` under the table (red for an error)."""
        self.message.say(text, error=error)

    def _failed(self, message: str) -> None:
        self.say(message, error=True)

    # ------------------------------------------------------------ add

    def open_add(self) -> None:
        if self.resident_id is None:
            self._open_add(None)
            return
        resident_id = self.resident_id  # the history dialog's: read them first
        QueryOp(
            self.ctx.reader,
            parent=self,
            op=lambda db: get_resident(db, resident_id),
            success=self._open_add,
        ).failure(self._failed).run_in_background()

    def _open_add(self, fixed: dict[str, Any] | None) -> None:
        dialog = HoldDialog(self.ctx, self, resident=fixed)
        dialog.accepted.connect(
            lambda: self.add(dialog.subject(), dialog.until_day(), dialog.reason.text())
        )
        self.dialog = dialog
        dialog.finished.connect(lambda _code: dialog.deleteLater())
        dialog.open()

    def add(self, subject: dict[str, str | None], until: date, reason: str) -> None:
        """A hold on ``subject`` (``household=`` or ``resident=``) to the end of
        ``until`` (local time), on the jobs thread."""
        end = parse_user_time(until.isoformat(), end_of_day=True)
        now, actor = self.ctx.now(), self.ctx.actor

        def job(db: Database) -> dict[str, Any]:
            return add_hold(db, until=end, reason=reason, now=now, actor=actor, **subject)

        def done(_row: dict[str, Any]) -> None:
            self.ctx.changed("holds")
            self.say(tr("Home quarantine until {date}.", date=until.isoformat()))

        QueryOp(self.ctx.jobs, parent=None, op=job, success=done).failure(
            self._failed
        ).run_in_background()

    # ------------------------------------------------------------ lift

    def lift_selected(self) -> None:
        row = self.table.selected()
        if row is None or not row["current"]:
            return
        question = tr(
            "Lift the home quarantine of {who} (until {until})? They may go out again.",
            who=hold_who(row),
            until=local_time(row["until"], "%Y-%m-%d"),
        )
        if self.confirm(self, question):
            self.lift(row["id"])

    def lift(self, hold_id: str) -> None:
        now, actor = self.ctx.now(), self.ctx.actor

        def job(db: Database) -> None:
            lift_hold(db, hold_id, now=now, actor=actor)

        def done(_result: None) -> None:
            self.ctx.changed("holds")
            self.say(tr("Home quarantine lifted."))

        QueryOp(self.ctx.jobs, parent=None, op=job, success=done).failure(
            self._failed
        ).run_in_background()
