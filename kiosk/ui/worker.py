"""The gate's worker thread: camera, decoding, decisions and the database.

The Qt main thread only draws. A :class:`GateWorker` lives in its own ``QThread``;
there it opens the :class:`~kiosk.gate.Gate` (its SQLite connection belongs to that
thread) and a :class:`~kiosk.vision.scanloop.ScanLoop`, and runs
:func:`kiosk.gate.drive`. Decisions, camera and diagnostic events and the day's
counts go back to the window as the worker's signals, which are only ever emitted in
the UI thread, on a :class:`GateSignals` that lives there: the worker and the decode
thread hand each emission to it as a :class:`~kiosk.ui.relay.UiRelay` (a plain Python
queue and a wake-up signal without arguments), so no Python object crosses threads
inside Qt, and every receiver, a lambda too, runs in the UI thread.

The worker has one queue, the scan loop's event queue (made by the worker and handed
to the loop). Requests that write (a scanner's text, a manual pass, a visitor, a
direction change) may be called from the UI thread: they only put a
:class:`~kiosk.vision.scanloop.Job` into that queue, and the worker thread runs it
between two scan events (:func:`kiosk.gate.drive`), so the database is never touched
from the UI thread. Jobs queued before the loop starts wait for it; after the loop has
stopped (the camera could not open, a video ended) the worker thread goes on taking
jobs from the same queue until it is stopped. :class:`GateService` owns the thread and
stops it.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

from PySide6.QtCore import QObject, Qt, QThread, Signal, SignalInstance, Slot

from kiosk.core.clock import utcnow
from kiosk.core.errors import KioskError
from kiosk.core.i18n import tr
from kiosk.core.keys import load_private_key
from kiosk.core.rules import DirectionMode, Encounter, Holder, Level, Source
from kiosk.gate import ClockWarning, Decision, Gate, GateStopped, drive
from kiosk.home import Home
from kiosk.settings import Settings
from kiosk.store.anchors import damage_hint
from kiosk.store.db import connect
from kiosk.store.exchange import FolderExchange, exchange_folder
from kiosk.store.visitors import ValidVisitor, add_visitor, issue_visitor_code
from kiosk.store.visits import LiveOccupancy, OccupancyCounts, list_visits, visitor_holder
from kiosk.ui.office_data import read_office_data
from kiosk.ui.relay import UiRelay
from kiosk.vision.decoders import Quad
from kiosk.vision.health import CameraEvent, HealthPolicy
from kiosk.vision.scanloop import DiagnosticEvent, Event, FrameEvent, Job, ScanLoop
from kiosk.vision.sources import Frame, FrameSource, open_source

log = logging.getLogger("kiosk.ui")

RECENT = 8


@dataclass(frozen=True)
class Outline:
    """Where codes were seen on a frame (unmirrored pixel corners)."""

    quads: tuple[Quad, ...]
    width: int
    height: int
    at: float


@dataclass(frozen=True)
class ExchangeDone:
    """What one exchange through a folder did (``done``), or why it could not run
    (``problem``, for the guard)."""

    folder: Path
    done: FolderExchange | None = None
    problem: str = ""


@dataclass(frozen=True)
class Stats:
    """Today's counts and the last passages, sent by the worker after a decision."""

    occupancy: OccupancyCounts
    recent: list[dict[str, Any]] = field(default_factory=list)

    @property
    def visitors_inside(self) -> int:
        return self.occupancy.visitors_inside


class GateSignals(UiRelay):
    """What the worker tells the window. This object stays in the UI thread (the worker
    moves to its own, where Qt would run even a lambda connected to it), so every
    receiver is called there, directly; the worker and decode threads only post the
    emissions to it (:class:`~kiosk.ui.relay.UiRelay`)."""

    decided = Signal(object)  # Decision, committed
    repeated = Signal(str)  # a scanner text ignored as a repeat
    cameraChanged = Signal(object)  # CameraEvent
    diagnosed = Signal(object)  # DiagnosticEvent
    outlined = Signal(object)  # Outline
    statsChanged = Signal(object)  # Stats
    modeChanged = Signal(str)  # DirectionMode value
    ready = Signal(str)  # decoder name: the gate and the camera are set up
    failed = Signal(str)  # a message for the guard
    visitorCodeIssued = Signal(object)  # the pass record of a new visitor's code
    corrected = Signal(str, str)  # a correction: (new row's id, "") or ("", the problem)
    waiting = Signal(bool)  # True: a passage waits for a busy database; False: saved
    logDamaged = Signal(str)  # what the start found wrong with the visit log (docs/chain.md)
    clockWarning = Signal(object)  # ClockWarning (the clock is in doubt) or None
    officeData = Signal(object)  # OfficeData (a gate of a compound) or None
    exchanged = Signal(object)  # ExchangeDone: one exchange through a USB stick


