"""The gate service: the one place the scan path runs.

    scan event ──> facts from the store ──> decide() ──> durable log ──> decision out

``kiosk gate`` (no window) and the kiosk window both drive a :class:`Gate`, so the path
exists once, and both make it the same way: :meth:`Gate.from_settings` (the direction,
rules, repeat window, retention and decoder of the checkpoint's settings), then
:meth:`Gate.scan_loop` for the camera's scan loop that feeds it. A Gate owns its
database connection and must be used from the thread that created it (the window runs
it in its worker thread).

A busy database (another program holding the write lock: the office issuing passes,
importing the register) never stops the gate: :meth:`Gate.patiently` tries the commit
again, the same row each time, until it is on disk or the gate is stopped, and tells
``on_wait`` while it waits (so ``kiosk gate`` and the window can say so).
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from kiosk.core.clock import utcnow
from kiosk.core.i18n import N_
from kiosk.core.rules import (
    REPEAT_WINDOW_S,
    DirectionMode,
    Encounter,
    Holder,
    RuleSettings,
    Source,
    Verdict,
    decide,
)
from kiosk.home import Home
from kiosk.settings import Settings
from kiosk.store.anchors import Anchorer, AnchorFile, LogCheck, check_log, signing_key
from kiosk.store.chain import head
from kiosk.store.checkpoint import checkpoint_id, get_meta, load_keyring, record_audit
from kiosk.store.db import DatabaseBusy, busy_timeout_ms, connect, write
from kiosk.store.exchange import Freshness, compound, office_data_age, office_rules
from kiosk.store.retention import (
    PURGE_UNFINISHED,
    ClockInDoubt,
    Doubt,
    clock_doubt_of,
    finish_purge,
    held_since,
    held_why,
    hold,
    local_minute,
    purge_if_due,
)
from kiosk.store.visits import LoggedVisit, commit_visit, load_facts, visit_row
from kiosk.vision.decoders import get_decoder
from kiosk.vision.health import HealthPolicy
from kiosk.vision.pipeline import Pipeline
from kiosk.vision.repeat import RepeatFilter
from kiosk.vision.scanloop import Event, FrameEvent, Job, ScanEvent, ScanLoop
from kiosk.vision.sources import FrameSource

log = logging.getLogger("kiosk.gate")

T = TypeVar("T")

WAIT_SLICE_MS = 100
"""While the database is busy the gate asks for the lock in slices this long (SQLite
polls within a slice every 1-25 ms), checking between slices whether it was stopped.
A wait longer than one slice is reported to ``on_wait``."""
PURGE_RETRY_S = 600.0  # a retention purge that met a busy database is tried again later
FINISH_RETRY_S = 60.0
"""How often a purge whose WAL checkpoint a reader blocked is tried again."""

CLOCK_JUMP_S = 60.0
"""Between two decisions the wall clock may differ from the monotonic clock's count by
this much (an NTP correction is a few seconds) before the gate calls it a jump."""


@dataclass(frozen=True)
class ClockJump:
    """The wall clock was set back: it moved ``by`` (negative) more than the monotonic
    clock says time went by, noticed at ``noticed_at`` (the wall clock, after the jump)."""

    by: timedelta
    noticed_at: datetime


@dataclass(frozen=True)
class ClockWarning:
    """The clock is in doubt and retention held since ``since`` (UTC, as stored) for
    ``why`` (as said when it was held): what the guard is told until an admin's purge
    trusts the clock (``kiosk purge --trust-clock``, the office's purge)."""

    since: str
    why: str


class GateStopped(Exception):
    """The gate was stopped while it waited for a busy database: the passage it was
    saving is not on disk and was not shown."""


@dataclass(frozen=True)
class Decision:
    """A verdict that is on disk: safe to show."""

    verdict: Verdict
    visit: LoggedVisit
    encounter: Encounter
    latency_ms: float | None  # from the frame's capture to the committed row
    captured_at: float | None = None  # the frame's capture, on the gate's monotonic clock
    office_data: Freshness | None = None  # a compound's gate: the office data it went by

    @property
    def at(self) -> datetime:
        return self.visit.at


class Gate:
    def __init__(
        self,
        home: Home,
        *,
        mode: DirectionMode = DirectionMode.AUTO,
        rules: RuleSettings | None = None,
        repeat_window_s: float = REPEAT_WINDOW_S,
        decoder: str = "auto",
        guard: str = "",
        clock: Callable[[], datetime] = utcnow,
        monotonic: Callable[[], float] = time.monotonic,
        retention_days: int | None = None,
        stop: threading.Event | None = None,
        on_wait: Callable[[bool], None] | None = None,
        office_data_amber: timedelta = timedelta(hours=12),
    ) -> None:
        self.stop = stop or threading.Event()
        self.on_wait = on_wait  # True: waiting for a busy database; False: saved, go on
        self.db = connect(home.database, check=True)
        self.keyring = load_keyring(self.db)
        self.checkpoint_id = checkpoint_id(self.db)
        comp = compound(self.db)
        self.in_compound = comp is not None and not comp.is_office  # a gate of a compound
        self.office_data_amber = office_data_amber
        self.mode = mode
        self.rules = rules or RuleSettings()
        if self.in_compound:
            self.take_office_rules()
        self.guard = guard
        self.clock = clock
        self.monotonic = monotonic
        self.repeats = RepeatFilter(repeat_window_s, clock=monotonic)
        self.decoder = decoder  # the QR decoder of its scan loop (auto, zxing, zbar, opencv)
        self.retention_days = retention_days
        self._purged_on: str | None = None
        self.retention_held: str | None = None  # why retention did not run (a wrong clock?)
        self._purge_after = 0.0  # monotonic time before which no purge is tried
        self.purge_unfinished = False  # a reader kept the purged pages (finish_purge)
        self._finish_after = 0.0
        # The last wall clock reading and the monotonic one taken with it; see
        # _watch_clock. clock_jump: the last time the clock was set back, until the
        # gate's owner clears it (None) once the guard has been told.
        self._clock_mark = (clock(), monotonic())
        self.clock_jump: ClockJump | None = None
        self.home = home
        self.log_damage: LogCheck | None = None  # see _check_log
        self.anchorer: Anchorer | None = None
        self._check_log()
        self._purge_if_due()
        self._doubt_clock_at_start()

    @classmethod
    def from_settings(
        cls,
        home: Home,
        settings: Settings,
        *,
        direction: str | None = None,
        decoder: str | None = None,
        guard: str = "",
        stop: threading.Event | None = None,
        on_wait: Callable[[bool], None] | None = None,
        clock: Callable[[], datetime] = utcnow,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> Gate:
        """The gate of the checkpoint at ``home`` as its settings say: direction
        (``direction`` overrides it), rules, repeat window, retention and decoder
        (``decoder`` overrides it). ``kiosk gate`` and the window both start here."""
        return cls(
            home,
            mode=DirectionMode(direction or settings.direction),
            rules=settings.rules(),
            repeat_window_s=settings.repeat_window_s,
            decoder=decoder or settings.decoder,
            guard=guard,
            retention_days=settings.retention_days,
            stop=stop,
            on_wait=on_wait,
            office_data_amber=settings.office_data_amber(),
            clock=clock,
            monotonic=monotonic,
        )

    def scan_loop(
        self,
        source: FrameSource,
        *,
        drop_stale: bool = True,
        on_frame: Callable[[FrameEvent], None] | None = None,
        health: HealthPolicy | None = None,
        events: queue.Queue[Event] | None = None,
    ) -> ScanLoop:
        """The scan loop that feeds this gate from ``source``: its decoder, and the same
        repeat window as the gate's own (a handheld scanner's), so a code is one
        passage however it arrives. Raises :class:`~kiosk.core.errors.KioskError` when
        the decoder cannot be had (the gate itself stays usable)."""
        return ScanLoop(
            source,
            Pipeline(get_decoder(self.decoder)),
            on_frame=on_frame,
            repeat_window=self.repeats.window,
            drop_stale=drop_stale,
            health=health,
            events=events,
        )

    def _check_log(self) -> None:
        """Hold the visit log against its newest signed anchor (``check_log``: the
        rows since it, milliseconds). Damage (a lost tail, rows that do not link, bad
        anchors) is logged, written to the audit log and kept in :attr:`log_damage`
        for the gate's owner to tell; the chain then goes on from what the database
        holds, anchored at once as a ``rebase`` so the same loss is told once. The gate
        runs either way. Then anchors are written by an :class:`Anchorer`."""
        check = self.patiently(lambda: check_log(self.db, self.home, self.checkpoint_id))
        key = signing_key(self.home)
        if key is not None:
            self.anchorer = Anchorer(AnchorFile(self.home.anchors), key, self.checkpoint_id)
        if check.damaged:
            self.log_damage = check
            for message in check.messages():
                log.warning("visit log: %s", message)

            def record() -> None:
                with write(self.db):
                    record_audit(self.db, "gate", "visits.damaged", check.detail())

            self.patiently(record)
            if self.anchorer is not None:
                self.anchorer.soon(check.head, kind="rebase", lost=check.lost)
        elif self.anchorer is not None and (
            check.anchor is None or check.anchor.seq != check.head.seq
        ):
            self.anchorer.soon(check.head)

    def _purge_if_due(self) -> None:
        """Retention: at start-up if a day was missed, then once a day. A busy database
        puts it off (by :data:`PURGE_RETRY_S`); a clock in doubt holds it (logged, and
        said in :attr:`retention_held`) until an admin purges. Its batches follow each
        other without a pause: the scan that found the purge due is waiting for it."""
        if self.retention_days is None:
            return
        if self.purge_unfinished and self.monotonic() >= self._finish_after:
            with self._busy_timeout(WAIT_SLICE_MS), contextlib.suppress(DatabaseBusy):
                self.purge_unfinished = not finish_purge(self.db)
            self._finish_after = self.monotonic() + FINISH_RETRY_S
            if not self.purge_unfinished:
                log.info("retention: the purged records have left the file")
        now = self.clock()
        today = now.astimezone().date().isoformat()
        if today == self._purged_on or self.monotonic() < self._purge_after:
            return
        try:
            with self._busy_timeout(WAIT_SLICE_MS):
                report = purge_if_due(
                    self.db, older_than_days=self.retention_days, now=now, gap_s=0.0
                )
        except DatabaseBusy:
            log.warning("retention purge put off: the database is busy")
            self._purge_after = self.monotonic() + PURGE_RETRY_S
            return
        except ClockInDoubt as exc:
            log.warning("retention purge refused, the clock is in doubt: %s", exc)
            self.retention_held = str(exc)
            self._purged_on = today
            return
        self.retention_held = None
        self._purged_on = today
        if report is not None:
            log.info("retention: %d visits, %d visitors deleted", report.visits, report.visitors)
        if report is not None and report.unfinished:
            log.warning(
                "retention: another program reads the checkpoint; the deleted records "
                "leave the file when it closes it"
            )
        if get_meta(self.db, PURGE_UNFINISHED) is not None:  # this purge's or an older one's
            self.purge_unfinished = True
            self._finish_after = self.monotonic() + FINISH_RETRY_S

    def _doubt_clock_at_start(self) -> None:
        """A clock that starts behind the newest recorded passage (set back while the
        gate was off), or far ahead, holds retention even when no purge was due (or
        retention is off), so that the guard is told. A busy database: the next
        :meth:`clock_warning` looks again."""
        now = self.clock()
        try:
            with self._busy_timeout(WAIT_SLICE_MS):
                doubt = None if held_since(self.db) else clock_doubt_of(self.db, now)
                if doubt is not None:
                    log.warning("the clock is in doubt: %s", doubt)
                    hold(self.db, now, doubt, "gate")
        except DatabaseBusy:
            log.warning("the clock check at start was put off: the database is busy")

    def clock_warning(self) -> ClockWarning | None:
        """Whether the guard must be told the clock is in doubt: retention is held (a
        clock far ahead, behind the newest passage, or set back while the gate ran).
        Also a clock check (a jump back since the last reading holds retention). Once
        an admin's purge has trusted the clock, ``None``, and the jump is forgotten."""
        self._watch_clock(self.clock())
        since = self.patiently(lambda: held_since(self.db))
        if since is None:
            self.clock_jump = None
            self.retention_held = None
            return None
        return ClockWarning(since, self.patiently(lambda: held_why(self.db)))

    @contextlib.contextmanager
    def _busy_timeout(self, ms: int) -> Iterator[None]:
        self.db.conn.execute(f"PRAGMA busy_timeout={int(ms)}")
        try:
            yield
        finally:
            self.db.conn.execute(f"PRAGMA busy_timeout={busy_timeout_ms()}")

    def patiently(self, job: Callable[[], T]) -> T:
        """``job()`` (reads, or whole write transactions) until it does not meet a busy
        database. A busy ``BEGIN IMMEDIATE`` wrote nothing, so the job simply runs
        again. Tells ``on_wait(True)`` once the wait is longer than one slice and
        ``on_wait(False)`` when it is over; raises :class:`GateStopped` if ``stop`` is
        set while it waits. Other errors (disk full, ...) are raised at once."""
        waiting = False
        over = True  # whether to say the wait is over (not when stopped or interrupted)
        try:
            with self._busy_timeout(WAIT_SLICE_MS):
                while True:
                    try:
                        return job()
                    except DatabaseBusy:
                        if self.stop.is_set():
                            over = False
                            raise GateStopped() from None
                        if not waiting:
                            waiting = True
                            log.warning("the database is busy (another writer): waiting")
                            self._tell_waiting(True)
        except KeyboardInterrupt:
            over = False
            raise
        finally:
            if waiting and over:
                log.info("the database is free again")
                self._tell_waiting(False)

    def _tell_waiting(self, waiting: bool) -> None:
        if self.on_wait is None:
            return
        try:
            self.on_wait(waiting)
        except Exception:  # a display problem must not stop the gate
            log.exception("on_wait failed")

    def _watch_clock(self, now: datetime) -> None:
        """Compare how far the wall clock moved since the last reading with how far the
        monotonic clock did. Set back by more than :data:`CLOCK_JUMP_S`: logged and kept
        in :attr:`clock_jump` (decisions go on: the log orders passages as recorded,
        not by time). Moved forward by more: logged only, since a computer that slept
        looks the same (the monotonic clock stops during a suspend); a clock far ahead
        is retention's worry (:class:`~kiosk.store.retention.ClockInDoubt`)."""
        mono = self.monotonic()
        last_wall, last_mono = self._clock_mark
        self._clock_mark = (now, mono)
        moved = now - (last_wall + timedelta(seconds=mono - last_mono))
        if moved < -timedelta(seconds=CLOCK_JUMP_S):
            log.warning("the clock was set back by %s (against the monotonic clock)", -moved)
            self.clock_jump = ClockJump(moved, now)
            why = Doubt(
                N_("The clock was set back by {minutes} minutes at {time}."),
                {"minutes": round(-moved.total_seconds() / 60), "time": local_minute(now)},
            )
            self.patiently(lambda: hold(self.db, now, why, "gate"))
        elif moved > timedelta(seconds=CLOCK_JUMP_S):
            log.warning(
                "the clock moved forward by %s more than the monotonic clock "
                "(set forward, or the computer slept)",
                moved,
            )

    def reload_keys(self) -> None:
        self.keyring = load_keyring(self.db)

    def take_office_rules(self) -> None:
        """At a gate of a compound, the rules the office sent (quota, curfew, fever,
        anti-passback) stand over this computer's settings (docs/exchange.md)."""
        sent = office_rules(self.db)
        if sent:
            self.rules = self.rules.with_values(sent)
            log.info("rules of the office applied: %s", ", ".join(sorted(sent)))

    def handle(
        self,
        encounter: Encounter,
        *,
        holder: Holder | None = None,
        captured_at: float | None = None,
        plate: str = "",
        corrects: str | None = None,
    ) -> Decision | None:
        """Decide and log one encounter. ``None``: a repeat of a code just handled.

        Camera scans arrive already filtered by the scan loop, which sees every frame a
        code is in; a handheld scanner's repeats are filtered here, with the same
        :class:`RepeatFilter` and window.

        ``captured_at`` is the frame's capture time on the ``monotonic`` clock; the
        decision's latency runs from it to the commit.

        A busy database is waited for (:meth:`patiently`): the visit row, its id made
        once, is committed exactly once, however many tries it takes. Raises
        :class:`GateStopped` if the gate is stopped before it is on disk.
        """
        if (
            encounter.source is Source.SCANNER
            and encounter.text is not None
            and not self.repeats.accept(encounter.text)
        ):
            return None
        self._purge_if_due()
        now = self.clock()
        self._watch_clock(now)
        facts = self.patiently(
            lambda: load_facts(
                self.db,
                self.keyring,
                encounter,
                now=now,
                settings=self.rules,
                checkpoint_id=self.checkpoint_id,
                holder=holder,
            )
        )
        verdict = decide(encounter, facts, now, self.rules, self.mode)
        row = visit_row(
            verdict,
            encounter,
            now=now,
            checkpoint_id=self.checkpoint_id,
            guard=self.guard,
            plate=plate,
            corrects=corrects,
        )
        try:
            place = self.patiently(lambda: commit_visit(self.db, row))
        except GateStopped:
            log.warning(
                "stopped while the database was busy: %s %s not saved",
                verdict.level.value,
                verdict.serial or "-",
            )
            raise
        visit = LoggedVisit(row["id"], now)
        if place is not None and self.anchorer is not None:
            self.anchorer.note(place)  # signed and written on the anchorer's thread
        latency = (self.monotonic() - captured_at) * 1000 if captured_at is not None else None
        office = self.office_data(now)
        stale = ""
        if office is not None and office.level != "fresh":
            hours = office.age.total_seconds() / 3600 if office.age is not None else None
            stale = (
                f" (office data {hours:.1f} h old)" if hours is not None else " (no office data)"
            )
        log.info(
            "%s %s %s %s%s",
            verdict.level.value,
            verdict.reason.value,
            verdict.direction.value,
            verdict.serial or "-",
            stale,
        )
        return Decision(verdict, visit, encounter, latency, captured_at, office)

    def office_data(self, now: datetime) -> Freshness | None:
        """How old this gate's office data is (None: not a gate of a compound). Scanning
        never waits for it: the age is shown and logged with each verdict."""
        if not self.in_compound:
            return None
        return office_data_age(self.db, now, self.office_data_amber)

    def note_head(self) -> None:
        """A row this gate's connection wrote besides :meth:`handle`'s (a correction
        job): the log's new head is anchored like a passage."""
        if self.anchorer is not None:
            self.anchorer.note(head(self.db))

    def close(self) -> None:
        if self.anchorer is not None:
            self.anchorer.close()  # the last passages anchored: a clean stop
        self.db.close()

    def __enter__(self) -> Gate:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def drive(
    gate: Gate,
    loop: ScanLoop,
    stop: threading.Event,
    on_decision: Callable[[Decision], None],
    on_event: Callable[[Event], None] | None = None,
) -> None:
    """Run the scan path: every scan from ``loop`` through ``gate``, until the source
    ends or ``stop`` is set. A :class:`~kiosk.vision.scanloop.Job` its owner put into
    the loop's queue runs here, ``job.run(gate)``, between two scans (it handles its
    own errors; :class:`GateStopped` ends the drive). Other loop events (camera,
    diagnostics) go to ``on_event``.

    ``kiosk gate`` calls this on its main thread, the window on its worker thread: the
    thread that made ``gate``. A busy database makes a scan wait (see
    :meth:`Gate.patiently`); ``stop`` ends that wait too.
    """
    gate.stop = stop
    for event in loop.iter_events(stop):
        if isinstance(event, ScanEvent):
            try:
                decision = gate.handle(
                    Encounter(Source.CAMERA, event.text), captured_at=event.captured_at
                )
            except GateStopped:
                return
            if decision is not None:
                on_decision(decision)
        elif isinstance(event, Job):
            try:
                event.run(gate)
            except GateStopped:
                return
        elif on_event is not None:
            on_event(event)
