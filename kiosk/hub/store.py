"""What the hub does with PostgreSQL: enrolment, authentication, taking change sets in,
the change feed, retention (docs/hub.md).

Plain functions over a psycopg connection, so the ASGI app (``kiosk.hub.app``), the
commands (``kiosk hub ...``) and the tests call the same code.
"""

from __future__ import annotations

import base64
import functools
import json
import logging
import threading
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from psycopg import sql

from kiosk.core import hubwire
from kiosk.core.bundle import BundleRefused, ChangeSet, TrustList, check_line
from kiosk.core.clock import from_db
from kiosk.core.errors import UserError
from kiosk.core.hubwire import HubRefused, Refusal
from kiosk.core.i18n import tr
from kiosk.core.ids import uuid7
from kiosk.core.keys import public_key_from_text

log = logging.getLogger(__name__)

CODE_LIFE = timedelta(days=2)
NONCE_LIFE = 2 * hubwire.MAX_SKEW
LEVELS = ("district", "subdistrict", "community")


def now_utc() -> datetime:
    return datetime.now(UTC)


# --- tenancy -----------------------------------------------------------------------------------


def area_path(conn: psycopg.Connection, path: str, *, create: bool) -> uuid.UUID:
    """The area named by ``path`` ("district/sub-district/community", or a prefix of it):
    its id; with ``create`` the missing levels are made."""
    names = [p.strip() for p in path.split("/") if p.strip()]
    if not names or len(names) > len(LEVELS):
        raise UserError(
            tr(
                "An area is written district/sub-district/community (got {path}).",
                path=path,
            )
        )
    parent: uuid.UUID | None = None
    for level, name in zip(LEVELS, names, strict=False):
        row = conn.execute(
            "SELECT id FROM areas WHERE parent IS NOT DISTINCT FROM %s AND name = %s",
            [parent, name],
        ).fetchone()
        if row is None:
            if not create:
                raise UserError(tr("The hub knows no area {path}.", path=path))
            row = conn.execute(
                "INSERT INTO areas (id, parent, level, name) VALUES (%s, %s, %s, %s) "
                "ON CONFLICT (parent, name) DO UPDATE SET name = EXCLUDED.name RETURNING id",
                [uuid.UUID(uuid7()), parent, level, name],
            ).fetchone()
            assert row is not None
        parent = row[0]
    assert parent is not None
    return parent


def area_name(conn: psycopg.Connection, area: uuid.UUID) -> str:
    """The area's path, ``district/sub-district/community`` (as :func:`area_path`
    reads one)."""
    names = [
        r[0]
        for r in conn.execute(
            """
            WITH RECURSIVE up(id, parent, name, depth) AS (
                SELECT id, parent, name, 0 FROM areas WHERE id = %s
                UNION ALL SELECT a.id, a.parent, a.name, up.depth + 1
                FROM areas a JOIN up ON a.id = up.parent
            )
            SELECT name FROM up ORDER BY depth DESC
            """,
            [area],
        )
    ]
    return "/".join(names)


def compounds_under(conn: psycopg.Connection, area: uuid.UUID) -> list[uuid.UUID]:
    """Every compound whose community lies under (or is) ``area``."""
    return [
        r[0]
        for r in conn.execute(
            """
            WITH RECURSIVE under(id) AS (
                SELECT %s::uuid
                UNION ALL SELECT a.id FROM areas a JOIN under u ON a.parent = u.id
            )
            SELECT c.id FROM compounds c JOIN under u ON c.community = u.id ORDER BY c.id
            """,
            [area],
        )
    ]


def add_account(conn: psycopg.Connection, name: str, area_text: str) -> str:
    """A reader account for the street office over ``area_text``; returns its token
    (shown once; the hub keeps its hash)."""
    area = area_path(conn, area_text, create=False)
    token = base64.urlsafe_b64encode(uuid.uuid4().bytes + uuid.uuid4().bytes).decode().rstrip("=")
    conn.execute(
        "INSERT INTO accounts (id, name, area, token_hash) VALUES (%s, %s, %s, %s)",
        [uuid.UUID(uuid7()), name, area, hubwire.token_hash(token)],
    )
    return token


def accounts(conn: psycopg.Connection) -> list[dict[str, Any]]:
    """Every reader account, newest first: id, name, area path, made, revoked."""
    return [
        {
            "id": str(account),
            "name": name,
            "area": area_name(conn, area),
            "created_at": made.isoformat(),
            "revoked_at": revoked.isoformat() if revoked else None,
        }
        for account, name, area, made, revoked in conn.execute(
            "SELECT id, name, area, created_at, revoked_at FROM accounts "
            "ORDER BY created_at DESC, id"
        ).fetchall()
    ]


