"""Passes in the database: issuing, listing, revoking, and checking a scanned token.

A pass's signature makes it trustworthy anywhere; this table adds what a signature
cannot carry: who holds it and whether the committee has revoked it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlite_utils import Database

from kiosk.core.clock import from_db, to_db
from kiosk.core.errors import UserError
from kiosk.core.i18n import tr
from kiosk.core.keys import Keyring, key_id_of
from kiosk.core.passes import (
    InvalidPass,
    PassClaims,
    PassKind,
    Rejection,
    Validity,
    new_serial,
    parse_pass,
    serial_from_int,
    serial_to_int,
    sign_pass,
    validity,
)
from kiosk.core.progress import Cancelled, Progress
from kiosk.core.rules import TokenStatus
from kiosk.store.checkpoint import record_audit
from kiosk.store.db import Pacer, write
from kiosk.store.register import find_household, parse_address
from kiosk.store.sql import like_pattern, order_by

MAX_DAYS = 366

PASS_COLUMNS = """
    p.serial, p.kind, p.status, p.valid_from, p.valid_until, p.key_id, p.token,
    p.issued_at, p.revoked_reason, p.revoked_at, p.resident_id, p.visitor_id,
    COALESCE(r.name, v.name) AS holder, r.active AS holder_active,
    h.id AS household_id, h.building, h.unit, h.room
"""
PASS_FROM = """
    FROM passes p
    LEFT JOIN residents r ON r.id = p.resident_id
    LEFT JOIN visitors v ON v.id = p.visitor_id
    LEFT JOIN households h ON h.id = COALESCE(r.household_id, v.destination_household_id)
"""


def household_address_zh(building: str | None, unit: str | None, room: str | None) -> str:
    """The address as written on a card: ``3号楼2单元501室``."""
    text = f"{building}号楼" if building else ""
    if unit:
        text += f"{unit}单元"
    if room:
        text += f"{room}室"
    return text


_FROM_REJECTION = {
    Rejection.NOT_GATEPASS: TokenStatus.NOT_GATEPASS,
    Rejection.MALFORMED: TokenStatus.FORGED,
    Rejection.BAD_SIGNATURE: TokenStatus.FORGED,
    Rejection.KIND_NOT_ALLOWED: TokenStatus.FORGED,
    Rejection.UNKNOWN_KEY: TokenStatus.UNKNOWN_KEY,
}


@dataclass(frozen=True)
class TokenCheck:
    """What a scanned text is, as far as the pass and this database can tell."""

    status: TokenStatus
    claims: PassClaims | None = None
    record: dict[str, Any] | None = None  # the pass row with holder and household
    detail: str = ""

    @property
    def serial(self) -> str | None:
        return self.claims.serial if self.claims else None


def find_pass(db: Database, serial: str) -> dict[str, Any] | None:
    """The pass with this serial (any spelling the user types), with its holder."""
    try:
        canonical = serial_from_int(serial_to_int(serial))
    except ValueError:
        return None
    return next(
        db.query(f"SELECT {PASS_COLUMNS} {PASS_FROM} WHERE p.serial = ?", [canonical]), None
    )


def check_token(db: Database, keyring: Keyring, text: str, now: datetime) -> TokenCheck:
    """Verify the signature first, then the validity window, then revocation."""
    try:
        claims = parse_pass(text, keyring)
    except InvalidPass as exc:
        return TokenCheck(_FROM_REJECTION[exc.reason], detail=str(exc))
    record = find_pass(db, claims.serial)
    if record is not None and record["status"] == "revoked":
        return TokenCheck(TokenStatus.REVOKED, claims, record, record["revoked_reason"] or "")
    state = validity(claims, now)
    if state is Validity.EXPIRED:
        return TokenCheck(TokenStatus.EXPIRED, claims, record)
    if state is Validity.NOT_YET_VALID:
        return TokenCheck(TokenStatus.NOT_YET_VALID, claims, record)
    return TokenCheck(TokenStatus.VALID, claims, record)


def free_serial(db: Database, taken: set[str]) -> str:
    while True:
        serial = new_serial()
        if serial in taken:
            continue
        exists = db.execute("SELECT 1 FROM passes WHERE serial = ?", [serial]).fetchone()
        if not exists:
            taken.add(serial)
            return serial


ISSUE_BATCH = 250
"""Residents per write transaction when issuing: each holds the write lock for a few
milliseconds, so the gate's one-row commits get in between (docs/architecture.md)."""

