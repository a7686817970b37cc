"""Every dialog of the gate and the office, built for real on a checkpoint: for the
screenshots in docs/screenshots (tools/screenshots.py) and for the contrast test
(tests/ui/test_contrast.py), which renders each one in both themes and languages.

:func:`samples` lists (name, dialog class, builder). Some dialogs appear twice, in a
second state worth seeing (the returning visitor's banner, problems shown in red).
A message box stands for every ``QMessageBox`` the program opens.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from PySide6.QtWidgets import QDialog, QMessageBox
from sqlite_utils import Database

from kiosk.core.clock import to_db
from kiosk.core.i18n import tr
from kiosk.store.invitations import validity_day
from kiosk.store.passes import search_passes
from kiosk.store.register import page_residents
from kiosk.store.visitors import list_visitors
from kiosk.store.visits import list_visits
from kiosk.ui.office.context import OfficeContext
from kiosk.ui.ops import QueryOp

Row = dict[str, Any]


@dataclass(frozen=True)
class Sample:
    name: str
    kind: type[QDialog]
    build: Callable[[], QDialog]


def _message_box(icon: QMessageBox.Icon) -> QMessageBox:
    box = QMessageBox(
        icon,
        tr("Delete old records"),
        tr(
            "Delete every visit and visitor older than {days} days? This cannot be undone.",
            days=28,
        ),
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
    )
    return box


def _enrolment_code() -> QDialog:
    from pathlib import Path

    from kiosk.store.enrolment import Enrolment
    from kiosk.ui.office.gates_dialogs import EnrolmentCodeDialog

    done = Enrolment(
        node="0190a5f2-6b1c-7000-8000-0000000000a1",
        name="北门",
        code="7K3MQ-9PX2D",
        path=Path("/media/usb/gatepass-enrol-北门.enrol"),
        size=3_441_062,
        fingerprint="3F9A1C0B",
    )
    return EnrolmentCodeDialog(done)


def _exchange_done() -> QDialog:
    """The exchange dialog as it reports one exchange (a bundle taken in, one refused,
    the gate's written for the office)."""
    from pathlib import Path

    from kiosk.store.exchange import Exported, FolderExchange, Imported
    from kiosk.ui.dialogs.exchange import ExchangeDialog
    from kiosk.ui.worker import ExchangeDone

    stick = Path("/media/STICK")
    got = Imported(stick / "gatepass-for-north-20261130-101500.gpbundle", "office", 2, 42, 0, None)
    refused = tr("This is not a Gatepass exchange bundle, or it is damaged.")
    out = Exported(stick / "gatepass-for-office-20261130-143000.gpbundle", "office", 1, 12, 3456)
    done = FolderExchange((got,), ((stick / "old.gpbundle", refused),), (out,))
    dialog = ExchangeDialog(lambda _folder: None)
    dialog.state = "running"
    dialog.on_exchanged(ExchangeDone(stick, done))
    return dialog


def samples(ctx: OfficeContext) -> list[Sample]:
    """Every dialog, built on ``ctx``'s checkpoint (it needs residents, passes and a
    visitor, as the demo checkpoint has); the gate's dialogs read on ``reader``."""
    from kiosk.ui.dialogs.correction import CorrectionDialog
    from kiosk.ui.dialogs.exchange import ExchangeDialog
    from kiosk.ui.dialogs.manual import ManualPassDialog
    from kiosk.ui.dialogs.pin import PinDialog
    from kiosk.ui.dialogs.registration import (
        RegistrationDialog,
        VisitorCodeDialog,
        returning_prefill,
    )
    from kiosk.ui.dialogs.settings_dialog import SettingsDialog
    from kiosk.ui.dialogs.shift import ShiftSummaryDialog, SignInDialog
    from kiosk.ui.dialogs.unlock import UnlockDialog
    from kiosk.ui.doctor import DoctorDialog
    from kiosk.ui.office.gates_dialogs import EnrolmentCodeDialog, GateNameDialog
    from kiosk.ui.office.holds_tab import HoldDialog
    from kiosk.ui.office.import_wizard import ImportWizard
    from kiosk.ui.office.invite_dialog import InvitationSlip, InviteDialog
    from kiosk.ui.office.issuer import PassphraseDialog
    from kiosk.ui.office.passes_tab import IssueDialog, PrintCardsDialog, RevokeDialog
    from kiosk.ui.office.resident_dialog import DeactivateDialog, ResidentDialog
    from kiosk.ui.office.resident_history_dialog import ResidentHistoryDialog
    from kiosk.ui.office.visitors_tab import VisitorVisitsDialog
    from kiosk.vision.idcard_vote import CardVerdict, Voted

    now = ctx.now()
    settings = ctx.settings
    reader = ctx.reader  # the gate's dialogs read on a DbWorker too

    def sample_rows(db: Database) -> tuple[Row, Row, Row, Row, list[Row]]:
        resident = page_residents(db, limit=1)[0]
        a_pass = search_passes(db, now=now, limit=1)[0]
        visitor = list_visitors(db, now=now, overstay=timedelta(hours=4), limit=1)[0]
        returning = returning_prefill(db, visitor["id"]) or {}
        return resident, a_pass, visitor, returning, list_visits(db, limit=8)

    got: list[tuple[Row, Row, Row, Row, list[Row]]] = []
    QueryOp(ctx.reader, parent=None, op=sample_rows, success=got.append).run_in_background()
    ctx.reader.wait_idle()  # a tool, not the product: it may wait for its sample rows
    resident, a_pass, visitor, returning, visits = got[0]

    def registration_problems() -> QDialog:
        dialog = RegistrationDialog(reader, settings)
        dialog.submit()  # nothing typed: every required field says what is missing
        reader.wait_idle()  # (checked on the reader)
        return dialog

    def invite_problems() -> QDialog:
        dialog = InviteDialog(ctx)
        dialog.submit()  # nothing typed: every required field says what is missing
        ctx.reader.wait_idle()
        return dialog

    today = now.astimezone().date().isoformat()
    invitation = {
        "token": "GV1:demo-invitation-code-for-the-screenshot",
        "serial": "DEMO-0001",
        "name": visitor["name"],
        "household": visitor["household"],
        "invited_for": today,
        "issued_at": to_db(now),
        "valid_until": to_db(validity_day(now.astimezone().date())[1]),
    }

    def registration_card() -> QDialog:
        """A new visitor's card read: the number in, the name and place unsure."""
        dialog = RegistrationDialog(reader, settings, frames=lambda: None)
        assert dialog.card_reader is not None
        dialog.card_reader.stop()  # no camera here: the reading is given
        dialog.card_reader.show(
            CardVerdict(
                id_number="11010519491231002X",
                name=Voted("王小明", 0.71, 1, low_confidence=True, settled=True),
                where_from=Voted("浙江省杭州市", 0.9, 2, low_confidence=False, settled=True),
                readings=2,
            )
        )
        return dialog

    def settings_problems() -> QDialog:
        dialog = SettingsDialog(settings)
        dialog.pin_new.setText("12")
        dialog.submit()
        return dialog

    summary = {
        "guard": "李明",
        "since": now - timedelta(hours=8),
        "until": now,
        "passed_in": 212,
        "passed_out": 198,
        "checks": 7,
        "denials": 2,
        "fevers": 1,
    }
    until = (now + timedelta(hours=24)).astimezone().strftime("%Y-%m-%d %H:%M")
    return [
        Sample("registration", RegistrationDialog, lambda: RegistrationDialog(reader, settings)),
        Sample(
            "registration-returning",
            RegistrationDialog,
            lambda: RegistrationDialog(reader, settings, returning),
        ),
        Sample(
            "registration-invited",
            RegistrationDialog,
            lambda: RegistrationDialog(reader, settings, {**returning, "invited_for": today}),
        ),
        Sample("registration-problems", RegistrationDialog, registration_problems),
        Sample("registration-card", RegistrationDialog, registration_card),
        Sample(
            "visitor-code",
            VisitorCodeDialog,
            lambda: VisitorCodeDialog("GV1:demo-visitor-code-for-the-screenshot", until),
        ),
        Sample("pin", PinDialog, lambda: PinDialog(ctx.reader)),
        Sample("sign-in", SignInDialog, lambda: SignInDialog(["李明", "Wang Fang"])),
        Sample("shift-summary", ShiftSummaryDialog, lambda: ShiftSummaryDialog(summary)),
        Sample("settings", SettingsDialog, lambda: SettingsDialog(settings)),
        Sample("settings-problems", SettingsDialog, settings_problems),
        Sample("manual-pass", ManualPassDialog, lambda: ManualPassDialog(reader)),
        Sample(
            "correction",
            CorrectionDialog,
            lambda: CorrectionDialog(reader, visits),
        ),
        Sample("exchange-done", ExchangeDialog, _exchange_done),
        Sample(  # no camera frames here: the camera's line shows a problem
            "health-check",
            DoctorDialog,
            lambda: DoctorDialog(reader, ctx.home, settings, lambda: None),
        ),
        Sample("unlock", UnlockDialog, lambda: UnlockDialog(ctx.home.database)),
        Sample("office-passphrase", PassphraseDialog, lambda: PassphraseDialog()),
        Sample("office-revoke", RevokeDialog, lambda: RevokeDialog(a_pass)),
        Sample("office-issue", IssueDialog, lambda: IssueDialog(ctx)),
        Sample("office-print-cards", PrintCardsDialog, lambda: PrintCardsDialog(ctx, a_pass)),
        Sample("office-resident-new", ResidentDialog, lambda: ResidentDialog(ctx, None)),
        Sample("office-resident-edit", ResidentDialog, lambda: ResidentDialog(ctx, resident)),
        Sample("office-deactivate", DeactivateDialog, lambda: DeactivateDialog(ctx, resident)),
        Sample(
            "office-resident-history",
            ResidentHistoryDialog,
            lambda: ResidentHistoryDialog(ctx, str(resident["id"])),
        ),
        Sample("office-hold", HoldDialog, lambda: HoldDialog(ctx)),
        Sample(
            "office-visitor-visits", VisitorVisitsDialog, lambda: VisitorVisitsDialog(ctx, visitor)
        ),
        Sample("office-invite", InviteDialog, lambda: InviteDialog(ctx)),
        Sample("office-invite-problems", InviteDialog, invite_problems),
        Sample("office-invitation-slip", InvitationSlip, lambda: InvitationSlip(invitation)),
        Sample("office-import", ImportWizard, lambda: ImportWizard(ctx)),
        Sample("office-gate-name", GateNameDialog, lambda: GateNameDialog()),
        Sample("office-enrolment-code", EnrolmentCodeDialog, _enrolment_code),
        Sample("message-question", QMessageBox, lambda: _message_box(QMessageBox.Icon.Question)),
        Sample("message-warning", QMessageBox, lambda: _message_box(QMessageBox.Icon.Warning)),
        Sample("message-critical", QMessageBox, lambda: _message_box(QMessageBox.Icon.Critical)),
    ]
