"""Figures for the street office's daily report, from the visit log."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlite_utils import Database

from kiosk.core.clock import from_db, to_db
from kiosk.core.identity import mask_id_number
from kiosk.store.checkpoint import checkpoint_name
from kiosk.store.register import household_label
from kiosk.store.visits import effective


@dataclass
class DailySummary:
    day: date
    checkpoint: str
    passed_in: int = 0
    passed_out: int = 0
    residents: int = 0
    visitors: int = 0
    checks: int = 0
    denials: dict[str, int] = field(default_factory=dict)  # reason -> count
    hourly_in: list[int] = field(default_factory=lambda: [0] * 24)
    hourly_out: list[int] = field(default_factory=lambda: [0] * 24)
    notable: list[dict[str, Any]] = field(default_factory=list)  # denials and fevers
    guards: list[str] = field(default_factory=list)


# Counts by UTC minute (stored times are canonical UTC text, see kiosk.core.clock.to_db):
# a day is at most 1,440 minutes, however many passages; each minute is then put in its
# local hour in Python. A row stored in another form keeps its whole text as its key.
_COUNTS_SQL = f"""
    SELECT CASE WHEN length(at) = 32 AND substr(at, 11, 1) = 'T' AND substr(at, 27) = '+00:00'
                THEN substr(at, 1, 16) ELSE at END AS minute,
           level, direction, subject_kind = 'visitor', guard, COUNT(*)
    FROM visits
    WHERE at >= ? AND at < ? AND {effective()}
    GROUP BY 1, 2, 3, 4, 5
"""
_NOTABLE_SQL = f"""
    SELECT v.at, v.level, v.reason, v.temperature,
           COALESCE(r.name, vi.name), COALESCE(r.id_number, vi.id_number),
           h.building, h.unit, h.room
    FROM visits v
    LEFT JOIN residents r ON r.id = v.resident_id
    LEFT JOIN visitors vi ON vi.id = v.visitor_id
    LEFT JOIN households h ON h.id = v.household_id
    WHERE v.at >= ? AND v.at < ? AND (v.level = 'deny' OR v.reason = 'fever')
      AND {effective("v")}
    ORDER BY v.at
"""


def _hour_of(key: str, tz: tzinfo | None) -> int:
    """The local hour of a UTC minute (``YYYY-MM-DDTHH:MM``) or of a whole stored time.

    Every zone's offset has been a whole number of minutes since 1972, so all of a UTC
    minute falls in one local hour.
    """
    text = f"{key}:00+00:00" if len(key) == 16 else key
    return from_db(text).astimezone(tz).hour


def day_bounds(day: date, tz: tzinfo | None = None) -> tuple[datetime, datetime]:
    """The start and end of a local day (``tz``: the gate's; ``None``: this computer's)."""
    start = (
        datetime.combine(day, time(0), tzinfo=tz)
        if tz
        else datetime.combine(day, time(0)).astimezone()
    )
    return start, start + timedelta(days=1)


def daily_summary(db: Database, day: date, tz: tzinfo | None = None) -> DailySummary:
    """Everything the daily report shows for one local day (``tz``: the gate's).

    Counted in SQL (one indexed pass over the day, grouped by minute); only the
    stops and fevers are read row by row.
    """
    start, end = day_bounds(day, tz)
    span = [to_db(start), to_db(end)]
    summary = DailySummary(day, checkpoint_name(db))
    guards: set[str] = set()
    hours: dict[str, int] = {}
    for minute, level, direction, visitor, guard, count in db.execute(_COUNTS_SQL, span):
        if guard:
            guards.add(guard)
        if level == "pass":
            hour = hours.get(minute)
            if hour is None:
                hour = hours[minute] = _hour_of(minute, start.tzinfo)
            if direction == "in":
                summary.hourly_in[hour] += count
                summary.passed_in += count
            else:
                summary.hourly_out[hour] += count
                summary.passed_out += count
            if visitor:
                summary.visitors += count
            else:
                summary.residents += count
        elif level == "check":
            summary.checks += count
    for at, level, reason, temperature, name, id_number, b, u, r in db.execute(_NOTABLE_SQL, span):
        if level == "deny":
            summary.denials[reason] = summary.denials.get(reason, 0) + 1
        summary.notable.append(
            {
                "time": from_db(at).astimezone(start.tzinfo).strftime("%H:%M"),
                "reason": reason,
                "name": name or "",
                "household": household_label(b, u, r),
                "id_number": mask_id_number(id_number),
                "temperature": temperature,
            }
        )
    summary.guards = sorted(guards)
    return summary
