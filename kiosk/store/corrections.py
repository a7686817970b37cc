"""Correcting a wrongly recorded passage. ``visits`` is append-only: a correction is a
new row whose ``corrects`` names the old one, and which says what really happened.

- ``void``: it was no passage (a card read by mistake, a test); the pair counts for
  nothing;
- ``wrong_direction``: the person went the other way; the new row has the other
  direction;
- ``wrong_person``: it was another resident; the new row names them.

The new row keeps the old one's time (so counts stay on the right day and retention
removes the two together; the correction's own time is in its id, a UUIDv7, and in
the audit log), its verdict level, its pass and guard; ``reason`` is the kind of
correction, ``note`` the reason given. Only the newest row of a chain counts
(:func:`kiosk.store.visits.effective`); a correction can itself be corrected. Each
correction is written to the audit log with who made it.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from kiosk.core.errors import UserError
from kiosk.core.i18n import tr
from kiosk.core.ids import uuid7
from kiosk.core.rules import CORRECTIONS, Reason
from kiosk.store.chain import append
from kiosk.store.checkpoint import record_audit
from kiosk.store.db import write
from kiosk.store.visits import resident_holder

NOTE_MAX = 200


def get_visit(db: Database, visit_id: str) -> dict[str, Any] | None:
    return next(db.query("SELECT * FROM visits WHERE id = ?", [visit_id]), None)


def corrected_by(db: Database, visit_id: str) -> str | None:
    row = db.execute("SELECT id FROM visits WHERE corrects = ?", [visit_id]).fetchone()
    return str(row[0]) if row else None


def correctable(db: Database, visit_id: str) -> dict[str, Any]:
    """The passage ``visit_id`` if it may be corrected; a :class:`UserError` saying why
    not otherwise (unknown, already corrected, or voided)."""
    old = get_visit(db, visit_id)
    if old is None:
        raise UserError(tr("No passage with the id {id}.", id=visit_id))
    newer = corrected_by(db, visit_id)
    if newer is not None:
        raise UserError(tr("This passage was already corrected: correct {id} instead.", id=newer))
    if old["reason"] == Reason.VOID:
        raise UserError(tr("This passage was already voided."))
    return old


def correct_visit(
    db: Database,
    visit_id: str,
    kind: Reason,
    *,
    reason: str,
    actor: str,
    now: datetime,
    resident_id: str | None = None,
) -> str:
    """Add the row correcting ``visit_id`` (``kind``: one of :data:`CORRECTIONS`) and
    return its id. ``resident_id`` names the right person for ``wrong_person``."""
    if kind not in CORRECTIONS:
        raise UserError(tr("Not a kind of correction: {kind}", kind=kind))
    note = " ".join(reason.split())
    if not note:
        raise UserError(tr("Say why the passage is corrected."))
    if len(note) > NOTE_MAX:
        raise UserError(tr("The reason is too long (at most {n} characters).", n=NOTE_MAX))
    with write(db):
        old = correctable(db, visit_id)
        row = dict(old)
        row.update(
            id=uuid7(),
            reason=kind.value,
            reasons=json.dumps([*json.loads(old["reasons"] or "[]"), kind.value]),
            note=note,
            corrects=visit_id,
        )
        if kind is Reason.WRONG_DIRECTION:
            row["direction"] = "out" if old["direction"] == "in" else "in"
        elif kind is Reason.WRONG_PERSON:
            holder = resident_holder(db, resident_id or "")
            if holder is None:
                raise UserError(tr("No resident with the id {id}.", id=resident_id or "-"))
            if holder.id == old["resident_id"]:
                raise UserError(tr("That is the person already recorded."))
            row.update(
                subject_kind=holder.kind.value,  # resident or staff
                resident_id=holder.id,
                visitor_id=None,
                household_id=holder.household_id,
            )
        append(db, row)
        record_audit(
            db,
            actor,
            "visits.correct",
            {
                "visit": visit_id,
                "correction": row["id"],
                "kind": kind.value,
                "reason": note,
                "at": now.isoformat(),
            },
        )
    return str(row["id"])


def household_others(db: Database, visit_id: str) -> list[tuple[str, str]]:
    """(id, name) of the active residents of the household a passage names, other than
    the one it names: who else it may have been ("another person")."""
    rows = db.execute(
        "SELECT r.id, r.name FROM visits v JOIN residents r ON r.household_id = v.household_id "
        "WHERE v.id = ? AND r.active AND r.id IS NOT COALESCE(v.resident_id, '') "
        "ORDER BY r.name",
        [visit_id],
    ).fetchall()
    return [(str(rid), str(name)) for rid, name in rows]
