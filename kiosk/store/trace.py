"""Contact tracing from the visit log.

* who passed this gate between two times;
* who passed within N minutes of one person's passages (each of that person's
  passages opens a window of +/- N minutes; everyone else seen in any window is a
  contact, with the times they were seen).

Both read only passages that happened (any verdict: a denied person still stood at
the gate) through the ``visits.at`` index.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlite_utils import Database

from kiosk.core.clock import from_db, to_db
from kiosk.core.errors import UserError
from kiosk.core.i18n import tr

_SELECT = """
    SELECT v.id, v.at, v.direction, v.level, v.subject_kind,
           COALESCE(v.resident_id, v.visitor_id) AS subject,
           COALESCE(r.name, vi.name) AS name, h.building, h.unit, h.room,
           COALESCE(r.phone, vi.phone) AS phone,
           COALESCE(r.id_number, vi.id_number) AS id_number
    FROM visits v
    LEFT JOIN residents r ON r.id = v.resident_id
    LEFT JOIN visitors vi ON vi.id = v.visitor_id
    LEFT JOIN households h ON h.id = v.household_id
"""


def _rows(db: Database, where: str, args: list[Any]) -> list[dict[str, Any]]:
    cursor = db.execute(f"{_SELECT} WHERE {where} ORDER BY v.at", args)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor]


def passed_between(db: Database, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Every passage (any verdict) in [start, end), oldest first."""
    if end <= start:
        raise UserError(tr("The end of the period must come after its start."))
    return _rows(db, "v.at >= ? AND v.at < ?", [to_db(start), to_db(end)])


def contacts_of(db: Database, subject_id: str, window: timedelta) -> list[dict[str, Any]]:
    """Passages of other people within ``window`` of any passage of ``subject_id``."""
    mine = _rows(db, "(v.resident_id = ? OR v.visitor_id = ?)", [subject_id, subject_id])
    if not mine:
        raise UserError(tr("No passages recorded for {id}.", id=subject_id))
    seen: dict[str, dict[str, Any]] = {}
    for passage in mine:
        at = from_db(passage["at"])
        for row in _rows(db, "v.at >= ? AND v.at <= ?", [to_db(at - window), to_db(at + window)]):
            if row["subject"] == subject_id or row["id"] in seen:
                continue
            row["near"] = passage["at"]
            seen[row["id"]] = row
    return sorted(seen.values(), key=lambda r: r["at"])
