"""An invitation's code scanned at the gate window: registration opens filled in with
the invited visitor's banner; the temperature and Enter admit and log them."""

from __future__ import annotations

from datetime import date

import pytest
from conftest import WindowFactory
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from sqlite_utils import Database

from kiosk.core.clock import utcnow
from kiosk.core.keys import load_private_key
from kiosk.core.rules import Level, Reason
from kiosk.demo import Demo
from kiosk.store.invitations import check_invitation, invite
from kiosk.store.visitors import VisitorForm
from tests.fakes import FakeCamera

pytestmark = pytest.mark.gui


def test_an_invitation_scanned_opens_registration_filled_in_and_admits(
    qtbot: QtBot, make_window: WindowFactory, demo: Demo, db: Database
) -> None:
    from kiosk.ui.dialogs import common
    from kiosk.ui.dialogs.registration import RegistrationDialog

    household = next(db.query("SELECT building, unit, room FROM households LIMIT 1"))
    label = "-".join(str(household[k]) for k in ("building", "unit", "room") if household[k])
    today = date.today()
    form = VisitorForm(name="Zhao Liu", phone="13800139999", destination=label, reason="doctor")
    visitor, problems = check_invitation(db, form, today, today=today)
    assert visitor is not None, problems
    made = invite(db, load_private_key(demo.home.private_key, None), visitor, today, now=utcnow())

    window = make_window(source=FakeCamera(pace=0.05), camera="fake", demo=False)
    qtbot.waitUntil(lambda: window.decoder_name != "-", timeout=10_000)
    window.handle_scanned_text(str(made["token"]))
    qtbot.waitUntil(lambda: list(window.verdict.shown) == [Level.CHECK], timeout=10_000)
    assert window.decisions[0].verdict.reason is Reason.VISITOR_CODE
    qtbot.waitUntil(lambda: common._OPEN.get("registration") is not None, timeout=5_000)
    dialog = common._OPEN["registration"]
    assert isinstance(dialog, RegistrationDialog)
    assert dialog.visitor_id == made["id"]
    assert dialog.banner.text() == "Invited visitor: check the ID card, then take the temperature."
    assert dialog.edits["name"].text() == "Zhao Liu" and dialog.edits["name"].isReadOnly()
    assert dialog.edits["phone"].text() == "138****9999"
    assert dialog.focusWidget() is dialog.edits["temperature"]
    qtbot.keyClicks(dialog.edits["temperature"], "36.6")
    with qtbot.waitSignal(dialog.accepted, timeout=5_000):
        qtbot.keyClick(dialog.edits["temperature"], Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(window.decisions) == 2, timeout=10_000)
    admitted = window.decisions[1].verdict
    assert admitted.level is Level.PASS and admitted.reason is Reason.VISITOR_ADMITTED
    rows = list(
        db.query(
            "SELECT level, temperature FROM visits WHERE visitor_id = ? ORDER BY rowid",
            [made["id"]],
        )
    )
    assert rows == [
        {"level": "check", "temperature": None},
        {"level": "pass", "temperature": 36.6},
    ]
    window.close()