def revoke_account(conn: psycopg.Connection, which: str, now: datetime) -> dict[str, Any]:
    """Revoke the one account not yet revoked whose name is ``which``, or whose id is or
    begins with it (as ``kiosk hub accounts`` shows it): its token is refused from the
    next request on. Several matches, or none, is a :class:`UserError` saying so."""
    found = [
        a
        for a in accounts(conn)
        if a["revoked_at"] is None and which and (a["name"] == which or a["id"].startswith(which))
    ]
    if not found:
        raise UserError(tr("No account in use is named {name}.", name=which))
    if len(found) > 1:
        raise UserError(
            tr(
                "{count} accounts are named {name}: give the id of one (kiosk hub accounts).",
                count=len(found),
                name=which,
            )
        )
    conn.execute(
        "UPDATE accounts SET revoked_at = %s WHERE id = %s", [now, uuid.UUID(found[0]["id"])]
    )
    return {**found[0], "revoked_at": now.isoformat()}


@dataclass(frozen=True)
class Account:
    id: uuid.UUID
    name: str
    area: uuid.UUID


def account_of(conn: psycopg.Connection, token: str) -> Account:
    row = conn.execute(
        "SELECT id, name, area FROM accounts WHERE token_hash = %s AND revoked_at IS NULL",
        [hubwire.token_hash(token)],
    ).fetchone()
    if row is None:
        raise HubRefused(Refusal.ACCOUNT, "account token")
    return Account(row[0], row[1], row[2])


# --- enrolment ---------------------------------------------------------------------------------


def _add_code(conn: psycopg.Connection, now: datetime, **fields: Any) -> str:
    code = hubwire.new_code()
    names = ["hash", "mac_key", "expires_at", *fields]
    conn.execute(
        f"INSERT INTO codes ({', '.join(names)}) VALUES ({', '.join(['%s'] * len(names))})",
        [hubwire.code_id(code), hubwire.code_key(code), now + CODE_LIFE, *fields.values()],
    )
    return code


def add_office_code(
    conn: psycopg.Connection, community_path: str, compound_name: str, now: datetime
) -> str:
    """A one-time code with which an office enrols its compound under the community
    ``community_path`` (made as needed)."""
    community = area_path(conn, community_path, create=True)
    level = conn.execute("SELECT level FROM areas WHERE id = %s", [community]).fetchone()
    if level is None or level[0] != "community":
        raise UserError(tr("A compound belongs to a community: district/sub-district/community."))
    return _add_code(conn, now, role="office", community=community, compound_name=compound_name)


def add_gate_code(
    conn: psycopg.Connection,
    office: Node,
    body: Mapping[str, Any],
    now: datetime,
) -> str:
    """A one-time code for one gate of the office's compound (the office asks, signed)."""
    if office.role != "office":
        raise HubRefused(Refusal.NOT_ALLOWED, "only an office enrols gates")
    try:
        gate = uuid.UUID(str(body["node"]))
        name = str(body.get("name") or "")
        sign_key = body.get("sign_key")
        if sign_key is not None:
            public_key_from_text(str(sign_key))
    except (KeyError, ValueError, UserError):
        raise hubwire.bad_request("gate") from None
    held = conn.execute("SELECT compound, removed_at FROM nodes WHERE id = %s", [gate]).fetchone()
    if held is not None and held[0] != office.compound:
        raise HubRefused(Refusal.NOT_ALLOWED, "a node of another compound")
    if held is not None and held[1] is not None:
        raise HubRefused(Refusal.REMOVED, "gate")
    conn.execute(
        "INSERT INTO nodes (id, compound, role, name, sign_key) VALUES (%s, %s, 'gate', %s, %s) "
        "ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, "
        "sign_key = coalesce(nodes.sign_key, EXCLUDED.sign_key)",
        [gate, office.compound, name, sign_key],
    )
    return _add_code(conn, now, role="gate", node=gate, compound=office.compound)


def _join_fields(body: Mapping[str, Any]) -> dict[str, Any]:
    try:
        fields = {
            k: str(body[k])
            for k in ("code_id", "binding", "node", "role", "sign_key", "name", "compound")
        }
        uuid.UUID(fields["node"])
        uuid.UUID(fields["compound"])
        key = public_key_from_text(fields["sign_key"])
        signature = base64.b64decode(str(body["signature"]), validate=True)
        code_id = bytes.fromhex(fields["code_id"])
    except (KeyError, ValueError, TypeError, UserError):
        raise hubwire.bad_request("join request") from None
    if fields["role"] not in ("office", "gate"):
        raise hubwire.bad_request("join role")
    try:
        key.verify(signature, hubwire.join_request_text(body))
    except Exception:  # InvalidSignature
        raise HubRefused(Refusal.SIGNATURE, "join request") from None
    return {**fields, "code_id": code_id}


