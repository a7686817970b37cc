"""Office figures (issue 6): the Today dashboard's data load and contact-tracing
queries, with 5,000,000 visits in the database and a day of 20,000 passages.

    python bench/bench_dashboard.py [--visits 5000000] [--per-day 20000]
                                    [--residents 20000] [--visitors 20000] [--runs 5]
                                    [--cache DIR] [--rebuild]

The database is built once and kept under ``--cache`` (default
``/tmp/gatepass-bench-dashboard``): residents, passes and households with
``bench_store.build``, then visitors and the visits in SQL (``WITH RECURSIVE``, one
transaction, the visit indexes rebuilt after the load). The visits run back from the
measured day at ``--per-day`` a day, evenly over each local day: 90 % residents'
passes, 5 % visitors', 3 % checks, 2 % stops (one in ten of them a fever).

Measured, median of ``--runs`` runs after one warm-up (the first, cold run printed too):
* the dashboard's data load: ``kiosk.store.stats.dashboard_figures`` (what the
  Today tab runs on the jobs thread), and its parts: ``daily_summary``, ``LiveOccupancy``,
  ``fevers_on`` (and ``visits.occupancy``, which the dashboard does not use, for
  comparison);
* tracing: ``passed_between`` over one hour of that day, and ``contacts_of`` (15
  minutes) for a resident and for a visitor with their whole history;
* the Visitors tab's first page, and with "Overstays only".
Targets: the dashboard load under 1 s; a trace query under 1 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
# Checkpoints made here are opened by other processes too: all share one key, as the
# tests' do (kiosk.store.db_key reads KIOSK_DB_KEY).
os.environ.setdefault("KIOSK_DB_KEY", "be" * 32)

from bench_store import build

from kiosk.store import db_key
from kiosk.store.checkpoint import checkpoint_id
from kiosk.store.db import connect
from kiosk.store.driver import open_connection, sqlite3
from kiosk.store.stats import daily_summary, dashboard_figures, day_bounds, fevers_on
from kiosk.store.trace import contacts_of, passed_between
from kiosk.store.visitors import DEFAULT_ORDER, list_visitors
from kiosk.store.visits import LiveOccupancy, occupancy

TARGET_S = 1.0
OVERSTAY = timedelta(hours=4)


def _load_visitors(conn: sqlite3.Connection, count: int, first_day: datetime) -> None:
    span = 86400 * 250
    conn.execute(
        """
        INSERT INTO visitors(id, name, phone, id_number, destination_household_id, reason,
                             created_at, checkpoint_id)
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count)
        SELECT printf('visitor-%08d', i), '访客' || i, printf('137%08d', i),
               printf('V%017d', i),
               (SELECT id FROM households WHERE rowid = 1 + (i * 7907) % :households),
               '探望', strftime('%Y-%m-%dT%H:%M:%S', :t0 + (i * :span) / :count, 'unixepoch')
                       || '.000000+00:00',
               'bench'
        FROM n
        """,
        {
            "count": count,
            "households": conn.execute("SELECT count(*) FROM households").fetchone()[0],
            "t0": first_day.timestamp(),
            "span": span,
        },
    )


VISITS_SQL = """
INSERT INTO visits(id, at, checkpoint_id, direction, subject_kind, resident_id, visitor_id,
                   household_id, pass_serial, level, reason, reasons, temperature, guard,
                   source)
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < :count - 1),
picked AS (
    SELECT i,
           :t0 + i * :step AS t,
           i % 100 AS k,
           1 + (i * 7919) % :residents AS r,
           1 + (i * 104729) % :visitors AS v
    FROM n
),
shaped AS (
    SELECT i, t, k,
           CASE WHEN k BETWEEN 90 AND 94 THEN NULL
                ELSE (SELECT id FROM residents WHERE rowid = r) END AS resident_id,
           CASE WHEN k BETWEEN 90 AND 94 THEN (SELECT id FROM visitors WHERE rowid = v)
                END AS visitor_id,
           CASE WHEN k BETWEEN 90 AND 94
                THEN (SELECT destination_household_id FROM visitors WHERE rowid = v)
                ELSE (SELECT household_id FROM residents WHERE rowid = r) END AS household_id
    FROM picked
)
SELECT printf('visit-%010d', i),
       strftime('%Y-%m-%dT%H:%M:%S', CAST(t AS INTEGER), 'unixepoch')
           || printf('.%06d', CAST((t - CAST(t AS INTEGER)) * 1000000 AS INTEGER))
           || '+00:00',
       'bench',
       CASE WHEN i % 2 THEN 'in' ELSE 'out' END,
       CASE WHEN visitor_id IS NOT NULL THEN 'visitor' ELSE 'resident' END,
       resident_id,
       visitor_id,
       household_id,
       NULL,
       CASE WHEN k < 95 THEN 'pass' WHEN k < 98 THEN 'check' ELSE 'deny' END,
       CASE WHEN k < 90 THEN 'valid_pass' WHEN k < 95 THEN 'visitor_admitted'
            WHEN k < 98 THEN 'curfew'
            WHEN i / 100 % 10 = 0 THEN 'fever' WHEN i % 3 THEN 'revoked' ELSE 'held' END,
       CASE WHEN k >= 98 AND i / 100 % 10 = 0 THEN '["fever"]' ELSE '[]' END,
       CASE WHEN k >= 98 AND i / 100 % 10 = 0 THEN 38.4 WHEN k BETWEEN 90 AND 94 THEN 36.5 END,
       'guard' || (i / 5000 % 6),
       'camera'
