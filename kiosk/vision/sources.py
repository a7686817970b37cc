"""Where frames come from: a webcam, a video file, or a folder of images.

All three implement :class:`FrameSource`. ``open_source(spec)`` picks one from a
string as typed after ``--camera``: ``0`` (a webcam index), ``gate.avi`` (a video),
``shots/`` or ``'shots/*.jpg'`` (images, sorted, one frame each), ``card.png``.

A video file stands in for a live camera when ``realtime`` is set: frames come at
the file's frame rate and, like a camera, frames the reader was too slow for are
skipped. Without ``realtime`` every frame comes, as fast as it is asked for.
"""

from __future__ import annotations

import contextlib
import glob
import logging
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import cv2
import numpy as np

from kiosk.core.errors import EnvironmentFault, UserError
from kiosk.core.i18n import tr

log = logging.getLogger("kiosk.vision")

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
Clock = Callable[[], float]
Sleep = Callable[[float], None]


@dataclass(frozen=True)
class Frame:
    """One picture: BGR pixels, when it was captured (``time.monotonic()`` seconds,
    or the source's injected clock) and its number in the source."""

    image: np.ndarray
    captured_at: float
    index: int


@runtime_checkable
class FrameSource(Protocol):
    """A camera, a video file or a folder of images."""

    @property
    def is_live(self) -> bool:
        """A camera (it can be lost and come back), not a file (it ends)."""
        ...

    @property
    def ended(self) -> bool:
        """A finite source has given its last frame."""
        ...

    def open(self) -> None:
        """Start; raises UserError (bad file) or EnvironmentFault (camera unavailable)."""
        ...

    def read(self) -> Frame | None:
        """The next frame; None when there is none (a camera hiccup, or the end)."""
        ...

    def release(self) -> None:
        """Give the device or file back. Safe to call twice."""
        ...

    def describe(self) -> str:
        """A short description for people: "camera 0 (V4L2, 1280x720)"."""
        ...


# ---------------------------------------------------------------- webcams


def platform_backends(platform: str | None = None) -> list[int]:
    """OpenCV capture APIs to try, best first, for this operating system."""
    name = platform or sys.platform
    if name.startswith("win"):
        return [cv2.CAP_MSMF, cv2.CAP_DSHOW, cv2.CAP_ANY]
    if name == "darwin":
        return [cv2.CAP_AVFOUNDATION, cv2.CAP_ANY]
    if name.startswith("linux"):
        return [cv2.CAP_V4L2, cv2.CAP_ANY]
    return [cv2.CAP_ANY]


def backend_name(api: int) -> str:
    if api == cv2.CAP_ANY:
        return "auto"
    try:
        return str(cv2.videoio_registry.getBackendName(api))
    except cv2.error:  # pragma: no cover - unknown API id
        return str(api)


@contextlib.contextmanager
def quiet_opencv() -> Iterator[None]:
    """Silence OpenCV's own warnings (probing absent cameras prints several)."""
    logging_api: Any = getattr(getattr(cv2, "utils", None), "logging", None)
    if logging_api is None:  # pragma: no cover - builds without cv2.utils.logging
        yield
        return
    previous = logging_api.getLogLevel()
    logging_api.setLogLevel(logging_api.LOG_LEVEL_SILENT)
    try:
        yield
    finally:
        logging_api.setLogLevel(previous)


