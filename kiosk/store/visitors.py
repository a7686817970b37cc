"""Visitors: registering one at the gate and issuing their signed visitor code; the
office's list of visitors (with their last passages in and out, whether they are inside
now and overstaying) and a look-up of visitors by name or host household.

A visitor's last passages come from the ``visits_visitor_at`` index (one short
backwards walk per visitor); the list is paged, sorted by a whitelisted key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlite_utils import Database

from kiosk.core.clock import to_db
from kiosk.core.i18n import tr
from kiosk.core.identity import (
    IdentityError,
    check_id_number,
    check_mobile,
    check_name,
    mask_id_number,
)
from kiosk.core.ids import uuid7
from kiosk.core.keys import key_id_of
from kiosk.core.passes import PassClaims, PassKind, sign_pass
from kiosk.store.db import write
from kiosk.store.passes import free_serial
from kiosk.store.register import LABEL_SQL, find_household
from kiosk.store.sql import like_pattern
from kiosk.store.visits import effective


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
    db: Database,
    form: VisitorForm,
    *,
    today: Any,
    id_required: bool = False,
    registered: bool = False,
) -> tuple[ValidVisitor | None, dict[str, str]]:
    """The checked visitor, or the problems by field name (messages in the user's words).

    ``registered``: the visitor is already registered (the form was filled from their
    code); a phone or ID number this checkpoint holds only masked (a visitor another
    checkpoint of the compound registered, docs/exchange.md) is not asked for again."""
    problems: dict[str, str] = {}
    name = phone = ""
    id_number: str | None = None
    try:
        name = check_name(form.name)
    except IdentityError as exc:
        problems["name"] = str(exc)
    if not (registered and not form.phone.strip()):
        try:
            phone = check_mobile(form.phone)
        except IdentityError as exc:
            problems["phone"] = str(exc)
    if form.id_number.strip():
        try:
            id_number = check_id_number(form.id_number, today)
        except IdentityError as exc:
            problems["id_number"] = str(exc)
    elif id_required and not registered:
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


def add_visitor(
    db: Database,
    visitor: ValidVisitor,
    *,
    now: datetime,
    checkpoint_id: str,
    invited_for: date | None = None,
) -> str:
    """Record the visitor; ``invited_for``: an invitation, registered ahead for that
    local day (kiosk.store.invitations)."""
    visitor_id = uuid7()
    extra = {"invited_for": invited_for.isoformat()} if invited_for is not None else {}
    with write(db):
        db.table("visitors").insert(
            {
                **extra,
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
    return record_visitor_code(
        db, key, visitor_id, valid_from=start, valid_until=start + timedelta(hours=hours), now=now
    )


def record_visitor_code(
    db: Database,
    key: Ed25519PrivateKey,
    visitor_id: str,
    *,
    valid_from: datetime,
    valid_until: datetime,
    now: datetime,
) -> dict[str, Any]:
    """Sign a visitor code valid from ``valid_from`` until ``valid_until`` (whole
    seconds) and record it as a pass; the pass row."""
    with write(db):
        claims = PassClaims(
            key_id_of(key.public_key()),
            free_serial(db, set()),
            PassKind.VISITOR,
            valid_from.replace(microsecond=0),
            valid_until.replace(microsecond=0),
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
    one person (a family's shared phone: the guard types the rest). At a gate of a
    compound, a visitor registered at another gate is found by the keyed hash of their
    ID number (the number itself stays at the office; docs/exchange.md)."""
    for column, text, check in (
        ("id_number", id_number, lambda t: check_id_number(t, today)),
        ("id_hash", id_number, lambda t: _id_hash(db, check_id_number(t, today))),
        ("phone", phone, check_mobile),
    ):
        if not text.strip():
            continue
        try:
            number = check(text)
        except IdentityError:
            continue
        if not number:
            continue
        rows = list(
            db.query(
                f"SELECT * FROM visitors WHERE {column} = ? ORDER BY created_at DESC LIMIT 50",
                [number],
            )
        )
        people = {(row["name"], row["id_number"] or row.get("id_hash") or "") for row in rows}
        if rows and len(people) == 1:
            return rows[0]
    return None


def _id_hash(db: Database, number: str) -> str:
    """The compound's keyed hash of ``number`` ("" outside a compound)."""
    from kiosk.store.exchange import compound, match_hash

    comp = compound(db)
    return (match_hash(comp.match_key, number) or "") if comp is not None else ""


def get_visitor(db: Database, visitor_id: str) -> dict[str, Any] | None:
    return next(db.query("SELECT * FROM visitors WHERE id = ?", [visitor_id]), None)


# --- the office's visitor list and look-ups ----------------------------------------------

# The host household's label, '' for none.
_LABEL_SQL = f"CASE WHEN h.id IS NULL THEN '' ELSE {LABEL_SQL} END"

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
    ``last_in``, ``last_out`` (stored UTC text or None), ``invited_for`` (an
    invitation's day, ``YYYY-MM-DD``, else None), ``withdrawn_at``, ``checkpoint_id``
    (where registered), ``inside`` and ``overstay``
    (bool: inside now, and inside since before ``now - overstay``). ``search`` matches
    the name, the host household's label or the purpose."""
    where, args = "", []
    text = search.strip()
    if text:
        where = (
            "WHERE v.name LIKE ? ESCAPE '\\' OR v.reason LIKE ? ESCAPE '\\' "
            f"OR {_LABEL_SQL} LIKE ? ESCAPE '\\'"
        )
        args = [like_pattern(text), like_pattern(text), like_pattern(text.replace(" ", ""))]
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
                           v.invited_for, v.withdrawn_at, v.checkpoint_id,
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
    rows = list(db.query(sql, [to_db(now - overstay), *args, int(limit), int(offset)]))
    for row in rows:
        del row["last_pass"]
        row["inside"] = bool(row["inside"])
        row["overstay"] = bool(row["overstay"])
    return rows


def search_visitors(db: Database, text: str, limit: int = 20) -> list[dict[str, Any]]:
    """Visitors whose name contains ``text`` or whose host household's label starts
    with it, the most recently registered first. Each: ``id``, ``name``, ``household``,
    ``id_masked``, ``created_at``."""
    text = text.strip()
    if not text:
        return []
    prefix = like_pattern(text.replace(" ", ""))[1:]
    rows = list(
        db.query(
            f"SELECT v.id, v.name, v.id_number, v.created_at, {_LABEL_SQL} AS household "
            "FROM visitors v LEFT JOIN households h ON h.id = v.destination_household_id "
            f"WHERE v.name LIKE ? ESCAPE '\\' OR {_LABEL_SQL} LIKE ? ESCAPE '\\' "
            "ORDER BY v.created_at DESC LIMIT ?",
            [like_pattern(text), prefix, int(limit)],
        )
    )
    for row in rows:
        row["id_masked"] = mask_id_number(row.pop("id_number"))
    return rows
