"""Camera health: notice a lost camera, release it, reopen it with back-off.

A camera is *lost* when reads keep failing (no frame, or a read error) or when it
keeps handing over the very same picture for ``frozen_after`` seconds: some
capture back-ends return the last frame forever after the camera is unplugged.
"The same picture" is judged on a fingerprint (a hash of a sparse pixel grid): a
live sensor's noise changes it every frame; a replayed buffer does not.

While lost, no frame goes on (so no scan can be invented); reopening is tried
after 0.5 s, 1 s, 2 s... up to 8 s between attempts, until the camera is back.
A file source is never lost: its end is *ended*.

Clock and sleep are injectable, so tests run without waiting.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from kiosk.core.errors import KioskError
from kiosk.core.i18n import tr
from kiosk.vision.sources import Clock, Frame, FrameSource

log = logging.getLogger("kiosk.vision")


@dataclass(frozen=True)
class HealthPolicy:
    """When a camera counts as lost, and how reconnecting backs off."""

    frozen_after: float = 3.0  # the same picture this long: lost
    failed_reads: int = 5  # this many failed reads in a row: lost
    retry_read_after: float = 0.05  # pause after one failed read
    backoff_start: float = 0.5
    backoff_max: float = 8.0


@dataclass(frozen=True)
class CameraEvent:
    """The camera's state changed: opened, lost, reopened, or (files) ended."""

    state: str  # "opened" | "lost" | "reopened" | "ended"
    message: str
    at: float


class Backoff:
    """Delays that double from ``start`` up to ``maximum``."""

    def __init__(self, start: float = 0.5, maximum: float = 8.0) -> None:
        self.start, self.maximum = start, maximum
        self._next = start

    def next(self) -> float:
        delay = self._next
        self._next = min(self._next * 2, self.maximum)
        return delay

    def reset(self) -> None:
        self._next = self.start


def fingerprint(image: np.ndarray) -> bytes | None:
    """A hash of every 16th pixel of every 16th row; None for a featureless picture
    (a covered lens repeats exactly without being frozen)."""
    sample = np.ascontiguousarray(image[::16, ::16])
    if sample.size == 0 or int(sample.max()) - int(sample.min()) < 3:
        return None
    return hashlib.blake2b(sample.tobytes(), digest_size=16).digest()


class FrozenWatch:
    """True once the same fingerprint has been seen for ``after`` seconds."""

    def __init__(self, after: float) -> None:
        self.after = after
        self._print: bytes | None = None
        self._since = 0.0

    def observe(self, image: np.ndarray, now: float) -> bool:
        current = fingerprint(image)
        if current is None or current != self._print:
            self._print, self._since = current, now
            return False
        return now - self._since >= self.after

    def reset(self) -> None:
        self._print = None


class Supervisor:
    """Hands out good frames from a source; handles loss, release and reopening.

    ``next_frame()`` returns None only when the source has ended or ``stopping()``
    became true. Events go to ``emit``.
    """

    def __init__(
        self,
        source: FrameSource,
        emit: Callable[[CameraEvent], None],
        *,
        policy: HealthPolicy | None = None,
        clock: Clock = time.monotonic,
        sleep: Callable[[float], None] | None = None,
        stopping: Callable[[], bool] = lambda: False,
    ) -> None:
        self.source = source
        self.policy = policy or HealthPolicy()
        self._emit = emit
        self._clock = clock
        self._stop_event = threading.Event()
        self._sleep = sleep or self._interruptible_sleep
        self._stopping = stopping
        self._frozen = FrozenWatch(self.policy.frozen_after)
        self._backoff = Backoff(self.policy.backoff_start, self.policy.backoff_max)
        self._open = False
        self._failures = 0
        self._healthy_since: float | None = None
        self._finished = False
        self.lost = False

    def wake(self) -> None:
        """Cut a back-off wait short (used when stopping)."""
        self._stop_event.set()

    def _interruptible_sleep(self, seconds: float) -> None:
        self._stop_event.wait(seconds)

    def _event(self, state: str, message: str) -> None:
        log.info("camera %s: %s", state, message)
        self._emit(CameraEvent(state, message, self._clock()))

    def next_frame(self) -> Frame | None:
        while not self._stopping() and not self._finished:
            if not self._open and not self._reopen():
                continue
            frame = self._read()
            if frame is not None:
                return frame
            if self.source.ended and not self._finished:
                self._finished = True
                self._event("ended", tr("End of {source}.", source=self.source.describe()))
        return None

    def _read(self) -> Frame | None:
        try:
            frame = self.source.read()
        except Exception as exc:  # a driver's error: the camera, not our logic
            if not isinstance(exc, KioskError):
                log.warning("camera read raised %r", exc)
            self._failed(tr("read error: {error}", error=exc))
            return None
        if frame is None:
            if not self.source.ended:
                self._failed(tr("no picture"))
            return None
        self._failures = 0
        if self.source.is_live and self._frozen.observe(frame.image, self._clock()):
            self._lose(tr("the picture froze"))
            return None
        self._note_healthy()
        return frame

    def _note_healthy(self) -> None:
        """Forget the back-off once the camera has behaved for a while."""
        now = self._clock()
        if self._healthy_since is None:
            self._healthy_since = now
        elif now - self._healthy_since > self.policy.frozen_after + 1.0:
            self._backoff.reset()

    def _failed(self, reason: str) -> None:
        if not self.source.is_live:
            self._lose(reason)  # a file that errors will not recover by waiting
            return
        self._failures += 1
        if self._failures >= self.policy.failed_reads:
            self._lose(reason)
        else:
            self._sleep(self.policy.retry_read_after)

    def _lose(self, reason: str) -> None:
        self.lost = True
        self._open = False
        self._failures = 0
        self._healthy_since = None
        self._frozen.reset()
        self.source.release()
        if self.source.is_live:
            self._event(
                "lost",
                tr("Camera lost ({reason}): check its cable. Reconnecting...", reason=reason),
            )
        else:
            self._finished = True
            self._event(
                "ended",
                tr("{source} stopped: {reason}", source=self.source.describe(), reason=reason),
            )

    def _reopen(self) -> bool:
        """Open the source (after a back-off wait if it was lost). True when open."""
        if self.lost:
            self._sleep(self._backoff.next())
            if self._stopping():
                return False
        try:
            self.source.open()
        except KioskError as exc:
            if not self.source.is_live:
                raise
            if not self.lost:
                self.lost = True
                self._event("lost", tr("Camera unavailable: {error}", error=exc))
            return False
        self._open = True
        self._frozen.reset()
        if self.lost:
            self.lost = False
            self._event("reopened", tr("Camera back: {source}.", source=self.source.describe()))
        else:
            what = self.source.describe()
            self._event(
                "opened",
                tr("Camera ready: {source}.", source=what)
                if self.source.is_live
                else tr("Reading {source}.", source=what),
            )
        return True

    def release(self) -> None:
        self.source.release()
        self._open = False
