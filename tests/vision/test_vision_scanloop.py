"""The scan loop: newest frame wins, repeats suppressed, camera loss, prompt stop."""

from __future__ import annotations

import itertools
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from kiosk.vision import synth
from kiosk.vision.decoders import ZXingDecoder
from kiosk.vision.diagnostics import Diagnostic
from kiosk.vision.health import CameraEvent, HealthPolicy
from kiosk.vision.pipeline import DecodeResult, Pipeline
from kiosk.vision.repeat import RepeatFilter
from kiosk.vision.scanloop import (
    DiagnosticEvent,
    DiagnosticTracker,
    Event,
    FrameEvent,
    ScanEvent,
    ScanLoop,
)
from kiosk.vision.sources import VideoFileSource, open_source
from tests.fakes import FakeCamera, FakeClock, noise_image


def printed(text: str, seed: int) -> np.ndarray:
    """A small, noisy picture of a code (each seed a different sensor reading)."""
    matrix = synth.qr_matrix(text)
    symbol = np.pad(np.where(matrix, 30, 220).astype(np.uint8), 4, constant_values=220)
    big = cv2.resize(symbol, None, fx=4, fy=4, interpolation=cv2.INTER_NEAREST)
    noisy = big.astype(np.int16) + np.random.default_rng(seed).integers(-6, 7, big.shape)
    return cv2.cvtColor(np.clip(noisy, 0, 255).astype(np.uint8), cv2.COLOR_GRAY2BGR)


def scans(events: list[Event]) -> list[str]:
    return [e.text for e in events if isinstance(e, ScanEvent)]


# ---------------------------------------------------------------- small parts


def test_repeat_filter_window_restarts_while_in_view(clock: FakeClock) -> None:
    repeats = RepeatFilter(window=3.0, clock=clock.monotonic)
    assert repeats.accept("A")
    for _ in range(100):  # held up for ten seconds: seen every 0.1 s
        clock.advance(0.1)
        assert not repeats.accept("A")
    assert repeats.accept("B")
    clock.advance(2.9)
    assert not repeats.accept("A")  # gone for 2.9 s only
    clock.advance(3.0)
    assert repeats.accept("A")  # gone for 3 s: a new scan
    repeats.forget("A")
    assert repeats.accept("A")


def test_diagnostic_tracker_holds_then_reports_and_a_read_clears() -> None:
    tracker = DiagnosticTracker(hold=0.5)
    dark = (Diagnostic.TOO_DARK,)
    assert tracker.update(dark, 0.0, read=False) is None
    assert tracker.update(dark, 0.3, read=False) is None
    assert tracker.update(dark, 0.6, read=False) == dark
    assert tracker.update(dark, 0.7, read=False) is None  # unchanged: not repeated
    assert tracker.update((), 0.8, read=True) == ()
    assert tracker.update((), 0.9, read=True) is None


# ---------------------------------------------------------------- whole loop


@pytest.fixture(scope="module")
def video(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, list[tuple[int, int, str | None]]]:
    path = tmp_path_factory.mktemp("loop") / "gate.avi"
    spans = synth.write_video(
        path,
        [
            (None, 0.3, "clean"),
            ("GP1:FIRST", 0.5, "clean"),
            (None, 0.2, "clean"),
            ("GP1:SECOND", 0.4, "phone"),
        ],
        fps=20,
    )
    return path, spans


def test_every_frame_of_a_file_with_one_scan_per_card(
    video: tuple[Path, list[tuple[int, int, str | None]]],
) -> None:
    path, spans = video
    frames: list[FrameEvent] = []
    loop = ScanLoop(
        VideoFileSource(path),
        Pipeline(ZXingDecoder()),
        drop_stale=False,
        repeat_window=5.0,
        on_frame=frames.append,
    )
    events = list(loop.iter_events())
    assert loop.wait(1.0)
    assert loop.stop()
    total = spans[-1][1]
    assert loop.frames_decoded == total == len(frames)
    assert loop.frames_dropped == 0
    assert [f.frame.index for f in frames] == list(range(total))
    assert scans(events) == ["GP1:FIRST", "GP1:SECOND"]
    camera = [e.state for e in events if isinstance(e, CameraEvent)]
    assert camera == ["opened", "ended"]
    first = next(e for e in events if isinstance(e, ScanEvent))
    assert spans[1][0] <= first.frame_index < spans[1][1]
    assert first.decoded_at >= first.captured_at and first.decode_ms > 0
    assert len(first.corners) == 4
    assert first.raw == b"GP1:FIRST"


def test_a_short_window_scans_a_card_again_after_it_left(tmp_path: Path) -> None:
    for i, text in enumerate(["GP1:AGAIN", None, None, "GP1:AGAIN"]):
        image = printed(text, i) if text else noise_image(i, (200, 200))
        cv2.imwrite(str(tmp_path / f"{i}.png"), image)
    clock = FakeClock()
    source = open_source(str(tmp_path), realtime=False, clock=clock.monotonic)
    loop = ScanLoop(source, drop_stale=False, repeat_window=1.0, clock=clock.monotonic)
    original = loop.pipeline.decode

    def decode_and_tick(frame: np.ndarray) -> DecodeResult:
        clock.advance(0.6)  # each frame 0.6 s apart
        return original(frame)

    loop.pipeline.decode = decode_and_tick  # type: ignore[method-assign]
    assert scans(list(loop.iter_events())) == ["GP1:AGAIN", "GP1:AGAIN"]
    loop.stop()


