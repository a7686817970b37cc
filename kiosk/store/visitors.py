"""Visitors: registering one at the gate and issuing their signed visitor code."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlite_utils import Database

from kiosk.core.clock import to_db
from kiosk.core.errors import UserError
from kiosk.core.i18n import tr
from kiosk.core.identity import IdentityError, check_id_number, check_mobile, check_name
from kiosk.core.ids import uuid7
from kiosk.core.keys import key_id_of
from kiosk.core.passes import PassClaims, PassKind, sign_pass
from kiosk.store.db import write
from kiosk.store.passes import free_serial
from kiosk.store.register import find_household


@dataclass(frozen=True)
class VisitorForm:
    """What the guard types for a visitor (validated by :func:`validate_visitor`)."""

    name: str
    phone: str
    destination: str  # household id or label such as 3-2-501
    id_number: str = ""
    reason: str = ""
    from_place: str = ""
    plate: str = ""


@dataclass(frozen=True)
class ValidVisitor:
    name: str
    phone: str
    id_number: str | None
    household_id: str
    reason: str
    from_place: str
    plate: str


def validate_visitor(
    db: Database, form: VisitorForm, *, today: Any, id_required: bool = False
) -> tuple[ValidVisitor | None, dict[str, str]]:
    """The checked visitor, or the problems by field name (messages in the user's words)."""
    problems: dict[str, str] = {}
    name = phone = ""
    id_number: str | None = None
    try:
        name = check_name(form.name)
    except IdentityError as exc:
        problems["name"] = str(exc)
    try:
        phone = check_mobile(form.phone)
    except IdentityError as exc:
        problems["phone"] = str(exc)
    if form.id_number.strip():
        try:
            id_number = check_id_number(form.id_number, today)
        except IdentityError as exc:
            problems["id_number"] = str(exc)
    elif id_required:
        problems["id_number"] = tr("ID number is required")
    household = find_household(db, form.destination.strip()) if form.destination.strip() else None
    if household is None:
        problems["destination"] = tr("No household {household}.", household=form.destination)
    if problems:
        return None, problems
    assert household is not None
    return ValidVisitor(
        name,
        phone,
        id_number,
        household["id"],
        form.reason.strip(),
        form.from_place.strip(),
        form.plate.strip().upper(),
    ), {}


def add_visitor(db: Database, visitor: ValidVisitor, *, now: datetime, checkpoint_id: str) -> str:
    visitor_id = uuid7()
    with write(db):
        db.table("visitors").insert(
            {
                "id": visitor_id,
                "name": visitor.name,
                "phone": visitor.phone,
                "id_number": visitor.id_number,
                "destination_household_id": visitor.household_id,
                "reason": visitor.reason,
                "from_place": visitor.from_place,
                "plate": visitor.plate,
                "created_at": to_db(now),
                "checkpoint_id": checkpoint_id,
            }
        )
    return visitor_id


def issue_visitor_code(
    db: Database, key: Ed25519PrivateKey, visitor_id: str, *, now: datetime, hours: int
) -> dict[str, Any]:
    """Sign a visitor code valid for ``hours`` and record it as a pass."""
    start = now.replace(microsecond=0)
    with write(db):
        claims = PassClaims(
            key_id_of(key.public_key()),
            free_serial(db, set()),
            PassKind.VISITOR,
            start,
            start + timedelta(hours=hours),
        )
        record = {
            "serial": claims.serial,
            "kind": PassKind.VISITOR.value,
            "visitor_id": visitor_id,
            "valid_from": to_db(claims.valid_from),
            "valid_until": to_db(claims.valid_until),
            "key_id": claims.key_id,
            "token": sign_pass(claims, key),
            "status": "active",
            "issued_at": to_db(now),
        }
        db.table("passes").insert(record)
    return record


def find_returning_visitor(
    db: Database, *, phone: str = "", id_number: str = "", today: Any
) -> dict[str, Any] | None:
    """The latest registration of the visitor with this ID number or, failing that,
    this mobile number; None when unknown, or when the number was given by more than
    one person (a family's shared phone: the guard types the rest)."""
    for column, text, check in (
        ("id_number", id_number, lambda t: check_id_number(t, today)),
        ("phone", phone, check_mobile),
    ):
        if not text.strip():
            continue
        try:
            number = check(text)
        except IdentityError:
            continue
        rows = list(
            db.query(
                f"SELECT * FROM visitors WHERE {column} = ? ORDER BY created_at DESC LIMIT 50",
                [number],
            )
        )
        people = {(row["name"], row["id_number"] or "") for row in rows}
        if rows and len(people) == 1:
            return dict(rows[0])
    return None


def get_visitor(db: Database, visitor_id: str) -> dict[str, Any] | None:
    rows = list(db["visitors"].rows_where("id = ?", [visitor_id]))
    if not rows:
        return None
    found: dict[str, Any] = rows[0]
    if not isinstance(found, dict):  # pragma: no cover
        raise UserError("bad row")
    return found
