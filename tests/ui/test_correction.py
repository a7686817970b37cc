"""Correcting a passage from the gate: F8 (or the button under the recent list), the
admin PIN, the passage, what was wrong and why; the counts follow at once."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from kiosk.core.rules import Reason
from kiosk.demo import DEMO_PIN, Demo
from kiosk.store.corrections import get_visit
from kiosk.store.db import connect
from kiosk.ui.dialogs.common import open_dialog
from kiosk.ui.dialogs.correction import CorrectionDialog
from kiosk.ui.dialogs.pin import PinDialog
from tests.fakes import FakeCamera
from tests.ui.conftest import WindowFactory

pytestmark = pytest.mark.gui


def scanned(qtbot: QtBot, window: Any, token: str, count: int) -> None:
    window.worker.submit_scan(token)
    qtbot.waitUntil(
        lambda: window.stats is not None and len(window.stats.recent) == count, timeout=10000
    )


def test_f8_voids_the_last_passage_by_keyboard_only(
    qtbot: QtBot, make_window: WindowFactory, demo: Demo
) -> None:
    window = make_window(source=FakeCamera(pace=0.05), camera="fake")
    window.guard_name = "Li"
    scanned(qtbot, window, demo.tokens["valid"], 1)
    assert window.stats.occupancy.inside == 1
    visit_id = window.stats.recent[-1]["id"]
    assert window.correct_button.text() == "Correct a passage (F8)"  # the key, on screen

    qtbot.keyClick(window, Qt.Key.Key_F8)
    pin = open_dialog("pin")
    assert isinstance(pin, PinDialog)
    qtbot.waitUntil(lambda: not pin.waiting)  # the lock, read from disk
    qtbot.keyClicks(pin, DEMO_PIN)
    qtbot.keyClick(pin, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: open_dialog("correction") is not None)  # checked on the reader
    dialog = open_dialog("correction")
    assert isinstance(dialog, CorrectionDialog)
    assert dialog.visit_id() == visit_id  # the newest, selected
    assert dialog.focusWidget() is dialog.passages
    qtbot.keyClick(dialog.passages, Qt.Key.Key_Return)  # this passage
    assert dialog.focusWidget() is dialog.kinds
    qtbot.keyClick(dialog.kinds, Qt.Key.Key_Return)  # "it was no passage" (the first)
    assert dialog.focusWidget() is dialog.reason  # "who was it?" is skipped
    with qtbot.waitSignal(window.worker.corrected, timeout=10000) as answer:
        qtbot.keyClicks(dialog.reason, "card read at the desk")
        qtbot.keyClick(dialog.reason, Qt.Key.Key_Return)
    new_id, problem = answer.args
    assert problem == ""
    qtbot.waitUntil(lambda: window.stats.occupancy.inside == 0, timeout=10000)
    assert window.stats.occupancy.today_in == 0
    db = connect(demo.home.database)
    try:
        row = get_visit(db, new_id)
        actor = db.execute("SELECT actor FROM audit WHERE action = 'visits.correct'").fetchone()
    finally:
        db.close()
    assert row is not None and row["corrects"] == visit_id and row["reason"] == Reason.VOID
    assert row["note"] == "card read at the desk"
    assert actor[0] == "window:Li"
    # the recent list: the old passage struck out, the correction saying what it is
    texts = [window.recent.item(i) for i in range(window.recent.count())]
    assert any(item.font().strikeOut() for item in texts)
    assert any("not a passage" in item.text() for item in texts)


def test_the_other_direction_and_another_person(
    qtbot: QtBot, make_window: WindowFactory, demo: Demo
) -> None:
    window = make_window(source=FakeCamera(pace=0.05), camera="fake")
    scanned(qtbot, window, demo.tokens["valid"], 1)
    visit_id = window.stats.recent[-1]["id"]
    dialog = CorrectionDialog(window.reader, list(reversed(window.stats.recent)), visit_id)
    qtbot.addWidget(dialog)
    dialog.kinds.setCurrentRow(2)  # another person of the household
    window.reader.wait_idle()  # the household is read on the window's reader
    assert dialog.person.isEnabled() and dialog.person.count() >= 1
    dialog.reason.setText("her husband's card")
    dialog.submit()
    window.reader.wait_idle()  # checked there too
    assert dialog.result_value is not None
    assert dialog.result_value.kind is Reason.WRONG_PERSON
    assert dialog.result_value.resident_id == dialog.person.itemData(0)
    with qtbot.waitSignal(window.worker.corrected, timeout=10000) as answer:
        window.worker.correct_visit(visit_id, "wrong_direction", "went out", actor="t")
    assert answer.args[1] == ""
    qtbot.waitUntil(lambda: window.stats.occupancy.inside == 0, timeout=10000)
    assert (window.stats.occupancy.today_in, window.stats.occupancy.today_out) == (0, 1)
    again = CorrectionDialog(window.reader, list(reversed(window.stats.recent)), visit_id)
    qtbot.addWidget(again)
    assert again.visit_id() != visit_id  # corrected already: listed, not pickable