def join(
    conn: psycopg.Connection,
    body: Mapping[str, Any],
    certificate_der: bytes,
    hub_key: str,
    now: datetime,
) -> dict[str, Any]:
    """Enrol a node with the hub (docs/hub.md, "Enrolment"), inside the caller's
    transaction. ``body`` names its code by :func:`hubwire.code_id`, binds the
    certificate the node saw (:func:`hubwire.join_binding`) and is signed by the node's
    key. Returns the answer, with the hub's proof that it knows the code."""
    fields = _join_fields(body)
    row = conn.execute(
        "SELECT mac_key, role, community, compound_name, node, compound, expires_at, used_at "
        "FROM codes WHERE hash = %s FOR UPDATE",
        [fields["code_id"]],
    ).fetchone()
    if row is None or row[7] is not None or row[6] < now or row[1] != fields["role"]:
        raise HubRefused(Refusal.BAD_CODE, "code")
    mac_key = bytes(row[0])
    expected = hubwire.join_binding(mac_key, certificate_der, fields["node"], fields["sign_key"])
    if expected != fields["binding"]:
        raise HubRefused(Refusal.PINNING, "binding")
    node = uuid.UUID(fields["node"])
    if fields["role"] == "office":
        _join_office(conn, fields, node, row[2], row[3], now)
    else:
        _join_gate(conn, fields, body, node, row[4], row[5], now)
    conn.execute("UPDATE codes SET used_at = %s WHERE hash = %s", [now, fields["code_id"]])
    return {
        "hub_key": hub_key,
        "compound": fields["compound"],
        "answer": hubwire.join_answer(mac_key, fields["binding"], hub_key),
    }


def _join_office(
    conn: psycopg.Connection,
    fields: Mapping[str, Any],
    node: uuid.UUID,
    community: uuid.UUID,
    compound_name: str | None,
    now: datetime,
) -> None:
    compound = uuid.UUID(fields["compound"])
    taken = conn.execute(
        "SELECT community, office FROM compounds WHERE id = %s", [compound]
    ).fetchone()
    if taken is not None and (taken[0] != community or taken[1] != node):
        raise HubRefused(Refusal.NOT_ALLOWED, "compound already enrolled elsewhere")
    other = conn.execute("SELECT compound FROM nodes WHERE id = %s", [node]).fetchone()
    if other is not None and other[0] != compound:
        raise HubRefused(Refusal.NOT_ALLOWED, "node of another compound")
    conn.execute(
        "INSERT INTO compounds (id, community, name, office) VALUES (%s, %s, %s, %s) "
        "ON CONFLICT (id) DO NOTHING",
        [compound, community, compound_name or fields["name"], node],
    )
    conn.execute(
        "INSERT INTO nodes (id, compound, role, name, sign_key, published, joined_at) "
        "VALUES (%s, %s, 'office', %s, %s, true, %s) "
        "ON CONFLICT (id) DO UPDATE SET sign_key = EXCLUDED.sign_key, "
        "joined_at = EXCLUDED.joined_at",
        [node, compound, fields["name"], fields["sign_key"], now],
    )


def _join_gate(
    conn: psycopg.Connection,
    fields: Mapping[str, Any],
    body: Mapping[str, Any],
    node: uuid.UUID,
    code_node: uuid.UUID | None,
    code_compound: uuid.UUID | None,
    now: datetime,
) -> None:
    if code_node != node or str(code_compound) != fields["compound"]:
        raise HubRefused(Refusal.BAD_CODE, "code for another gate")
    held = conn.execute(
        "SELECT sign_key, removed_at FROM nodes WHERE id = %s FOR UPDATE", [node]
    ).fetchone()
    if held is None or held[1] is not None:
        raise HubRefused(Refusal.REMOVED, "gate")
    if held[0] and held[0] != fields["sign_key"]:
        raise HubRefused(Refusal.NOT_ALLOWED, "another key than the office named")
    claim = body.get("join_claim")
    conn.execute(
        "UPDATE nodes SET sign_key = %s, name = %s, joined_at = %s, join_claim = %s WHERE id = %s",
        [
            fields["sign_key"],
            fields["name"],
            now,
            json.dumps(claim) if isinstance(claim, dict) else None,
            node,
        ],
    )


