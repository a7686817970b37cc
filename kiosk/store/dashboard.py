"""The office's Today dashboard: the daily report's figures for one local day
(:func:`kiosk.store.reports.daily_summary`) plus what the report lacks: fevers that
day and how many people are inside now.

Every query reads through the ``visits_at`` index: the day's visits, and for who is
inside the passages of the look-back window. Inside now follows the rule of
:func:`kiosk.store.visits.occupancy` (a subject whose last passage here, within the
look-back, was "in"), counted in one grouped query without the names and joins
occupancy loads for the gate's list: with 20,000 passages a day that is the
difference between about 0.3 s and over 1 s (``bench/bench_dashboard.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from sqlite_utils import Database

from kiosk.core.clock import to_db
from kiosk.store.checkpoint import checkpoint_id
from kiosk.store.reports import DailySummary, daily_summary

LOOKBACK_DAYS = 14  # as kiosk.store.visits.occupancy


@dataclass(frozen=True)
class DashboardFigures:
    summary: DailySummary
    fevers: int  # passages that day with a fever among their findings
    inside_residents: int  # residents and staff inside now (by the log)
    inside_visitors: int
    overstaying: int  # visitors inside longer than the overstay limit


def day_bounds(day: date, tz: tzinfo | None = None) -> tuple[datetime, datetime]:
    """The start and end of a local day (``tz``: the gate's; ``None``: this computer's)."""
    start = (
        datetime.combine(day, time(0), tzinfo=tz)
        if tz
        else datetime.combine(day, time(0)).astimezone()
    )
    return start, start + timedelta(days=1)


def fevers_on(db: Database, day: date, tz: tzinfo | None = None) -> int:
    """Passages (any verdict) on ``day`` where a fever was found, whether or not it was
    the verdict's first reason (a revoked pass with a fever is still a fever)."""
    start, end = day_bounds(day, tz)
    row = db.execute(
        "SELECT COUNT(*) FROM visits WHERE at >= ? AND at < ? "
        "AND (reason = 'fever' OR reasons LIKE '%\"fever\"%')",
        [to_db(start), to_db(end)],
    ).fetchone()
    return int(row[0])


@dataclass(frozen=True)
class InsideNow:
    residents: int  # residents and staff
    visitors: int
    overstaying: int  # visitors inside since before ``now - overstay``


def inside_now(
    db: Database,
    checkpoint: str,
    *,
    now: datetime,
    overstay: timedelta,
    lookback_days: int = LOOKBACK_DAYS,
) -> InsideNow:
    """How many people are inside now by the log: the counts of
    :func:`kiosk.store.visits.occupancy`'s ``inside`` and ``visitors_overstaying``."""
    # SQLite takes the bare columns (kind, direction) from the row holding MAX(at).
    rows = db.execute(
        """
        SELECT kind, COUNT(*), SUM(last < ?) FROM (
            SELECT subject_kind AS kind, direction, MAX(at) AS last FROM visits
            WHERE at >= ? AND checkpoint_id = ? AND level = 'pass'
              AND COALESCE(resident_id, visitor_id) IS NOT NULL
            GROUP BY COALESCE(resident_id, visitor_id)
        ) WHERE direction = 'in' GROUP BY kind
        """,
        [to_db(now - overstay), to_db(now - timedelta(days=lookback_days)), checkpoint],
    ).fetchall()
    counts = {str(kind): (int(count), int(late or 0)) for kind, count, late in rows}
    visitors, overstaying = counts.pop("visitor", (0, 0))
    return InsideNow(sum(c for c, _late in counts.values()), visitors, overstaying)


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
    inside = inside_now(db, checkpoint_id(db), now=now, overstay=overstay)
    return DashboardFigures(
        summary=summary,
        fevers=fevers_on(db, day, tz),
        inside_residents=inside.residents,
        inside_visitors=inside.visitors,
        overstaying=inside.overstaying,
    )