class SlowPipeline(Pipeline):
    """Takes 30 ms a frame and notes, when done, the newest frame captured by then."""

    def __init__(self) -> None:
        super().__init__(ZXingDecoder())
        self.loop: ScanLoop | None = None
        self.seen: list[int] = []
        self.newest_when_done: list[int] = []

    def decode(self, frame: np.ndarray) -> DecodeResult:
        self.seen.append(int(frame[0, 0, 0]) + 256 * int(frame[0, 0, 1]))
        time.sleep(0.03)
        assert self.loop is not None
        latest = self.loop.latest_frame()
        assert latest is not None
        self.newest_when_done.append(latest.index)
        return DecodeResult((), (), 30.0)


def test_the_decoder_always_takes_the_newest_frame() -> None:
    def stamped(i: int) -> np.ndarray:
        image = noise_image(i)
        image[0, 0, 0], image[0, 0, 1] = i % 256, i // 256  # the frame number, readable
        time.sleep(0.002)  # a 500 fps camera
        return image

    camera = FakeCamera(stamped)
    pipeline = SlowPipeline()
    loop = ScanLoop(camera, pipeline)
    pipeline.loop = loop
    loop.start()
    time.sleep(0.5)
    assert loop.stop()
    seen = pipeline.seen
    assert len(seen) >= 5
    assert loop.frames_dropped > 0
    assert all(b > a for a, b in itertools.pairwise(seen))
    # after each decode the next one starts from a frame at least as new as the newest
    # captured by then: never from an older one left waiting
    for newest, following in zip(pipeline.newest_when_done, seen[1:], strict=False):
        assert following >= newest


def test_stop_is_prompt_and_releases_the_camera() -> None:
    camera = FakeCamera(lambda i: (time.sleep(0.01), noise_image(i))[1])
    loop = ScanLoop(camera)
    loop.start()
    time.sleep(0.1)
    started = time.monotonic()
    assert loop.stop(timeout=1.0)
    assert time.monotonic() - started < 0.5
    assert not loop.running
    assert camera.releases >= 1 and camera.log[-1] == "release"


def test_stop_is_prompt_while_waiting_for_a_lost_camera() -> None:
    camera = FakeCamera(noise_image, plugged=lambda attempt: False)
    events: list[Event] = []
    loop = ScanLoop(
        camera, on_event=events.append, health=HealthPolicy(backoff_start=5.0, backoff_max=5.0)
    )
    loop.start()
    time.sleep(0.1)
    started = time.monotonic()
    assert loop.stop(timeout=2.0)
    assert time.monotonic() - started < 0.5
    assert [e.state for e in events if isinstance(e, CameraEvent)] == ["lost"]


def test_no_scan_while_the_camera_is_lost() -> None:
    frozen = printed("GP1:BEFORE", 0)
    phase = {"n": 0}

    def script(i: int) -> np.ndarray:
        time.sleep(0.005)
        if phase["n"] == 0:  # live, then the picture freezes on the card
            return printed("GP1:BEFORE", i) if i < 5 else frozen
        return printed("GP1:AFTER", i)  # reconnected: a new card

    camera = FakeCamera(script, plugged=lambda attempt: attempt == 1 or attempt >= 3)
    events: list[Event] = []
    done = threading.Event()

    def on_event(event: Event) -> None:
        events.append(event)
        if isinstance(event, CameraEvent) and event.state == "lost":
            phase["n"] = 1
        if isinstance(event, ScanEvent) and event.text == "GP1:AFTER":
            done.set()

    policy = HealthPolicy(frozen_after=0.2, backoff_start=0.05, backoff_max=0.1)
    loop = ScanLoop(camera, on_event=on_event, health=policy, repeat_window=0.0)
    loop.start()
    assert done.wait(5.0)
    loop.stop()
    kinds = [
        e.state if isinstance(e, CameraEvent) else e.text
        for e in events
        if isinstance(e, CameraEvent | ScanEvent)
    ]
    lost, back = kinds.index("lost"), kinds.index("reopened")
    assert kinds[0] == "opened"
    assert "GP1:BEFORE" in kinds[:lost]
    assert back == lost + 1  # nothing scanned in between
    assert "GP1:BEFORE" not in kinds[back:]
    assert "GP1:AFTER" in kinds[back:]


def test_diagnostic_events_report_changes(tmp_path: Path) -> None:
    night = cv2.convertScaleAbs(synth.make_frame("none", 2).image, alpha=0.1)
    for i in range(3):
        cv2.imwrite(str(tmp_path / f"{i}.png"), night)
    cv2.imwrite(str(tmp_path / "3.png"), synth.make_frame("clean", 2).image)
    events: list[Event] = []
    loop = ScanLoop(
        open_source(str(tmp_path), realtime=False),
        drop_stale=False,
        on_event=events.append,
        diagnostics_hold=0.0,
    )
    loop.start()
    assert loop.wait(10.0)
    loop.stop()
    diagnostics = [e for e in events if isinstance(e, DiagnosticEvent)]
    assert [d.diagnostics for d in diagnostics] == [(Diagnostic.TOO_DARK,), ()]
    assert diagnostics[0].messages[0].startswith("Too dark")
    assert len(scans(events)) == 1


def test_a_file_that_is_not_a_video_ends_the_loop_with_the_reason(tmp_path: Path) -> None:
    (tmp_path / "fake.avi").write_bytes(b"not a video")
    loop = ScanLoop(open_source(str(tmp_path / "fake.avi"), realtime=False))
    events = list(loop.iter_events())
    loop.stop()
    assert [(e.state, "as a video" in e.message) for e in events if isinstance(e, CameraEvent)] == [
        ("ended", True)
    ]
