"""What every office tab is given: the checkpoint, a read connection, the jobs thread,
who is at the keyboard, and whether personal data may be shown in full."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from PySide6.QtCore import QDate, QDateTime, QObject, Signal
from sqlite_utils import Database

from kiosk.core.clock import from_db
from kiosk.core.identity import mask_id_number, mask_phone
from kiosk.home import Home
from kiosk.settings import Settings
from kiosk.store.checkpoint import record_audit
from kiosk.ui.office.jobs import OfficeJobs
from kiosk.ui.office.table import Immediate, Runner


class OfficeSignals(QObject):
    """Told to every tab: the data changed (reload what you show), or unmasking did."""

    dataChanged = Signal(str)  # what changed: "residents", "passes", "holds", "visitors"
    unmaskedChanged = Signal(bool)


@dataclass
class OfficeContext:
    """The office's shared state. ``db`` is for reads on the UI thread (WAL: readers
    never wait for the gate); every write goes through ``jobs``."""

    home: Home
    settings: Settings
    db: Database
    jobs: OfficeJobs
    actor: str = "office"
    signals: OfficeSignals = field(default_factory=OfficeSignals)
    unmasked: bool = False
    now: Callable[[], datetime] = field(default=lambda: datetime.now().astimezone())
    reader: Runner | None = None  # where the tables' queries run; None: at once, on ``db``

    @property
    def runner(self) -> Runner:
        """How the office's tables run their queries (see ``kiosk.ui.office.table``)."""
        return self.reader if self.reader is not None else Immediate(self.db)

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
            self.jobs.submit(lambda db: record_audit(db, self.actor, "office.unmask", detail))
        self.unmasked = on
        self.signals.unmaskedChanged.emit(on)

    def changed(self, what: str) -> None:
        self.signals.dataChanged.emit(what)


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
