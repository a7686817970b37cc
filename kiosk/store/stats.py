"""Figures counted from the visit log: the street office's daily report
(:func:`daily_summary`), the office's Today dashboard (:func:`dashboard_figures`: the
report's figures plus fevers that day and who is inside now) and a guard's shift
(:func:`shift_summary`).

Every query reads through the ``visits_at`` index: the day's visits, and for who is
inside the passages of the look-back window. Who is inside is counted by
:class:`kiosk.store.visits.LiveOccupancy`, as the gate window counts it (one grouped
query, without the names and joins :func:`kiosk.store.visits.occupancy` loads: with
20,000 passages a day about 0.3 s instead of over 1 s, ``bench/bench_dashboard.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlite_utils import Database

from kiosk.core.clock import from_db, to_db
from kiosk.core.identity import mask_id_number
from kiosk.store.checkpoint import checkpoint_id, checkpoint_name
from kiosk.store.register import household_label
from kiosk.store.visits import LiveOccupancy, effective


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


LOOKBACK_DAYS = 14  # as the gate window


@dataclass(frozen=True)
class DashboardFigures:
    summary: DailySummary
    fevers: int  # passages that day with a fever among their findings
    inside_residents: int  # residents and staff inside now (by the log)
    inside_visitors: int
    overstaying: int  # visitors inside longer than the overstay limit


def fevers_on(db: Database, day: date, tz: tzinfo | None = None) -> int:
    """Passages (any verdict) on ``day`` where a fever was found, whether or not it was
    the verdict's first reason (a revoked pass with a fever is still a fever)."""
    start, end = day_bounds(day, tz)
    row = db.execute(
        "SELECT COUNT(*) FROM visits WHERE at >= ? AND at < ? "
        f"AND (reason = 'fever' OR reasons LIKE '%\"fever\"%') AND {effective()}",
        [to_db(start), to_db(end)],
    ).fetchone()
    return int(row[0])


def dashboard_figures(
    db: Database,
    day: date,
    *,
    now: datetime,
    overstay: timedelta,
    tz: tzinfo | None = None,
) -> DashboardFigures:
    """Everything the dashboard shows for ``day``; who is inside is as of ``now``."""
    summary = daily_summary(db, day, tz)
    inside = LiveOccupancy(
        db, checkpoint_id(db), now=now, overstay=overstay, lookback_days=LOOKBACK_DAYS
    ).counts(now)
    return DashboardFigures(
        summary=summary,
        fevers=fevers_on(db, day, tz),
        inside_residents=inside.inside - inside.visitors_inside,
        inside_visitors=inside.visitors_inside,
        overstaying=inside.visitors_overstaying,
    )


def shift_summary(
    db: Database, guard: str, since: datetime, until: datetime | None = None
) -> dict[str, Any]:
    """What ``guard`` logged from ``since`` (to ``until``): counts for the sign-out.

    Keys: guard, since, until (datetimes as given), passes_in, passes_out, checks,
    denials, fevers, visitors_registered, manual, total.
    """
    where = f"guard = ? AND at >= ? AND {effective()}"  # as corrected
    args: list[Any] = [guard, to_db(since)]
    if until is not None:
        where += " AND at <= ?"
        args.append(to_db(until))
    summary: dict[str, Any] = {
        "guard": guard,
        "since": since,
        "until": until,
        "passes_in": 0,
        "passes_out": 0,
        "checks": 0,
        "denials": 0,
        "fevers": 0,
        "visitors_registered": 0,
        "manual": 0,
        "total": 0,
    }
    rows = db.execute(
        "SELECT level, direction, reason, source, COUNT(*) FROM visits "
        f"WHERE {where} GROUP BY level, direction, reason, source",
        args,
    )
    for level, direction, reason, source, count in rows:
        summary["total"] += count
        if level == "pass":
            summary["passes_in" if direction == "in" else "passes_out"] += count
        elif level == "check":
            summary["checks"] += count
        else:
            summary["denials"] += count
        if reason == "fever":
            summary["fevers"] += count
        if source == "register":
            summary["visitors_registered"] += count
        elif source == "manual":
            summary["manual"] += count
    return summary
