"""Camera health: frozen pictures, failed reads, back-off, coming back, file ends."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from kiosk.core.errors import EnvironmentFault
from kiosk.vision.health import Backoff, CameraEvent, HealthPolicy, Supervisor, fingerprint
from kiosk.vision.sources import ImageFolderSource
from tests.fakes import FakeCamera, FakeClock, noise_image


def states(events: list[CameraEvent]) -> list[str]:
    return [e.state for e in events]


def test_backoff_doubles_to_the_maximum_and_resets() -> None:
    backoff = Backoff(0.5, 8.0)
    assert [backoff.next() for _ in range(7)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    backoff.reset()
    assert backoff.next() == 0.5


def test_fingerprint_sees_sensor_noise_and_ignores_blank_frames() -> None:
    a, b = noise_image(1), noise_image(2)
    assert fingerprint(a) == fingerprint(a.copy())
    assert fingerprint(a) != fingerprint(b)
    one_pixel = a.copy()
    one_pixel[0, 0] = 255 - one_pixel[0, 0]  # a pixel on the sparse grid
    assert fingerprint(one_pixel) != fingerprint(a)
    assert fingerprint(np.zeros((72, 128, 3), np.uint8)) is None


def test_a_frozen_picture_for_three_seconds_is_a_lost_camera(clock: FakeClock) -> None:
    frozen = noise_image(7)

    def script(i: int) -> object:
        # live frames, then the same buffer forever (an unplugged camera on some
        # back-ends), then after the reconnect live frames again
        if i < 30:
            return noise_image(i)
        if i < 30 + 150:
            return frozen
        return noise_image(i)

    camera = FakeCamera(script, clock)
    events: list[CameraEvent] = []
    supervisor = Supervisor(camera, events.append, clock=clock.monotonic, sleep=clock.sleep)
    got = []
    while not any(e.state == "reopened" for e in events):
        frame = supervisor.next_frame()
        assert frame is not None
        got.append((clock.monotonic(), frame))
    assert states(events) == ["opened", "lost", "reopened"]
    lost_at = events[1].at
    first_frozen = 100.0 + 31 / 30
    assert 3.0 <= lost_at - first_frozen <= 3.0 + 2 / 30
    # frozen frames were handed out until the loss, then none until the reopen
    reopened_at = events[2].at
    assert all(t <= lost_at or t >= reopened_at for t, _ in got)
    assert any(lost_at < t for t, _ in got)
    assert camera.releases == 1 and camera.opens == 2
    assert clock.sleeps == [0.5]  # one back-off wait before the reopen
    assert "froze" in events[1].message


def test_failed_reads_then_reconnect_with_backoff(clock: FakeClock) -> None:
    def script(i: int) -> object:
        if i < 5:
            return noise_image(i)
        if i < 10:
            return None if i % 2 else EnvironmentFault("USB error")
        return noise_image(i)

    # unplugged for the first 4 reopen attempts, back on the 5th
    camera = FakeCamera(script, clock, plugged=lambda attempt: attempt == 1 or attempt >= 6)
    events: list[CameraEvent] = []
    policy = HealthPolicy(failed_reads=5, backoff_start=0.5, backoff_max=8.0)
    supervisor = Supervisor(
        camera, events.append, policy=policy, clock=clock.monotonic, sleep=clock.sleep
    )
    frames = [supervisor.next_frame() for _ in range(6)]
    assert all(f is not None for f in frames)
    assert [f.index for f in frames if f is not None] == [0, 1, 2, 3, 4, 10]
    assert states(events) == ["opened", "lost", "reopened"]
    backoffs = [s for s in clock.sleeps if s != policy.retry_read_after]
    assert backoffs == [0.5, 1.0, 2.0, 4.0, 8.0]
    assert camera.log.count("open-failed") == 4


def test_backoff_resets_after_the_camera_behaves(clock: FakeClock) -> None:
    frozen = noise_image(3)
    # two separate freezes far apart: the second wait starts again at 0.5 s
    camera = FakeCamera(
        lambda i: frozen if 50 <= i < 200 or 400 <= i < 550 else noise_image(i), clock
    )
    events: list[CameraEvent] = []
    supervisor = Supervisor(camera, events.append, clock=clock.monotonic, sleep=clock.sleep)
    while states(events).count("reopened") < 2:
        supervisor.next_frame()
    assert clock.sleeps == [0.5, 0.5]


def test_a_camera_missing_at_start_is_waited_for(clock: FakeClock) -> None:
    camera = FakeCamera(noise_image, clock, plugged=lambda attempt: attempt >= 3)
    events: list[CameraEvent] = []
    supervisor = Supervisor(camera, events.append, clock=clock.monotonic, sleep=clock.sleep)
    assert supervisor.next_frame() is not None
    assert states(events) == ["lost", "reopened"]
    assert clock.sleeps == [0.5, 1.0]


def test_stopping_ends_the_wait_for_a_camera(clock: FakeClock) -> None:
    camera = FakeCamera(noise_image, clock, plugged=lambda attempt: False)
    stop = {"now": False}

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        stop["now"] = len(clock.sleeps) >= 3

    supervisor = Supervisor(
        camera, lambda e: None, clock=clock.monotonic, sleep=sleep, stopping=lambda: stop["now"]
    )
    assert supervisor.next_frame() is None
    assert len(clock.sleeps) == 3


def test_a_blank_picture_is_not_frozen(clock: FakeClock) -> None:
    black = np.zeros((72, 128, 3), np.uint8)  # lens covered: same bytes, still a camera
    camera = FakeCamera(lambda i: black, clock)
    events: list[CameraEvent] = []
    supervisor = Supervisor(camera, events.append, clock=clock.monotonic, sleep=clock.sleep)
    for _ in range(300):  # ten seconds
        assert supervisor.next_frame() is not None
    assert states(events) == ["opened"]


def test_a_file_source_ends_and_is_never_lost(tmp_path: Path, clock: FakeClock) -> None:
    for i in range(3):
        cv2.imwrite(str(tmp_path / f"{i}.png"), noise_image(0))  # identical pictures
    source = ImageFolderSource(
        sorted(tmp_path.glob("*.png")), clock=clock.monotonic, sleep=clock.sleep
    )
    events: list[CameraEvent] = []
    supervisor = Supervisor(source, events.append, clock=clock.monotonic, sleep=clock.sleep)
    frames = []
    while (frame := supervisor.next_frame()) is not None:
        frames.append(frame)
        clock.advance(2.0)  # slow: identical frames for 6 s, yet not "frozen"
    assert len(frames) == 3
    assert states(events) == ["opened", "ended"]