# --- authentication ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    id: uuid.UUID
    compound: uuid.UUID
    role: str
    name: str


def authenticate(
    conn: psycopg.Connection,
    headers: Mapping[str, str],
    method: str,
    target: str,
    body: bytes,
    now: datetime,
) -> Node:
    """The node that signed this request, or :class:`HubRefused` saying why not: an
    unknown or removed node, a bad signature, a clock too far off, a nonce seen before
    (the nonce is kept in the caller's transaction)."""
    signed = hubwire.read_signed(headers)
    try:
        node_id = uuid.UUID(signed.node)
    except ValueError:
        raise HubRefused(Refusal.UNKNOWN_NODE, signed.node) from None
    row = conn.execute(
        "SELECT compound, role, name, sign_key, removed_at FROM nodes WHERE id = %s", [node_id]
    ).fetchone()
    if row is None or not row[3]:
        raise HubRefused(Refusal.UNKNOWN_NODE, signed.node)
    if row[4] is not None:
        raise HubRefused(Refusal.REMOVED, signed.node)
    hubwire.check_signed(signed, _public_key(row[3]), method, target, body, now)
    fresh = conn.execute(
        "INSERT INTO request_nonces (node, nonce, seen_at) VALUES (%s, %s, %s) "
        "ON CONFLICT DO NOTHING",
        [node_id, signed.nonce, now],
    )
    if fresh.rowcount != 1:
        raise HubRefused(Refusal.REPLAYED, signed.node)
    return Node(node_id, row[0], row[1], row[2])


def forget_nonces(conn: psycopg.Connection, now: datetime) -> int:
    return conn.execute(
        "DELETE FROM request_nonces WHERE seen_at < %s", [now - NONCE_LIFE]
    ).rowcount


# --- taking change sets in ---------------------------------------------------------------------


def trust_of(conn: psycopg.Connection, compound: uuid.UUID) -> TrustList:
    """The compound's trust list as the hub knows it (every node with a key; removed
    ones refused): one query."""
    office = ""
    keys: dict[str, Ed25519PublicKey] = {}
    removed: set[str] = set()
    for head, node, key, gone in conn.execute(
        "SELECT c.office, n.id, n.sign_key, n.removed_at FROM compounds c "
        "LEFT JOIN nodes n ON n.compound = c.id WHERE c.id = %s",
        [compound],
    ):
        office = str(head) if head else ""
        if node is None:
            continue
        if gone is not None:
            removed.add(str(node))
        elif key:
            keys[str(node)] = _public_key(key)
    return TrustList(str(compound), office, keys, frozenset(removed))


@functools.lru_cache(maxsize=4096)
def _public_key(text: str) -> Ed25519PublicKey:
    """A node's key from its text, read once per process (every push reads its
    compound's keys)."""
    return public_key_from_text(text)


_OWN_KINDS = {"visit": "checkpoint_id", "visitor": "checkpoint_id"}


_REASONS = {
    "tampered": Refusal.SIGNATURE,
    "removed node": Refusal.REMOVED,
    "unknown node": Refusal.UNKNOWN_NODE,
    "not allowed": Refusal.NOT_ALLOWED,
}


def read_lines(
    lines: Iterable[bytes], trust: TrustList, sender: str | None = None
) -> tuple[list[ChangeSet], int]:
    """Every line checked as a bundle's are (signature, shape, kinds), and each passage
    and visitor claimed by its own author: all, or :class:`HubRefused`. A line another
    node relays (``sender`` is not its author) by an author the hub does not trust
    (not known yet, or removed) is left out, not refused: the relaying node cannot
    know what the hub knows. Returns the change sets and how many lines were left
    out."""
    sets = []
    left_out = 0
    for line in lines:
        try:
            change = check_line(line, trust.compound, trust)
        except BundleRefused as exc:
            reason = _REASONS.get(str(exc.reason), Refusal.DAMAGED)
            if (
                sender is not None
                and reason in (Refusal.UNKNOWN_NODE, Refusal.REMOVED)
                and not exc.detail.startswith(sender)
            ):
                left_out += 1
                continue
            raise HubRefused(reason, exc.detail) from None
        for row in change.rows:
            field_ = _OWN_KINDS.get(row["kind"])
            if field_ is not None and row.get(field_) != change.author:
                raise HubRefused(Refusal.NOT_ALLOWED, f"{row['kind']} of another node")
        sets.append(change)
    return sets, left_out


