"""What the gates of a compound decided that, once every gate's passages are in one
place, did not hold (docs/exchange.md, "What can still disagree"). Read at the office
(or any node): nothing is rewritten; these are facts to report.

* **In twice**: a subject let in at one gate while their last passage, at another
  gate, was also "in" (anti-passback missed because the gates had not exchanged yet).
* **On a revoked pass**: a passage let through on a pass the office had revoked before
  that passage happened (the gate had not received the revocation yet).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlite_utils import Database

from kiosk.core.clock import from_db, to_db
from kiosk.store.visits import effective


@dataclass(frozen=True)
class InTwice:
    subject: str  # the resident's or visitor's name
    first_gate: str
    first_at: datetime
    second_gate: str
    second_at: datetime
    arrived_at: datetime | None  # when the first gate's passage reached the second's data


@dataclass(frozen=True)
class OnRevoked:
    subject: str
    serial: str
    gate: str
    at: datetime
    revoked_at: datetime
    reason: str


def _gate_names(db: Database) -> dict[str, str]:
    names = {row[0]: row[1] for row in db.execute("SELECT id, name FROM nodes")}
    me = db.execute("SELECT value FROM meta WHERE key = 'checkpoint_id'").fetchone()
    name = db.execute("SELECT value FROM meta WHERE key = 'name'").fetchone()
    if me is not None:
        names.setdefault(me[0], name[0] if name else me[0])
    return names


def in_twice(db: Database, since: datetime, until: datetime) -> list[InTwice]:
    """Subjects let in at two different gates in a row, between ``since`` and ``until``."""
    names = _gate_names(db)
    rows = db.execute(
        f"""
        SELECT subject, name, prev_gate, prev_at, checkpoint_id, at FROM (
            SELECT COALESCE(v.resident_id, v.visitor_id) AS subject,
                   COALESCE(r.name, vi.name) AS name, v.checkpoint_id, v.at, v.direction,
                   LAG(v.direction) OVER w AS prev_direction,
                   LAG(v.checkpoint_id) OVER w AS prev_gate,
                   LAG(v.at) OVER w AS prev_at
            FROM visits v
            LEFT JOIN residents r ON r.id = v.resident_id
            LEFT JOIN visitors vi ON vi.id = v.visitor_id
            WHERE v.level = 'pass' AND COALESCE(v.resident_id, v.visitor_id) IS NOT NULL
              AND v.at < ? AND {effective("v")}
            WINDOW w AS (PARTITION BY COALESCE(v.resident_id, v.visitor_id) ORDER BY v.at)
        )
        WHERE direction = 'in' AND prev_direction = 'in' AND prev_gate != checkpoint_id
          AND at >= ?
        ORDER BY at
        """,
        [to_db(until), to_db(since)],
    ).fetchall()
    found = []
    for subject, name, first_gate, first_at, second_gate, second_at in rows:
        arrived = db.execute(
            "SELECT arrived_at FROM visits WHERE checkpoint_id = ? AND at = ? AND "
            "COALESCE(resident_id, visitor_id) = ?",
            [first_gate, first_at, subject],
        ).fetchone()
        found.append(
            InTwice(
                name or subject,
                names.get(first_gate, first_gate),
                from_db(first_at),
                names.get(second_gate, second_gate),
                from_db(second_at),
                from_db(arrived[0]) if arrived and arrived[0] else None,
            )
        )
    return found


def on_revoked(db: Database, since: datetime, until: datetime) -> list[OnRevoked]:
    """Passages let through on a pass revoked before they happened."""
    names = _gate_names(db)
    rows = db.execute(
        f"""
        SELECT COALESCE(r.name, vi.name, v.pass_serial), v.pass_serial, v.checkpoint_id,
               v.at, p.revoked_at, p.revoked_reason
        FROM visits v JOIN passes p ON p.serial = v.pass_serial
        LEFT JOIN residents r ON r.id = v.resident_id
        LEFT JOIN visitors vi ON vi.id = v.visitor_id
        WHERE v.level = 'pass' AND p.status = 'revoked' AND p.revoked_at < v.at
          AND v.at >= ? AND v.at < ? AND {effective("v")}
        ORDER BY v.at
        """,
        [to_db(since), to_db(until)],
    ).fetchall()
    return [
        OnRevoked(name, serial, names.get(gate, gate), from_db(at), from_db(revoked), reason or "")
        for name, serial, gate, at, revoked, reason in rows
    ]


__all__ = ["InTwice", "OnRevoked", "in_twice", "on_revoked"]
