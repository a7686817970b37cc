"""The gate window when its start finds passages missing from the visit log (issue
12): it says so in a box that blocks nothing, and goes on deciding."""

from __future__ import annotations

import pytest
from conftest import FAST_HEALTH, WindowFactory
from pytestqt.qtbot import QtBot

from kiosk.core.rules import Encounter, Source
from kiosk.demo import Demo
from kiosk.gate import Gate
from kiosk.store.db import connect, write
from tests.fakes import FakeCamera

pytestmark = pytest.mark.gui


def test_a_lost_tail_is_told_in_a_box_and_the_gate_goes_on(
    qtbot: QtBot, make_window: WindowFactory, demo: Demo
) -> None:
    with Gate(demo.home, repeat_window_s=0) as gate:
        for _ in range(5):
            assert gate.handle(Encounter(Source.SCANNER, demo.tokens["valid"])) is not None
    db = connect(demo.home.database)
    try:
        with write(db):  # what a lost -wal does to the newest passages
            db.execute("DELETE FROM visits WHERE seq > 3")
    finally:
        db.close()
    window = make_window(source=FakeCamera(pace=0.05), camera="fake", health=FAST_HEALTH)
    qtbot.waitUntil(lambda: window.log_damage_box is not None, timeout=10_000)
    box = window.log_damage_box
    assert box is not None and box.isVisible() and not box.isModal()
    assert "At least 2 passages are missing from the end of the visit log" in box.text()
    window.handle_scanned_text(demo.tokens["valid"])
    qtbot.waitUntil(lambda: len(window.decisions) == 1, timeout=10_000)