@dataclass
class Pushed:
    accepted: int = 0
    known: int = 0
    left_out: int = 0  # relayed lines by an author the hub does not trust
    rows: int = 0
    vector: dict[str, int] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "known": self.known,
            "left_out": self.left_out,
            "rows": self.rows,
            "vector": self.vector,
        }


class Partitions:
    """The passages' day partitions this process knows exist (made on demand, each in a
    short transaction of its own under an advisory lock: ``CREATE TABLE ... PARTITION
    OF`` locks the parent, so never inside an upload's transaction)."""

    _LOCK = 0x67617465_70617274

    FORGET_S = 600.0  # retention in another process may have dropped one

    def __init__(self) -> None:
        self._known: set[date] = set()
        self._since = time.monotonic()
        self._lock = threading.Lock()

    @staticmethod
    def name(day: date) -> str:
        return f"passages_{day:%Y%m%d}"

    def missing(self, days: Iterable[date]) -> set[date]:
        """The days not known to have their partition (none: no transaction needed)."""
        if time.monotonic() - self._since > self.FORGET_S:
            self._known, self._since = set(), time.monotonic()
        return set(days) - self._known

    def ensure(self, conn: psycopg.Connection, days: Iterable[date]) -> None:
        """Inside the caller's own short transaction."""
        missing = sorted(self.missing(days))
        if not missing:
            return
        with self._lock:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", [self._LOCK])
            for day in missing:
                # DDL takes no bound parameters: the bounds go in as quoted literals.
                conn.execute(
                    sql.SQL(
                        "CREATE TABLE IF NOT EXISTS {} PARTITION OF passages "
                        "FOR VALUES FROM ({}) TO ({})"
                    ).format(
                        sql.Identifier(self.name(day)),
                        sql.Literal(_day_start(day)),
                        sql.Literal(_day_start(day + timedelta(days=1))),
                    )
                )
            self._known.update(missing)


def _day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def passage_days(sets: Iterable[ChangeSet]) -> set[date]:
    """The UTC days of the passages in checked change sets (their times are aware ISO
    8601, :func:`kiosk.core.bundle.check_line`; a node writes them in UTC, whose day is
    the text's first ten characters)."""
    days = set()
    for change in sets:
        for row in change.rows:
            if row["kind"] != "visit":
                continue
            at = row["at"]
            if len(at) == 32 and at.endswith("+00:00"):
                days.add(date.fromisoformat(at[:10]))
            else:
                days.add(from_db(at).date())
    return days


