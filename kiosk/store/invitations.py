"""Invitations sent ahead (docs/invitations.md): a visitor registered before they come,
by a resident's request at the office or at a gate, with a visitor code valid on one
local day only.

An invitation is a ``visitors`` row with ``invited_for`` (the day, ``YYYY-MM-DD``) and
its visitor code, a ``passes`` row valid from that day's local midnight to the next.
Both travel to every gate with the compound's exchange as any visitor and visitor code
do (the office's code signed with its issuer key, which every gate trusts; a gate's
with its gate key). Withdrawing revokes the code, through the revocation that travels
the same way, and marks the row (``withdrawn_at``). Only the checkpoint that made an
invitation withdraws it: every row has one author.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlite_utils import Database

from kiosk.core.atomic import whole_file
from kiosk.core.clock import from_db, to_db
from kiosk.core.errors import UserError
from kiosk.core.i18n import tr
from kiosk.core.passes import QR_BORDER, qr_code
from kiosk.home import Home
from kiosk.store.checkpoint import checkpoint_id, record_audit
from kiosk.store.db import write
from kiosk.store.passes import _revoke, find_pass
from kiosk.store.register import LABEL_SQL
from kiosk.store.visitors import (
    ValidVisitor,
    VisitorForm,
    add_visitor,
    record_visitor_code,
    validate_visitor,
)

MAX_DAYS_AHEAD = 366
"""An invitation is for a day within a year from today."""

IMAGE_SCALE = 10
"""Pixels per QR module in the image sent to a phone (about 490 px wide)."""


def validity_day(day: date) -> tuple[datetime, datetime]:
    """The invitation's code is valid from ``day``'s local midnight to the next (UTC;
    a day of 23 or 25 hours where the clocks change)."""
    start = datetime.combine(day, time()).astimezone()
    end = datetime.combine(day + timedelta(days=1), time()).astimezone()
    return start.astimezone(UTC), end.astimezone(UTC)


def parse_day(text: str) -> date:
    """``YYYY-MM-DD`` as a date, or a :class:`UserError` saying how to write it."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise UserError(
            tr("{text} is not a date: write it as YYYY-MM-DD, e.g. 2026-05-01.", text=text)
        ) from None


def day_problem(day: date, today: date) -> str:
    """Why ``day`` cannot be an invitation's day ("" when it can)."""
    if day < today:
        return tr(
            "{day} has passed: an invitation is for today or a later day.", day=day.isoformat()
        )
    if day > today + timedelta(days=MAX_DAYS_AHEAD):
        return tr("{day} is more than a year ahead.", day=day.isoformat())
    return ""


def check_invitation(
    db: Database, form: VisitorForm, day: date, *, today: date, id_required: bool = False
) -> tuple[ValidVisitor | None, dict[str, str]]:
    """The checked visitor, or the problems by field (``date`` for the day)."""
    visitor, problems = validate_visitor(db, form, today=today, id_required=id_required)
    problem = day_problem(day, today)
    if problem:
        problems = {**problems, "date": problem}
        visitor = None
    return visitor, problems


def signs_with_issuer(home: Home) -> bool:
    """Which key signs this checkpoint's invitations: the issuer key where it holds one
    (the committee's computer: every gate of the compound trusts it), else the gate
    key (a gate's own visitor codes, which the other gates trust as its node key)."""
    return home.private_key.exists()


def invite(
    db: Database,
    key: Ed25519PrivateKey,
    visitor: ValidVisitor,
    day: date,
    *,
    now: datetime,
    actor: str = "cli",
) -> dict[str, Any]:
    """Register ``visitor`` ahead for ``day`` and sign their code for that day, in one
    transaction. The invitation (:func:`get_invitation`)."""
    valid_from, valid_until = validity_day(day)
    with write(db):
        visitor_id = add_visitor(
            db, visitor, now=now, checkpoint_id=checkpoint_id(db), invited_for=day
        )
        code = record_visitor_code(
            db, key, visitor_id, valid_from=valid_from, valid_until=valid_until, now=now
        )
        record_audit(
            db,
            actor,
            "visitors.invite",
            {"visitor_id": visitor_id, "serial": code["serial"], "day": day.isoformat()},
        )
    found = get_invitation(db, visitor_id)
    assert found is not None
    return found


_COLUMNS = f"""
    v.id, v.name, v.phone, v.id_number, v.phone_masked, v.id_masked, v.reason,
    v.invited_for, v.withdrawn_at, v.created_at, v.checkpoint_id,
    v.destination_household_id,
    CASE WHEN h.id IS NULL THEN '' ELSE {LABEL_SQL} END AS household,
    p.serial, p.token, p.valid_from, p.valid_until, p.status, p.issued_at,
    EXISTS (SELECT 1 FROM visits WHERE visitor_id = v.id AND level = 'pass') AS arrived
"""
_FROM = """
    FROM visitors v
    LEFT JOIN households h ON h.id = v.destination_household_id
    LEFT JOIN passes p ON p.serial = (
        SELECT serial FROM passes WHERE visitor_id = v.id ORDER BY issued_at LIMIT 1
    )
"""