FROM shaped
"""


def build_database(path: Path, args: argparse.Namespace, day: date) -> None:
    """The bench database: ``args.visits`` visits ending with ``day`` (local), each day
    holding ``args.per_day`` passages."""
    began = time.perf_counter()
    build(path, args.residents, 0)
    days = -(-args.visits // args.per_day)
    first_day, _ = day_bounds(day - timedelta(days=days - 1))
    conn = open_connection(path, db_key.key_in_use(path), timeout=5)
    conn.isolation_level = None
    conn.execute("PRAGMA journal_mode=OFF")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-400000")
    conn.execute("BEGIN")
    _load_visitors(conn, args.visitors, first_day)
    print(f"built {args.visitors} visitors in {time.perf_counter() - began:.0f} s (so far)")
    indexes = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'visits' "
        "AND sql IS NOT NULL"
    ).fetchall()
    for name, _sql in indexes:
        conn.execute(f"DROP INDEX {name}")
    step = 86400 / args.per_day
    conn.execute(
        VISITS_SQL,
        {
            "count": args.visits,
            # the last passage falls at the end of ``day``; earlier days are full
            "t0": first_day.timestamp() + (days * args.per_day - args.visits) * step,
            "step": step,
            "residents": args.residents,
            "visitors": args.visitors,
        },
    )
    print(f"inserted {args.visits} visits in {time.perf_counter() - began:.0f} s (so far)")
    for _name, sql in indexes:
        conn.execute(sql)
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()
    print(f"database ready in {time.perf_counter() - began:.0f} s: {path}")


def timed(runs: int, call: Callable[[], Any]) -> tuple[float, float, Any]:
    """(cold, median of ``runs`` after it) in seconds, and the last result."""
    began = time.perf_counter()
    result = call()
    cold = time.perf_counter() - began
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - began)
    return cold, statistics.median(times), result


def report(label: str, cold: float, median: float, target: float | None = None) -> None:
    line = f"{label:60} median {median * 1000:8.1f} ms   (first run {cold * 1000:8.1f} ms)"
    if target is not None:
        line += f"  [target < {target:.0f} s: {'PASS' if median < target else 'FAIL'}]"
    print(line)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--visits", type=int, default=5_000_000)
    parser.add_argument("--per-day", type=int, default=20_000)
    parser.add_argument("--residents", type=int, default=20_000)
    parser.add_argument("--visitors", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/gatepass-bench-dashboard"))
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()

    day = date.today()
    key = f"v{args.visits}-d{args.per_day}-r{args.residents}-g{args.visitors}-{day}"
    path = args.cache / f"bench-{key}.db"
    if args.rebuild or not path.exists():
        args.cache.mkdir(parents=True, exist_ok=True)
        for old in args.cache.glob("bench-*.db*"):
            old.unlink()
        partial = path.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        build_database(partial, args, day)
        partial.rename(path)
    else:
        print(f"reusing {path}")

    db = connect(path)
    start, end = day_bounds(day)
    now = end - timedelta(minutes=1)
    total = db.execute("SELECT count(*) FROM visits").fetchone()[0]
    today = db.execute(
        "SELECT count(*) FROM visits WHERE at >= ? AND at < ?",
        [
            start.astimezone(UTC).isoformat(timespec="microseconds"),
            end.astimezone(UTC).isoformat(timespec="microseconds"),
        ],
    ).fetchone()[0]
    print(f"{total} visits; {today} on {day} (local)")

    cold, median, figures = timed(
        args.runs, lambda: dashboard_figures(db, day, now=now, overstay=OVERSTAY)
    )
    report("dashboard data load (dashboard_figures)", cold, median, TARGET_S)
    s = figures.summary
    print(
        f"  {s.passed_in} in, {s.passed_out} out, {s.checks} checks, "
        f"{sum(s.denials.values())} stops, {figures.fevers} fevers, "
        f"{figures.inside_residents} + {figures.inside_visitors} inside"
    )
    here = checkpoint_id(db)
    for label, call in (
        ("  of which daily_summary (reports.py)", lambda: daily_summary(db, day)),
        ("  of which fevers_on (dashboard.py)", lambda: fevers_on(db, day)),
        (
            "  (not used) visits.occupancy: the same, with names",
            lambda: occupancy(db, here, now=now, overstay=OVERSTAY),
        ),
        (
            "  of which LiveOccupancy (who is inside; the gate reads it once at start)",
            lambda: LiveOccupancy(db, here, now=now, overstay=OVERSTAY),
        ),
    ):
        cold, median, _ = timed(args.runs, call)
        report(label, cold, median)
    live = LiveOccupancy(db, here, now=now, overstay=OVERSTAY)
    cold, median, _ = timed(args.runs, lambda: live.counts(now))
    report("gate window: counts after each decision (was visits.occupancy)", cold, median)

    noon = start + timedelta(hours=12)
    cold, median, rows = timed(
        args.runs, lambda: passed_between(db, noon, noon + timedelta(hours=1))
    )
    report(f"trace: passed_between, one hour ({len(rows)} rows)", cold, median, TARGET_S)
    resident = db.execute(
        "SELECT resident_id FROM visits WHERE at >= ? AND resident_id IS NOT NULL LIMIT 1",
        [start.astimezone(UTC).isoformat(timespec="microseconds")],
    ).fetchone()[0]
    visitor = db.execute(
        "SELECT visitor_id FROM visits WHERE at >= ? AND visitor_id IS NOT NULL LIMIT 1",
        [start.astimezone(UTC).isoformat(timespec="microseconds")],
    ).fetchone()[0]
    for kind, subject in (("resident", resident), ("visitor", visitor)):
        passages = db.execute(
            "SELECT count(*) FROM visits WHERE resident_id = ? OR visitor_id = ?",
            [subject, subject],
        ).fetchone()[0]
        cold, median, rows = timed(
            args.runs, lambda s=subject: contacts_of(db, s, timedelta(minutes=15))
        )
        report(
            f"trace: contacts_of a {kind}, 15 min ({passages} passages, {len(rows)} rows)",
            cold,
            median,
            TARGET_S,
        )

    for label, only in (("visitors tab: first page", False), ("  ... overstays only", True)):
        cold, median, rows = timed(
            args.runs,
            lambda o=only: list_visitors(
                db, now=now, overstay=OVERSTAY, order_by=DEFAULT_ORDER, overstays_only=o
            ),
        )
        report(f"{label} ({len(rows)} rows)", cold, median)
    db.close()


if __name__ == "__main__":
    main()