def _uuid_or_none(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


def push(
    conn: psycopg.Connection,
    node: Node,
    sets: Sequence[ChangeSet],
    now: datetime,
) -> Pushed:
    """Take in change sets (checked by :func:`read_lines`), inside the caller's
    transaction: each new one kept as signed, its passages, holds, visitors and node
    rows read into tables, and given a place in the compound's change feed once its
    author is published. A change set held already changes nothing. A passage whose
    values PostgreSQL cannot take (a time it does not read) refuses the upload as
    :data:`Refusal.DAMAGED`."""
    result = Pushed()
    if sets:
        # one statement: the change sets kept (the arrays in binary, %b: psycopg writes a
        # bytea or uuid array as text byte by byte in Python) and the passages of the
        # fresh ones read from their lines by PostgreSQL
        try:
            inserted = conn.execute(
                "WITH fresh AS (INSERT INTO change_sets (author, first, last, compound, rows, "
                "line, via) SELECT a, f, l, %(compound)s, r, x, %(via)s FROM unnest("
                "%(authors)b::uuid[], %(firsts)b::bigint[], %(lasts)b::bigint[], "
                "%(rows)b::int[], %(lines)b::bytea[]) AS t(a, f, l, r, x) "
                "ON CONFLICT (author, first) DO NOTHING RETURNING author, first, line), "
                f"kept AS ({_PASSAGES_OF_LINES}) SELECT author, first FROM fresh",
                {
                    "compound": node.compound,
                    "via": node.id,
                    "authors": [uuid.UUID(c.author) for c in sets],
                    "firsts": [c.first for c in sets],
                    "lasts": [c.last for c in sets],
                    "rows": [len(c.rows) for c in sets],
                    "lines": [c.line() for c in sets],
                    "uuid": _UUID_PATTERN,
                    "text_from": _LINE_TEXT_FROM,
                    "now": now,
                },
            ).fetchall()
        except psycopg.DataError as exc:
            raise HubRefused(Refusal.DAMAGED, str(exc).splitlines()[0]) from None
        fresh_keys = {(str(a), int(f)) for a, f in inserted}
        fresh = [c for c in sets if (c.author, c.first) in fresh_keys]
        result.accepted = len(fresh)
        result.known = len(sets) - len(fresh)
        result.rows = sum(len(c.rows) for c in fresh)
        if fresh:
            if any(row["kind"] != "visit" for c in fresh for row in c.rows):
                _read_rows(conn, node.compound, fresh, _office_of(conn, node.compound))
            _advance_vector(conn, node.compound, {c.author for c in fresh})
            _publish(conn, node.compound)
    conn.execute(
        "UPDATE nodes SET last_seen = %s, last_push = %s WHERE id = %s", [now, now, node.id]
    )
    result.vector = vector_of(conn, node.compound)
    return result


def _office_of(conn: psycopg.Connection, compound: uuid.UUID) -> str:
    office = conn.execute("SELECT office FROM compounds WHERE id = %s", [compound]).fetchone()
    return str(office[0]) if office and office[0] else ""


_PASSAGES_OF_LINES = """
INSERT INTO passages (id, at, compound, checkpoint, direction, subject_kind, level, reason,
    temperature, visitor_id, resident_id, household_id, corrects, arrived_at)
SELECT r.id, r.at, %(compound)s, f.author, coalesce(r.direction, ''),
    coalesce(r.subject_kind, ''), coalesce(r.level, ''), coalesce(r.reason, ''),
    CASE WHEN json_typeof(r.temperature) = 'number' THEN r.temperature::text::real END,
    CASE WHEN r.visitor_id ~* %(uuid)s THEN r.visitor_id::uuid END,
    r.resident_id, r.household_id,
    CASE WHEN r.corrects ~* %(uuid)s THEN r.corrects::uuid END,
    %(now)s
FROM fresh f,
    json_to_recordset(convert_from(substring(f.line FROM %(text_from)s), 'UTF8')::json -> 'rows')
    AS r(kind text, id uuid, at timestamptz, direction text, subject_kind text, level text,
        reason text, temperature json, visitor_id text, resident_id text, household_id text,
        corrects text)
WHERE r.kind = 'visit'
ON CONFLICT DO NOTHING
"""
"""The passages of the change sets just kept, read by PostgreSQL from the lines
themselves (``fresh``: their author and line): the rows were checked by
:func:`read_lines`, and a value PostgreSQL cannot take refuses the upload as damaged.
Building typed arrays in Python was most of an upload's cost (bench/bench_hub.py)."""

_LINE_TEXT_FROM = len(base64.b64encode(bytes(64))) + 2
"""Where a line's JSON starts (1-based, as SQL counts): after the signature and a
space."""

_UUID_PATTERN = "^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$"


def _read_rows(
    conn: psycopg.Connection, compound: uuid.UUID, sets: Sequence[ChangeSet], office: str
) -> None:
    """The rows of fresh change sets but passages (:data:`_PASSAGES_OF_LINES`) into
    the tables the reports and the trust read."""
    for change in sets:
        for row in change.rows:
            kind = row["kind"]
            if kind == "visit":
                continue
            if kind == "visitor":
                conn.execute(
                    "INSERT INTO visitors (id, compound, checkpoint, created_at) "
                    "VALUES (%s, %s, %s, %s) ON CONFLICT (id) DO NOTHING",
                    [uuid.UUID(row["id"]), compound, uuid.UUID(change.author), row["at"]],
                )
            elif change.author != office:
                continue  # the kinds below are the office's alone
            elif kind == "hold":
                _hold(conn, compound, row)
            elif kind == "node":
                _node_row(conn, compound, row)
            elif kind == "rules":
                conn.execute(
                    "UPDATE compounds SET rules = %s WHERE id = %s",
                    [json.dumps(row.get("rules") or {}), compound],
                )
            elif kind == "as_of":
                conn.execute(
                    "UPDATE compounds SET as_of = greatest(as_of, %s::timestamptz) WHERE id = %s",
                    [row["at"], compound],
                )


def _hold(conn: psycopg.Connection, compound: uuid.UUID, row: Mapping[str, Any]) -> None:
    conn.execute(
        "INSERT INTO holds (id, compound, household_id, resident_id, until, lifted_at, "
        "created_at) VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET "
        "until = EXCLUDED.until, lifted_at = EXCLUDED.lifted_at",
        [
            str(row["id"]),
            compound,
            row.get("household_id"),
            row.get("resident_id"),
            row.get("until") or row["at"],
            row.get("lifted_at"),
            row.get("created_at"),
        ],
    )


def _node_row(conn: psycopg.Connection, compound: uuid.UUID, row: Mapping[str, Any]) -> None:
    """The office names a node (its keys, its removal): the hub's trust follows."""
    node = _uuid_or_none(row.get("id"))
    role = row.get("role")
    if node is None or role not in ("office", "gate"):
        return
    held = conn.execute("SELECT compound FROM nodes WHERE id = %s", [node]).fetchone()
    if held is not None and held[0] != compound:
        log.warning("the office of %s names node %s of another compound", compound, node)
        return
    key = row.get("sign_key") or None
    conn.execute(
        "INSERT INTO nodes (id, compound, role, name, sign_key, published, removed_at) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET "
        "name = EXCLUDED.name, sign_key = coalesce(EXCLUDED.sign_key, nodes.sign_key), "
        "published = nodes.published OR EXCLUDED.published, removed_at = EXCLUDED.removed_at, "
        "join_claim = CASE WHEN EXCLUDED.published THEN NULL ELSE nodes.join_claim END",
        [
            node,
            compound,
            role,
            str(row.get("name") or ""),
            key,
            key is not None,
            row.get("removed_at"),
        ],
    )


def _advance_vector(conn: psycopg.Connection, compound: uuid.UUID, authors: set[str]) -> None:
    for author in sorted(authors):
        held = conn.execute(
            "SELECT seq FROM vector WHERE author = %s FOR UPDATE", [uuid.UUID(author)]
        ).fetchone()
        seq = int(held[0]) if held else 0
        for first, last in conn.execute(
            "SELECT first, last FROM change_sets WHERE author = %s AND last > %s ORDER BY first",
            [uuid.UUID(author), seq],
        ).fetchall():
            if first > seq + 1:
                break
            seq = max(seq, int(last))
        conn.execute(
            "INSERT INTO vector (author, compound, seq) VALUES (%s, %s, %s) "
            "ON CONFLICT (author) DO UPDATE SET seq = greatest(vector.seq, EXCLUDED.seq)",
            [uuid.UUID(author), compound, seq],
        )


def _publish(conn: psycopg.Connection, compound: uuid.UUID) -> None:
    """Give every change set of a published author still without one its place in the
    compound's feed, under the compound row's lock (held to the commit: positions are
    given in commit order, so a reader past position p has seen everything below p)."""
    pending = conn.execute(
        "SELECT c.author, c.first FROM change_sets c JOIN nodes n ON n.id = c.author "
        "WHERE c.compound = %s AND c.feed IS NULL AND n.published "
        # the office's first: its node row is what publishes a gate held back till now
        "ORDER BY n.role = 'office' DESC, c.received_at, c.author, c.first",
        [compound],
    ).fetchall()
    if not pending:
        return
    row = conn.execute(
        "UPDATE compounds SET feed = feed + %s WHERE id = %s RETURNING feed",
        [len(pending), compound],
    ).fetchone()
    assert row is not None
    start = int(row[0]) - len(pending)
    conn.execute(
        "UPDATE change_sets c SET feed = t.pos FROM unnest(%b::uuid[], %b::bigint[], "
        "%b::bigint[]) AS t(a, f, pos) WHERE c.author = t.a AND c.first = t.f",
        [
            [a for a, _ in pending],
            [f for _, f in pending],
            list(range(start + 1, start + 1 + len(pending))),
        ],
    )


def vector_of(conn: psycopg.Connection, compound: uuid.UUID) -> dict[str, int]:
    return {
        str(a): int(s)
        for a, s in conn.execute("SELECT author, seq FROM vector WHERE compound = %s", [compound])
    }


# --- the change feed ---------------------------------------------------------------------------


def pull(
    conn: psycopg.Connection,
    node: Node,
    after: int,
    now: datetime,
    max_bytes: int = hubwire.PAGE_BYTES,
) -> dict[str, Any]:
    """The compound's change sets past feed position ``after`` (but the node's own), up
    to about ``max_bytes``: ``{"next": position to ask after, "more": bool, "lines":
    [...], ...}``, with the pending gate enrolments for an office."""
    lines: list[str] = []
    size = 0
    last = after
    more = False
    for position, author, line in conn.execute(
        "SELECT feed, author, line FROM change_sets WHERE compound = %s AND feed > %s "
        "ORDER BY feed LIMIT 2000",
        [node.compound, after],
    ):
        if size >= max_bytes:
            more = True
            break
        last = int(position)
        if author != node.id:
            text = bytes(line).decode("utf-8").rstrip("\n")
            lines.append(text)
            size += len(text)
    else:
        top = conn.execute("SELECT feed FROM compounds WHERE id = %s", [node.compound]).fetchone()
        more = bool(top and int(top[0]) > last)
    conn.execute(
        "UPDATE nodes SET last_seen = %s, last_pull = %s, cursor = greatest(cursor, %s) "
        "WHERE id = %s",
        [now, now, after, node.id],
    )
    answer: dict[str, Any] = {
        "next": last,
        "more": more,
        "lines": lines,
        "vector": vector_of(conn, node.compound),
    }
    if node.role == "office":
        answer["joins"] = [
            {"node": str(n), "name": name, "claim": claim}
            for n, name, claim in conn.execute(
                "SELECT id, name, join_claim FROM nodes WHERE compound = %s "
                "AND join_claim IS NOT NULL AND NOT published AND removed_at IS NULL",
                [node.compound],
            )
        ]
    return answer


def status(conn: psycopg.Connection, node: Node, now: datetime) -> dict[str, Any]:
    """What the hub holds for the node's compound (for ``kiosk sync status``)."""
    conn.execute("UPDATE nodes SET last_seen = %s WHERE id = %s", [now, node.id])
    comp = conn.execute(
        "SELECT c.name, c.feed, c.as_of, a.name FROM compounds c JOIN areas a "
        "ON a.id = c.community WHERE c.id = %s",
        [node.compound],
    ).fetchone()
    assert comp is not None
    return {
        "node": str(node.id),
        "compound": str(node.compound),
        "compound_name": comp[0],
        "community": comp[3],
        "feed": int(comp[1]),
        "as_of": comp[2].isoformat() if comp[2] else None,
        "vector": vector_of(conn, node.compound),
        "nodes": [
            {
                "id": str(n),
                "name": name,
                "role": role,
                "last_seen": seen.isoformat() if seen else None,
                "removed": gone is not None,
            }
            for n, name, role, seen, gone in conn.execute(
                "SELECT id, name, role, last_seen, removed_at FROM nodes WHERE compound = %s "
                "ORDER BY role DESC, name",
                [node.compound],
            )
        ],
    }


# --- retention ---------------------------------------------------------------------------------


def drop_old_partitions(conn: psycopg.Connection, keep_days: int, today: date) -> list[str]:
    """Drop every day partition of passages older than ``keep_days`` days."""
    cutoff = today - timedelta(days=keep_days)
    dropped = []
    for (name,) in conn.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'passages' ORDER BY 1"
    ).fetchall():
        try:
            day = datetime.strptime(name, "passages_%Y%m%d").date()
        except ValueError:
            continue
        if day < cutoff:
            conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(name)))
            dropped.append(name)
    return dropped


