"""The gate worker's camera handling: a lost camera shows a banner until it is back."""

from __future__ import annotations

import pytest
from conftest import FAST_HEALTH, FakeCamera, WindowFactory
from pytestqt.qtbot import QtBot

pytestmark = pytest.mark.gui


def test_camera_lost_and_back(qtbot: QtBot, make_window: WindowFactory) -> None:
    camera = FakeCamera(outage=(1.0, 4.5))
    window = make_window(source=camera, camera="fake", health=FAST_HEALTH)
    qtbot.waitUntil(lambda: window.camera_state == "opened", timeout=10_000)
    assert window.banner.isHidden()
    qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=10_000)
    assert window.camera_state == "lost"
    assert "Camera" in window.banner.text()
    qtbot.waitUntil(lambda: window.banner.isHidden(), timeout=15_000)
    assert window.camera_state == "reopened"
    frames = window.preview.frames_shown
    qtbot.waitUntil(lambda: window.preview.frames_shown > frames + 3, timeout=5_000)


def test_stop_releases_the_thread(qtbot: QtBot, make_window: WindowFactory) -> None:
    window = make_window()
    qtbot.waitUntil(lambda: window.worker.loop is not None, timeout=10_000)
    assert window.stop()
    assert not window.service.thread.isRunning()
    loop = window.worker.loop
    assert loop is not None and not loop.running
