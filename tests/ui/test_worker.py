"""The gate worker's camera handling: a lost camera shows a banner until it is back."""

from __future__ import annotations

import pytest
from conftest import FAST_HEALTH, WindowFactory
from pytestqt.qtbot import QtBot

from tests.fakes import FakeCamera

pytestmark = pytest.mark.gui


@pytest.mark.slow
def test_camera_lost_and_back(qtbot: QtBot, make_window: WindowFactory) -> None:
    camera = FakeCamera(pace=0.05, outage=(1.0, 4.5))
    window = make_window(source=camera, camera="fake", health=FAST_HEALTH)
    qtbot.waitUntil(lambda: window.camera_state == "opened", timeout=10_000)
    assert window.banner.isHidden()
    qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=10_000)
    assert window.camera_state == "lost"
    assert "handheld scanner" in window.banner.text()
    qtbot.waitUntil(lambda: window.banner.isHidden(), timeout=15_000)
    assert window.camera_state == "reopened"
    frames = window.preview.frames_shown
    qtbot.waitUntil(lambda: window.preview.frames_shown > frames + 3, timeout=5_000)


@pytest.mark.slow
def test_no_camera_at_start_says_what_works_and_goes_live_when_it_comes(
    qtbot: QtBot, make_window: WindowFactory
) -> None:
    """A camera that cannot be opened at start: the worker keeps trying (with back-off)
    and the screen says the same thing everywhere, in the guard's words, until the
    camera appears; then the picture comes and every "no camera" goes away."""
    camera = FakeCamera(pace=0.05, outage=(0.0, 2.5))  # unplugged at start, plugged in at 2.5 s
    window = make_window(source=camera, camera="fake", health=FAST_HEALTH)
    qtbot.waitUntil(lambda: window.camera_state == "lost", timeout=10_000)
    banner = window.banner.text()
    assert window.banner.isVisible()
    for words in ("handheld scanner", "F6", "F5", "by itself"):
        assert words in banner
    assert "kiosk cameras" not in banner  # no shell commands for a guard
    assert "handheld scanner" in window.preview.notice
    assert "handheld scanner" in window.verdict.idle_en.text()
    assert "camera" not in window.verdict.idle_en.text()
    assert "扫码枪" in window.verdict.idle_zh.text()
    assert "retrying" in window.status.text()
    assert window.preview.frames_shown == 0
    qtbot.waitUntil(lambda: window.camera_state == "reopened", timeout=15_000)
    assert window.banner.isHidden()
    assert window.preview.notice == ""
    assert window.verdict.idle_en.text() == "Show your pass to the camera"
    qtbot.waitUntil(lambda: window.preview.frames_shown > 3, timeout=5_000)
    assert camera.log.count("open") == 1


def test_stop_releases_the_thread(qtbot: QtBot, make_window: WindowFactory) -> None:
    window = make_window()
    qtbot.waitUntil(lambda: window.worker.loop is not None, timeout=10_000)
    assert window.stop()
    assert not window.service.thread.isRunning()
    loop = window.worker.loop
    assert loop is not None and not loop.running
