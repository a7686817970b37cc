"""Holds: home quarantine of a household or a person until a date."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlite_utils import Database

from kiosk.core.clock import to_db
from kiosk.core.errors import UserError
from kiosk.core.i18n import tr
from kiosk.core.ids import uuid7
from kiosk.store.checkpoint import record_audit
from kiosk.store.db import write
from kiosk.store.register import find_household
from kiosk.store.sql import like_pattern, order_by


def add_hold(
    db: Database,
    *,
    until: datetime,
    reason: str,
    now: datetime,
    household: str | None = None,
    resident: str | None = None,
    actor: str = "cli",
) -> dict[str, Any]:
    """Put a household (id or label) or a resident (id) under a hold until ``until``."""
    if (household is None) == (resident is None):
        raise UserError(tr("Name either a household or a resident."))
    if not reason.strip():
        raise UserError(tr("Give a reason for the hold."))
    if until <= now:
        raise UserError(tr("The hold must end in the future."))
    row: dict[str, Any] = {
        "id": uuid7(),
        "until": to_db(until),
        "reason": reason.strip(),
        "created_at": to_db(now),
        "created_by": actor,
        "household_id": None,
        "resident_id": None,
    }
    if household is not None:
        found = find_household(db, household)
        if found is None:
            raise UserError(tr("No household {household}.", household=household))
        row["household_id"] = found["id"]
    else:
        exists = db.execute("SELECT 1 FROM residents WHERE id = ?", [resident]).fetchone()
        if not exists:
            raise UserError(tr("No resident with id {id}.", id=resident))
        row["resident_id"] = resident
    with write(db):
        db.table("holds").insert(row)
        record_audit(
            db,
            actor,
            "holds.add",
            {k: row[k] for k in ("id", "household_id", "resident_id", "until")},
        )
    return row


def lift_hold(db: Database, hold_id: str, *, now: datetime, actor: str = "cli") -> None:
    with write(db):
        cursor = db.execute(
            "UPDATE holds SET lifted_at = ? WHERE id = ? AND lifted_at IS NULL",
            [to_db(now), hold_id],
        )
        if cursor.rowcount != 1:
            raise UserError(tr("No current hold with id {id}.", id=hold_id))
        record_audit(db, actor, "holds.lift", {"id": hold_id})


def list_holds(db: Database, *, now: datetime, include_past: bool = False) -> list[dict[str, Any]]:
    where = "" if include_past else "WHERE ho.until > ? AND ho.lifted_at IS NULL"
    rows = db.query(
        "SELECT ho.id, ho.until, ho.reason, ho.created_at, ho.lifted_at, ho.household_id, "
        "ho.resident_id, r.name, COALESCE(h.building, rh.building) AS building, "
        "COALESCE(h.unit, rh.unit) AS unit, COALESCE(h.room, rh.room) AS room "
        "FROM holds ho LEFT JOIN households h ON h.id = ho.household_id "
        "LEFT JOIN residents r ON r.id = ho.resident_id "
        f"LEFT JOIN households rh ON rh.id = r.household_id {where} ORDER BY ho.until",
        [] if include_past else [to_db(now)],
    )
    return list(rows)


# --- the office's holds table -------------------------------------------------------------

HOLD_SORT_UNTIL = "ho.until"
HOLD_SORT_FROM = "ho.created_at"
HOLD_SORT_WHO = "COALESCE(r.name, '')"
HOLD_SORT_HOUSEHOLD = (
    "printf('%10s|%10s|%10s', COALESCE(h.building, rh.building), "
    "COALESCE(h.unit, rh.unit), COALESCE(h.room, rh.room))"
)
HOLD_SORT_BY = "ho.created_by"
HOLD_SORT_REASON = "ho.reason"
HOLD_DEFAULT_ORDER = f"{HOLD_SORT_UNTIL} ASC, ho.rowid ASC"
HOLD_SORTS = frozenset(
    {
        HOLD_SORT_UNTIL,
        HOLD_SORT_FROM,
        HOLD_SORT_WHO,
        HOLD_SORT_HOUSEHOLD,
        HOLD_SORT_BY,
        HOLD_SORT_REASON,
        "ho.rowid",
    }
)
_LABEL = (
    "COALESCE(h.building, rh.building) || '-' || "
    "CASE WHEN COALESCE(h.unit, rh.unit) = '' THEN '' "
    "ELSE COALESCE(h.unit, rh.unit) || '-' END || COALESCE(h.room, rh.room)"
)


def search_holds(
    db: Database,
    *,
    now: datetime,
    include_past: bool = False,
    search: str = "",
    resident_id: str | None = None,
    order: str = HOLD_DEFAULT_ORDER,
    limit: int = 200,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """One page of holds for the office's table: current ones (or all), optionally
    those on one resident or on their household; ``search`` matches a household label,
    a resident's name or the reason. ``order`` is checked against :data:`HOLD_SORTS`.

    Each row: id, household_id, resident_id, name (a person's hold), building, unit,
    room (the household, or the person's), reason, created_at, created_by, until,
    lifted_at, and ``current`` (bool).
    """
    where: list[str] = []
    args: list[Any] = []
    if not include_past:
        where.append("ho.until > ? AND ho.lifted_at IS NULL")
        args.append(to_db(now))
    if resident_id is not None:
        where.append(
            "(ho.resident_id = ? OR ho.household_id = "
            "(SELECT household_id FROM residents WHERE id = ?))"
        )
        args += [resident_id, resident_id]
    text = search.strip()
    if text:
        pattern = like_pattern(text)
        where.append(
            f"(r.name LIKE ? ESCAPE '\\' OR ho.reason LIKE ? ESCAPE '\\' "
            f"OR {_LABEL} LIKE ? ESCAPE '\\')"
        )
        args += [pattern, pattern, pattern.removeprefix("%")]
    rows = list(
        db.query(
            "SELECT ho.id, ho.household_id, ho.resident_id, r.name, "
            "COALESCE(h.building, rh.building) AS building, COALESCE(h.unit, rh.unit) AS unit, "
            "COALESCE(h.room, rh.room) AS room, ho.reason, ho.created_at, ho.created_by, "
            "ho.until, ho.lifted_at FROM holds ho "
            "LEFT JOIN households h ON h.id = ho.household_id "
            "LEFT JOIN residents r ON r.id = ho.resident_id "
            "LEFT JOIN households rh ON rh.id = r.household_id"
            + (" WHERE " + " AND ".join(where) if where else "")
            + f" ORDER BY {order_by(order, HOLD_SORTS)} LIMIT ? OFFSET ?",
            [*args, int(limit), int(offset)],
        )
    )
    stamp = to_db(now)
    for row in rows:
        row["current"] = row["lifted_at"] is None and row["until"] > stamp
    return rows
