"""Read-only queries for the office's Visitors and Trace tabs: registered visitors with
their last passages in and out, whether they are inside now and overstaying, one
visitor's visits, and a look-up of visitors by name or host household.

A visitor's last passages come from the ``visits_visitor_at`` index (one short
backwards walk per visitor); the list is paged, sorted by a whitelisted key.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from typing import Any

from sqlite_utils import Database

from kiosk.core.clock import to_db
from kiosk.core.identity import mask_id_number
from kiosk.store.visits import effective

_LABEL_SQL = (
    "CASE WHEN h.id IS NULL THEN '' WHEN h.unit = '' THEN h.building || '-' || h.room "
    "ELSE h.building || '-' || h.unit || '-' || h.room END"
)

# A visitor's last passage through the gate ("in 2026-..." / "out 2026-..."): one seek
# down visits_visitor_at (the newest visit is nearly always a passage).
_LAST_PASS = (
    "(SELECT direction || ' ' || at FROM visits WHERE visitor_id = v.id AND level = 'pass' "
    f"AND {effective()} ORDER BY at DESC LIMIT 1)"
)
# The last passage one way, for the rows of one page only.
_LAST_WAY = (
    "(SELECT at FROM visits WHERE visitor_id = page.id AND level = 'pass' "
    f"AND direction = '{{direction}}' AND {effective()} ORDER BY at DESC LIMIT 1)"
)

# The keys a caller may sort by, and the SQL (over the listed columns) for each.
ORDER_KEYS: dict[str, str] = {
    "name": "name",
    "household": "household",
    "purpose": "purpose",
    "created_at": "created_at",
    "inside": "inside",
    "overstay": "overstay",
    "id": "id",
}
DEFAULT_ORDER = "created_at DESC, id DESC"


def order_sql(order_by: str) -> str:
    """``order_by`` ("key [ASC|DESC], ...", keys from :data:`ORDER_KEYS`) as SQL; anything
    else is refused, so no caller's text reaches the query."""
    parts = []
    for item in order_by.split(","):
        words = item.split()
        if not words or len(words) > 2 or words[0] not in ORDER_KEYS:
            raise ValueError(f"cannot sort visitors by {item.strip()!r}")
        way = words[1].upper() if len(words) == 2 else "ASC"
        if way not in ("ASC", "DESC"):
            raise ValueError(f"cannot sort visitors by {item.strip()!r}")
        parts.append(f"{ORDER_KEYS[words[0]]} {way}")
    return ", ".join(parts)


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _dicts(cursor: sqlite3.Cursor) -> list[dict[str, Any]]:
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def list_visitors(
    db: Database,
    *,
    now: datetime,
    overstay: timedelta,
    search: str = "",
    order_by: str = DEFAULT_ORDER,
    overstays_only: bool = False,
    limit: int = 200,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Registered visitors, a page at a time.

    Each row: ``id``, ``name``, ``phone``, ``id_number`` (unmasked: mask for display),
    ``household`` (host household label), ``purpose``, ``from_place``, ``created_at``,
    ``last_in``, ``last_out`` (stored UTC text or None), ``inside`` and ``overstay``
    (bool: inside now, and inside since before ``now - overstay``). ``search`` matches
    the name, the host household's label or the purpose."""
    where, args = "", []
    text = search.strip()
    if text:
        where = (
            "WHERE v.name LIKE ? ESCAPE '\\' OR v.reason LIKE ? ESCAPE '\\' "
            f"OR {_LABEL_SQL} LIKE ? ESCAPE '\\'"
        )
        args = [_like(text), _like(text), _like(text.replace(" ", ""))]
    order = order_sql(order_by)
    outer = "WHERE overstay" if overstays_only else ""
    # The page is chosen on the last passage alone (one index seek a visitor); the last
    # passage in and the last out are looked up for the page's rows only.
    sql = f"""
        WITH page AS MATERIALIZED (
            SELECT *, inside AND substr(last_pass, 4) < ? AS overstay FROM (
                SELECT *, substr(last_pass, 1, 3) = 'in ' AS inside FROM (
                    SELECT v.id, v.name, v.phone, v.id_number, v.reason AS purpose,
                           v.from_place, v.created_at, {_LABEL_SQL} AS household,
                           {_LAST_PASS} AS last_pass
                    FROM visitors v LEFT JOIN households h ON h.id = v.destination_household_id
                    {where}
                )
            ) {outer}
            ORDER BY {order} LIMIT ? OFFSET ?
        )
        SELECT page.*, {_LAST_WAY.format(direction="in")} AS last_in,
               {_LAST_WAY.format(direction="out")} AS last_out
        FROM page ORDER BY {order}
    """
    rows = _dicts(db.execute(sql, [to_db(now - overstay), *args, int(limit), int(offset)]))
    for row in rows:
        del row["last_pass"]
        row["inside"] = bool(row["inside"])
        row["overstay"] = bool(row["overstay"])
    return rows


def visitor_visits(db: Database, visitor_id: str, limit: int = 500) -> list[dict[str, Any]]:
    """One visitor's passages (any verdict), the newest first: ``id``, ``at``,
    ``direction``, ``level``, ``reason``, ``temperature``, ``guard``, ``source``."""
    return _dicts(
        db.execute(
            "SELECT id, at, direction, level, reason, temperature, guard, source FROM visits "
            "WHERE visitor_id = ? ORDER BY at DESC LIMIT ?",
            [visitor_id, int(limit)],
        )
    )


def search_visitors(db: Database, text: str, limit: int = 20) -> list[dict[str, Any]]:
    """Visitors whose name contains ``text`` or whose host household's label starts
    with it, the most recently registered first. Each: ``id``, ``name``, ``household``,
    ``id_masked``, ``created_at``."""
    text = text.strip()
    if not text:
        return []
    prefix = _like(text.replace(" ", ""))[1:]
    rows = _dicts(
        db.execute(
            f"SELECT v.id, v.name, v.id_number, v.created_at, {_LABEL_SQL} AS household "
            "FROM visitors v LEFT JOIN households h ON h.id = v.destination_household_id "
            f"WHERE v.name LIKE ? ESCAPE '\\' OR {_LABEL_SQL} LIKE ? ESCAPE '\\' "
            "ORDER BY v.created_at DESC LIMIT ?",
            [_like(text), prefix, int(limit)],
        )
    )
    for row in rows:
        row["id_masked"] = mask_id_number(row.pop("id_number"))
    return rows
