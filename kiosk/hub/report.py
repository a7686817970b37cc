"""The street office's daily report, read off the hub (docs/hub.md, "Reports").

Per compound under an area (a sub-district, a community, a district) for one day (the
hub's local day, ``REPORT_TZ``): passages, visitors, fevers, denials, people on hold at
the day's end, visitors still inside past the overstay limit, and gates that have not
synced for a day. One query per figure over the day's passage partition(s), grouped by
compound, so 500 compounds cost what one does.

Passages are counted as they stand, as the gates count them
(``kiosk.store.visits.effective()``): a passage corrected by a later row counts as its
correction, and a ``void`` (no passage) not at all. A correction keeps the old row's
time (``kiosk.store.corrections``), so the day's own rows hold every correction of the
day's passages; the partial index ``passages_corrects`` finds them.

For a day not over yet (today), "at the day's end" is now.
"""

from __future__ import annotations

import struct
import uuid
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

from kiosk.core.hubwire import HubRefused, Refusal
from kiosk.hub import store

REPORT_TZ = ZoneInfo("Asia/Shanghai")
FEVER_DEFAULT = 37.3
OVERSTAY = timedelta(hours=4)
NOT_SYNCED = timedelta(hours=24)


@dataclass
class CompoundDay:
    compound: str
    name: str
    community: str
    passages: int = 0
    visitors: int = 0
    fevers: int = 0
    denials: int = 0
    on_hold: int = 0
    overstaying: int = 0
    gates: int = 0
    gates_not_synced: list[str] = field(default_factory=list)


@dataclass
class DailyReport:
    area: str
    day: date
    made_at: datetime
    compounds: list[CompoundDay]

    def totals(self) -> dict[str, int]:
        keys = ("passages", "visitors", "fevers", "denials", "on_hold", "overstaying")
        found = {k: sum(getattr(c, k) for c in self.compounds) for k in keys}
        found["gates_not_synced"] = sum(len(c.gates_not_synced) for c in self.compounds)
        return found

    def as_json(self) -> dict[str, Any]:
        return {
            "area": self.area,
            "day": self.day.isoformat(),
            "made_at": self.made_at.isoformat(),
            "totals": self.totals(),
            "compounds": [asdict(c) for c in self.compounds],
        }


def scope_area(conn: psycopg.Connection, scope: str, account: store.Account) -> uuid.UUID:
    """The area ``scope`` names (a path, or empty: the account's own), refused unless it
    lies under the account's area."""
    area = account.area if not scope else _area_or_refuse(conn, scope)
    inside = conn.execute(
        """
        WITH RECURSIVE up(id, parent) AS (
            SELECT id, parent FROM areas WHERE id = %s
            UNION ALL SELECT a.id, a.parent FROM areas a JOIN up ON a.id = up.parent
        )
        SELECT 1 FROM up WHERE id = %s
        """,
        [area, account.area],
    ).fetchone()
    if inside is None:
        raise HubRefused(Refusal.SCOPE, scope)
    return area


def _area_or_refuse(conn: psycopg.Connection, scope: str) -> uuid.UUID:
    try:
        return store.area_path(conn, scope, create=False)
    except Exception:
        raise HubRefused(Refusal.SCOPE, scope) from None


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), REPORT_TZ)
    return start, start + timedelta(days=1)


# SQL: the passage ``p`` as it stands in [%(start)s, %(end)s) of the compounds
# %(ids)s: not a void, not corrected by a row of that span (a correction keeps the old
# row's time). The corrections are few: read down the partial index passages_corrects.
_STANDING = """
    p.reason != 'void' AND p.id NOT IN (
        SELECT x.corrects FROM passages x WHERE x.compound = ANY(%(ids)s)
        AND x.at >= %(start)s AND x.at < %(end)s AND x.corrects IS NOT NULL)
"""


