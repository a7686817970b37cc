"""The office's Visitors tab: who registered, when, whom they came to see, their last
passages in and out, who is inside now and who is overstaying (inside longer than the
``visitor_overstay_hours`` setting, highlighted). Double-click a visitor for their
visits. "Invite a visitor..." registers one ahead for a day (docs/invitations.md) and
shows the slip; "Withdraw invitation" revokes the selected invitation's code."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import shiboken6
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QBrush, QColor, QHideEvent, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
from sqlite_utils import Database

from kiosk.core.clock import from_db, utcnow
from kiosk.core.errors import KioskError
from kiosk.core.i18n import tr, trn
from kiosk.core.identity import mask_name
from kiosk.core.keys import load_private_key
from kiosk.core.rules import Level, reason_label
from kiosk.store.checkpoint import checkpoint_id
from kiosk.store.invitations import invite, signs_with_issuer, withdraw
from kiosk.store.visitors import ValidVisitor, list_visitors
from kiosk.store.visits import visitor_visits
from kiosk.ui.office.context import OfficeContext, local_time
from kiosk.ui.office.invite_dialog import InvitationSlip, InviteDialog
from kiosk.ui.office.issuer import IssuerKey
from kiosk.ui.office.table import (
    Column,
    Index,
    MessageLine,
    Query,
    QueryModel,
    Row,
    SearchTable,
)
from kiosk.ui.ops import QueryOp
from kiosk.ui.theme import LEVEL_COLOURS

REFRESH_MS = 60_000
OVERSTAY_BACKGROUND, OVERSTAY_TEXT = LEVEL_COLOURS[Level.CHECK]


class VisitorModel(QueryModel):
    """The visitors' query model; overstaying visitors' rows are highlighted."""

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if index.isValid() and self.row_at(index.row()).get("overstay"):
            if role == Qt.ItemDataRole.BackgroundRole:
                return QBrush(QColor(OVERSTAY_BACKGROUND))
            if role == Qt.ItemDataRole.ForegroundRole:
                return QBrush(QColor(OVERSTAY_TEXT))
        return super().data(index, role)


def _yes(on: bool) -> str:
    return tr("Yes") if on else ""


def _invited_text(row: Row) -> str:
    """An invitation's day, and whether it was withdrawn ("" for a visitor registered
    at a gate)."""
    if not row.get("invited_for"):
        return ""
    if row.get("withdrawn_at"):
        return tr("{day} (withdrawn)", day=row["invited_for"])
    return str(row["invited_for"])


def confirm(parent: QWidget, question: str) -> bool:
    answer = QMessageBox.question(parent, tr("Gatepass office"), question)
    return answer == QMessageBox.StandardButton.Yes


class VisitorsTab(QWidget):
    """Registered visitors, searchable and sortable; "Overstays only" narrows the list."""

    def __init__(self, ctx: OfficeContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.visits_dialog: VisitorVisitsDialog | None = None
        self.invite_dialog: InviteDialog | None = None
        self.slip: InvitationSlip | None = None
        self.issuer = IssuerKey(ctx.home)
        self.confirm = confirm  # (a test answers for the clerk)
        self.here: str | None = None  # this checkpoint's id, read once
        self.overstays_only = QCheckBox(tr("Overstays only"))
        self.limit = QLabel()
        columns = [
            Column(tr("Name"), lambda r: r["name"], "name"),
            Column(tr("Phone"), lambda r: ctx.phone_text(r["phone"])),
            Column(tr("ID number"), lambda r: ctx.id_text(r["id_number"])),
            Column(tr("Host household"), lambda r: r["household"], "household"),
            Column(tr("Purpose"), lambda r: r["purpose"], "purpose"),
            Column(tr("Registered"), lambda r: local_time(r["created_at"]), "created_at"),
            Column(tr("Last in"), lambda r: local_time(r["last_in"])),
            Column(tr("Last out"), lambda r: local_time(r["last_out"])),
            Column(tr("Inside now"), lambda r: _yes(r["inside"]), "inside"),
            Column(tr("Overstay"), self._overstay_text, "overstay"),
            Column(tr("Invited for"), _invited_text),
        ]
        self.model = VisitorModel(
            columns, self._fetch, worker=ctx.reader, default_order="created_at DESC, id DESC"
        )
        self.table = SearchTable(
            self.model, placeholder=tr("Search by name, host household or purpose")
        )
        self.table.view.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents
        )
        self.table.activated.connect(self.show_visits)
        self.overstays_only.toggled.connect(lambda _on: self.model.reload())

        self.invite_button = QPushButton(tr("Invite a visitor…"))
        self.invite_button.setShortcut("Ctrl+I")
        self.invite_button.setToolTip(tr("Register a visitor ahead for a day (Ctrl+I)"))
        self.invite_button.clicked.connect(self.open_invite)
        self.withdraw_button = QPushButton(tr("Withdraw invitation"))
        self.withdraw_button.setEnabled(False)
        self.withdraw_button.clicked.connect(self.ask_withdraw)
        self.table.view.selectionModel().selectionChanged.connect(self._selection_changed)
        self.model.modelReset.connect(self._selection_changed)  # a reload: rows anew
        self.message = MessageLine()

        top = QHBoxLayout()
        top.addWidget(self.invite_button)
        top.addWidget(self.withdraw_button)
        top.addWidget(self.overstays_only)
        top.addStretch(1)
        top.addWidget(self.limit)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.message)
        QueryOp(ctx.reader, parent=self, op=checkpoint_id, success=self._here).run_in_background()

        self.timer = QTimer(self)  # overstays come with time, not only with new data
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.model.reload)
        ctx.signals.dataChanged.connect(self._data_changed)
        ctx.signals.unmaskedChanged.connect(lambda _on: self.model.reload())
        self._show_limit()

    def _overstay_hours(self) -> float:
        return self.ctx.settings.visitor_overstay_hours

    def _show_limit(self) -> None:
        self.limit.setText(
            tr("Overstay: inside longer than {hours} h", hours=f"{self._overstay_hours():g}")
        )

    def _overstay_text(self, row: Row) -> str:
        if not row["overstay"]:
            return ""
        inside = self.ctx.now() - from_db(row["last_in"])
        hours = inside.total_seconds() / 3600
        return tr("{hours} h inside", hours=f"{hours:.1f}")

    def _fetch(self, search: str, order: str, limit: int, offset: int) -> Query:
        now, only = self.ctx.now(), self.overstays_only.isChecked()
        overstay = timedelta(hours=self._overstay_hours())
        return lambda db: list_visitors(
            db,
            now=now,
            overstay=overstay,
            search=search,
            order_by=order,
            overstays_only=only,
            limit=limit,
            offset=offset,
        )

    def _data_changed(self, what: str) -> None:
        if what in ("visitors", "visits", "households", "residents"):
            self._show_limit()
            self.model.reload()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.timer.start()

    def hideEvent(self, event: QHideEvent) -> None:
        super().hideEvent(event)
        self.timer.stop()

    def show_visits(self, row: Row) -> None:
        """Open (without blocking) the list of one visitor's visits."""
        if self.visits_dialog is not None:
            self.visits_dialog.close()
        self.visits_dialog = VisitorVisitsDialog(self.ctx, row, self)
        self.visits_dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.visits_dialog.destroyed.connect(self._dialog_gone)
        self.visits_dialog.open()

    def _dialog_gone(self, *_args: Any) -> None:
        self.visits_dialog = None

    # ------------------------------------------------------------ invitations

    def _here(self, node: str) -> None:
        self.here = node
        self._selection_changed()

    def selected(self) -> Row | None:
        return self.table.selected()

    def _withdrawable(self, row: Row | None) -> bool:
        """An invitation made here (every row has one author), not withdrawn."""
        return bool(
            row is not None
            and row.get("invited_for")
            and not row.get("withdrawn_at")
            and row.get("checkpoint_id") == self.here
        )

    def _selection_changed(self, *_args: Any) -> None:
        self.withdraw_button.setEnabled(self._withdrawable(self.selected()))

    def open_invite(self) -> None:
        """The invitation's form; on OK the invitation is signed and written."""
        dialog = InviteDialog(self.ctx, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self._invite_checked(dialog))
        self.invite_dialog = dialog
        dialog.open()

    def _invite_checked(self, dialog: InviteDialog) -> None:
        if dialog.visitor is not None and dialog.day is not None:
            self.invite(dialog.visitor, dialog.day)

    def _key(self) -> Ed25519PrivateKey | None:
        """The issuer key on the committee's computer (asked for its passphrase), else
        this checkpoint's gate key (kiosk.store.invitations.signs_with_issuer)."""
        if signs_with_issuer(self.ctx.home):
            return self.issuer.load(self)
        return load_private_key(self.ctx.home.gate_key, None)

    def invite(self, visitor: ValidVisitor, day: date) -> None:
        """Sign and write the invitation on the jobs thread; then its slip."""
        try:
            key = self._key()
        except KioskError as exc:
            self.message.say(str(exc), error=True)
            return
        if key is None:
            self.message.say(tr("Nothing saved: the passphrase was not given."))
            return
        now, actor = utcnow(), self.ctx.actor

        def job(db: Database) -> dict[str, Any]:
            return invite(db, key, visitor, day, now=now, actor=actor)

        def done(row: dict[str, Any]) -> None:
            self.ctx.changed("visitors")
            self.ctx.must_travel()  # the gates hear of it at once (a hub)
            if not shiboken6.isValid(self):
                return
            self.message.say(
                tr(
                    "Invitation for {name} on {day}: code {serial}.",
                    name=mask_name(row["name"]),
                    day=row["invited_for"],
                    serial=row["serial"],
                )
            )
            self.show_slip(row)

        QueryOp(self.ctx.jobs, parent=None, op=job, success=done).failure(
            lambda message: self.message.say(message, error=True)
        ).run_in_background()

    def show_slip(self, invitation: dict[str, Any]) -> None:
        self.slip = InvitationSlip(invitation, self)
        self.slip.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.slip.open()

    def ask_withdraw(self) -> None:
        row = self.selected()
        if not self._withdrawable(row):
            return
        assert row is not None
        question = tr(
            "Withdraw the invitation of {name} for {day}? Their code stops opening the gate.",
            name=row["name"],
            day=row["invited_for"],
        )
        if self.confirm(self, question):
            self.withdraw(str(row["id"]))

    def withdraw(self, visitor_id: str) -> None:
        """Withdraw on the jobs thread: the code is revoked (it travels to the gates)."""
        now, actor = utcnow(), self.ctx.actor

        def done(row: dict[str, Any]) -> None:
            self.ctx.changed("visitors")
            self.ctx.must_travel()
            if shiboken6.isValid(self):
                self.message.say(
                    tr(
                        "Invitation for {name} on {day} withdrawn: code {serial} revoked.",
                        name=mask_name(row["name"]),
                        day=row["invited_for"],
                        serial=row["serial"],
                    )
                )

        QueryOp(
            self.ctx.jobs,
            parent=None,
            op=lambda db: withdraw(db, visitor_id, now=now, actor=actor),
            success=done,
        ).failure(lambda message: self.message.say(message, error=True)).run_in_background()


