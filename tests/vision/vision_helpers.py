"""Helpers for the vision tests: a fake clock and a scripted fake camera."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from kiosk.core.errors import EnvironmentFault
from kiosk.vision.sources import Frame


class FakeClock:
    """Time that moves only when told (or when something sleeps on it)."""

    def __init__(self, start: float = 100.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds


def noise_image(seed: int, shape: tuple[int, int] = (72, 128)) -> np.ndarray:
    """A small BGR picture whose pixels differ for every seed (a live sensor)."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(*shape, 3), dtype=np.uint8)


@dataclass
class FakeCamera:
    """A live source following a script: each step is an image, None (a failed read),
    an exception to raise, or "unplugged" (open fails until plugged back)."""

    script: Callable[[int], object]
    clock: FakeClock | None = None
    frame_time: float = 1 / 30
    opens: int = 0
    releases: int = 0
    reads: int = 0
    plugged: Callable[[int], bool] = lambda attempt: True
    log: list[str] = field(default_factory=list)
    is_live: bool = True
    ended: bool = False
    _open: bool = False

    def open(self) -> None:
        self.opens += 1
        if not self.plugged(self.opens):
            self.log.append("open-failed")
            raise EnvironmentFault("camera unplugged")
        self._open = True
        self.log.append("open")

    def read(self) -> Frame | None:
        assert self._open, "read on a released camera"
        step = self.script(self.reads)
        self.reads += 1
        if self.clock is not None:
            self.clock.advance(self.frame_time)
        if isinstance(step, Exception):
            raise step
        if step is None:
            return None
        assert isinstance(step, np.ndarray)
        return Frame(step, self.clock() if self.clock else 0.0, self.reads - 1)

    def release(self) -> None:
        self.releases += 1
        self._open = False
        self.log.append("release")

    def describe(self) -> str:
        return "fake camera"
