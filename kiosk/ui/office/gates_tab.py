"""The office's Gates tab: the compound's checkpoints (docs/exchange.md) and what was
last exchanged with each, enrolling a gate, one exchange through a USB stick, and
removing a gate (a stolen laptop).

A lone checkpoint shows what a compound is and "Enrol a gate…" (the first enrolment
founds the compound, this checkpoint being its office). Enrolling and removing need
the issuer key (:mod:`kiosk.ui.office.issuer`); every read and write runs on the
office's workers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PySide6.QtCore import Qt
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
from sqlite_utils import Database

from kiosk.core.clock import local
from kiosk.core.errors import UserError
from kiosk.core.i18n import tr, trc, trn
from kiosk.core.keys import load_private_key
from kiosk.settings import Settings
from kiosk.store.checkpoint import record_audit
from kiosk.store.enrolment import Enrolment, enrol_gate
from kiosk.store.exchange import Compound, FolderExchange, compound, exchange_folder, news, nodes
from kiosk.store.exchange import remove_node as store_remove_node
from kiosk.ui.drives import Drive, removable_drives
from kiosk.ui.office import files
from kiosk.ui.office.context import OfficeContext
from kiosk.ui.office.gates_dialogs import (
    ChooseDrive,
    EnrolmentCodeDialog,
    GateNameDialog,
    choose_drive,
    drive_text,
)
from kiosk.ui.office.issuer import IssuerKey, no_key_reason
from kiosk.ui.office.passes_tab import Confirm, confirm
from kiosk.ui.office.table import MessageLine
from kiosk.ui.ops import QueryOp

ENROL_SUFFIX = ".enrol"
CELL_STYLE = "QTableWidget::item { padding: 2px 12px; }"  # columns that breathe
# what an exchange may have changed: every tab reloads
EXCHANGED = ("exchange", "residents", "passes", "holds", "visitors", "visits")


@dataclass(frozen=True)
class GateRow:
    """One checkpoint of the compound as the tab lists it."""

    id: str
    name: str
    role: str  # "office" or "gate"
    state: str  # "here", "joined", "waiting", "removed"
    last_import: datetime | None = None
    last_export: datetime | None = None
    last_news: datetime | None = None
    outstanding: int | None = None


@dataclass(frozen=True)
class GatesView:
    """What the tab shows: the compound (None: a lone checkpoint) and its checkpoints."""

    compound: Compound | None
    rows: tuple[GateRow, ...]


def read_gates(db: Database) -> GatesView:
    """The tab's data (on a worker)."""
    comp = compound(db)
    if comp is None:
        return GatesView(None, ())
    heard = {n.id: n for n in news(db)}
    rows = []
    for node in nodes(db):
        if node["id"] == comp.node:
            rows.append(GateRow(node["id"], node["name"], node["role"], "here"))
            continue
        n = heard.get(node["id"])
        if node["removed_at"]:
            state = "removed"
        elif node["sign_key"]:
            state = "joined"
        else:
            state = "waiting"
        rows.append(
            GateRow(
                node["id"],
                node["name"],
                node["role"],
                state,
                n.last_import if n else None,
                n.last_export if n else None,
                n.last_news if n else None,
                n.outstanding if n else None,
            )
        )
    return GatesView(comp, tuple(rows))


def _when(moment: datetime | None) -> str:
    return local(moment).strftime("%Y-%m-%d %H:%M") if moment else "–"


def role_text(role: str) -> str:
    return tr("office") if role == "office" else tr("gate")


def state_text(row: GateRow) -> str:
    words = {
        "here": tr("this checkpoint"),
        "joined": tr("joined"),
        "waiting": tr("waiting for its first bundle"),
        "removed": tr("removed"),
    }
    return words[row.state]


def outstanding_text(row: GateRow) -> str:
    if row.state == "here":
        return ""
    return "?" if row.outstanding is None else str(row.outstanding)


def enrol_file_name(name: str) -> str:
    safe = re.sub(r"[^\w-]+", "-", name, flags=re.UNICODE).strip("-") or "gate"
    return f"gatepass-enrol-{safe}{ENROL_SUFFIX}"