def _shaped(row: dict[str, Any]) -> dict[str, Any]:
    row["arrived"] = bool(row["arrived"])
    return row


def get_invitation(db: Database, visitor_id: str) -> dict[str, Any] | None:
    """One invitation with its code (``serial``, ``token``, validity, ``status``),
    host household label and whether the visitor came (``arrived``)."""
    row = next(
        db.query(
            f"SELECT {_COLUMNS} {_FROM} WHERE v.id = ? AND v.invited_for IS NOT NULL",
            [visitor_id],
        ),
        None,
    )
    return _shaped(row) if row is not None else None


def list_invitations(
    db: Database, *, day: date | None = None, since: date | None = None, limit: int = 500
) -> list[dict[str, Any]]:
    """Invitations for ``day``, else for ``since`` and later (all when neither), by day
    then name; rows as :func:`get_invitation` (numbers unmasked: mask for display)."""
    if day is not None:
        where, args = "v.invited_for = ?", [day.isoformat()]
    elif since is not None:
        where, args = "v.invited_for >= ?", [since.isoformat()]
    else:
        where, args = "v.invited_for IS NOT NULL", []
    rows = db.query(
        f"SELECT {_COLUMNS} {_FROM} WHERE {where} ORDER BY v.invited_for, v.name, v.id LIMIT ?",
        [*args, int(limit)],
    )
    return [_shaped(row) for row in rows]


def invitation_state(row: dict[str, Any], today: date) -> str:
    """``withdrawn``, ``arrived``, ``expected`` (today or later) or ``missed``."""
    if row.get("withdrawn_at"):
        return "withdrawn"
    if row.get("arrived"):
        return "arrived"
    return "expected" if str(row["invited_for"]) >= today.isoformat() else "missed"


def state_text(state: str) -> str:
    words = {
        "withdrawn": tr("Withdrawn"),
        "arrived": tr("Came"),
        "expected": tr("Expected"),
        "missed": tr("Did not come"),
    }
    return words.get(state, state)


def find_invitation(db: Database, text: str) -> dict[str, Any]:
    """The invitation named by its visitor id or its code's serial (``XXXX-XXXX``), or a
    :class:`UserError`."""
    text = text.strip()
    found = get_invitation(db, text) if text else None
    if found is None and text:
        code = find_pass(db, text)
        if code is not None and code.get("visitor_id"):
            found = get_invitation(db, str(code["visitor_id"]))
    if found is None:
        raise UserError(tr("No invitation {id}.", id=text))
    return found


def withdraw(db: Database, text: str, *, now: datetime, actor: str = "cli") -> dict[str, Any]:
    """Withdraw the invitation named by ``text`` (:func:`find_invitation`): its code is
    revoked (the revocation travels to the gates) and the row marked. Withdrawn twice,
    or made at another checkpoint: a :class:`UserError` that says so."""
    found = find_invitation(db, text)
    if found["withdrawn_at"]:
        at = from_db(str(found["withdrawn_at"])).astimezone()
        raise UserError(
            tr("This invitation was already withdrawn at {at}.", at=f"{at:%Y-%m-%d %H:%M}")
        )
    if found["checkpoint_id"] != checkpoint_id(db):
        row = db.execute("SELECT name FROM nodes WHERE id = ?", [found["checkpoint_id"]]).fetchone()
        raise UserError(
            tr(
                "This invitation was made at {checkpoint}: withdraw it there.",
                checkpoint=row[0] if row else found["checkpoint_id"],
            )
        )
    reason = tr("Invitation withdrawn")
    with write(db):
        db.execute("UPDATE visitors SET withdrawn_at = ? WHERE id = ?", [to_db(now), found["id"]])
        serials = [
            r[0]
            for r in db.execute(
                "SELECT serial FROM passes WHERE visitor_id = ? AND status = 'active'",
                [found["id"]],
            ).fetchall()
        ]
        for serial in serials:
            _revoke(db, serial, reason, now)
        record_audit(
            db, actor, "visitors.withdraw", {"visitor_id": found["id"], "serials": serials}
        )
    again = get_invitation(db, str(found["id"]))
    assert again is not None
    return again


def write_code_image(token: str, path: Path) -> Path:
    """The code as a PNG at ``path`` (written whole or not at all), to send to the
    visitor's phone; the path."""
    with whole_file(path) as temp:
        qr_code(token).save(str(temp), kind="png", scale=IMAGE_SCALE, border=QR_BORDER)
    return path