CLOCK_TRUST = timedelta(days=2)


@dataclass(frozen=True)
class Retained:
    partitions: tuple[str, ...] = ()
    change_sets: int = 0
    visitors: int = 0
    holds: int = 0
    held_back: str | None = None  # why nothing was deleted (a clock to doubt)


def retain(conn: psycopg.Connection, keep_days: int, now: datetime) -> Retained:
    """Retention at the hub (``kiosk hub serve --retention-days``), inside the caller's
    transaction: passages' day partitions older than ``keep_days`` dropped; a gate's
    change sets older than that which every other node of its compound has pulled
    past, forgotten (an office's stay: they are the register a node may still need);
    visitors registered and holds ended before then, forgotten.

    Not on a clock to doubt: when the newest change set the hub received is more
    than :data:`CLOCK_TRUST` older than ``now`` (the server's clock jumped ahead, or
    nothing arrives), nothing is deleted and the reason is returned."""
    newest = conn.execute("SELECT max(received_at) FROM change_sets").fetchone()
    if newest is None or newest[0] is None:
        return Retained(held_back="nothing received yet")
    if now - newest[0] > CLOCK_TRUST:
        return Retained(held_back=f"the newest change set arrived at {newest[0]}, now is {now}")
    cutoff = now - timedelta(days=keep_days)
    partitions = drop_old_partitions(conn, keep_days + 1, now.date())
    sets = conn.execute(
        """
        DELETE FROM change_sets c USING nodes a
        WHERE a.id = c.author AND a.role = 'gate' AND c.received_at < %s
          AND c.feed IS NOT NULL
          AND c.feed <= (SELECT coalesce(min(n.cursor), 0) FROM nodes n
                         WHERE n.compound = c.compound AND n.removed_at IS NULL
                           AND n.id != c.author)
        """,
        [cutoff],
    ).rowcount
    visitors = conn.execute("DELETE FROM visitors WHERE created_at < %s", [cutoff]).rowcount
    holds = conn.execute(
        "DELETE FROM holds WHERE coalesce(lifted_at, until) < %s", [cutoff]
    ).rowcount
    return Retained(tuple(partitions), sets, visitors, holds)