class VisitorVisitsDialog(QDialog):
    """One visitor's details and passages, the newest first."""

    def __init__(self, ctx: OfficeContext, visitor: Row, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("Visits of {name}", name=visitor["name"]))
        self.resize(760, 480)
        details = QLabel(
            tr(
                "{name}, phone {phone}, visiting {household} ({purpose}); registered {at}",
                name=visitor["name"],
                phone=ctx.phone_text(visitor["phone"]) or "-",
                household=visitor["household"] or "-",
                purpose=visitor["purpose"] or "-",
                at=local_time(visitor["created_at"]),
            )
        )
        details.setWordWrap(True)
        headers = [tr("Time"), tr("Direction"), tr("Verdict"), tr("Reason"), tr("Temperature")]
        self.table = QTableWidget(0, len(headers))
        self.table.setHorizontalHeaderLabels(headers)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.count = QLabel()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(details)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.count)
        layout.addWidget(buttons)
        visitor_id = visitor["id"]
        QueryOp(
            ctx.reader,
            parent=self,
            op=lambda db: visitor_visits(db, visitor_id),
            success=self._show,
        ).failure(self.count.setText).run_in_background()

    def _show(self, rows: list[Row]) -> None:
        self.table.setRowCount(len(rows))
        for r, visit in enumerate(rows):
            values = [
                local_time(visit["at"], "%Y-%m-%d %H:%M:%S"),
                tr("In") if visit["direction"] == "in" else tr("Out"),
                level_text(visit["level"]),
                reason_label(visit["reason"]),
                f"{visit['temperature']:.1f}" if visit["temperature"] is not None else "",
            ]
            for c, text in enumerate(values):
                self.table.setItem(r, c, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        self.count.setText(trn("{count} passage", "{count} passages", len(rows), count=len(rows)))


def level_text(level: str) -> str:
    """A verdict level in words, for tables."""
    words = {"pass": tr("Let through"), "check": tr("Check"), "deny": tr("Stopped")}
    return words.get(level, level)