# A resident's passes still good, by the resident's index. The unary ``+`` keeps the
# planner off ``passes_status_until`` (status, valid_until): with it, each look-up read
# every active pass, and issuing to 21,000 residents took a minute instead of seconds.
GOOD_PASSES_SQL = (
    "SELECT resident_id, serial FROM passes WHERE resident_id IN ({marks}) "
    "AND +status = 'active' AND +valid_until > ?"
)


@dataclass(frozen=True)
class IssueReport:
    issued: list[dict[str, Any]]
    skipped: int  # residents who already hold a pass that is still good


def resident_ids_for(
    db: Database,
    *,
    all_: bool = False,
    resident: str | None = None,
    household: str | None = None,
) -> list[str]:
    """The active residents a ``passes issue`` selection names (a clear error if none)."""
    if all_:
        rows = db.execute("SELECT id FROM residents WHERE active = 1 ORDER BY rowid")
        return [r[0] for r in rows]
    if resident is not None:
        row = db.execute("SELECT id, active FROM residents WHERE id = ?", [resident]).fetchone()
        if row is None:
            raise UserError(tr("No resident with id {id}.", id=resident))
        if not row[1]:
            raise UserError(tr("Resident {id} is deactivated: no pass issued.", id=resident))
        return [row[0]]
    if household is not None:
        found = find_household(db, household)
        if found is None:
            raise UserError(tr("No household {household}.", household=household))
        rows = db.execute(
            "SELECT id FROM residents WHERE household_id = ? AND active = 1 ORDER BY rowid",
            [found["id"]],
        )
        return [r[0] for r in rows]
    raise UserError(tr("Say whom to issue passes for: --all, --resident or --household."))


def _standing(
    db: Database, residents: list[str], good_after: datetime
) -> tuple[dict[str, str], dict[str, list[str]]]:
    """The role of each active resident among ``residents``, and the serials of their
    passes still good after ``good_after``: two indexed queries for the whole batch."""
    marks = ",".join("?" * len(residents))
    roles = dict(
        db.execute(
            f"SELECT id, role FROM residents WHERE id IN ({marks}) AND active = 1", residents
        ).fetchall()
    )
    good: dict[str, list[str]] = {}
    for resident_id, serial in db.execute(
        GOOD_PASSES_SQL.format(marks=marks), [*residents, to_db(good_after)]
    ):
        good.setdefault(resident_id, []).append(serial)
    return roles, good


def issue_passes(
    db: Database,
    private_key: Ed25519PrivateKey,
    resident_ids: Iterable[str],
    *,
    days: int,
    now: datetime,
    reissue: bool = False,
    actor: str = "cli",
    batch: int = ISSUE_BATCH,
    progress: Progress | None = None,
) -> IssueReport:
    """Sign and record one pass per resident, ``batch`` residents per transaction.

    A resident who already holds an active pass valid for at least another day is
    skipped, so issuing twice changes nothing; with ``reissue`` that pass is revoked
    ("reissued") and a new one issued.

    Each batch is signed before its transaction begins (signing is most of the work and
    needs no lock), then checked again and written under the lock, so a pass issued or
    a resident deactivated meanwhile is respected. Between batches the write lock is
    free: the gate's commits are never held up by more than one batch. Each batch is
    whole (a resident's old pass is revoked in the same transaction that records the
    new one); an interrupted run keeps the batches written so far, and running it again
    (without ``reissue``) issues the rest. The audit row is written with the last batch.

    ``progress`` hears after each batch (residents done of all); when it stops the run,
    the batches written so far stay, with an audit row of their own.
    """
    if not 1 <= days <= MAX_DAYS:
        raise UserError(tr("--days must be between 1 and {max}.", max=MAX_DAYS))
    key_id = key_id_of(private_key.public_key())
    start = now.replace(second=0, microsecond=0)
    until = start + timedelta(days=days)
    good_after = now + timedelta(days=1)
    issued: list[dict[str, Any]] = []
    skipped = 0
    taken: set[str] = set()
    reason = tr("reissued")

    def signed(resident_id: str, role: str) -> dict[str, Any]:
        claims = PassClaims(
            key_id=key_id,
            serial=free_serial(db, taken),
            kind=PassKind(role),
            valid_from=start,
            valid_until=until,
        )
        return {
            "serial": claims.serial,
            "kind": claims.kind.value,
            "resident_id": resident_id,
            "valid_from": to_db(claims.valid_from),
            "valid_until": to_db(claims.valid_until),
            "key_id": key_id,
            "token": sign_pass(claims, private_key),
            "status": "active",
            "issued_at": to_db(now),
        }

    ids = list(dict.fromkeys(resident_ids))
    step = max(1, batch)
    pacer = Pacer()
    if progress is not None:
        progress.update(0, len(ids))
    for first in range(0, len(ids), step):
        if progress is not None and progress.cancelled:
            _stopped(db, pacer, actor, {"count": len(issued), "days": days, "stopped": True})
        chunk = ids[first : first + step]
        roles, good = _standing(db, chunk, good_after)
        ready = {
            rid: signed(rid, role) for rid, role in roles.items() if reissue or rid not in good
        }
        with pacer.write(db):
            roles, good = _standing(db, chunk, good_after)  # what holds now, under the lock
            records: list[dict[str, Any]] = []
            revoked: list[str] = []
            for rid in chunk:
                role = roles.get(rid)
                if role is None:
                    continue
                if good.get(rid) and not reissue:
                    skipped += 1
                    continue
                revoked += good.get(rid, [])
                record = ready.get(rid)
                if record is None or record["kind"] != role:
                    record = signed(rid, role)
                records.append(record)
            clash = _taken_serials(db, [r["serial"] for r in records])
            records = [r if r["serial"] not in clash else signed(r["resident_id"], r["kind"])
                       for r in records]  # fmt: skip
            db.conn.executemany(
                "UPDATE passes SET status = 'revoked', revoked_reason = ?, revoked_at = ? "
                "WHERE serial = ?",
                [(reason, to_db(now), serial) for serial in revoked],
            )
            db.conn.executemany(
                "INSERT INTO passes (serial, kind, resident_id, valid_from, valid_until, "
                "key_id, token, status, issued_at) VALUES (:serial, :kind, :resident_id, "
                ":valid_from, :valid_until, :key_id, :token, :status, :issued_at)",
                records,
            )
            issued += records
            if first + step >= len(ids) and issued:
                record_audit(db, actor, "passes.issue", {"count": len(issued), "days": days})
        if progress is not None:
            with contextlib.suppress(Cancelled):  # stopped at the top of the next round
                progress.update(min(first + step, len(ids)), len(ids))
    return IssueReport(issued, skipped)