class CameraSource:
    """A webcam by index, opened with the platform's best capture API."""

    is_live = True
    ended = False

    def __init__(
        self,
        index: int,
        *,
        width: int = 1280,
        height: int = 720,
        fourcc: str = "MJPG",
        clock: Clock = time.monotonic,
        backends: Sequence[int] | None = None,
    ) -> None:
        self.index = index
        self.width, self.height, self.fourcc = width, height, fourcc
        self._clock = clock
        self._backends = list(backends) if backends is not None else platform_backends()
        self._capture: Any = None
        self._api = cv2.CAP_ANY
        self._count = 0

    def open(self) -> None:
        self.release()
        with quiet_opencv():
            for api in self._backends:
                capture = cv2.VideoCapture(self.index, api)
                if capture.isOpened():
                    self._configure(capture)
                    self._capture, self._api = capture, api
                    log.info("opened %s", self.describe())
                    return
                capture.release()
        raise EnvironmentFault(
            tr(
                "Camera {index} cannot be opened: check that it is plugged in and not in use "
                "by another program, or try another number (kiosk cameras lists them).",
                index=self.index,
            )
        )

    def _configure(self, capture: Any) -> None:
        """Ask for MJPG at 1280x720 (a camera that cannot simply keeps its own mode)."""
        capture.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter.fourcc(*self.fourcc))
        capture.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
        capture.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
        capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # hand over fresh frames, not queued ones

    def read(self) -> Frame | None:
        if self._capture is None:
            return None
        try:
            ok, image = self._capture.read()
        except cv2.error as exc:
            raise EnvironmentFault(
                tr("Camera {index} read error: {error}", index=self.index, error=exc)
            ) from exc
        if not ok or image is None:
            return None
        self._count += 1
        return Frame(image, self._clock(), self._count - 1)

    def release(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None

    def resolution(self) -> tuple[int, int]:
        if self._capture is None:
            return (0, 0)
        return (
            int(self._capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
            int(self._capture.get(cv2.CAP_PROP_FRAME_HEIGHT)),
        )

    def describe(self) -> str:
        if self._capture is None:
            return tr("camera {index}", index=self.index)
        w, h = self.resolution()
        return tr(
            "camera {index} ({backend}, {width}x{height})",
            index=self.index,
            backend=backend_name(self._api),
            width=w,
            height=h,
        )


@dataclass(frozen=True)
class CameraInfo:
    index: int
    width: int
    height: int
    backend: str


def list_cameras(max_index: int = 10) -> list[CameraInfo]:
    """The webcams 0..max_index-1 that open and give a frame, with their resolution."""
    found = []
    for index in range(max_index):
        source = CameraSource(index)
        try:
            source.open()
        except EnvironmentFault:
            continue
        try:
            frame = source.read()
            if frame is None:
                continue
            h, w = frame.image.shape[:2]
            found.append(CameraInfo(index, w, h, backend_name(source._api)))
        finally:
            source.release()
    return found


# ---------------------------------------------------------------- video files


class VideoFileSource:
    """A video file; paced at its frame rate when ``realtime`` (a camera stand-in)."""

    is_live = False

    def __init__(
        self,
        path: Path,
        *,
        realtime: bool = False,
        loop: bool = False,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        self.path = path
        self.realtime, self.loop = realtime, loop
        self._clock, self._sleep = clock, sleep
        self._capture: Any = None
        self._fps = 30.0
        self._start = 0.0
        self._delivered = 0  # frames handed out or skipped since the start (pacing)
        self._position = 0  # the next frame's number in the file
        self._ended = False

    @property
    def ended(self) -> bool:
        return self._ended

    @property
    def fps(self) -> float:
        return self._fps

    @property
    def started_at(self) -> float:
        """When frame 0 was due (realtime): frame n is due ``n / fps`` later."""
        return self._start

    def open(self) -> None:
        self.release()
        capture = cv2.VideoCapture(str(self.path))
        if not capture.isOpened():
            capture.release()
            raise UserError(tr("Cannot read {path} as a video.", path=self.path))
        fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
        self._fps = fps if 1.0 <= fps <= 240.0 else 30.0
        self._capture = capture
        self._start = self._clock()
        self._delivered = self._position = 0
        self._ended = False

    def _grab(self) -> np.ndarray | None:
        ok, image = self._capture.read()
        if ok and image is not None:
            return np.asarray(image)
        if not self.loop or self._position == 0:
            return None
        self._capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
        self._position = 0
        ok, image = self._capture.read()
        return np.asarray(image) if ok and image is not None else None

    def read(self) -> Frame | None:
        if self._capture is None or self._ended:
            return None
        if self.realtime:
            self._pace()
        image = self._grab()
        if image is None:
            self._ended = True
            return None
        frame = Frame(image, self._clock(), self._position)
        self._position += 1
        self._delivered += 1
        return frame

    def _pace(self) -> None:
        """Wait for the frame's moment; skip the frames a camera would have dropped."""
        period = 1.0 / self._fps
        due = self._start + self._delivered * period
        now = self._clock()
        if due > now:
            self._sleep(due - now)
            return
        late = int((now - due) / period)
        for _ in range(late):  # a camera does not wait for a slow reader
            if not self._capture.grab():
                break
            self._position += 1
            self._delivered += 1

    def release(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None

    def describe(self) -> str:
        return tr("video {name}", name=self.path.name)


# ---------------------------------------------------------------- image folders


class ImageFolderSource:
    """Still images, sorted by name, one frame each; paced at ``fps`` if given."""

    is_live = False

    def __init__(
        self,
        paths: Sequence[Path],
        *,
        label: str = "",
        fps: float | None = None,
        loop: bool = False,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        self.paths = sorted(paths)
        self.label = label or (str(self.paths[0].parent) if self.paths else "")
        self.fps, self.loop = fps, loop
        self._clock, self._sleep = clock, sleep
        self._next = 0
        self._count = 0
        self._last = 0.0
        self._ended = False

    @property
    def ended(self) -> bool:
        return self._ended

    def open(self) -> None:
        if not self.paths:
            raise UserError(tr("No images in {spec}.", spec=self.label))
        self._next = self._count = 0
        self._ended = False

    def read(self) -> Frame | None:
        while not self._ended:
            if self._next >= len(self.paths):
                if not self.loop:
                    self._ended = True
                    return None
                self._next = 0
            path = self.paths[self._next]
            self._next += 1
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if image is None:
                log.warning("skipping unreadable image %s", path)
                continue
            if self.fps:
                wait = self._last + 1.0 / self.fps - self._clock()
                if wait > 0:
                    self._sleep(wait)
            self._last = self._clock()
            self._count += 1
            return Frame(image, self._last, self._next - 1)
        return None

    def release(self) -> None:
        return None

    def describe(self) -> str:
        return tr("{count} images in {folder}", count=len(self.paths), folder=self.label)


# ---------------------------------------------------------------- choosing


def open_source(
    spec: str,
    *,
    realtime: bool = True,
    loop: bool = False,
    fps: float | None = None,
    clock: Clock = time.monotonic,
    sleep: Sleep = time.sleep,
) -> FrameSource:
    """The source named by ``spec`` (not yet opened): see the module's docstring."""
    text = spec.strip()
    if text.isdigit():
        return CameraSource(int(text), clock=clock)
    path = Path(text).expanduser()
    if path.is_dir():
        images = [p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES]
        if not images:
            raise UserError(tr("No images (.png, .jpg, .webp...) in the folder {spec}.", spec=spec))
        return ImageFolderSource(
            images, label=text, fps=fps if realtime else None, loop=loop, clock=clock, sleep=sleep
        )
    if path.is_file():
        if path.suffix.lower() in IMAGE_SUFFIXES:
            return ImageFolderSource(
                [path],
                label=text,
                fps=fps if realtime else None,
                loop=loop,
                clock=clock,
                sleep=sleep,
            )
        return VideoFileSource(path, realtime=realtime, loop=loop, clock=clock, sleep=sleep)
    if glob.has_magic(text):
        matched = [
            Path(p) for p in glob.glob(str(path)) if Path(p).suffix.lower() in IMAGE_SUFFIXES
        ]
        if not matched:
            raise UserError(tr("No images match {spec}.", spec=spec))
        return ImageFolderSource(
            matched, label=text, fps=fps if realtime else None, loop=loop, clock=clock, sleep=sleep
        )
    raise UserError(
        tr(
            "No camera, video, image or folder called {spec!r}. Give a camera number (0, 1...), "
            "a video file, an image, a folder, or a pattern like 'shots/*.jpg'.",
            spec=spec,
        )
    )