def exchange_summary(done: FolderExchange, drive: Path) -> str:
    """What one exchange did, in the clerk's words (one line each)."""
    lines = [tr("Exchange with {drive}:", drive=drive)]
    for item in done.imported:
        if item.joined:
            lines.append(
                tr("{name} has joined the compound (its keys are now trusted).", name=item.joined)
            )
        lines.append(
            trn(
                "From {name}: {count} new row applied.",
                "From {name}: {count} new rows applied.",
                item.applied,
                name=item.author,
                count=item.applied,
            )
            + (
                " " + tr("{waiting} change sets wait for earlier ones.", waiting=item.waiting)
                if item.waiting
                else ""
            )
        )
    for path, why in done.refused:
        lines.append(tr("Refused {file}: {reason}", file=path.name, reason=why))
    for out in done.exported:
        lines.append(
            trn(
                "For {name}: a bundle of {count} row written.",
                "For {name}: a bundle of {count} rows written.",
                out.rows,
                name=out.recipient,
                count=out.rows,
            )
        )
    if not done.imported and not done.refused:
        lines.append(tr("No bundle for this checkpoint was on the stick."))
    if not done.exported:
        lines.append(tr("No gate has sent its first bundle yet: no bundle was written."))
    return "\n".join(lines)


def column_titles() -> list[str]:
    return [
        tr("Checkpoint"),
        trc("checkpoint", "Role"),
        trc("checkpoint", "State"),
        tr("Last bundle from it"),
        tr("Last bundle for it"),
        tr("Last news"),
        tr("Outstanding changes"),
    ]


