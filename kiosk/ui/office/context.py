"""What every office tab is given: the checkpoint, the two database workers, who is
at the keyboard, and whether personal data may be shown in full."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from PySide6.QtCore import QDate, QDateTime, QObject, Signal

from kiosk.core.clock import from_db
from kiosk.core.identity import mask_id_number, mask_phone
from kiosk.home import Home
from kiosk.settings import Settings
from kiosk.store.checkpoint import record_audit
from kiosk.ui.ops import DbWorker, QueryOp

THREAD_NAME = "kiosk-office"


class OfficeSignals(QObject):
    """Told to every tab: the data changed (reload what you show), or unmasking did."""

    dataChanged = Signal(str)  # what changed: "residents", "passes", "holds", "visitors"
    unmaskedChanged = Signal(bool)
    mustTravel = Signal()  # a change the gates must hear of at once (a revoked pass)


@dataclass
class OfficeContext:
    """The office's shared state. The UI thread never touches the database: every
    read and write is an op (:mod:`kiosk.ui.ops`) on one of two workers, each a thread
    with its own connection:

    - ``jobs``: every write (one row, one household, or a bulk job in batches) and the
      slow reads (exports, traces, the dashboard's figures), in order;
    - ``reader``: the tables' pages and the small reads of the dialogs (a search, a
      household's existence), so they never wait behind a long job (WAL: readers
      never wait for the gate or for ``jobs``)."""

    home: Home
    settings: Settings
    jobs: DbWorker
    reader: DbWorker
    actor: str = "office"
    signals: OfficeSignals = field(default_factory=OfficeSignals)
    unmasked: bool = False
    now: Callable[[], datetime] = field(default=lambda: datetime.now().astimezone())

    @classmethod
    def open(
        cls,
        home: Home,
        settings: Settings,
        *,
        actor: str = "office",
        parent: QObject | None = None,
    ) -> OfficeContext:
        """A context with its two workers started (their connections open on their own
        threads, at their first op); :meth:`close` ends them."""
        jobs = DbWorker(home.database, parent, name=THREAD_NAME)
        reader = DbWorker(home.database, parent, name=f"{THREAD_NAME}-reader")
        return cls(home, settings, jobs, reader, actor=actor)

    def wait_idle(self, timeout_s: float = 10.0) -> bool:
        """Process events until both workers are idle at once (an answer may queue a
        further op: a write's answer reloads the tables)."""
        for _ in range(100):
            if not (self.jobs.wait_idle(timeout_s) and self.reader.wait_idle(timeout_s)):
                return False
            if not (self.jobs.busy or self.reader.busy):
                return True
        return False

    def close(self, timeout_s: float = 30.0) -> None:
        """Run what is queued, then end both workers (their connections close there)."""
        self.jobs.wait_idle(timeout_s)
        self.jobs.close(timeout_s)
        self.reader.close(timeout_s)

    def id_text(self, id_number: str | None) -> str:
        """An ID number as the office shows it: masked unless unmasking was granted."""
        if not id_number:
            return ""
        return id_number if self.unmasked else mask_id_number(id_number)

    def phone_text(self, phone: str | None) -> str:
        if not phone:
            return ""
        return phone if self.unmasked else mask_phone(phone)

    def set_unmasked(self, on: bool, reason: str = "") -> None:
        """Show ID numbers and phones in full (after the admin PIN); written to the
        audit log, with who and why, each time it is switched on."""
        if on == self.unmasked:
            return
        if on:
            detail = {"reason": reason} if reason else {}
            actor = self.actor
            QueryOp(
                self.jobs,
                parent=None,
                op=lambda db: record_audit(db, actor, "office.unmask", detail),
            ).run_in_background()
        self.unmasked = on
        self.signals.unmaskedChanged.emit(on)

    def changed(self, what: str) -> None:
        self.signals.dataChanged.emit(what)

    def must_travel(self) -> None:
        """A change that must reach the gates at once: synced with the hub now, when
        this checkpoint has one (kiosk.ui.hub_sync)."""
        self.signals.mustTravel.emit()


def local_time(text: str | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored UTC time as this machine's local time ("" for none)."""
    if not text:
        return ""
    return from_db(text).astimezone().strftime(fmt)


def aware(moment: QDateTime) -> datetime:
    """A date-time edit's value (this computer's local time) as an aware datetime."""
    d, t = moment.date(), moment.time()
    return datetime(d.year(), d.month(), d.day(), t.hour(), t.minute()).astimezone()


def day_of(qdate: QDate) -> date:
    return date(qdate.year(), qdate.month(), qdate.day())
