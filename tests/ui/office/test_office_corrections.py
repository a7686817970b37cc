"""Correcting a passage from the office: a resident's passages, behind the admin PIN."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot
from sqlite_utils import Database

from kiosk.core.clock import utcnow
from kiosk.core.rules import Encounter, Source
from kiosk.demo import DEMO_PIN
from kiosk.gate import Gate
from kiosk.store.visits import occupancy
from kiosk.ui.dialogs.common import open_dialog
from kiosk.ui.dialogs.correction import CorrectionDialog
from kiosk.ui.dialogs.pin import PinDialog
from kiosk.ui.office.context import OfficeContext
from kiosk.ui.office.resident_history_dialog import ResidentHistoryDialog
from tests.ui.office.test_passes_holds import good_pass, resident_id

pytestmark = pytest.mark.gui


def test_a_residents_passage_corrected_in_the_office(
    qtbot: QtBot, office: OfficeContext, db: Database
) -> None:
    rid = resident_id(db, "张伟")
    with Gate(office.home, guard="老李") as gate:
        gate.handle(Encounter(Source.CAMERA, good_pass(db, "张伟")["token"]))
        checkpoint = gate.checkpoint_id
    dialog = ResidentHistoryDialog(office, rid)
    qtbot.addWidget(dialog)
    assert office.wait_idle()
    table = dialog.passages
    assert table.model.rowCount() == 1
    assert not table.correct_button.isEnabled()  # nothing selected
    table.view.selectRow(0)
    assert table.correct_button.isEnabled()
    table.correct_button.click()
    assert office.wait_idle()  # the passage is read before the PIN is asked
    pin = open_dialog("pin")
    assert isinstance(pin, PinDialog)
    qtbot.waitUntil(lambda: not pin.waiting)  # the lock, read from disk
    for key in (*DEMO_PIN, "OK"):
        pin.press(key)
    qtbot.waitUntil(lambda: open_dialog("correction") is not None)  # PIN checked on jobs
    correction = open_dialog("correction")
    assert isinstance(correction, CorrectionDialog)
    correction.reason.setText("scanned at the desk, he stayed home")
    correction.submit()  # "it was no passage", the first choice
    qtbot.waitUntil(lambda: open_dialog("correction") is None)  # (checked on a reader)
    assert office.wait_idle()
    assert {r["id"] for r in occupancy(db, checkpoint, now=utcnow()).inside} == set()
    model = table.model
    qtbot.waitUntil(lambda: model.rowCount() == 2)  # the passage and its correction
    rows = [model.row_at(i) for i in range(2)]
    [old] = [r for r in rows if r["corrects"] is None]
    [new] = [r for r in rows if r["corrects"] is not None]
    assert old["corrected_by"] == new["id"] and new["reason"] == "void"
    assert new["note"] == "scanned at the desk, he stayed home"
    actor = db.execute("SELECT actor FROM audit WHERE action = 'visits.correct'").fetchone()
    assert actor[0] == "test-clerk"
    for index in range(2):
        table.view.selectRow(index)
        assert not table.correct_button.isEnabled()  # corrected already, or a void