class GatesTab(QWidget):
    """The compound's checkpoints; enrol, exchange, remove."""

    def __init__(self, ctx: OfficeContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.issuer = IssuerKey(ctx.home)
        self.confirm: Confirm = confirm
        self.choose_drive: ChooseDrive = choose_drive
        self.view = GatesView(None, ())
        self.loaded = False
        self.code_dialog: EnrolmentCodeDialog | None = None  # the last one (tests)
        self.name_dialog: GateNameDialog | None = None

        self.intro = QLabel()
        self.intro.setWordWrap(True)
        self.enrol_button = QPushButton(tr("Enrol a gate…"))
        self.exchange_button = QPushButton(tr("Exchange with USB stick"))
        self.remove_button = QPushButton(tr("Remove gate…"))
        self.enrol_button.clicked.connect(self.open_enrol)
        self.exchange_button.clicked.connect(self.exchange)
        self.remove_button.clicked.connect(self.remove_selected)
        for button in (self.enrol_button, self.exchange_button, self.remove_button):
            button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
            button.setAutoDefault(True)  # Enter presses it when it has the focus
        self.table = self._make_table()
        self.message = MessageLine()
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        top = QHBoxLayout()
        top.addWidget(self.exchange_button)
        top.addStretch(1)
        top.addWidget(self.enrol_button)
        top.addWidget(self.remove_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.intro)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.message)
        layout.addStretch(0)  # takes the room of the table when there is none
        self._layout = layout
        ctx.signals.dataChanged.connect(self._data_changed)
        self._enable()
        self.reload()

    def _make_table(self) -> QTableWidget:
        headers = column_titles()
        table = QTableWidget(0, len(headers))
        table.setHorizontalHeaderLabels(headers)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.verticalHeader().setVisible(False)
        table.setAlternatingRowColors(True)
        table.setStyleSheet(CELL_STYLE)
        header = table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(False)
        table.itemSelectionChanged.connect(self._enable)
        return table

    # ------------------------------------------------------------ the list

    def reload(self) -> None:
        QueryOp(self.ctx.reader, parent=self, op=read_gates, success=self._show).newest(
            ("gates", id(self))
        ).failure(self._failed).run_in_background()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self.loaded:
            self.reload()

    def _data_changed(self, _what: str) -> None:
        self.reload()  # any change is a change the gates lack (outstanding)

    def _show(self, view: GatesView) -> None:
        self.view, self.loaded = view, True
        self.intro.setText(self._intro_text())
        self.table.setVisible(view.compound is not None)
        self._layout.setStretch(self._layout.count() - 1, 0 if view.compound else 1)
        self.table.setRowCount(len(view.rows))
        for r, row in enumerate(view.rows):
            values = [
                row.name,
                role_text(row.role),
                state_text(row),
                _when(row.last_import) if row.state != "here" else "",
                _when(row.last_export) if row.state != "here" else "",
                _when(row.last_news) if row.state != "here" else "",
                outstanding_text(row),
            ]
            for c, text in enumerate(values):
                item = QTableWidgetItem(text)
                if c == len(values) - 1:
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                if row.state == "removed":
                    item.setForeground(self.palette().placeholderText())
                self.table.setItem(r, c, item)
        self._enable()

    def _intro_text(self) -> str:
        comp = self.view.compound
        if comp is None:
            return tr(
                "This checkpoint is on its own. A compound is an office and its gates "
                "passing each other their changes (residents, passes, holds, passages) "
                "on a USB stick; enrolling the first gate makes this checkpoint the "
                "compound's office."
            )
        if not comp.is_office:
            return tr(
                "This checkpoint is a gate of a compound: gates are enrolled and removed "
                "at the office. Exchange with the USB stick the office sends."
            )
        return tr(
            "Plug in the USB stick and press Exchange: the office takes the gates' "
            "bundles from it and writes one for each gate. Then take the stick round "
            "the gates and exchange there too."
        )

    def selected(self) -> GateRow | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows or rows[0].row() >= len(self.view.rows):
            return None
        return self.view.rows[rows[0].row()]

    def _enable(self) -> None:
        comp = self.view.compound
        office = comp is None or comp.is_office
        self.enrol_button.setVisible(office)
        self.remove_button.setVisible(comp is not None and comp.is_office)
        self.exchange_button.setVisible(comp is not None)
        self.enrol_button.setEnabled(self.loaded and self.issuer.available)
        for button in (self.enrol_button, self.remove_button):
            button.setToolTip("" if self.issuer.available else no_key_reason())
        row = self.selected()
        self.remove_button.setEnabled(
            row is not None and row.state in ("joined", "waiting") and self.issuer.available
        )

    def say(self, text: str, *, error: bool = False) -> None:
        self.message.say(text, error=error)

    def _failed(self, message: str) -> None:
        self.say(message, error=True)

    # ------------------------------------------------------------ drives

    def pick_drive(self) -> Drive | None:
        """The USB stick to use (asked when several are in), or None: none or cancelled."""
        drives = removable_drives()
        if not drives:
            return None
        return self.choose_drive(self, drives)

    # ------------------------------------------------------------ enrol

    def open_enrol(self) -> None:
        dialog = GateNameDialog(self)
        dialog.accepted.connect(lambda: self.enrol(dialog.gate_name()))
        dialog.finished.connect(lambda _code: dialog.deleteLater())
        self.name_dialog = dialog
        dialog.open()

    def enrol_target(self, name: str) -> Path | None:
        """Where the enrolment file goes: the USB stick, else a file the clerk picks."""
        drives = removable_drives()
        if drives:
            drive = self.choose_drive(self, drives)
            return None if drive is None else drive.path / enrol_file_name(name)
        chosen = files.ask_save_path(
            self,
            tr("Save the enrolment file"),
            enrol_file_name(name),
            tr("Enrolment files (*.enrol)"),
        )
        return None if chosen is None else files.ensure_suffix(chosen, ENROL_SUFFIX)

    def enrol(self, name: str) -> None:
        """Enrol a gate called ``name`` (on the jobs thread), then show its code."""
        out = self.enrol_target(name)
        if out is None:
            return
        key = self._issuer_key()
        if key is None:
            return
        home, actor, now = self.ctx.home, self.ctx.actor, self.ctx.now()

        def job(db: Database) -> Enrolment:
            rules = Settings.load(home.settings_file).compound_rules()
            done = enrol_gate(db, home, key, name, out, now=now, rules=rules)
            detail = {"name": done.name, "node": done.node, "file": str(out)}
            record_audit(db, actor, "exchange.enrol", detail)
            return done

        self.say(tr("Enrolling {name}…", name=name))
        QueryOp(self.ctx.jobs, parent=self, op=job, success=self._enrolled).failure(
            self._failed
        ).run_in_background()

    def _enrolled(self, done: Enrolment) -> None:
        self.say(
            tr("{name} is enrolled; its enrolment file is {path}.", name=done.name, path=done.path)
        )
        self.ctx.changed("exchange")
        dialog = EnrolmentCodeDialog(done, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.code_dialog = dialog
        dialog.open()

    def _issuer_key(self) -> Ed25519PrivateKey | None:
        try:
            return self.issuer.load(self)
        except UserError as exc:
            self._failed(str(exc))
            return None

    # ------------------------------------------------------------ exchange

    def _node_key(self) -> Ed25519PrivateKey | None:
        """The key that signs this checkpoint's bundles: the issuer key at the office,
        the gate key at a gate."""
        comp = self.view.compound
        if comp is not None and not comp.is_office:
            try:
                return load_private_key(self.ctx.home.gate_key, None)
            except UserError as exc:
                self._failed(str(exc))
                return None
        return self._issuer_key()

    def exchange(self) -> None:
        """One exchange through the USB stick, on the jobs thread."""
        drives = removable_drives()
        if not drives:
            self.say(
                tr("No USB stick found. Plug one in (wait until it shows up) and try again."),
                error=True,
            )
            return
        drive = self.choose_drive(self, drives)
        if drive is None:
            return
        key = self._node_key()
        if key is None:
            return
        self.run_exchange(drive, key)

    def run_exchange(self, drive: Drive, key: Ed25519PrivateKey) -> None:
        home, now, actor, folder = self.ctx.home, self.ctx.now(), self.ctx.actor, drive.path

        def job(db: Database) -> FolderExchange:
            rules = Settings.load(home.settings_file).compound_rules()
            done = exchange_folder(db, home, key, folder, now=now, rules=rules)
            detail: dict[str, Any] = {
                "folder": str(folder),
                "imported": [i.author for i in done.imported],
                "refused": len(done.refused),
                "exported": [e.recipient for e in done.exported],
            }
            record_audit(db, actor, "exchange.sync", detail)
            return done

        def finished(done: FolderExchange) -> None:
            self.exchange_button.setEnabled(True)
            self.say(exchange_summary(done, folder), error=bool(done.refused))
            for what in EXCHANGED:
                self.ctx.changed(what)

        def failed(message: str) -> None:
            self.exchange_button.setEnabled(True)
            self._failed(message)

        self.exchange_button.setEnabled(False)
        self.say(tr("Exchanging with {drive}…", drive=drive_text(drive)))
        QueryOp(self.ctx.jobs, parent=self, op=job, success=finished).failure(
            failed
        ).run_in_background()

    # ------------------------------------------------------------ remove

    def remove_selected(self) -> None:
        row = self.selected()
        if row is None or row.state not in ("joined", "waiting"):
            return
        question = tr(
            "Remove {name} from the compound? Do this for a lost or stolen gate laptop: "
            "after the next exchange every checkpoint distrusts its key and refuses the "
            "bundles it writes. This cannot be undone; enrol it again under a new name.",
            name=row.name,
        )
        if self.confirm(self, question):
            self.remove(row.name)

    def remove(self, name: str) -> None:
        now, actor = self.ctx.now(), self.ctx.actor

        def job(db: Database) -> dict[str, Any]:
            node = store_remove_node(db, name, now=now)
            record_audit(db, actor, "exchange.remove", {"name": node["name"], "node": node["id"]})
            return node

        def done(node: dict[str, Any]) -> None:
            self.say(
                tr(
                    "{name} is removed. Exchange with the USB stick at the office and "
                    "then at every other gate so that they distrust it too.",
                    name=node["name"],
                )
            )
            self.ctx.changed("exchange")

        QueryOp(self.ctx.jobs, parent=self, op=job, success=done).failure(
            self._failed
        ).run_in_background()
