"""Time as Gatepass keeps it: stored in UTC with its offset, shown in local time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from kiosk.core.errors import UserError
from kiosk.core.i18n import tr

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def to_db(moment: datetime) -> str:
    """ISO-8601 text in UTC with offset, microseconds kept: sorts as time does."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: Gatepass stores only aware times")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def from_db(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def local(moment: datetime) -> datetime:
    """The same moment in this computer's time zone, for display."""
    return moment.astimezone()


def parse_user_time(text: str, *, end_of_day: bool = False) -> datetime:
    """A time typed by a person: ``2026-03-03``, ``2026-03-03 14:00``, ISO with offset.

    Times without an offset are this computer's local time.
    """
    raw = text.strip()
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            moment = datetime(day.year, day.month, day.day)
            if end_of_day:
                moment += timedelta(days=1) - timedelta(microseconds=1)
        else:
            moment = datetime.fromisoformat(raw.replace(" ", "T", 1))
    except ValueError:
        raise UserError(
            tr("cannot read the time {text!r}: use YYYY-MM-DD or YYYY-MM-DD HH:MM", text=text)
        ) from None
    if moment.tzinfo is None:
        moment = moment.astimezone()  # local time of this machine
    return moment.astimezone(UTC)
