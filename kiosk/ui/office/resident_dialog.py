"""Adding, editing and deactivating a resident in the office.

Each field is checked with the core's checks (:mod:`kiosk.core.identity`) before
anything is written, and each problem is shown in red under its field. The write runs
on the office's jobs thread; what the store refuses (an ID number that belongs to
someone else) is shown in the dialog, which stays open.

Editing: the household cannot change (deactivate and add again). The ID number and
phone show masked unless unmasking was granted; a masked value left as it is keeps the
stored number.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import shiboken6
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QLabel,
    QLayout,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)
from sqlite_utils import Database

from kiosk.core.i18n import tr
from kiosk.core.identity import IdentityError, check_id_number, check_mobile, check_name
from kiosk.store.register import (
    ROLES,
    add_resident,
    deactivate_resident,
    edit_resident,
)
from kiosk.ui.dialogs.common import GloveDialog, error_label, field_box, set_problem
from kiosk.ui.office.context import OfficeContext
from kiosk.ui.office.table import Row
from kiosk.ui.ops import QueryOp


def role_text(role: str) -> str:
    return {"resident": tr("Resident"), "staff": tr("Staff")}.get(role, role)


class _SavingDialog(GloveDialog):
    """A dialog whose OK runs one job on the office's thread: OK is disabled while it
    runs; success tells every tab and closes; a refusal shows under the fields.

    Subclasses set ``ctx``, ``ok`` and ``error`` and call :meth:`save`."""

    ctx: OfficeContext
    ok: QPushButton
    error: QLabel
    result_value: object = None

    def save(self, job: Callable[[Database], object]) -> None:
        self.ok.setEnabled(False)
        # No parent: the answer must come even if the dialog was closed meanwhile.
        QueryOp(self.ctx.jobs, parent=None, op=job, success=self._done).failure(
            self._failed
        ).run_in_background()

    def _done(self, result: object) -> None:
        self.ctx.changed("residents")  # first: written even if the dialog is gone
        if shiboken6.isValid(self):
            self.result_value = result
            self.accept()

    def _failed(self, message: str) -> None:
        if not shiboken6.isValid(self):
            return
        self.ok.setEnabled(True)
        self.error.setText(message)
        self.error.show()


class ResidentDialog(_SavingDialog):
    """Add a resident (``resident`` None) or edit one (a row of the Residents tab)."""

    def __init__(self, ctx: OfficeContext, resident: Row | None, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.resident = resident
        self.setWindowTitle(tr("Add a resident") if resident is None else tr("Edit a resident"))
        self.building = QLineEdit()
        self.unit = QLineEdit()
        self.room = QLineEdit()
        self.name = QLineEdit()
        self.phone = QLineEdit()
        self.id_number = QLineEdit()
        self.role = QComboBox()
        for role in ROLES:
            self.role.addItem(role_text(role), role)
        self.unit.setPlaceholderText(tr("(none)"))
        self.problems: dict[QWidget, QLabel] = {}
        self.error = error_label()  # what the store refused
        self._shown_phone = ""
        self._shown_id = ""
        self.result_value: object = None  # the new resident's id, or the fields changed
        if resident is not None:
            self._fill(resident)

        form = QFormLayout()
        for label, widget in (
            (tr("Building"), self.building),
            (tr("Unit"), self.unit),
            (tr("Room"), self.room),
            (tr("Name"), self.name),
            (tr("Phone"), self.phone),
            (tr("ID number"), self.id_number),
            (tr("Role"), self.role),
        ):
            self.add_field(widget)
            self.problems[widget] = error_label()
            form.addRow(label, field_box(widget, self.problems[widget]))
        row, self.ok, self.cancel = self.button_row(
            tr("Add") if resident is None else tr("Save"), tr("Cancel")
        )
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addLayout(row)
        layout.setSizeConstraint(QLayout.SizeConstraint.SetMinimumSize)  # grows with problems
        self.resize(640, self.sizeHint().height())

    def _fill(self, resident: Row) -> None:
        for widget, key in ((self.building, "building"), (self.unit, "unit"), (self.room, "room")):
            widget.setText(resident[key] or "")
            widget.setReadOnly(True)
            widget.setEnabled(False)
            widget.setToolTip(tr("To move a resident, deactivate them and add them again."))
        self.name.setText(resident["name"])
        self._shown_phone = self.ctx.phone_text(resident["phone"])
        self._shown_id = self.ctx.id_text(resident["id_number"])
        self.phone.setText(self._shown_phone)
        self.id_number.setText(self._shown_id)
        self.role.setCurrentIndex(max(0, self.role.findData(resident["role"])))

    # ------------------------------------------------------------ checking

    def _changed(self, widget: QLineEdit, shown: str) -> str | None:
        """The field's text, or None when editing and the shown value was left as is."""
        text = widget.text().strip()
        if self.resident is not None and text == shown:
            return None
        return text

    def check(self) -> dict[str, Any] | None:
        """The values to write, each field's problem shown; None if any field is wrong."""
        values: dict[str, Any] = {"role": self.role.currentData()}
        problems: dict[QWidget, str] = {}
        if self.resident is None:
            for key, edit in (
                ("building", self.building),
                ("unit", self.unit),
                ("room", self.room),
            ):
                values[key] = edit.text().strip()
            if not values["building"]:
                problems[self.building] = tr("Building is missing")
            if not values["room"]:
                problems[self.room] = tr("Room is missing")
        checks: tuple[tuple[str, QLineEdit, str, Callable[[str], str]], ...] = (
            ("name", self.name, "", check_name),
            ("phone", self.phone, self._shown_phone, check_mobile),
            ("id_number", self.id_number, self._shown_id, _check_id),
        )
        for key, edit, shown, check in checks:
            text = edit.text().strip() if key == "name" else self._changed(edit, shown)
            values[key] = text
            if text is None or (not text and key != "name"):
                continue  # unchanged, or cleared
            try:
                values[key] = check(text)
            except IdentityError as exc:
                problems[edit] = str(exc)
        for widget, label in self.problems.items():
            set_problem(widget, label, problems.get(widget, ""))
        self.error.hide()
        if problems:
            next(w for w in self.fields if w in problems).setFocus()
            return None
        return values

    # ------------------------------------------------------------ writing

    def submit(self) -> None:
        if not self.ok.isEnabled():
            return  # a write is on its way
        values = self.check()
        if values is None:
            return
        actor = self.ctx.actor
        resident = self.resident

        def job(db: Database) -> object:
            if resident is None:
                return add_resident(db, actor=actor, **values)
            return edit_resident(db, str(resident["id"]), actor=actor, **values)

        self.save(job)