def daily(
    conn: psycopg.Connection, area: uuid.UUID, day: date, now: datetime | None = None
) -> DailyReport:
    """The daily report of every compound under ``area`` for ``day``."""
    now = now or store.now_utc()
    start, end = day_bounds(day)
    at = min(end, now)  # the day's end, or now for a day not over yet
    ids = store.compounds_under(conn, area)
    rows: dict[uuid.UUID, CompoundDay] = {}
    fever_at: dict[uuid.UUID, float] = {}
    for cid, name, community, rules in conn.execute(
        "SELECT c.id, c.name, a.name, c.rules FROM compounds c JOIN areas a "
        "ON a.id = c.community WHERE c.id = ANY(%s) ORDER BY a.name, c.name, c.id",
        [ids],
    ):
        rows[cid] = CompoundDay(str(cid), name, community)
        fever_at[cid] = _as_real(_fever_threshold(rules))
    lowest = min(fever_at.values(), default=_as_real(FEVER_DEFAULT))
    span = {"fever": lowest, "ids": ids, "start": start, "end": end}
    # One (parallel, hashed) scan of the day grouped by compound and, for the passages
    # at or above the lowest threshold, by temperature: each compound's own threshold is
    # applied to those few groups here, not per passage (a join to the compounds' rules
    # per passage cost a third of this scan: bench/bench_hub.py). The threshold is
    # compared as real, the type of the column: a reading of 37.3 is 37.29999923... as
    # double precision, under a double 37.3 (no fever). No count(DISTINCT) here: it
    # makes the planner walk the index in compound order, where a hashed aggregate over
    # the day's partitions is about twice as fast.
    for cid, fever, passages, denials in conn.execute(
        f"""
        SELECT p.compound, CASE WHEN p.temperature >= %(fever)s::real THEN p.temperature END
                   AS fever,
               count(*), count(*) FILTER (WHERE p.level = 'deny')
        FROM passages p
        WHERE p.compound = ANY(%(ids)s) AND p.at >= %(start)s AND p.at < %(end)s
          AND {_STANDING}
        GROUP BY p.compound, fever
        """,
        span,
    ):
        day_row = rows[cid]
        day_row.passages += int(passages)
        day_row.denials += int(denials)
        if fever is not None and fever >= fever_at[cid]:
            day_row.fevers += int(passages)
    # the distinct visitors in the order of the visitors' index (passages_visitors):
    # a Unique over a merge of its day partitions, no sort
    for cid, visitors in conn.execute(
        f"""
        SELECT compound, count(*) FROM (
            SELECT DISTINCT p.compound, p.visitor_id FROM passages p
            WHERE p.compound = ANY(%(ids)s) AND p.at >= %(start)s AND p.at < %(end)s
              AND p.visitor_id IS NOT NULL AND {_STANDING}
            ORDER BY p.compound, p.visitor_id
        ) seen GROUP BY compound
        """,
        span,
    ):
        rows[cid].visitors = int(visitors)
    for cid, held in conn.execute(
        "SELECT compound, count(*) FROM holds WHERE compound = ANY(%(ids)s) "
        "AND until > %(at)s AND (created_at IS NULL OR created_at <= %(at)s) "
        "AND (lifted_at IS NULL OR lifted_at > %(at)s) GROUP BY compound",
        {"ids": ids, "at": at},
    ):
        rows[cid].on_hold = int(held)
    for cid, count in _overstaying(conn, ids, at):
        rows[cid].overstaying = int(count)
    for cid, name, seen, gone in conn.execute(
        "SELECT compound, name, last_seen, removed_at FROM nodes "
        "WHERE compound = ANY(%s) AND role = 'gate' ORDER BY name, id",
        [ids],
    ):
        if gone is not None:
            continue
        rows[cid].gates += 1
        if seen is None or seen < at - NOT_SYNCED:
            rows[cid].gates_not_synced.append(name)
    return DailyReport(store.area_name(conn, area), day, now, list(rows.values()))


OVERSTAY_LOOKBACK = timedelta(days=2)


def _fever_threshold(rules: Any) -> float:
    try:
        return float(rules["fever_threshold"])
    except (TypeError, KeyError, ValueError):
        return FEVER_DEFAULT


def _as_real(value: float) -> float:
    """``value`` as PostgreSQL's ``real`` (the passages' temperature) holds it."""
    return float(struct.unpack("f", struct.pack("f", value))[0])


def _overstaying(
    conn: psycopg.Connection, ids: list[uuid.UUID], at: datetime
) -> list[tuple[uuid.UUID, int]]:
    """Per compound, visitors whose last passage before ``at`` (within
    :data:`OVERSTAY_LOOKBACK`) is "in" and older than the overstay limit. Passages as
    the gates count who is inside (``kiosk.store.visits.LiveOccupancy``): those let
    through (``pass``), as they stand."""
    return [
        (r[0], r[1])
        for r in conn.execute(
            f"""
            SELECT compound, count(*) FROM (
                SELECT DISTINCT ON (p.compound, p.visitor_id) p.compound, p.direction, p.at
                FROM passages p
                WHERE p.compound = ANY(%(ids)s) AND p.visitor_id IS NOT NULL
                  AND p.at >= %(start)s AND p.at < %(end)s AND p.level = 'pass'
                  AND {_STANDING}
                ORDER BY p.compound, p.visitor_id, p.at DESC
            ) last
            WHERE direction = 'in' AND at < %(since)s GROUP BY compound
            """,
            {"ids": ids, "start": at - OVERSTAY_LOOKBACK, "end": at, "since": at - OVERSTAY},
        )
    ]
