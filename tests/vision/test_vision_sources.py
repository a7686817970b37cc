"""Frame sources: choosing one from a spec, files, folders, pacing, webcams (faked)."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any, ClassVar

import cv2
import pytest

from kiosk.core.errors import EnvironmentFault, UserError
from kiosk.vision import sources, synth
from kiosk.vision.sources import (
    CameraSource,
    FrameSource,
    ImageFolderSource,
    VideoFileSource,
    open_source,
    platform_backends,
)
from tests.fakes import FakeClock, noise_image


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("video") / "gate.avi"
    synth.write_video(path, [(None, 0.2, "clean"), ("GP1:VIDEO", 0.3, "clean")], fps=20)
    return path


def images(folder: Path, names: list[str]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(names):
        cv2.imwrite(str(folder / name), noise_image(i))
    return [folder / n for n in names]


def test_specs_pick_the_right_source(tmp_path: Path, video: Path) -> None:
    images(tmp_path / "shots", ["b.png", "a.jpg", "c.webp"])
    (tmp_path / "shots" / "notes.txt").write_text("not an image")
    assert isinstance(open_source("0"), CameraSource)
    assert open_source(" 2 ").index == 2  # type: ignore[attr-defined]
    folder = open_source(str(tmp_path / "shots"))
    assert isinstance(folder, ImageFolderSource)
    assert [p.name for p in folder.paths] == ["a.jpg", "b.png", "c.webp"]
    pattern = open_source(str(tmp_path / "shots" / "*.png"))
    assert isinstance(pattern, ImageFolderSource)
    assert [p.name for p in pattern.paths] == ["b.png"]
    single = open_source(str(tmp_path / "shots" / "a.jpg"))
    assert isinstance(single, ImageFolderSource) and len(single.paths) == 1
    assert isinstance(open_source(str(video)), VideoFileSource)
    for source in (folder, pattern, single, open_source(str(video)), open_source("0")):
        assert isinstance(source, FrameSource)


def test_bad_specs_are_user_errors(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="camera number"):
        open_source(str(tmp_path / "nothing-here.avi"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="No images"):
        open_source(str(tmp_path / "empty"))
    with pytest.raises(UserError, match="No images match"):
        open_source(str(tmp_path / "*.png"))
    (tmp_path / "fake.avi").write_bytes(b"not a video at all")
    source = open_source(str(tmp_path / "fake.avi"))
    with pytest.raises(UserError, match="as a video"):
        source.open()


def test_a_folder_gives_each_image_once_and_skips_unreadable(tmp_path: Path) -> None:
    paths = images(tmp_path, ["1.png", "2.png", "3.png"])
    (tmp_path / "0-broken.png").write_bytes(b"\x89PNG broken")
    source = ImageFolderSource([*paths, tmp_path / "0-broken.png"])
    source.open()
    frames = []
    while (frame := source.read()) is not None:
        frames.append(frame)
    assert [f.index for f in frames] == [1, 2, 3]
    assert source.ended
    assert (frames[0].image == noise_image(0)).all()


def test_a_folder_paced_and_looped(tmp_path: Path, clock: FakeClock) -> None:
    paths = images(tmp_path, ["a.png", "b.png"])
    source = ImageFolderSource(paths, fps=4.0, loop=True, clock=clock.monotonic, sleep=clock.sleep)
    source.open()
    got = [source.read() for _ in range(5)]
    assert [f.index for f in got if f is not None] == [0, 1, 0, 1, 0]
    assert not source.ended
    times = [f.captured_at for f in got if f is not None]
    assert [round(b - a, 6) for a, b in itertools.pairwise(times)] == [0.25] * 4


def test_a_video_read_as_fast_as_possible(video: Path) -> None:
    source = VideoFileSource(video)
    source.open()
    assert source.fps == pytest.approx(20.0)
    indices = []
    while (frame := source.read()) is not None:
        indices.append(frame.index)
        assert frame.image.shape == (720, 1280, 3)
    assert indices == list(range(10))
    assert source.ended
    assert not source.is_live
    source.release()
    source.release()  # twice is fine


def test_a_looping_video_starts_again(video: Path) -> None:
    source = VideoFileSource(video, loop=True)
    source.open()
    indices = [f.index for f in (source.read() for _ in range(25)) if f is not None]
    assert indices == [*range(10), *range(10), *range(5)]
    assert not source.ended


def test_a_realtime_video_is_paced_and_skips_frames_a_slow_reader_misses(
    video: Path, clock: FakeClock
) -> None:
    source = VideoFileSource(video, realtime=True, clock=clock.monotonic, sleep=clock.sleep)
    source.open()
    first = source.read()
    second = source.read()
    assert first is not None and second is not None
    assert second.captured_at - first.captured_at == pytest.approx(0.05)  # 20 fps
    clock.advance(0.2)  # the reader was busy for four frame periods
    late = source.read()
    assert late is not None
    assert late.index >= 5  # the frames it was too slow for are gone, as with a camera


class FakeCapture:
    opened_with: ClassVar[list[tuple[int, int]]] = []
    works_with: ClassVar[set[int]] = set()

    def __init__(self, index: int, api: int) -> None:
        self.props: dict[int, float] = {}
        self.api = api
        FakeCapture.opened_with.append((index, api))

    def isOpened(self) -> bool:
        return self.api in FakeCapture.works_with

    def set(self, prop: int, value: float) -> bool:
        self.props[prop] = value
        return True

    def get(self, prop: int) -> float:
        return self.props.get(prop, 0.0)

    def read(self) -> tuple[bool, Any]:
        return True, noise_image(1, (720, 1280))

    def release(self) -> None:
        return None


def test_a_webcam_is_opened_with_the_platform_backend_and_asked_for_mjpg_720p(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    FakeCapture.opened_with = []
    FakeCapture.works_with = {cv2.CAP_ANY}  # the preferred API fails, the fallback works
    monkeypatch.setattr(sources.cv2, "VideoCapture", FakeCapture)
    camera = CameraSource(1, backends=platform_backends("linux"))
    camera.open()
    assert FakeCapture.opened_with == [(1, cv2.CAP_V4L2), (1, cv2.CAP_ANY)]
    capture = camera._capture
    assert capture.props[cv2.CAP_PROP_FOURCC] == cv2.VideoWriter.fourcc(*"MJPG")
    assert (capture.props[cv2.CAP_PROP_FRAME_WIDTH], capture.props[cv2.CAP_PROP_FRAME_HEIGHT]) == (
        1280,
        720,
    )
    frame = camera.read()
    assert frame is not None and frame.index == 0
    assert "camera 1" in camera.describe()
    assert "1280x720" in camera.describe()


def test_a_webcam_that_will_not_open_is_an_environment_fault(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    FakeCapture.works_with = set()
    monkeypatch.setattr(sources.cv2, "VideoCapture", FakeCapture)
    with pytest.raises(EnvironmentFault, match="kiosk cameras"):
        CameraSource(0).open()


def test_platform_backends() -> None:
    assert platform_backends("win32")[:2] == [cv2.CAP_MSMF, cv2.CAP_DSHOW]
    assert platform_backends("darwin")[0] == cv2.CAP_AVFOUNDATION
    assert platform_backends("linux")[0] == cv2.CAP_V4L2
    for name in ("win32", "darwin", "linux", "freebsd"):
        assert platform_backends(name)[-1] == cv2.CAP_ANY


def test_list_cameras_reports_what_opens(monkeypatch: pytest.MonkeyPatch) -> None:
    FakeCapture.works_with = {cv2.CAP_V4L2}
    monkeypatch.setattr(sources.cv2, "VideoCapture", FakeCapture)
    monkeypatch.setattr(sources, "platform_backends", lambda: [cv2.CAP_V4L2])
    found = sources.list_cameras(3)
    assert [(c.index, c.width, c.height, c.backend) for c in found] == [
        (i, 1280, 720, "V4L2") for i in range(3)
    ]
