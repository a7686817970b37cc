"""Read-only look-ups for the kiosk's dialogs: households and residents by label or
name, and the counts of a guard's shift.

The register is small (a compound: hundreds of households, a few thousand residents):
labels are matched on the indexed building/unit/room columns, names with ``LIKE``.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from kiosk.core.clock import to_db
from kiosk.core.identity import mask_id_number
from kiosk.store.register import (
    LABEL_SQL,
    household_label,
    natural_key,
    normalise_part,
    parse_address,
)
from kiosk.store.visits import effective


def _like(text: str) -> str:
    """``text`` with LIKE's wildcards escaped (use with ``ESCAPE '\\'``)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _dicts(cursor: sqlite3.Cursor) -> list[dict[str, Any]]:
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _household_ids(db: Database, text: str, limit: int) -> list[str]:
    """Ids of households whose label is or starts with ``text``, or where an active
    resident's name contains it; exact label matches first."""
    found: list[str] = []
    parsed = parse_address(text)
    if parsed is not None:
        building, unit, room = parsed
        found += [
            str(r[0])
            for r in db.execute(
                "SELECT id FROM households WHERE building = ? AND unit = ? AND room = ?",
                [
                    normalise_part(building, "building"),
                    normalise_part(unit, "unit"),
                    normalise_part(room, "room"),
                ],
            )
        ]
    prefix = _like(text.replace(" ", "")) + "%"
    found += [
        str(r[0])
        for r in db.execute(
            f"SELECT h.id FROM households h WHERE {LABEL_SQL} LIKE ? ESCAPE '\\' LIMIT ?",
            [prefix, limit],
        )
    ]
    found += [
        str(r[0])
        for r in db.execute(
            "SELECT DISTINCT household_id FROM residents "
            "WHERE active = 1 AND name LIKE ? ESCAPE '\\' LIMIT ?",
            ["%" + _like(text) + "%", limit],
        )
    ]
    return list(dict.fromkeys(found))[:limit]


def search_households(db: Database, text: str, limit: int = 20) -> list[dict[str, Any]]:
    """Households matching a label (``3-2-501``, ``3-2``, ``3号楼2单元501室``) or a
    resident's name. Each: ``id``, ``label``, ``names`` (active residents, unmasked:
    mask them for display)."""
    text = text.strip()
    if not text:
        return []
    ids = _household_ids(db, text, limit)
    if not ids:
        return []
    marks = ",".join("?" * len(ids))
    rows = _dicts(
        db.execute(
            f"SELECT h.id, h.building, h.unit, h.room, r.name FROM households h "
            f"LEFT JOIN residents r ON r.household_id = h.id AND r.active = 1 "
            f"WHERE h.id IN ({marks}) ORDER BY r.name",
            ids,
        )
    )
    by_id: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = by_id.setdefault(
            row["id"],
            {
                "id": row["id"],
                "label": household_label(row["building"], row["unit"], row["room"]),
                "names": [],
            },
        )
        if row["name"]:
            entry["names"].append(row["name"])
    exact = ids[0] if parse_address(text) is not None else None
    return sorted(by_id.values(), key=lambda h: (h["id"] != exact, natural_key(str(h["label"]))))


def search_residents(db: Database, text: str, limit: int = 20) -> list[dict[str, Any]]:
    """Residents (active or not) of the matching households or with the name.

    Each: ``id``, ``name``, ``household`` (label), ``household_id``, ``id_masked``,
    ``role``, ``active`` (bool). Active ones first."""
    text = text.strip()
    if not text:
        return []
    ids = _household_ids(db, text, limit)
    marks = ",".join("?" * len(ids)) or "NULL"
    rows = _dicts(
        db.execute(
            "SELECT r.id, r.name, r.household_id, r.id_number, r.role, r.active, "
            "h.building, h.unit, h.room FROM residents r "
            "JOIN households h ON h.id = r.household_id "
            f"WHERE r.household_id IN ({marks}) OR r.name LIKE ? ESCAPE '\\' LIMIT ?",
            [*ids, "%" + _like(text) + "%", limit * 4],
        )
    )
    result = [
        {
            "id": r["id"],
            "name": r["name"],
            "household": household_label(r["building"], r["unit"], r["room"]),
            "household_id": r["household_id"],
            "id_masked": mask_id_number(r["id_number"]),
            "role": r["role"],
            "active": bool(r["active"]),
        }
        for r in rows
    ]
    result.sort(key=lambda r: (not r["active"], natural_key(r["household"]), r["name"]))
    return result[:limit]


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


def recent_guards(db: Database, limit: int = 10) -> list[str]:
    """Names of the guards who logged passages, the most recent first."""
    rows = db.execute(
        "SELECT guard, MAX(at) AS last FROM visits WHERE guard != '' "
        "GROUP BY guard ORDER BY last DESC LIMIT ?",
        [limit],
    )
    return [str(r[0]) for r in rows]