def _signal(name: str) -> Any:
    """``worker.decided`` and the like: the signal of the worker's :class:`GateSignals`."""
    return property(lambda worker: getattr(worker.signals, name))


class GateWorker(QObject):
    decided = _signal("decided")
    repeated = _signal("repeated")
    cameraChanged = _signal("cameraChanged")
    diagnosed = _signal("diagnosed")
    outlined = _signal("outlined")
    statsChanged = _signal("statsChanged")
    modeChanged = _signal("modeChanged")
    ready = _signal("ready")
    failed = _signal("failed")
    visitorCodeIssued = _signal("visitorCodeIssued")
    corrected = _signal("corrected")
    waiting = _signal("waiting")
    logDamaged = _signal("logDamaged")
    clockWarning = _signal("clockWarning")
    officeData = _signal("officeData")
    exchanged = _signal("exchanged")

    def __init__(
        self,
        home: Home,
        settings: Settings,
        *,
        camera: str,
        demo: bool = False,
        source: FrameSource | None = None,
        health: HealthPolicy | None = None,
        guard: str = "",
        clock: Callable[[], datetime] = utcnow,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.home = home
        self.clock = clock  # the gate's wall and monotonic clocks
        self.monotonic = monotonic
        self._clock_warning: ClockWarning | None = None  # the last one sent (worker thread)
        self.settings = settings
        self.camera = camera
        self.demo = demo
        self.guard = guard
        self._source = source
        self._health = health
        self._stop = threading.Event()
        # the one queue: the scan loop's events and the jobs asked of the worker
        self._events: queue.Queue[Event] = queue.Queue()
        self._lock = threading.Lock()
        self._loop: ScanLoop | None = None
        self._gate: Gate | None = None
        self._occupancy: LiveOccupancy | None = None  # the worker thread's
        self.signals = GateSignals()  # made in the UI thread; not a child: it stays there

    # ------------------------------------------------------------ any thread

    def latest_frame(self) -> Frame | None:
        """The newest camera frame (thread-safe; None before the camera is open)."""
        with self._lock:
            loop = self._loop
        return loop.latest_frame() if loop is not None else None

    @property
    def loop(self) -> ScanLoop | None:
        with self._lock:
            return self._loop

    def request(self, job: Callable[[Gate], None]) -> None:
        """Run ``job(gate)`` in the worker thread, after the events queued before it.
        Safe from any thread."""
        self._events.put(Job(lambda gate: self._run_job(job, gate)))

    @Slot(str)
    def submit_scan(self, text: str) -> None:
        """A handheld scanner's text: decided and logged like a camera scan."""
        self.request(lambda gate: self._handle(gate, Encounter(Source.SCANNER, text)))

    def submit_encounter(
        self, encounter: Encounter, *, holder: Holder | None = None, plate: str = ""
    ) -> None:
        """A manual pass or a registered visitor (for the dialogs)."""
        self.request(lambda gate: self._handle(gate, encounter, holder=holder, plate=plate))

    def register_visitor(
        self,
        visitor: ValidVisitor,
        temperature: float,
        *,
        visitor_id: str | None = None,
        code_hours: int,
    ) -> None:
        """A registered visitor at the gate (the registration dialog): record them (a
        returning visitor has ``visitor_id``), decide and log the entry, and, when a new
        visitor is admitted, sign their visitor code with the gate key and emit
        :attr:`visitorCodeIssued`."""
        self.request(
            lambda gate: self._register_visitor(gate, visitor, temperature, visitor_id, code_hours)
        )

    @Slot(str)
    def set_mode(self, mode: str) -> None:
        wanted = DirectionMode(mode)

        def apply(gate: Gate) -> None:
            gate.mode = wanted
            log.info("direction mode %s", wanted.value)
            self._send(self.modeChanged, wanted.value)

        self.request(apply)

    def set_guard(self, guard: str) -> None:
        def apply(gate: Gate) -> None:
            gate.guard = guard

        self.request(apply)

    def correct_visit(
        self, visit_id: str, kind: str, reason: str, *, actor: str, resident_id: str = ""
    ) -> None:
        """Correct a wrongly recorded passage (kiosk.store.corrections); the answer comes
        on :attr:`corrected`, the counts follow on :attr:`statsChanged`."""
        self.request(
            lambda gate: self._correct(gate, visit_id, kind, reason, actor, resident_id or None)
        )

    def _correct(
        self,
        gate: Gate,
        visit_id: str,
        kind: str,
        reason: str,
        actor: str,
        resident_id: str | None,
    ) -> None:
        from kiosk.core.rules import Reason
        from kiosk.store.corrections import correct_visit

        try:
            new_id = correct_visit(
                gate.db,
                visit_id,
                Reason(kind),
                reason=reason,
                actor=actor,
                now=gate.clock(),
                resident_id=resident_id,
            )
        except KioskError as exc:
            self._send(self.corrected, "", str(exc))
            return
        gate.note_head()
        self._send(self.corrected, new_id, "")
        self._publish_stats(gate)

    def reload_keys(self) -> None:
        self.request(lambda gate: gate.reload_keys())

    def check_clock(self) -> None:
        """Look at the clock again (a jump back, an admin who trusted it meanwhile); a
        change comes on :attr:`clockWarning`. The window asks every so often; nothing is
        queued while there is no gate (not yet started, or it could not start)."""
        if self._gate is not None:
            self.request(self._check_clock)

    def check_office_data(self) -> None:
        """Read how old the office data is again; it comes on :attr:`officeData` (the
        window asks every minute). Nothing is queued while there is no gate."""
        if self._gate is not None:
            self.request(self._send_office_data)

    def exchange(self, folder: Path) -> None:
        """One exchange through ``folder`` (a USB stick) with the gate key: import the
        bundles there for this gate, write this gate's for the office. It runs on a
        thread of its own with its own connection, so scanning goes on beside it (the
        import and the export commit a change set at a time, paced: a scan waits for
        one at most). Then the gate takes in the new keys and the other gates'
        passages; the answer comes on :attr:`exchanged`, the new age on
        :attr:`officeData`."""
        threading.Thread(
            target=self._exchange_beside, args=(folder,), name="exchange", daemon=True
        ).start()

    def take_in(self) -> None:
        """Rows from elsewhere were applied beside the gate (a sync with the hub, on a
        connection of its own): the gate takes them in as after an exchange, the new
        keyring, the office's rules, the other gates' passages, the counts and the
        office data's age (queued even before the gate is open: it may have read its
        keys before the sync committed)."""
        self.request(lambda gate: self._take_in_exchange(gate, self.clock()))

    def request_stop(self) -> None:
        """Stop the scan path (from the UI thread). ``drive`` sees the flag within
        0.1 s; the worker thread then stops the loop (joins its threads, releases the
        camera) and, as the thread ends, closes the gate."""
        self._stop.set()

    # ------------------------------------------------------------ worker thread

    def _send(self, signal: SignalInstance, *args: object) -> None:
        """Emit ``signal`` in the UI thread: the worker's signals are never emitted
        from another thread, so no Python object crosses threads inside Qt."""
        self.signals.call(signal.emit, *args)

    @Slot()
    def run(self) -> None:
        try:
            gate = Gate.from_settings(
                self.home,
                self.settings,
                guard=self.guard,
                stop=self._stop,
                on_wait=lambda waiting: self._send(self.waiting, waiting),
                clock=self.clock,
                monotonic=self.monotonic,
            )
        except KioskError as exc:
            log.error("gate could not start: %s", exc)
            self._send(self.failed, str(exc))
            return
        self._gate = gate
        if gate.log_damage is not None:
            told = [*gate.log_damage.messages(), damage_hint()]
            self._send(self.logDamaged, "\n\n".join(told))
        try:
            self._occupancy = LiveOccupancy(
                gate.db,
                gate.checkpoint_id,
                now=utcnow(),
                overstay=timedelta(hours=self.settings.visitor_overstay_hours),
            )
        except Exception:
            log.exception("reading who is inside failed")
        self._send(self.modeChanged, gate.mode.value)
        self._check_clock(gate, always=True)
        self._send_office_data(gate)
        try:
            source = self._source or open_source(self.camera, realtime=True, loop=self.demo)
            loop = gate.scan_loop(
                source, on_frame=self._on_frame, health=self._health, events=self._events
            )
        except KioskError as exc:
            log.error("camera could not start: %s", exc)
            self._send(self.failed, str(exc))
            self._publish_stats(gate)
            self._serve(gate)
            return
        with self._lock:
            self._loop = loop
        self._send(self.ready, loop.pipeline.name)
        self._publish_stats(gate)
        try:
            if not self._stop.is_set():
                drive(gate, loop, self._stop, self._on_decision, self._on_event)
        except Exception:
            log.exception("the scan path failed")
            self._send(self.failed, tr("The camera reader stopped. Details are in the log."))
        finally:
            loop.stop()
        self._serve(gate)

    def _serve(self, gate: Gate, poll: float = 0.1) -> None:
        """The queue without a scan loop (it stopped, or never started): jobs, and the
        loop's last events, until the worker is stopped."""
        while not self._stop.is_set():
            try:
                event = self._events.get(timeout=poll)
            except queue.Empty:
                continue
            if isinstance(event, Job):
                try:
                    event.run(gate)
                except GateStopped:
                    return
            else:
                self._on_event(event)

    def _drain(self, gate: Gate) -> None:
        """Run the jobs still queued (as the worker closes), dropping other events."""
        while True:
            try:
                event = self._events.get_nowait()
            except queue.Empty:
                return
            if isinstance(event, Job):
                try:
                    event.run(gate)
                except GateStopped:
                    return

    def _run_job(self, job: Callable[[Gate], None], gate: Gate) -> None:
        """One job asked of the worker; its failure is told, the worker goes on."""
        try:
            job(gate)
        except GateStopped:
            raise
        except KioskError as exc:
            self._send(self.failed, str(exc))
        except Exception:
            log.exception("a request to the gate failed")

    def _handle(
        self, gate: Gate, encounter: Encounter, *, holder: Holder | None = None, plate: str = ""
    ) -> None:
        decision = gate.handle(encounter, holder=holder, captured_at=time.monotonic(), plate=plate)
        if decision is None:
            self._send(self.repeated, encounter.text or "")
            return
        self._on_decision(decision)

    def _register_visitor(
        self,
        gate: Gate,
        visitor: ValidVisitor,
        temperature: float,
        visitor_id: str | None,
        code_hours: int,
    ) -> None:
        now = gate.clock()
        known = visitor_id or gate.patiently(
            lambda: add_visitor(gate.db, visitor, now=now, checkpoint_id=gate.checkpoint_id)
        )
        mode, gate.mode = gate.mode, DirectionMode.IN  # registering is coming in
        try:
            decision = gate.handle(
                Encounter(Source.REGISTER, None, temperature),
                holder=visitor_holder(gate.db, known),
                plate=visitor.plate,
            )
        finally:
            gate.mode = mode
        if decision is None:
            return
        self._on_decision(decision)
        if decision.verdict.level is Level.PASS and visitor_id is None:
            key = load_private_key(self.home.gate_key, None)
            record = gate.patiently(
                lambda: issue_visitor_code(gate.db, key, known, now=now, hours=code_hours)
            )
            self._send(self.visitorCodeIssued, record)

    def _on_decision(self, decision: Decision) -> None:
        self._send(self.decided, decision)
        if self._occupancy is not None:
            self._occupancy.record(decision.verdict, decision.at)
        if self._gate is not None:
            self._publish_stats(self._gate)
            self._check_clock(self._gate)  # the decision may have seen a jump

    def _check_clock(self, gate: Gate, *, always: bool = False) -> None:
        """Send :attr:`clockWarning` when the clock's standing changed (or ``always``)."""
        try:
            warning = gate.clock_warning()
        except GateStopped:
            raise
        except Exception:
            log.exception("checking the clock failed")
            return
        if always or warning != self._clock_warning:
            self._clock_warning = warning
            self._send(self.clockWarning, warning)

    def _send_office_data(self, gate: Gate) -> None:
        try:
            data = read_office_data(gate.db, gate.clock(), gate.office_data_amber)
        except GateStopped:
            raise
        except Exception:
            log.exception("reading the office data's age failed")
            return
        self.signals.latest("officeData", self.officeData.emit, data)  # newest wins

    def _exchange_beside(self, folder: Path) -> None:  # the exchange's own thread
        now = self.clock()
        try:
            db = connect(self.home.database)
            try:
                key = load_private_key(self.home.gate_key, None)
                done = exchange_folder(db, self.home, key, folder, now=now)
            finally:
                db.close()
        except (KioskError, OSError) as exc:  # the stick's or the data's: told as it is
            log.warning("exchange through %s failed: %s", folder, exc)
            result = ExchangeDone(folder, problem=str(exc))
        except Exception:  # ours: the traceback to the log, a short word to the guard
            log.exception("exchange through %s failed", folder)
            result = ExchangeDone(
                folder, problem=tr("The exchange failed. Details are in the log.")
            )
        else:
            log.info(
                "exchange through %s: %d imported, %d refused, %d written",
                folder,
                len(done.imported),
                len(done.refused),
                len(done.exported),
            )
            result = ExchangeDone(folder, done)
        # what was imported, even before a failure, is taken in by the gate's thread
        self.request(lambda gate: self._after_exchange(gate, result, now))

    def _after_exchange(self, gate: Gate, result: ExchangeDone, now: datetime) -> None:
        self._take_in_exchange(gate, now)
        self._send(self.exchanged, result)

    def _take_in_exchange(self, gate: Gate, now: datetime) -> None:
        """After an exchange: the new keyring (passes, revocations, removed gates), the
        other gates' passages for who is inside, the counts and the office data's age."""
        gate.reload_keys()
        gate.take_office_rules()
        gate.note_head()
        if self._occupancy is not None:
            self._occupancy.take_in_others(gate.db, now=now)
        self._publish_stats(gate)
        self._send_office_data(gate)

    def _on_event(self, event: Event) -> None:
        if isinstance(event, CameraEvent):
            self._send(self.cameraChanged, event)
        elif isinstance(event, DiagnosticEvent):
            self._send(self.diagnosed, event)

    def _on_frame(self, event: FrameEvent) -> None:  # the decode thread
        quads = tuple(code.corners for code in event.codes)
        if quads:
            height, width = event.frame.image.shape[:2]
            outline = Outline(quads, width, height, time.monotonic())
            self.signals.latest("outline", self.outlined.emit, outline)  # newest wins

    def _publish_stats(self, gate: Gate) -> None:
        if self._occupancy is None:
            return
        try:
            self._occupancy.sync(gate.db, now=utcnow())  # corrections made anywhere
            recent = list_visits(gate.db, limit=RECENT, checkpoint_id=gate.checkpoint_id)
        except Exception:
            log.exception("reading the last passages failed")
            return
        stats = Stats(self._occupancy.counts(utcnow()), recent)
        self.signals.latest("stats", self.statsChanged.emit, stats)  # newest wins

    @Slot()
    def close(self) -> None:
        """Close the gate's database (runs in the worker thread as it finishes)."""
        if self._gate is not None:
            self._drain(self._gate)
            self._gate.close()
            self._gate = None


class GateService:
    """Owns the worker's thread: ``start()``, ``stop()``."""

    instances: ClassVar[weakref.WeakSet[GateService]] = weakref.WeakSet()  # for leak checks

    def __init__(self, worker: GateWorker) -> None:
        GateService.instances.add(self)
        self.worker = worker
        self.thread = QThread()
        self.thread.setObjectName("kiosk-gate")
        worker.moveToThread(self.thread)
        self.thread.started.connect(worker.run)
        self.thread.finished.connect(worker.close, Qt.ConnectionType.DirectConnection)

    def start(self) -> None:
        self.thread.start()

    def stop(self, timeout: float = 5.0) -> bool:
        """Stop scanning, end the thread and wait for it. False if it did not end."""
        if not self.thread.isRunning():
            return True
        self.worker.request_stop()
        self.thread.quit()
        done = self.thread.wait(int(timeout * 1000))
        if not done:
            log.warning("the gate thread did not end within %.1f s", timeout)
        return bool(done)