def _stopped(db: Database, pacer: Pacer, actor: str, detail: dict[str, Any]) -> None:
    """A run stopped between batches: the passes issued so far go to the audit log."""
    if detail["count"]:
        with pacer.write(db):
            record_audit(db, actor, "passes.issue", detail)
    raise Cancelled


def _taken_serials(db: Database, serials: list[str]) -> set[str]:
    """Which of ``serials`` another writer recorded since they were picked (in practice
    never: 40 random bits)."""
    if not serials:
        return set()
    marks = ",".join("?" * len(serials))
    rows = db.execute(f"SELECT serial FROM passes WHERE serial IN ({marks})", serials)
    return {row[0] for row in rows}


def _revoke(db: Database, serial: str, reason: str, now: datetime) -> None:
    db.execute(
        "UPDATE passes SET status = 'revoked', revoked_reason = ?, revoked_at = ? WHERE serial = ?",
        [reason, to_db(now), serial],
    )


def revoke_pass(
    db: Database, serial: str, reason: str, *, now: datetime, actor: str = "cli"
) -> dict[str, Any]:
    """Revoke a pass (with a reason, kept); revoking twice is an error that says when."""
    reason = reason.strip()
    if not reason:
        raise UserError(tr("Give a reason for revoking the pass."))
    record = find_pass(db, serial)
    if record is None:
        raise UserError(tr("No pass with serial {serial}.", serial=serial))
    if record["status"] == "revoked":
        raise UserError(
            tr(
                "Pass {serial} was already revoked at {at}: {reason}",
                serial=record["serial"],
                at=from_db(record["revoked_at"]).astimezone().strftime("%Y-%m-%d %H:%M"),
                reason=record["revoked_reason"],
            )
        )
    with write(db):
        _revoke(db, record["serial"], reason, now)
        record_audit(db, actor, "passes.revoke", {"serial": record["serial"], "reason": reason})
    found = find_pass(db, record["serial"])
    assert found is not None
    return found


def list_passes(db: Database, *, status: str | None = None) -> list[dict[str, Any]]:
    where = "WHERE p.status = ?" if status else ""
    return list(
        db.query(
            f"SELECT {PASS_COLUMNS} {PASS_FROM} {where} ORDER BY p.issued_at, p.serial",
            [status] if status else [],
        )
    )


# --- the office's pass table ------------------------------------------------------------

