"""The scan loop: capture and decode in their own threads, events out. No Qt.

* The capture thread reads the source through a :class:`~kiosk.vision.health.Supervisor`
  (camera loss, back-off, reopening) and puts each frame in a one-slot buffer,
  replacing a frame not yet taken: the decoder always gets the newest picture and
  never works through a backlog (``drop_stale=False`` instead hands over every
  frame, for deterministic runs over files).
* The decode thread runs the :class:`~kiosk.vision.pipeline.Pipeline` and reports
  :class:`ScanEvent` (a code read, repeats of the same text suppressed by a
  :class:`RepeatFilter`), :class:`DiagnosticEvent` (why the picture reads badly,
  when that changes and has lasted ``diagnostics_hold`` seconds) and
  :class:`FrameEvent` (each decoded frame with its outlines, for a preview).
* Camera state changes come as :class:`~kiosk.vision.health.CameraEvent`.

Events go to ``on_event`` (called from the loop's threads) or, without one, to the
``events`` queue, which the owner may pass in (``events=``) and put work of its own
into as :class:`Job` events: the thread that consumes the queue (``iter_events``,
:func:`kiosk.gate.drive`) then runs that work in order, between two scan events,
and the same queue keeps serving its owner before the loop starts and after it
stops (the window's gate worker: a scanner's text, a manual pass, a direction
change). ``stop()`` sets the abort flag, wakes both threads, joins them with a
timeout and releases the camera.

    loop = ScanLoop.from_spec("0", on_event=handle)   # webcam 0
    loop.start()
    ...
    loop.stop()
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from kiosk.core.errors import KioskError
from kiosk.core.i18n import tr
from kiosk.core.rules import REPEAT_WINDOW_S
from kiosk.vision.decoders import Code, Quad, get_decoder
from kiosk.vision.diagnostics import Diagnostic, message
from kiosk.vision.health import CameraEvent, HealthPolicy, Supervisor
from kiosk.vision.pipeline import Pipeline
from kiosk.vision.repeat import RepeatFilter
from kiosk.vision.sources import Clock, Frame, FrameSource, Sleep, open_source

log = logging.getLogger("kiosk.vision")

T = TypeVar("T")


@dataclass(frozen=True)
class ScanEvent:
    """A code read (not a repeat of one read moments ago)."""

    text: str
    raw: bytes
    corners: Quad
    captured_at: float
    decoded_at: float
    decode_ms: float
    frame_index: int
    backend: str = ""


@dataclass(frozen=True)
class DiagnosticEvent:
    """Why frames read badly, now (empty: nothing wrong, or a code was read)."""

    diagnostics: tuple[Diagnostic, ...]
    messages: tuple[str, ...]
    at: float


@dataclass(frozen=True)
class FrameEvent:
    """A decoded frame with what was found on it, for a preview."""

    frame: Frame
    codes: tuple[Code, ...]
    unread: tuple[Quad, ...]
    diagnostics: tuple[Diagnostic, ...]


@dataclass(frozen=True)
class Job(Generic[T]):
    """The owner's own work in the event stream: whoever consumes the events calls
    ``run(target)`` with what it drives (:func:`kiosk.gate.drive`: the gate), in the
    order the events came. The loop's threads never make one."""

    run: Callable[[T], None]


Event = ScanEvent | CameraEvent | DiagnosticEvent | Job[Any]


class DiagnosticTracker:
    """Reports a change of diagnostics once it has held for ``hold`` seconds; a read
    code clears them at once."""

    def __init__(self, hold: float = 0.5) -> None:
        self.hold = hold
        self.current: tuple[Diagnostic, ...] = ()
        self._candidate: tuple[Diagnostic, ...] = ()
        self._since = 0.0

    def update(
        self, found: tuple[Diagnostic, ...], now: float, read: bool
    ) -> tuple[Diagnostic, ...] | None:
        if read:
            self._candidate = ()
            if self.current:
                self.current = ()
                return ()
            return None
        if found == self.current:
            self._candidate = found
            return None
        if found != self._candidate:
            self._candidate, self._since = found, now
        if now - self._since >= self.hold:
            self.current = found
            return found
        return None


