"""The register of households and residents: finding, adding, editing, deactivating,
and the look-ups of the gate's dialogs (households and residents by label or name).

A household is a room: building, unit (may be empty) and room, labelled ``3-2-501``
(``3-501`` without a unit). Residents are never deleted: deactivating one keeps the
row, and its passes and visits, for the record. Every change writes an audit row
(with ids and field names, never the personal data itself).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any

from sqlite_utils import Database

from kiosk.core.clock import to_db, utcnow
from kiosk.core.errors import UserError
from kiosk.core.i18n import tr
from kiosk.core.identity import (
    IdentityError,
    check_id_number,
    check_mobile,
    check_name,
    mask_id_number,
    mask_name,
)
from kiosk.core.ids import uuid7
from kiosk.store.checkpoint import record_audit
from kiosk.store.db import write
from kiosk.store.sql import like_pattern, order_by

ROLES = ("resident", "staff")
ROLE_WORDS = {
    "resident": "resident",
    "居民": "resident",
    "staff": "staff",
    "工作人员": "staff",
}

# Suffixes people write after the numbers: 3号楼 2单元 501室.
_BUILDING_SUFFIX = re.compile(r"(号楼|号院|栋|幢|座|楼|号)$")
_UNIT_SUFFIX = re.compile(r"单元$")
_ROOM_SUFFIX = re.compile(r"(室|房|号)$")
_PART = r"[0-9A-Za-z]+"
_ADDRESS = re.compile(
    rf"(?P<building>{_PART})\s*(?:号楼|号院|栋|幢|座|楼|号)\s*"
    rf"(?:(?P<unit>{_PART})\s*单元)?\s*"
    rf"(?P<room>{_PART})\s*(?:室|房|号)?\s*$"
)
_LABEL = re.compile(
    rf"^\s*(?P<building>{_PART})\s*-\s*(?:(?P<unit>{_PART})\s*-\s*)?(?P<room>{_PART})\s*$"
)
_NATURAL = re.compile(r"(\d+)")

RESIDENT_COLUMNS = (
    "r.id, r.household_id, h.building, h.unit, h.room, r.name, r.phone, r.id_number, "
    "r.role, r.active, r.created_at, r.updated_at, r.deactivated_at, r.id_masked, r.phone_masked"
)
_RESIDENT_SELECT = (
    f"SELECT {RESIDENT_COLUMNS} FROM residents r JOIN households h ON h.id = r.household_id"
)


def household_label(building: str | None, unit: str | None, room: str | None) -> str:
    """``3-2-501``; without a unit ``3-501``."""
    return "-".join(p for p in (building, unit, room) if p)


def normalise_part(value: str, kind: str) -> str:
    """A building, unit or room as stored: ASCII digits, no spaces, no 号楼/单元/室."""
    if value.isascii() and value.isalnum():
        return value  # the usual case, and nothing to strip
    text = "".join(unicodedata.normalize("NFKC", value).split())
    suffix = {"building": _BUILDING_SUFFIX, "unit": _UNIT_SUFFIX, "room": _ROOM_SUFFIX}[kind]
    stripped = suffix.sub("", text)
    return stripped or text


def parse_address(text: str) -> tuple[str, str, str] | None:
    """(building, unit, room) from ``3-2-501``, ``3-501``, ``3号楼2单元501室`` or ``3栋501``.

    Text before the building (a compound's name) is ignored. ``None`` if no match.
    """
    clean = unicodedata.normalize("NFKC", text).replace("—", "-")
    found = _LABEL.match(clean) or _ADDRESS.search(clean)
    if found is None:
        return None
    return found["building"], found["unit"] or "", found["room"]


def natural_key(text: str) -> tuple[Any, ...]:
    """Sorts ``2`` before ``10``."""
    return tuple(int(p) if p.isdigit() else p for p in _NATURAL.split(text))


def _resident_dict(row: dict[str, Any]) -> dict[str, Any]:
    row["household"] = household_label(row["building"], row["unit"], row["room"])
    row["active"] = bool(row["active"])
    return row


def find_household(db: Database, text_or_id: str) -> dict[str, Any] | None:
    """The household with this id, or this label (``3-2-501``, ``3号楼2单元501室``)."""
    found = next(db.query("SELECT * FROM households WHERE id = ?", [text_or_id]), None)
    if found is not None:
        return found
    parsed = parse_address(text_or_id)
    if parsed is None:
        return None
    building, unit, room = parsed
    return next(
        db.query(
            "SELECT * FROM households WHERE building = ? AND unit = ? AND room = ?",
            [
                normalise_part(building, "building"),
                normalise_part(unit, "unit"),
                normalise_part(room, "room"),
            ],
        ),
        None,
    )


def find_or_create_household(
    db: Database, building: str, unit: str, room: str, *, now: datetime | None = None
) -> str:
    """The id of the household at building/unit/room, made if it is new."""
    key = (
        normalise_part(building, "building"),
        normalise_part(unit, "unit"),
        normalise_part(room, "room"),
    )
    if not key[0] or not key[2]:
        raise UserError(tr("A household needs a building and a room."))
    with write(db):
        row = db.execute(
            "SELECT id FROM households WHERE building = ? AND unit = ? AND room = ?", list(key)
        ).fetchone()
        if row is not None:
            return str(row[0])
        household_id = uuid7()
        db.execute(
            "INSERT INTO households (id, building, unit, room, created_at) VALUES (?,?,?,?,?)",
            [household_id, *key, to_db(now or utcnow())],
        )
        return household_id


def role_of(text: str) -> str:
    """``resident`` or ``staff`` from 居民/resident or 工作人员/staff (UserError otherwise)."""
    role = ROLE_WORDS.get("".join(text.split()).casefold())
    if role is None:
        raise UserError(tr("Unknown role {role}: use 居民/resident or 工作人员/staff", role=text))
    return role


def _checked(check: Callable[..., str], value: str, *args: Any) -> str:
    try:
        return check(value, *args)
    except IdentityError as exc:
        raise UserError(str(exc)) from exc


def _today(now: datetime) -> date:
    return now.astimezone().date()


def get_resident(db: Database, resident_id: str) -> dict[str, Any] | None:
    """One resident with their household (``household`` is its label), or ``None``."""
    row = next(db.query(f"{_RESIDENT_SELECT} WHERE r.id = ?", [resident_id]), None)
    return _resident_dict(row) if row else None


def list_residents(db: Database, *, include_inactive: bool = False) -> list[dict[str, Any]]:
    """Residents ordered by building, unit, room, name.

    Keys: id, household_id, household, building, unit, room, name, phone, id_number,
    role, active (bool), created_at, updated_at, deactivated_at. Unmasked: mask for
    display with :mod:`kiosk.core.identity`.
    """
    where = "" if include_inactive else " WHERE r.active = 1"
    rows = [_resident_dict(r) for r in db.query(_RESIDENT_SELECT + where)]
    rows.sort(
        key=lambda r: (
            natural_key(r["building"]),
            natural_key(r["unit"]),
            natural_key(r["room"]),
            r["name"],
        )
    )
    return rows


LABEL_SQL = (
    "CASE WHEN h.unit = '' THEN h.building || '-' || h.room "
    "ELSE h.building || '-' || h.unit || '-' || h.room END"
)
""":func:`household_label` in SQL, over ``households h``."""

_NATURAL_SQL = "CAST(h.{p} AS INTEGER) {way}, h.{p} {way}"
RESIDENT_ORDER: dict[str, tuple[str, ...]] = {
    "household": tuple(_NATURAL_SQL.replace("{p}", p) for p in ("building", "unit", "room")),
    "name": ("r.name {way}",),
    "role": ("r.role {way}",),
    "active": ("r.active {way}",),
    "updated": ("r.updated_at {way}",),
    "id": ("r.id {way}",),
}
"""What :func:`page_residents` may sort by (the office's columns' ``sort_sql``), and the
SQL of each; households in natural order (``2`` before ``10`` in each part)."""
RESIDENT_DEFAULT_ORDER = "household ASC, name ASC, id ASC"
SUFFIX_MIN = 4  # characters typed before phone and ID numbers are matched by their ending


def _resident_order(order: str) -> str:
    """``order`` ("key ASC|DESC, ...", keys of :data:`RESIDENT_ORDER`) as SQL; anything
    else is a ``ValueError``, so no caller's text reaches the query."""
    terms = []
    for term in order_by(order, RESIDENT_ORDER).split(", "):
        key, way = term.split(" ")
        terms += [sql.format(way=way) for sql in RESIDENT_ORDER[key]]
    return ", ".join(terms)


def _escaped(text: str) -> str:
    return like_pattern(text)[1:-1]


def _search_term(word: str) -> tuple[str, list[Any]]:
    """One word of a search as SQL: a name containing it, a household whose label is it
    or starts with it (``3-2`` finds ``3-2-501``), a room, or a phone or ID number
    ending with it."""
    parsed = parse_address(word)
    label = word
    if parsed is not None:
        building, unit, room = parsed
        label = household_label(
            normalise_part(building, "building"),
            normalise_part(unit, "unit"),
            normalise_part(room, "room"),
        )
    parts = [
        "r.name LIKE ? ESCAPE '\\'",
        f"{LABEL_SQL} = ?",
        f"{LABEL_SQL} LIKE ? ESCAPE '\\'",
        "h.room = ?",
    ]
    args: list[Any] = [like_pattern(word), label, _escaped(label) + "-%", word]
    ending = word.upper()
    if len(ending) >= SUFFIX_MIN and ending.rstrip("X").isdigit():
        parts += ["r.phone LIKE ? ESCAPE '\\'", "r.id_number LIKE ? ESCAPE '\\'"]
        args += ["%" + _escaped(ending)] * 2
    return "(" + " OR ".join(parts) + ")", args


def _search_where(search: str) -> tuple[list[str], list[Any]]:
    text = " ".join(search.split())
    if not text:
        return [], []
    # "3号楼 2单元 501室" is one address; otherwise every word must match.
    words = [text] if parse_address(text) is not None else text.split(" ")
    where: list[str] = []
    args: list[Any] = []
    for word in words:
        sql, more = _search_term(word)
        where.append(sql)
        args += more
    return where, args


def page_residents(
    db: Database,
    *,
    search: str = "",
    order: str = RESIDENT_DEFAULT_ORDER,
    limit: int = 200,
    offset: int = 0,
    include_inactive: bool = False,
) -> list[dict[str, Any]]:
    """One page of residents with their households, for the office's table.

    ``search``: words that must each match a name (contains), a household label (is or
    starts with: ``3``, ``3-2``, ``3-2-501``, ``3号楼2单元501室``), a room, or the end
    of a phone or ID number (at least :data:`SUFFIX_MIN` characters). ``order``: terms of
    :data:`RESIDENT_ORDER` with ASC/DESC (anything else: ``ValueError``). Rows have the
    keys of :func:`list_residents` (unmasked: mask them for display).
    """
    where, args = _search_where(search)
    if not include_inactive:
        where.insert(0, "r.active = 1")
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    sql = f"{_RESIDENT_SELECT}{clause} ORDER BY {_resident_order(order)} LIMIT ? OFFSET ?"
    return [_resident_dict(r) for r in db.query(sql, [*args, limit, offset])]


def _refuse_duplicate_id(db: Database, id_number: str, resident_id: str | None) -> None:
    row = next(
        db.query(
            f"{_RESIDENT_SELECT} WHERE r.id_number = ? AND r.id != ?",
            [id_number, resident_id or ""],
        ),
        None,
    )
    if row is not None:
        owner = _resident_dict(row)
        raise UserError(
            tr(
                "ID number already belongs to {name} of {household}.",
                name=mask_name(owner["name"]),
                household=owner["household"],
            )
        )


def add_resident(
    db: Database,
    *,
    building: str,
    unit: str = "",
    room: str,
    name: str,
    phone: str | None = None,
    id_number: str | None = None,
    role: str = "resident",
    actor: str = "cli",
    now: datetime | None = None,
) -> str:
    """Add a resident to the household at building/unit/room (made if new). Returns the id.

    Raises :class:`UserError` for an invalid name, phone, ID number or role, or an ID
    number that already belongs to someone.
    """
    now = now or utcnow()
    name = _checked(check_name, name)
    phone = _checked(check_mobile, phone) if phone and phone.strip() else None
    id_number = (
        _checked(check_id_number, id_number, _today(now))
        if id_number and id_number.strip()
        else None
    )
    role = role_of(role)
    resident_id = uuid7()
    stamp = to_db(now)
    with write(db):
        if id_number is not None:
            _refuse_duplicate_id(db, id_number, None)
        household_id = find_or_create_household(db, building, unit, room, now=now)
        db.execute(
            "INSERT INTO residents (id, household_id, name, phone, id_number, role, active, "
            "created_at, updated_at) VALUES (?,?,?,?,?,?,1,?,?)",
            [resident_id, household_id, name, phone, id_number, role, stamp, stamp],
        )
        record_audit(db, actor, "residents.add", {"id": resident_id, "household_id": household_id})
    return resident_id


EDITABLE = ("name", "phone", "id_number", "role")


def edit_resident(
    db: Database,
    resident_id: str,
    *,
    actor: str = "cli",
    now: datetime | None = None,
    **changes: str | None,
) -> list[str]:
    """Change some of name, phone, id_number, role (``None``: leave as is; ``""`` clears
    the phone or ID number). Returns the names of the fields that changed."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValueError(f"cannot edit {sorted(unknown)}")
    now = now or utcnow()
    current = get_resident(db, resident_id)
    if current is None:
        raise UserError(tr("No resident with id {id}.", id=resident_id))
    new: dict[str, str | None] = {}
    for field, value in changes.items():
        if value is None:
            continue
        if field == "name":
            new[field] = _checked(check_name, value)
        elif field == "role":
            new[field] = role_of(value)
        elif not value.strip():
            new[field] = None
        elif field == "phone":
            new[field] = _checked(check_mobile, value)
        else:
            new[field] = _checked(check_id_number, value, _today(now))
    changed = [f for f, v in new.items() if current[f] != v]
    if not changed:
        return []
    with write(db):
        if new.get("id_number") and "id_number" in changed:
            _refuse_duplicate_id(db, str(new["id_number"]), resident_id)
        sets = ", ".join(f"{f} = ?" for f in changed)
        db.execute(
            f"UPDATE residents SET {sets}, updated_at = ? WHERE id = ?",
            [*(new[f] for f in changed), to_db(now), resident_id],
        )
        record_audit(db, actor, "residents.edit", {"id": resident_id, "fields": changed})
    return changed


def deactivate_resident(
    db: Database,
    resident_id: str,
    reason: str,
    *,
    actor: str = "cli",
    now: datetime | None = None,
) -> None:
    """Mark a resident as no longer living here; the row and its history stay."""
    if not reason.strip():
        raise UserError(tr("Give a reason for deactivating the resident."))
    current = get_resident(db, resident_id)
    if current is None:
        raise UserError(tr("No resident with id {id}.", id=resident_id))
    if not current["active"]:
        raise UserError(tr("Resident {id} is already deactivated.", id=resident_id))
    stamp = to_db(now or utcnow())
    with write(db):
        db.execute(
            "UPDATE residents SET active = 0, deactivated_at = ?, updated_at = ? WHERE id = ?",
            [stamp, stamp, resident_id],
        )
        record_audit(
            db, actor, "residents.deactivate", {"id": resident_id, "reason": reason.strip()}
        )


def households_by_key(db: Database) -> dict[tuple[str, str, str], str]:
    """Every household's id by (building, unit, room)."""
    rows: Iterable[tuple[str, str, str, str]] = db.execute(
        "SELECT building, unit, room, id FROM households"
    )
    return {(b, u, r): i for b, u, r, i in rows}


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
    prefix = _escaped(text.replace(" ", "")) + "%"
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
            [like_pattern(text), limit],
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
    rows = list(
        db.query(
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
    rows = list(
        db.query(
            "SELECT r.id, r.name, r.household_id, r.id_number, r.role, r.active, "
            "h.building, h.unit, h.room FROM residents r "
            "JOIN households h ON h.id = r.household_id "
            f"WHERE r.household_id IN ({marks}) OR r.name LIKE ? ESCAPE '\\' LIMIT ?",
            [*ids, like_pattern(text), limit * 4],
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
