"""The gate service: the one place the scan path runs.

    scan event ──> facts from the store ──> decide() ──> durable log ──> decision out

``kiosk gate`` (no window) and the kiosk window both drive a :class:`Gate`, so the path
exists once. A Gate owns its database connection and must be used from the thread that
created it (the window runs it in its worker thread).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from kiosk.core.clock import utcnow
from kiosk.core.rules import (
    DirectionMode,
    Encounter,
    Holder,
    RuleSettings,
    Source,
    Verdict,
    decide,
)
from kiosk.home import Home
from kiosk.store.checkpoint import checkpoint_id, load_keyring
from kiosk.store.db import connect
from kiosk.store.retention import purge_if_due
from kiosk.store.visits import LoggedVisit, load_facts, log_visit
from kiosk.vision.repeat import RepeatFilter
from kiosk.vision.scanloop import Event, ScanEvent, ScanLoop

log = logging.getLogger("kiosk.gate")


@dataclass(frozen=True)
class Decision:
    """A verdict that is on disk: safe to show."""

    verdict: Verdict
    visit: LoggedVisit
    encounter: Encounter
    latency_ms: float | None  # from the frame's capture to the committed row

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
        repeat_window_s: float = 5.0,
        guard: str = "",
        clock: Callable[[], datetime] = utcnow,
        monotonic: Callable[[], float] = time.monotonic,
        retention_days: int | None = None,
    ) -> None:
        self.db = connect(home.database)
        self.keyring = load_keyring(self.db)
        self.checkpoint_id = checkpoint_id(self.db)
        self.mode = mode
        self.rules = rules or RuleSettings()
        self.guard = guard
        self.clock = clock
        self.monotonic = monotonic
        self.repeats = RepeatFilter(repeat_window_s, clock=monotonic)
        self.retention_days = retention_days
        self._purged_on: str | None = None
        self._purge_if_due()

    def _purge_if_due(self) -> None:
        """Retention: at start-up if a day was missed, then once a day."""
        if self.retention_days is None:
            return
        now = self.clock()
        today = now.astimezone().date().isoformat()
        if today == self._purged_on:
            return
        report = purge_if_due(self.db, older_than_days=self.retention_days, now=now)
        self._purged_on = today
        if report is not None:
            log.info("retention: %d visits, %d visitors deleted", report.visits, report.visitors)

    def reload_keys(self) -> None:
        self.keyring = load_keyring(self.db)

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
        """
        if (
            encounter.source is Source.SCANNER
            and encounter.text is not None
            and not self.repeats.accept(encounter.text)
        ):
            return None
        self._purge_if_due()
        now = self.clock()
        facts = load_facts(
            self.db,
            self.keyring,
            encounter,
            now=now,
            settings=self.rules,
            checkpoint_id=self.checkpoint_id,
            holder=holder,
        )
        verdict = decide(encounter, facts, now, self.rules, self.mode)
        visit = log_visit(
            self.db,
            verdict,
            encounter,
            now=now,
            checkpoint_id=self.checkpoint_id,
            guard=self.guard,
            plate=plate,
            corrects=corrects,
        )
        latency = (self.monotonic() - captured_at) * 1000 if captured_at is not None else None
        log.info(
            "%s %s %s %s",
            verdict.level.value,
            verdict.reason.value,
            verdict.direction.value,
            verdict.serial or "-",
        )
        return Decision(verdict, visit, encounter, latency)

    def close(self) -> None:
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
    ends or ``stop`` is set. Other loop events (camera, diagnostics) go to ``on_event``.

    ``kiosk gate`` calls this on its main thread, the window on its worker thread: the
    thread that made ``gate``.
    """
    for event in loop.iter_events(stop):
        if isinstance(event, ScanEvent):
            decision = gate.handle(
                Encounter(Source.CAMERA, event.text), captured_at=event.captured_at
            )
            if decision is not None:
                on_decision(decision)
        elif on_event is not None:
            on_event(event)