PASS_SORT_SERIAL = "p.serial"
PASS_SORT_HOLDER = "COALESCE(r.name, v.name)"
PASS_SORT_HOUSEHOLD = "printf('%10s|%10s|%10s', h.building, h.unit, h.room)"
PASS_SORT_KIND = "p.kind"
PASS_SORT_STATUS = "p.status"
PASS_SORT_FROM = "p.valid_from"
PASS_SORT_UNTIL = "p.valid_until"
PASS_SORT_ISSUED = "p.rowid"  # the order of issue, and free: the table's own order
PASS_DEFAULT_ORDER = f"{PASS_SORT_ISSUED} DESC"
PASS_SORTS = frozenset(
    {
        PASS_SORT_SERIAL,
        PASS_SORT_HOLDER,
        PASS_SORT_HOUSEHOLD,
        PASS_SORT_KIND,
        PASS_SORT_STATUS,
        PASS_SORT_FROM,
        PASS_SORT_UNTIL,
        PASS_SORT_ISSUED,
    }
)
PASS_SHOWS = ("all", "active", "revoked", "expired")


def pass_state(row: dict[str, Any], now: datetime) -> str:
    """``active``, ``revoked`` or ``expired`` (active but past its end)."""
    if row["status"] == "revoked":
        return "revoked"
    return "expired" if from_db(row["valid_until"]) <= now else "active"


def _serial_prefix(text: str) -> str | None:
    """The start of a serial as stored (``ABCD-12``) if ``text`` could be one."""
    clean = text.upper().replace(" ", "")
    if not clean.isascii() or not clean.replace("-", "").isalnum() or len(clean) < 2:
        return None
    if "-" not in clean and len(clean) > 4:
        clean = clean[:4] + "-" + clean[4:]
    return clean


def _pass_search(db: Database, text: str) -> tuple[str, list[Any]]:
    """The WHERE term for a search box: a serial (or its start), a household label,
    part of a holder's name. Each is looked up by an index or in the register, never
    by reading every pass with its holder."""
    terms = [
        "p.resident_id IN (SELECT id FROM residents WHERE name LIKE ? ESCAPE '\\')",
        "p.visitor_id IN (SELECT id FROM visitors WHERE name LIKE ? ESCAPE '\\')",
    ]
    args: list[Any] = [like_pattern(text), like_pattern(text)]
    try:
        serial: str | None = serial_from_int(serial_to_int(text))
    except ValueError:
        serial = None
    if serial is not None:
        terms.append("p.serial = ?")
        args.append(serial)
    else:
        prefix = _serial_prefix(text)
        if prefix is not None:
            terms.append("(p.serial >= ? AND p.serial < ?)")
            args += [prefix, prefix + "~"]  # "~" sorts after every serial character
    household = find_household(db, text) if parse_address(text) else None
    if household is not None:
        terms.append("p.resident_id IN (SELECT id FROM residents WHERE household_id = ?)")
        args.append(household["id"])
    return "(" + " OR ".join(terms) + ")", args


def search_passes(
    db: Database,
    *,
    now: datetime,
    search: str = "",
    show: str = "all",
    resident_id: str | None = None,
    order: str = PASS_DEFAULT_ORDER,
    limit: int = 200,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """One page of passes, with holder and household, for the office's table.

    ``show``: all, active (good now), revoked, or expired. ``search``: a serial, a
    household label (``3-2-501``) or part of a holder's name. ``order`` is checked
    against :data:`PASS_SORTS`. Each row also has ``state`` (see :func:`pass_state`).
    """
    if show not in PASS_SHOWS:
        raise ValueError(f"unknown pass filter {show!r}")
    where: list[str] = []
    args: list[Any] = []
    if resident_id is not None:
        where.append("p.resident_id = ?")
        args.append(resident_id)
    if show == "active":
        where.append("p.status = 'active' AND p.valid_until > ?")
        args.append(to_db(now))
    elif show == "expired":
        where.append("p.status = 'active' AND p.valid_until <= ?")
        args.append(to_db(now))
    elif show == "revoked":
        where.append("p.status = 'revoked'")
    text = search.strip()
    if text:
        term, term_args = _pass_search(db, text)
        where.append(term)
        args += term_args
    # The page's rows are picked first (sorting row ids and sort keys only; SQLite
    # leaves out the joins neither the filter nor the order uses), then read whole.
    checked = order_by(order, PASS_SORTS)
    pick = (
        f"SELECT p.rowid {PASS_FROM}"
        + (" WHERE " + " AND ".join(where) if where else "")
        + f" ORDER BY {checked} LIMIT ? OFFSET ?"
    )
    rows = list(
        db.query(
            f"SELECT {PASS_COLUMNS} {PASS_FROM} WHERE p.rowid IN ({pick}) ORDER BY {checked}",
            [*args, int(limit), int(offset)],
        )
    )
    for row in rows:
        row["state"] = pass_state(row, now)
    return rows
