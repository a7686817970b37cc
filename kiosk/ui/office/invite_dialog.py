"""Inviting a visitor from the office (docs/invitations.md): the form (name, phone, ID
number, the household searched as at the gate, the day, the reason), checked on the
office's reader; the invitation is then written and signed on the jobs thread by the
Visitors tab, and its slip shown (:class:`InvitationSlip`: print it, or save the code's
image to send to the visitor's phone)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import (
    QDateEdit,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from kiosk.core.errors import KioskError
from kiosk.core.i18n import tr, trc
from kiosk.core.identity import mask_name
from kiosk.store.invitations import check_invitation, write_code_image
from kiosk.store.register import search_households
from kiosk.store.visitors import ValidVisitor, VisitorForm
from kiosk.ui.dialogs.common import (
    TOUCH_PX,
    GloveDialog,
    big_button,
    error_label,
    field_box,
    set_problem,
)
from kiosk.ui.dialogs.registration import VisitorCodeDialog
from kiosk.ui.office import files
from kiosk.ui.office.context import OfficeContext, day_of
from kiosk.ui.ops import QueryOp

FIELDS = ("name", "phone", "id_number", "destination", "reason")


class InviteDialog(GloveDialog):
    """The invitation's form; accepted: :attr:`visitor` and :attr:`day` checked."""

    def __init__(self, ctx: OfficeContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.id_required = ctx.settings.visitor_id_required
        self.visitor: ValidVisitor | None = None
        self.day: date | None = None
        self.setWindowTitle(tr("Invite a visitor"))
        labels = {
            "name": tr("Name *"),
            "phone": tr("Mobile phone *"),
            "id_number": tr("ID number *") if self.id_required else tr("ID number"),
            "destination": tr("Visiting (room or resident) *"),
            "reason": trc("visit purpose", "Reason"),
        }
        self.edits: dict[str, QLineEdit] = {}
        self.problems: dict[str, QLabel] = {}
        self.matches = QListWidget()
        self.matches.setFixedHeight(TOUCH_PX * 3 + 8)
        self.matches.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.matches.hide()
        self.matches.itemClicked.connect(self._pick)
        form = QFormLayout()
        for name in FIELDS:
            edit = QLineEdit()
            edit.setMinimumWidth(420)
            self.edits[name] = edit
            self.problems[name] = error_label()
            box = field_box(edit, self.problems[name])
            if name == "destination":
                box_layout = box.layout()
                assert box_layout is not None
                box_layout.addWidget(self.matches)
            form.addRow(labels[name], box)
            if name == "destination":  # the day comes after the household
                self.date = QDateEdit()
                self.date.setCalendarPopup(True)
                self.date.setDisplayFormat("yyyy-MM-dd")
                today = ctx.now().date()
                self.date.setMinimumDate(_qdate(today))
                self.date.setDate(_qdate(today + timedelta(days=1)))
                self.problems["date"] = error_label()
                form.addRow(tr("Day of the visit *"), field_box(self.date, self.problems["date"]))
        for name in ("name", "phone", "id_number", "destination"):
            self.add_field(self.edits[name])
        self.add_field(self.date)
        self.add_field(self.edits["reason"])
        self.edits["destination"].setPlaceholderText(tr("3-2-501 or a name"))
        self.edits["destination"].textEdited.connect(self._search)
        layout = QVBoxLayout(self)
        note = QLabel(tr("The visitor's code opens the gate on that day only."))
        note.setWordWrap(True)
        layout.addWidget(note)
        layout.addLayout(form)
        self.problem = error_label()
        layout.addWidget(self.problem)
        row, self.ok_button, self.cancel_button = self.button_row(tr("Invite"))
        layout.addLayout(row)
        self.edits["name"].setFocus()

    # -- the household, searched as at the gate -------------------------------------

    def _search(self, text: str) -> None:
        if not text.strip():
            self.matches.clear()
            self.matches.hide()
            return
        QueryOp(
            self.ctx.reader,
            parent=self,
            op=lambda db: search_households(db, text),
            success=lambda found: self._show_matches(text, found),
        ).newest(("invite-households", id(self))).run_in_background()

    def _show_matches(self, text: str, found: list[dict[str, Any]]) -> None:
        if text != self.edits["destination"].text():
            return  # typed on meanwhile
        self.matches.clear()
        for household in found:
            names = "、".join(mask_name(n) for n in household["names"][:4])
            item = QListWidgetItem(f"{household['label']}   {names}".rstrip())
            item.setData(Qt.ItemDataRole.UserRole, household["label"])
            self.matches.addItem(item)
        if found:
            self.matches.setCurrentRow(0)
        self.matches.setVisible(bool(found))

    def _pick(self, item: QListWidgetItem | None) -> None:
        if item is not None:
            self.edits["destination"].setText(str(item.data(Qt.ItemDataRole.UserRole)))
        self.matches.hide()

    def enter_pressed(self, field: QWidget) -> None:
        if field is self.edits["destination"] and self.matches.isVisible():
            self._pick(self.matches.currentItem())  # the highlighted household
        self.focus_next(field)

    # -- checking -------------------------------------------------------------------------

    def form(self) -> VisitorForm:
        return VisitorForm(**{name: self.edits[name].text() for name in FIELDS})

    def submit(self) -> None:
        """Check the form on the reader; accepted, or the problems shown."""
        form, day = self.form(), day_of(self.date.date())
        today, id_required = self.ctx.now().date(), self.id_required
        self.ok_button.setEnabled(False)
        QueryOp(
            self.ctx.reader,
            parent=self,
            op=lambda db: check_invitation(db, form, day, today=today, id_required=id_required),
            success=lambda checked: self._checked(day, *checked),
        ).failure(self._failed).run_in_background()

    def _failed(self, message: str) -> None:
        self.ok_button.setEnabled(True)
        self.problem.setText(message)

    def _checked(self, day: date, visitor: ValidVisitor | None, problems: dict[str, str]) -> None:
        self.ok_button.setEnabled(True)
        for name in FIELDS:
            set_problem(self.edits[name], self.problems[name], problems.get(name, ""))
        self.problems["date"].setText(problems.get("date", ""))
        self.problems["date"].setVisible(bool(problems.get("date")))
        if visitor is None:
            for name in (*FIELDS[:4], "date", "reason"):
                if name in problems:
                    widget = self.date if name == "date" else self.edits[name]
                    widget.setFocus()
                    break
            return
        self.visitor, self.day = visitor, day
        self.accept()


def _qdate(day: date) -> QDate:
    return QDate(day.year, day.month, day.day)


class InvitationSlip(VisitorCodeDialog):
    """The invitation's slip: the visitor code's slip, its day, and "Save image..." to
    send the code to the visitor's phone."""

    def __init__(self, invitation: dict[str, Any], parent: QWidget | None = None) -> None:
        from kiosk.ui.office.context import local_time

        super().__init__(
            str(invitation["token"]),
            local_time(invitation["valid_until"]),
            parent,
            name=str(invitation["name"]),
            destination=str(invitation["household"] or ""),
            issued_text=local_time(invitation["issued_at"]),
        )
        self.invitation = invitation
        self.setWindowTitle(tr("Invitation"))
        layout = self.layout()
        assert layout is not None
        first = layout.itemAt(0)
        title = first.widget() if first is not None else None
        if isinstance(title, QLabel):
            title.setText(
                tr(
                    "Send this code to the visitor's phone: it opens the gate on {day}.",
                    day=invitation["invited_for"],
                )
            )
        self.saved: Path | None = None
        self.save_button = big_button(tr("Save image…"))
        self.save_button.clicked.connect(lambda: self.save_image())
        last = layout.itemAt(layout.count() - 1)
        row = last.layout() if last is not None else None
        assert isinstance(row, QHBoxLayout)  # Print ... Close
        row.insertWidget(1, self.save_button)

    def save_image(self, path: Path | None = None) -> Path | None:
        """Write the code as a PNG (asked where without ``path``); the path, or None."""
        if path is None:
            path = files.ask_save_path(
                self,
                tr("Save the code's image"),
                f"invitation-{self.invitation['serial']}.png",
                tr("PNG images (*.png)"),
            )
            if path is None:
                return None
            path = files.ensure_suffix(path, ".png")
        try:
            self.saved = write_code_image(self.token, path)
        except (KioskError, OSError) as exc:
            self.until.setText(str(exc))
            return None
        self.until.setText(tr("Saved to {path}", path=path))
        return self.saved