def _check_id(text: str) -> str:
    return check_id_number(text, date.today())


class DeactivateDialog(_SavingDialog):
    """Asks to confirm deactivating a resident, and why; their history stays."""

    def __init__(self, ctx: OfficeContext, resident: Row, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.resident = resident
        self.setWindowTitle(tr("Deactivate a resident"))
        self.question = question = QLabel(
            tr(
                "Deactivate {name} of {household}? They no longer live here; their passes "
                "and passages stay on record.",
                name=resident["name"],
                household=resident["household"],
            )
        )
        question.setWordWrap(True)
        self.reason = QLineEdit()
        self.reason.setPlaceholderText(tr("For example: moved out"))
        self.add_field(self.reason)
        self.reason_problem = error_label()
        self.error = error_label()
        form = QFormLayout()
        form.addRow(tr("Reason"), field_box(self.reason, self.reason_problem))
        row, self.ok, self.cancel = self.button_row(tr("Deactivate"), tr("Cancel"))
        layout = QVBoxLayout(self)
        layout.addWidget(question)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addLayout(row)
        layout.setSizeConstraint(QLayout.SizeConstraint.SetMinimumSize)  # grows with problems
        self.resize(640, self.sizeHint().height())

    def submit(self) -> None:
        if not self.ok.isEnabled():
            return
        reason = self.reason.text().strip()
        set_problem(
            self.reason,
            self.reason_problem,
            "" if reason else tr("Give a reason for deactivating the resident."),
        )
        if not reason:
            self.reason.setFocus()
            return
        actor, resident_id = self.ctx.actor, str(self.resident["id"])

        def job(db: Database) -> None:
            deactivate_resident(db, resident_id, reason, actor=actor)

        self.save(job)