class _LatestSlot:
    """A one-frame buffer. ``put`` replaces an untaken frame (or, keeping all,
    waits for it to be taken); ``take`` waits for a frame."""

    def __init__(self, keep_all: bool) -> None:
        self._keep_all = keep_all
        self._frame: Frame | None = None
        self._closed = False
        self._cond = threading.Condition()
        self.dropped = 0

    def put(self, frame: Frame) -> None:
        with self._cond:
            if self._keep_all:
                while self._frame is not None and not self._closed:
                    self._cond.wait(0.1)
            elif self._frame is not None:
                self.dropped += 1
            if not self._closed:
                self._frame = frame
                self._cond.notify_all()

    def take(self) -> Frame | None:
        """The newest frame; None once closed and empty."""
        with self._cond:
            while self._frame is None and not self._closed:
                self._cond.wait(0.1)
            frame, self._frame = self._frame, None
            self._cond.notify_all()
            return frame

    def clear(self) -> None:
        with self._cond:
            self._frame = None
            self._cond.notify_all()

    def close(self, discard: bool = False) -> None:
        with self._cond:
            self._closed = True
            if discard:
                self._frame = None
            self._cond.notify_all()


class ScanLoop:
    """Owns a frame source and a pipeline; runs capture and decode threads."""

    def __init__(
        self,
        source: FrameSource,
        pipeline: Pipeline | None = None,
        *,
        on_event: Callable[[Event], None] | None = None,
        on_frame: Callable[[FrameEvent], None] | None = None,
        repeat_window: float = REPEAT_WINDOW_S,
        drop_stale: bool = True,
        health: HealthPolicy | None = None,
        diagnostics_hold: float = 0.5,
        clock: Clock = time.monotonic,
        sleep: Sleep | None = None,
        events: queue.Queue[Event] | None = None,
    ) -> None:
        self.source = source
        self.pipeline = pipeline if pipeline is not None else Pipeline(get_decoder("auto"))
        # the owner's queue (it may hold the owner's Jobs too), else one of the loop's
        self.events: queue.Queue[Event] = events if events is not None else queue.Queue()
        self._on_event = on_event
        self._on_frame = on_frame
        self._clock = clock
        self.repeats = RepeatFilter(repeat_window, clock)
        self._diagnostics = DiagnosticTracker(diagnostics_hold)
        self._slot = _LatestSlot(keep_all=not drop_stale)
        self._abort = threading.Event()
        self._finished = threading.Event()
        self._supervisor = Supervisor(
            source, self._emit, policy=health, clock=clock, sleep=sleep, stopping=self._abort.is_set
        )
        self._threads: list[threading.Thread] = []
        self._latest: Frame | None = None
        self._latest_lock = threading.Lock()
        self.frames_captured = 0
        self.frames_decoded = 0

    @classmethod
    def from_spec(
        cls,
        spec: str,
        *,
        decoder: str = "auto",
        realtime: bool = True,
        loop: bool = False,
        on_event: Callable[[Event], None] | None = None,
        on_frame: Callable[[FrameEvent], None] | None = None,
        repeat_window: float = REPEAT_WINDOW_S,
        drop_stale: bool = True,
        health: HealthPolicy | None = None,
    ) -> ScanLoop:
        """A loop over a ``--camera``-style ``spec``: ``0`` (webcam), ``gate.avi``,
        ``shots/``, ``'shots/*.jpg'``; ``decoder`` is auto, zxing, zbar or opencv."""
        source = open_source(spec, realtime=realtime, loop=loop)
        return cls(
            source,
            Pipeline(get_decoder(decoder)),
            on_event=on_event,
            on_frame=on_frame,
            repeat_window=repeat_window,
            drop_stale=drop_stale,
            health=health,
        )

    # ------------------------------------------------------------ control

    def start(self) -> None:
        if self._threads:
            raise RuntimeError("ScanLoop already started")
        self._threads = [
            threading.Thread(target=self._capture_main, name="kiosk-capture", daemon=True),
            threading.Thread(target=self._decode_main, name="kiosk-decode", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 2.0) -> bool:
        """Stop both threads and release the camera. False if a thread did not end."""
        self._abort.set()
        self._supervisor.wake()
        self._slot.close(discard=True)
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        alive = [t.name for t in self._threads if t.is_alive()]
        if alive:
            log.warning("scan loop threads still running after %.1f s: %s", timeout, alive)
            return False
        self._supervisor.release()
        return True

    def iter_events(
        self, stop: threading.Event | None = None, poll: float = 0.1
    ) -> Iterator[Event]:
        """Start (if need be) and yield events from the ``events`` queue until the
        source has ended and everything is delivered, or ``stop`` is set. Only for a
        loop made without ``on_event``."""
        if self._on_event is not None:
            raise RuntimeError("iter_events needs a ScanLoop without on_event")
        if not self._threads:
            self.start()
        while stop is None or not stop.is_set():
            try:
                yield self.events.get(timeout=poll)
            except queue.Empty:
                if self._finished.is_set() and not self.running and self.events.empty():
                    return

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until a finite source has been read to its end and decoded."""
        return self._finished.wait(timeout)

    @property
    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    @property
    def frames_dropped(self) -> int:
        return self._slot.dropped

    def latest_frame(self) -> Frame | None:
        """The newest captured frame (for a preview that pulls at its own rate)."""
        with self._latest_lock:
            return self._latest

    def __enter__(self) -> ScanLoop:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------ threads

    def _emit(self, event: Event) -> None:
        if isinstance(event, CameraEvent) and event.state == "lost":
            self._slot.clear()  # a frame from before the loss is not decoded
        if self._on_event is None:
            self.events.put(event)
            return
        try:
            self._on_event(event)
        except Exception:
            log.exception("scan loop event handler failed")

    def _capture_main(self) -> None:
        try:
            while not self._abort.is_set():
                frame = self._supervisor.next_frame()
                if frame is None:
                    break
                self.frames_captured += 1
                with self._latest_lock:
                    self._latest = frame
                self._slot.put(frame)
        except KioskError as exc:  # e.g. a file that is not a video: say so, no traceback
            log.warning("capture stopped: %s", exc)
            self._emit(CameraEvent("ended", str(exc), self._clock()))
        except Exception as exc:
            log.exception("capture thread failed")
            self._emit(
                CameraEvent(
                    "ended", tr("The camera reader stopped: {error}", error=exc), self._clock()
                )
            )
        finally:
            self._supervisor.release()
            self._slot.close()

    def _decode_main(self) -> None:
        try:
            while True:
                frame = self._slot.take()
                if frame is None:
                    break
                if self._abort.is_set():
                    break
                self._process(frame)
        finally:
            self._finished.set()

    def _process(self, frame: Frame) -> None:
        try:
            result = self.pipeline.decode(frame.image)
        except Exception:
            log.exception("decoding frame %d failed", frame.index)
            return
        self.frames_decoded += 1
        now = self._clock()
        for code in result.codes:
            if self.repeats.accept(code.text, now):
                self._emit(
                    ScanEvent(
                        code.text,
                        code.raw,
                        code.corners,
                        frame.captured_at,
                        now,
                        result.ms,
                        frame.index,
                        code.backend,
                    )
                )
        changed = self._diagnostics.update(result.diagnostics, now, bool(result.codes))
        if changed is not None:
            self._emit(DiagnosticEvent(changed, tuple(message(d) for d in changed), now))
        if self._on_frame is not None:
            try:
                self._on_frame(FrameEvent(frame, result.codes, result.unread, result.diagnostics))
            except Exception:
                log.exception("scan loop frame handler failed")
