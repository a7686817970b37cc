"""The gate worker: a lost camera shows a banner until it is back; one queue for scan
events and the jobs asked of it."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import FAST_HEALTH, WindowFactory
from pytestqt.qtbot import QtBot

from kiosk.core.rules import Direction
from kiosk.demo import Demo
from kiosk.gate import Decision
from kiosk.settings import Settings
from kiosk.ui.worker import GateService, GateWorker
from kiosk.vision import synth
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


def test_one_queue_before_the_loop_starts_and_after_it_stopped(
    qtbot: QtBot, demo: Demo, tmp_path: Path
) -> None:
    """A scanner's text asked of the worker before its thread starts waits in the one
    queue and is decided once the gate is up; after the video has ended (the scan
    loop stopped) the same queue still serves the worker: scans, direction changes."""
    video = tmp_path / "short.avi"
    synth.write_video(video, [(None, 0.5, "clean")], fps=20)
    worker = GateWorker(demo.home, Settings.load(demo.home.settings_file), camera=str(video))
    decided: list[Decision] = []
    cameras: list[str] = []
    modes: list[str] = []
    worker.decided.connect(decided.append)
    worker.cameraChanged.connect(lambda event: cameras.append(event.state))
    worker.modeChanged.connect(modes.append)
    worker.submit_scan(demo.tokens["valid"])  # before the thread runs
    service = GateService(worker)
    service.start()
    try:
        qtbot.waitUntil(lambda: len(decided) == 1, timeout=10_000)
        qtbot.waitUntil(lambda: "ended" in cameras, timeout=10_000)
        loop = worker.loop
        qtbot.waitUntil(lambda: loop is not None and not loop.running, timeout=5_000)
        worker.set_mode("out")
        worker.submit_scan(demo.tokens["revoked"])
        qtbot.waitUntil(lambda: len(decided) == 2, timeout=10_000)
    finally:
        assert service.stop()
    assert [d.encounter.text for d in decided] == [demo.tokens["valid"], demo.tokens["revoked"]]
    assert modes[-1] == "out"
    assert decided[1].verdict.direction is Direction.OUT
