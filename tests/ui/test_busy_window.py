"""The window while another program holds the database's write lock: the passage waits
(the window says it is saving), is shown once it is on disk, and the camera goes on."""

from __future__ import annotations

import pytest
from conftest import FAST_HEALTH, WindowFactory
from pytestqt.qtbot import QtBot

from kiosk.core.rules import Level
from kiosk.demo import Demo
from tests.fakes import FakeCamera
from tests.helpers import raw_connect

pytestmark = pytest.mark.gui


def test_a_scan_waits_for_a_busy_database_and_the_camera_goes_on(
    qtbot: QtBot, make_window: WindowFactory, demo: Demo
) -> None:
    window = make_window(source=FakeCamera(pace=0.05), camera="fake", health=FAST_HEALTH)
    qtbot.waitUntil(lambda: window.camera_state == "opened", timeout=10_000)
    holder = raw_connect(demo.home.database, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        window.handle_scanned_text(demo.tokens["valid"])
        qtbot.waitUntil(lambda: window.saving.isVisible(), timeout=10_000)
        assert "busy" in window.status.text()
        assert not window.decisions  # nothing shown before it is on disk
        loop = window.worker.loop
        assert loop is not None and loop.running  # the camera reader goes on
        frames = window.preview.frames_shown
        qtbot.waitUntil(lambda: window.preview.frames_shown > frames + 3, timeout=5_000)
        assert not window.decisions
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    qtbot.waitUntil(lambda: len(window.decisions) == 1, timeout=10_000)
    assert window.saving.isHidden()
    assert "busy" not in window.status.text()
    assert window.decisions[0].verdict.level is Level.PASS
    window.handle_scanned_text(demo.tokens["revoked"])  # the scan path still runs
    qtbot.waitUntil(lambda: len(window.decisions) == 2, timeout=10_000)
    assert window.banner.isHidden()  # no "The camera reader stopped"
    with raw_connect(demo.home.database) as conn:
        ids = [r[0] for r in conn.execute("SELECT id FROM visits")]
    assert sorted(ids) == sorted(d.visit.id for d in window.decisions)
