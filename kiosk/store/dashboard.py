"""The office's Today dashboard: the daily report's figures for one local day
(:func:`kiosk.store.reports.daily_summary`) plus what the report lacks: fevers that
day and how many people are inside now.

Every query reads through the ``visits_at`` index: the day's visits, and for who is
inside the passages of the look-back window. Who is inside is counted by
:class:`kiosk.store.visits.LiveOccupancy`, as the gate window counts it (one grouped
query, without the names and joins :func:`kiosk.store.visits.occupancy` loads: with
20,000 passages a day about 0.3 s instead of over 1 s, ``bench/bench_dashboard.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from sqlite_utils import Database

from kiosk.core.clock import to_db
from kiosk.store.checkpoint import checkpoint_id
from kiosk.store.reports import DailySummary, daily_summary, day_bounds
from kiosk.store.visits import LiveOccupancy, effective

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
