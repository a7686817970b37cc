"""The test doubles every test shares: one clock, one camera.

``FakeClock`` is time that moves only when told: wall time (``clock()``, a ``datetime``,
what ``Gate(clock=...)`` and the store take) and monotonic seconds
(``clock.monotonic()``, what the scan loop, the camera supervisor, the scanner filter
and the PIN lock take), moved together.

``FakeCamera`` is a live camera (the ``FrameSource`` protocol) that follows a script.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np

from kiosk.core.errors import EnvironmentFault
from kiosk.vision.sources import Frame


class FakeClock:
    """Wall time ``now`` and monotonic time ``mono`` that move only by :meth:`advance`
    (both), :meth:`sleep` (both, and the wait is recorded in ``sleeps``), an assignment
    to ``now``, or by ``step`` seconds before each ``monotonic()`` reading (a clock that
    runs on by itself, as between key presses).

    ``now`` defaults to the present moment (UTC); ``whole_seconds`` starts it on a whole
    second."""

    def __init__(
        self,
        now: datetime | None = None,
        *,
        mono: float = 100.0,
        step: float = 0.0,
        whole_seconds: bool = False,
    ) -> None:
        self.now = now if now is not None else datetime.now(UTC)
        if whole_seconds:
            self.now = self.now.replace(microsecond=0)
        self.mono = mono
        self.step = step
        self.sleeps: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    def monotonic(self) -> float:
        self.mono += self.step
        return self.mono

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
        self.mono += seconds

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(seconds)


def noise_image(seed: int, shape: tuple[int, int] = (72, 128)) -> np.ndarray:
    """A small BGR picture whose pixels differ for every seed (a live sensor)."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(*shape, 3), dtype=np.uint8)


def _live_noise(index: int) -> np.ndarray:
    return noise_image(index, (240, 320))


@dataclass
class FakeCamera:
    """A live camera. Read number ``i`` gives ``script(i)``: an image, None (a failed
    read) or an exception (raised); by default noise, a sensor that is never "frozen".

    ``plugged(attempt)`` says whether the attempt-th ``open()`` works (else it raises,
    as for an unplugged webcam); ``outage=(start, end)`` unplugs it from ``start`` to
    ``end`` seconds after it was made (reads give None, ``open()`` fails).

    Time: with a ``clock`` each read moves it by ``frame_time`` and frames carry its
    monotonic time; without one frames carry real monotonic time, and each read first
    really waits ``pace`` seconds (``pace=0.05``: about 20 frames a second, for the
    window tests' real threads). ``log`` records "open", "open-failed" and "release"."""

    script: Callable[[int], object] = _live_noise
    clock: FakeClock | None = None
    frame_time: float = 1 / 30
    pace: float = 0.0
    outage: tuple[float, float] | None = None
    plugged: Callable[[int], bool] = lambda attempt: True
    opens: int = 0
    releases: int = 0
    reads: int = 0
    log: list[str] = field(default_factory=list)
    is_live: bool = True
    ended: bool = False
    _open: bool = field(default=False, init=False)
    _made: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        self._made = self._time()

    def _time(self) -> float:
        return self.clock.mono if self.clock is not None else time.monotonic()

    def _out(self) -> bool:
        if self.outage is None:
            return False
        return self.outage[0] <= self._time() - self._made < self.outage[1]

    def open(self) -> None:
        self.opens += 1
        if self._out() or not self.plugged(self.opens):
            self.log.append("open-failed")
            raise EnvironmentFault("camera unplugged")
        self._open = True
        self.log.append("open")

    def read(self) -> Frame | None:
        assert self._open, "read on a released camera"
        if self.pace:
            time.sleep(self.pace)
        if self._out():
            return None
        step = self.script(self.reads)
        self.reads += 1
        if self.clock is not None:
            self.clock.advance(self.frame_time)
        if isinstance(step, Exception):
            raise step
        if step is None:
            return None
        assert isinstance(step, np.ndarray)
        return Frame(step, self._time(), self.reads - 1)

    def release(self) -> None:
        self.releases += 1
        self._open = False
        self.log.append("release")

    def describe(self) -> str:
        return "fake camera"
