"""The exchange between a compound's office and gates, in the database: the compound's
identity, the nodes and whom to trust, freezing this node's outbox into signed change
sets, writing a bundle for another node, and applying one (docs/exchange.md).

Applying is idempotent and order-independent across authors: every received change set
is kept (``change_sets``, to relay byte for byte), and each author's are applied in
sequence order, once; one whose predecessors have not arrived waits, applied when the
gap closes. A whole bundle is applied in one transaction, or nothing of it.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import logging
import secrets
import uuid
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from sqlite_utils import Database

from kiosk.core.atomic import whole_file
from kiosk.core.bundle import (
    Bundle,
    BundleRefused,
    ChangeSet,
    Refusal,
    TrustList,
    canonical_json,
    open_fields,
    peek_header,
    read_bundle,
    seal_fields,
    sign_row_texts,
    write_bundle,
)
from kiosk.core.clock import from_db, local, to_db
from kiosk.core.errors import UserError
from kiosk.core.i18n import tr
from kiosk.core.identity import mask_id_number, mask_phone
from kiosk.core.keys import TrustedKey, key_id_of, public_key_from_text, public_key_to_text
from kiosk.core.passes import PassKind
from kiosk.home import Home
from kiosk.store import outbox
from kiosk.store.checkpoint import checkpoint_id, get_meta, set_meta, trust_keys
from kiosk.store.db import Pacer, write
from kiosk.store.schema import MIGRATIONS

log = logging.getLogger("kiosk.exchange")

COMPOUND = "exchange.compound"
ROLE = "exchange.role"
OFFICE = "exchange.office"
MATCH_KEY = "exchange.match_key"
AS_OF = "exchange.as_of"
RULES = "exchange.rules"
RULES_SENT = "exchange.rules_sent"
LAST_IMPORT = "exchange.last_import"
JOIN_MAC = "exchange.join_mac"
"""Meta keys: the compound's id, this node's role ("office" or "gate"), the office's
node id, the compound's match key (hex), the newest office "as of" applied here, and a
joining gate's MAC key (until the office has its keys)."""


@dataclass(frozen=True)
class Pace:
    """How an import or an export shares the database: rows to a transaction, and the
    pause between two transactions."""

    rows: int
    gap_s: float


GATE_PACE = Pace(50, 0.03)
"""At a gate, an import goes gently: a scan beside it waits for 50 rows' transaction at
most, and the pauses leave the database to the scan path most of the time (measured by
``bench/bench_exchange.py``: frame to committed row no slower beside an import of
40,000 rows; ``Gate.handle`` alone p95 +3 to +7 ms; 20,000 rows take about 17 s)."""
OFFICE_PACE = Pace(5000, 0.005)
"""At the office, an import goes fast (a day of a gate's passages in about 3 s); a few
thousand rows stay inside the page cache."""


def pace_of(comp: Compound) -> Pace:
    return OFFICE_PACE if comp.is_office else GATE_PACE


SET_ROWS = 500
"""Rows per change set when the outbox is frozen."""
PASS_IDS = uuid.UUID("0190a5f2-6b1c-7000-8000-0000000a55e5")
"""Namespace of the UUIDv5 a pass row carries as its ``id`` (passes are keyed by serial)."""
RED_AGE = timedelta(hours=48)


def schema_version() -> int:
    return len(MIGRATIONS)


# --- the compound --------------------------------------------------------------------------


@dataclass(frozen=True)
class Compound:
    """This checkpoint's place in a compound."""

    id: str
    role: str  # "office" or "gate"
    node: str  # this node's id (= its checkpoint id)
    office: str  # the office's node id
    match_key: bytes

    @property
    def is_office(self) -> bool:
        return self.role == "office"


def compound(db: Database) -> Compound | None:
    """This checkpoint's compound, or None for a lone checkpoint."""
    found = get_meta(db, COMPOUND)
    if found is None:
        return None
    return Compound(
        found,
        get_meta(db, ROLE) or "gate",
        checkpoint_id(db),
        get_meta(db, OFFICE) or "",
        bytes.fromhex(get_meta(db, MATCH_KEY) or ""),
    )


def require_compound(db: Database) -> Compound:
    found = compound(db)
    if found is None:
        raise UserError(
            tr(
                "This checkpoint belongs to no compound yet: enrol gates at the office "
                "(kiosk exchange enrol), or join with kiosk init --join."
            )
        )
    return found


def match_hash(key: bytes, number: str | None) -> str | None:
    """The keyed hash that stands in for an ID number at a gate (HMAC-SHA256, hex)."""
    if not number:
        return None
    return hmac.new(key, number.strip().upper().encode("utf-8"), hashlib.sha256).hexdigest()


# --- keys ------------------------------------------------------------------------------------


def box_key(home: Home) -> X25519PrivateKey | None:
    if not home.box_key.exists():
        return None
    key = serialization.load_pem_private_key(home.box_key.read_bytes(), None)
    if not isinstance(key, X25519PrivateKey):
        raise UserError(tr("{path} is not a box key.", path=home.box_key))
    return key


def make_box_key(home: Home) -> X25519PrivateKey:
    """This node's box key, made once (never replaced: bundles sealed to it)."""
    existing = box_key(home)
    if existing is not None:
        return existing
    key = X25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    home.keys_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    with whole_file(home.box_key, private=True, replace=False) as temp:
        temp.write_bytes(pem)
    return key


def box_text(key: X25519PublicKey) -> str:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def box_from_text(text: str) -> X25519PublicKey:
    return X25519PublicKey.from_public_bytes(bytes.fromhex(text))


# --- nodes and trust -------------------------------------------------------------------------


def nodes(db: Database) -> list[dict[str, Any]]:
    return list(db.query("SELECT * FROM nodes ORDER BY role DESC, enrolled_at, name"))


def node_named(db: Database, name: str) -> dict[str, Any]:
    """The node called ``name`` (or with that id); a clear error when there is none."""
    rows = list(db.query("SELECT * FROM nodes WHERE name = ? OR id = ?", [name, name]))
    if not rows:
        known = ", ".join(n["name"] for n in nodes(db)) or "-"
        raise UserError(tr("No checkpoint called {name} (known: {known}).", name=name, known=known))
    return rows[0]


def trust_list(db: Database, extra: Mapping[str, str] | None = None) -> TrustList:
    """Whom this node trusts: every enrolled node with keys, and those removed.
    ``extra``: node id -> sign key text, trusted for this read only (a joining gate)."""
    comp = require_compound(db)
    keys = {}
    removed = set()
    for row in db.execute("SELECT id, sign_key, removed_at FROM nodes").fetchall():
        if row[2] is not None:
            removed.add(row[0])
        elif row[1]:
            keys[row[0]] = public_key_from_text(row[1])
    for node, text in (extra or {}).items():
        keys[node] = public_key_from_text(text)
    return TrustList(comp.id, comp.office, keys, frozenset(removed))


def vector(db: Database) -> dict[str, int]:
    """This node's version vector: per author, the highest sequence number applied (or,
    for itself, frozen into change sets) with no gap below."""
    found = {a: int(s) for a, s in db.execute("SELECT author, seq FROM exchange_vector")}
    comp = compound(db)
    if comp is not None:
        found[comp.node] = frozen_last(db, comp.node)
    return found


def frozen_last(db: Database, author: str) -> int:
    row = db.execute("SELECT max(last) FROM change_sets WHERE author = ?", [author]).fetchone()
    return int(row[0] or 0)


def trust_gate_key(db: Database, node: Mapping[str, Any], now: datetime) -> None:
    """A gate's node key signs its visitor codes: trusted for those here (retired when
    the gate is removed)."""
    if not node.get("sign_key") or node.get("id") == get_meta(db, "checkpoint_id"):
        return
    public = public_key_from_text(node["sign_key"])
    if node.get("removed_at"):
        db.execute(
            "UPDATE keys SET retired_at = ? WHERE public_key = ? AND retired_at IS NULL",
            [to_db(now), node["sign_key"]],
        )
        return
    label = tr("visitor codes of {name}", name=node.get("name") or "")
    trust_keys(db, [TrustedKey(key_id_of(public), public, frozenset({PassKind.VISITOR}), label)])


# --- freezing this node's outbox ---------------------------------------------------------------


def _pass_id(serial: str) -> str:
    return str(uuid.uuid5(PASS_IDS, serial))


class _Shaper:
    """Turns outbox rows into change-set rows: what leaves this node (the gate's share of
    a resident; a visitor's numbers sealed for the office)."""

    def __init__(self, db: Database, comp: Compound) -> None:
        self.comp = comp
        office_box = db.execute("SELECT box_key FROM nodes WHERE id = ?", [comp.office]).fetchone()
        self.office_box = box_from_text(office_box[0]) if office_box and office_box[0] else None

    def __call__(self, kind: str, key: str, at: str, text: str) -> dict[str, Any]:
        row: dict[str, Any] = json.loads(text)
        if "kind" in row:  # a pass's own kind (resident, staff, visitor)
            row["pass_kind"] = row.pop("kind")
        row["kind"] = kind
        row.setdefault("id", key)
        row.setdefault("at", at)
        if kind in ("pass", "visitor_pass"):
            row["id"] = _pass_id(row["serial"])
        elif kind == "resident":
            self._private(row, seal=False)
        elif kind == "visitor":
            self._private(row, seal=not self.comp.is_office)
        return row

    def _private(self, row: dict[str, Any], *, seal: bool) -> None:
        number, phone = row.pop("id_number", None), row.pop("phone", None)
        if number or phone:
            row["id_hash"] = match_hash(self.comp.match_key, number)
            row["id_masked"] = mask_id_number(number) or None
            row["phone_masked"] = mask_phone(phone) or None
            if seal and self.office_box is not None:
                plain = json.dumps({"id_number": number, "phone": phone}).encode()
                row["sealed"] = seal_fields(plain, self.office_box)


_AS_IS = {"visit": False, "household": True, "hold": True, "node": True}
"""Kinds whose outbox JSON leaves the node as it is, with its kind (and, where the table
has no ``at`` column, when it happened) added: no parsing, no writing it again."""


def _row_text(shape: _Shaper, kind: str, key: str, at: str, text: str) -> bytes:
    add_at = _AS_IS.get(kind)
    if add_at is None or not text.startswith("{") or text == "{}":
        return canonical_json(shape(kind, key, at, text))
    extra = f',"kind":{json.dumps(kind)}' + (f',"at":{json.dumps(at)}' if add_at else "")
    return (text[:-1] + extra + "}").encode("utf-8")


def freeze(
    db: Database,
    comp: Compound,
    key: Ed25519PrivateKey,
    now: datetime,
    *,
    pacer: Pacer | None = None,
) -> int:
    """Sign this node's outbox rows not yet in a change set into change sets of
    :data:`SET_ROWS`: inside the caller's write transaction, or, with ``pacer``, each
    change set in a transaction of its own (a gate's scans are not held up by a day's
    worth). Returns rows frozen."""
    shape = _Shaper(db, comp)
    frozen = 0
    while True:
        with pacer.write(db) if pacer is not None else contextlib.nullcontext(db):
            done = _freeze_one(db, comp, key, now, shape)
        if not done:
            return frozen
        frozen += done


def _freeze_one(
    db: Database, comp: Compound, key: Ed25519PrivateKey, now: datetime, shape: _Shaper
) -> int:
    """The next change set of this node's outbox, signed and kept. Rows in it (0: none
    left)."""
    start = frozen_last(db, comp.node)
    batch = db.execute(
        "SELECT seq, kind, id, at, row FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?",
        [start, SET_ROWS],
    ).fetchall()
    if not batch:
        return 0
    if batch[0][0] != start + 1:
        raise RuntimeError(f"the outbox has a gap after {start}")
    rows = [_row_text(shape, kind, key_, at, text) for _, kind, key_, at, text in batch]
    line = sign_row_texts(comp.id, comp.node, start + 1, schema_version(), rows, key)
    last = start + len(rows)
    _keep_line(db, comp.node, start + 1, last, len(rows), line, applied=True, now=now)
    # frozen rows live on in their change set: no second copy of personal data
    # (the last row stays, so the next sequence number is never one used before)
    db.execute("DELETE FROM outbox WHERE seq < ?", [last])
    return len(rows)


def _keep(db: Database, change: ChangeSet, *, applied: bool, now: datetime) -> bool:
    """Keep a change set as signed. False when it was here already."""
    return _keep_line(
        db,
        change.author,
        change.first,
        change.last,
        len(change.rows),
        change.line(),
        applied=applied,
        now=now,
    )


def _keep_line(
    db: Database,
    author: str,
    first: int,
    last: int,
    rows: int,
    line: bytes,
    *,
    applied: bool,
    now: datetime,
) -> bool:
    cursor = db.execute(
        "INSERT OR IGNORE INTO change_sets (author, first, last, rows, applied, line, arrived_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [author, first, last, rows, int(applied), zlib.compress(line, 1), to_db(now)],
    )
    return cursor.rowcount > 0


def _from_line(line: bytes) -> ChangeSet:
    """A kept change set (checked when it arrived or was signed here)."""
    signature, _, text = line.rstrip(b"\n").partition(b" ")
    body = json.loads(text)
    return ChangeSet(
        body["author"],
        body["first"],
        body["last"],
        body["schema"],
        tuple(body["rows"]),
        text,
        base64.b64decode(signature),
    )


def add_as_of(
    db: Database, comp: Compound, now: datetime, rules: Mapping[str, Any] | None = None
) -> None:
    """The office's signed "data as of now" row (a gate's freshness counts from it),
    after its ``rules`` (the compound's rules, from its settings) when they changed
    since they were last sent."""
    if rules is not None:
        text = json.dumps(dict(rules), sort_keys=True, default=str)
        if text != get_meta(db, RULES_SENT):
            db.execute(
                "INSERT INTO outbox (kind, id, at, row) VALUES ('rules', ?, ?, ?)",
                [comp.id, to_db(now), json.dumps({"rules": json.loads(text)})],
            )
            set_meta(db, RULES_SENT, text)
    db.execute(
        "INSERT INTO outbox (kind, id, at, row) VALUES ('as_of', ?, ?, '{}')",
        [comp.id, to_db(now)],
    )


def office_rules(db: Database) -> dict[str, Any]:
    """The compound's rules the office sent (empty: none arrived, or the office)."""
    text = get_meta(db, RULES)
    try:
        found = json.loads(text) if text else {}
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


# --- writing a bundle ------------------------------------------------------------------------


def _reported(node: Mapping[str, Any]) -> dict[str, int]:
    try:
        found = json.loads(node.get("reported") or "{}")
        return {str(k): int(v) for k, v in found.items()}
    except (ValueError, TypeError, AttributeError):
        return {}


def lines_for(db: Database, recipient: str, reported: Mapping[str, int]) -> list[ChangeSet]:
    """Every kept change set the recipient lacks by the vector it last reported."""
    return [
        _from_line(zlib.decompress(line))
        for author, last, line in db.execute(
            "SELECT author, last, line FROM change_sets WHERE author != ? ORDER BY author, first",
            [recipient],
        ).fetchall()
        if last > reported.get(author, 0)
    ]


@dataclass(frozen=True)
class Exported:
    path: Path
    recipient: str  # its name
    change_sets: int
    rows: int
    size: int


def export_bundle(
    db: Database,
    home: Home,
    key: Ed25519PrivateKey,
    recipient_name: str,
    out: Path,
    *,
    now: datetime,
    rules: Mapping[str, Any] | None = None,
) -> Exported:
    """Write, to ``out``, a bundle sealed for the node ``recipient_name`` carrying
    everything it lacks (by the vector it last reported): this node's changes and
    those it relays. ``rules``: at the office, the compound's rules from its settings
    (``Settings.compound_rules()``), sent when they changed."""
    comp = require_compound(db)
    node = node_named(db, recipient_name)
    if node["id"] == comp.node:
        raise UserError(tr("A checkpoint does not export for itself."))
    if node["removed_at"]:
        raise UserError(tr("{name} was removed from the compound.", name=node["name"]))
    if not node["box_key"]:
        raise UserError(
            tr(
                "{name} has not sent its first bundle yet, so nothing can be sealed for it: "
                "export at {name} and import that here first.",
                name=node["name"],
            )
        )
    with write(db):
        outbox.install(db, comp.role)
        if comp.is_office:
            add_as_of(db, comp, now, rules)
    # a change set's freezing is a short transaction: a short pause between two does
    freeze(db, comp, key, now, pacer=Pacer(OFFICE_PACE.gap_s))
    with write(db):
        db.execute("UPDATE nodes SET last_export_at = ? WHERE id = ?", [to_db(now), node["id"]])
    sets = lines_for(db, node["id"], _reported(node))
    extra = _join_claim(db, comp, key, home)
    size = write_bundle(
        out,
        compound=comp.id,
        author=comp.node,
        key=key,
        change_sets=sets,
        schema=schema_version(),
        created_at=now,
        recipient=node["id"],
        recipient_box=box_from_text(node["box_key"]),
        vector=vector(db),
        extra=extra,
    )
    rows = sum(len(c.rows) for c in sets)
    log.info("exported %d change sets (%d rows) for %s to %s", len(sets), rows, node["name"], out)
    return Exported(out, node["name"], len(sets), rows, size)


def _join_claim(
    db: Database, comp: Compound, key: Ed25519PrivateKey, home: Home
) -> dict[str, Any] | None:
    """A gate whose keys the office has not confirmed names them, with a MAC under its
    enrolment code, in each bundle's header (docs/exchange.md, "Enrolment")."""
    mac_key = get_meta(db, JOIN_MAC)
    if comp.is_office or not mac_key:
        return None
    box = box_key(home)
    if box is None:
        return None
    claim = {
        "sign_key": public_key_to_text(key.public_key()),
        "box_key": box_text(box.public_key()),
    }
    return {"join": {**claim, "mac": join_mac(bytes.fromhex(mac_key), comp.node, claim)}}


def join_claim(db: Database, key: Ed25519PrivateKey, home: Home) -> dict[str, Any] | None:
    """A gate's claim to its keys, for its enrolment with the hub (None: the office has
    confirmed them already, or this is the office)."""
    found = _join_claim(db, require_compound(db), key, home)
    return dict(found["join"]) if found else None


def join_mac(mac_key: bytes, node: str, claim: Mapping[str, str]) -> str:
    message = f"gatepass-join-v1\n{node}\n{claim['sign_key']}\n{claim['box_key']}".encode()
    return hmac.new(mac_key, message, hashlib.sha256).hexdigest()


# --- applying a bundle -----------------------------------------------------------------------

_TABLES = {
    "household": ("households", "id"),
    "resident": ("residents", "id"),
    "pass": ("passes", "serial"),
    "visitor_pass": ("passes", "serial"),
    "hold": ("holds", "id"),
    "visitor": ("visitors", "id"),
    "visit": ("visits", "id"),
    "node": ("nodes", "id"),
}
_FACTS = frozenset({"visit"})
"""Kinds that never change once written: a second copy is ignored, never replaces."""


@dataclass(frozen=True)
class Imported:
    path: Path
    author: str  # the name of the node that wrote the file
    change_sets: int  # carried
    applied: int  # rows applied now (0: all here already)
    waiting: int  # change sets kept until the ones before them arrive
    joined: str | None  # the name of a gate whose keys this bundle brought


class _Applier:
    """Applies kept change sets, one change set to a transaction (a gate scanning beside
    an import waits for one change set at most, never for the whole bundle). Each
    transaction applies the change set's rows, marks it applied and moves the author's
    vector on, so a kill -9 between two leaves a consistent state that the next import
    (of anything) goes on from."""

    def __init__(self, db: Database, comp: Compound, home: Home, now: datetime) -> None:
        self.db, self.comp, self.now = db, comp, now
        self.arrived = to_db(now)
        self.box = box_key(home) if comp.is_office else None
        self._columns: dict[str, set[str]] = {}
        self._sql: dict[tuple[str, tuple[str, ...]], tuple[str, tuple[str, ...]]] = {}
        self.tx_rows = pace_of(comp).rows

    def columns(self, table: str) -> set[str]:
        if table not in self._columns:
            self._columns[table] = set(outbox.columns(self.db, table))
        return self._columns[table]

    # --- checking, before anything is written ---------------------------------------------

    def check_claims(self, change_sets: Iterable[ChangeSet]) -> None:
        """A node writes only its own passages and visitors, and a gate only visitor
        codes: a row claiming more (a gate writing another's passages, or "reviving" a
        resident's revoked pass as a visitor code) refuses the whole bundle, before
        anything of it is written."""
        for change in change_sets:
            for row in change.rows:
                self._check_claim(change.author, row["kind"], row)

    def _check_claim(self, author: str, kind: str, row: Mapping[str, Any]) -> None:
        wrong = False
        if kind == "visit":
            wrong = row.get("checkpoint_id") != author
        elif kind == "visitor":  # and not another node's visitor under the same id
            held = self.db.execute(
                "SELECT checkpoint_id FROM visitors WHERE id = ?", [row.get("id")]
            ).fetchone()
            wrong = row.get("checkpoint_id") != author or (held is not None and held[0] != author)
        elif kind == "visitor_pass":  # a visitor code of this node's own visitors only
            held = self.db.execute(
                "SELECT p.kind, v.checkpoint_id FROM passes p "
                "LEFT JOIN visitors v ON v.id = p.visitor_id WHERE p.serial = ?",
                [row.get("serial")],
            ).fetchone()
            wrong = row.get("pass_kind") != "visitor" or (
                held is not None and (held[0] != "visitor" or held[1] != author)
            )
        if wrong:
            name = self.db.execute("SELECT name FROM nodes WHERE id = ?", [author]).fetchone()
            raise _refused_row(kind, name[0] if name else author)

    # --- applying ----------------------------------------------------------------------------

    def catch_up_all(self, given: Mapping[tuple[str, int], ChangeSet], gap_s: float) -> int:
        """Every author with change sets waiting here: the office first (a gate's rows
        may name households and residents it wrote). Rows applied."""
        authors = [
            r[0]
            for r in self.db.execute(
                "SELECT DISTINCT author FROM change_sets WHERE applied = 0"
            ).fetchall()
        ]
        authors.sort(key=lambda a: (a != self.comp.office, a))
        pacer = Pacer(gap_s)
        if self.db.conn.in_transaction:  # inside a caller's transaction (joining)
            return sum(self.catch_up(author, given, pacer) for author in authors)
        # Each change set's commit skips its fsync; the last commit below makes them all
        # durable at once (WAL: a synced commit syncs every frame before it). A crash
        # before then loses only applied change sets, which the next import applies
        # again: the author still holds them, and this node's vector says what it lacks.
        self.db.execute("PRAGMA synchronous = NORMAL")
        try:
            applied = sum(self.catch_up(author, given, pacer) for author in authors)
        finally:
            self.db.execute("PRAGMA synchronous = FULL")
        with write(self.db):
            set_meta(self.db, LAST_IMPORT, self.arrived)
        return applied

    def catch_up(
        self, author: str, given: Mapping[tuple[str, int], ChangeSet], pacer: Pacer
    ) -> int:
        """Apply the author's kept change sets in order from its vector, up to
        ``self.tx_rows`` rows to a transaction (a change set may be split: the vector
        says how far it is applied). Rows applied."""
        applied = 0
        while True:
            taken = 0
            with pacer.write(self.db):
                set_meta(self.db, outbox.APPLYING, "1")
                while taken < self.tx_rows:
                    seq = self._vector(author)
                    row = self.db.execute(
                        "SELECT first, last, line FROM change_sets WHERE author = ? "
                        "AND applied = 0 AND first <= ? ORDER BY first LIMIT 1",
                        [author, seq + 1],
                    ).fetchone()
                    if row is None:
                        break
                    first, last, line = row
                    change = given.get((author, first))
                    if change is None and last > seq:
                        change = _from_line(zlib.decompress(line))
                    done = self._apply_part(author, first, last, seq, change, self.tx_rows - taken)
                    applied += done
                    taken += max(done, 1)
                self.db.execute("DELETE FROM meta WHERE key = ?", [outbox.APPLYING])
            if taken == 0:
                return applied

    def _apply_part(
        self,
        author: str,
        first: int,
        last: int,
        seq: int,
        change: ChangeSet | None,
        room: int,
    ) -> int:
        """Up to ``room`` rows of one change set above ``seq``, in the caller's
        transaction; the change set is marked applied once its last row is."""
        rows: list[tuple[int, Mapping[str, Any]]] = []
        upto = min(last, seq + room)
        if change is not None and last > seq:
            rows = [(first + i, r) for i, r in enumerate(change.rows) if seq < first + i <= upto]
            self.apply_rows(author, rows)
        if upto >= last:
            self.db.execute(
                "UPDATE change_sets SET applied = 1 WHERE author = ? AND first = ?",
                [author, first],
            )
        if upto > seq:
            newest = max((r["at"] for _, r in rows if isinstance(r.get("at"), str)), default=None)
            self.db.execute(
                "INSERT INTO exchange_vector (author, seq, arrived_at, newest_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT(author) DO UPDATE SET seq = excluded.seq, "
                "arrived_at = excluded.arrived_at, "
                "newest_at = max(coalesce(newest_at, ''), coalesce(excluded.newest_at, ''))",
                [author, upto, self.arrived, newest],
            )
        return len(rows)

    def _vector(self, author: str) -> int:
        row = self.db.execute(
            "SELECT seq FROM exchange_vector WHERE author = ?", [author]
        ).fetchone()
        return int(row[0]) if row else 0

    def apply_rows(self, author: str, rows: Sequence[tuple[int, Mapping[str, Any]]]) -> None:
        """Rows in order; runs of rows that go to one table with the same columns are
        written with one ``executemany`` (a day of passages is a few statements)."""
        batch: list[tuple[Any, ...]] = []
        batch_sql: str | None = None
        arrivals = []
        for seq, row in rows:
            kind = row["kind"]
            if kind != "visit":  # a passage keeps its arrival in its own row
                arrivals.append((kind, str(row["id"]), author, seq, self.arrived))
            sql, values = self._prepared(author, kind, dict(row))
            if sql != batch_sql and batch and batch_sql is not None:
                self.db.conn.executemany(batch_sql, batch)
                batch = []
            batch_sql = sql
            if sql is not None and values is not None:
                batch.append(values)
        if batch and batch_sql is not None:
            self.db.conn.executemany(batch_sql, batch)
        self.db.conn.executemany(
            "INSERT OR REPLACE INTO arrivals (kind, id, author, seq, arrived_at) "
            "VALUES (?, ?, ?, ?, ?)",
            arrivals,
        )

    def _prepared(
        self, author: str, kind: str, row: dict[str, Any]
    ) -> tuple[str | None, tuple[Any, ...] | None]:
        """(SQL, values) that store one row, or (None, None) for a row stored otherwise
        (the office's "as of" and rules, this node's own node row) or not at all (a
        newer schema's kind: its change set is kept and relayed)."""
        if kind == "as_of":
            if author == self.comp.office and (get_meta(self.db, AS_OF) or "") < row["at"]:
                set_meta(self.db, AS_OF, row["at"])
            return None, None
        if kind == "rules":
            if author == self.comp.office and isinstance(row.get("rules"), dict):
                set_meta(self.db, RULES, json.dumps(row["rules"], sort_keys=True))
            return None, None
        if kind not in _TABLES:
            log.info("a %s row from %s is not known to this Gatepass", kind, author)
            return None, None
        table, key = _TABLES[kind]
        if kind == "visitor":
            self._open_visitor(row)
        if kind == "node" and not self._node(row):
            return None, None
        if kind in ("pass", "visitor_pass"):
            row.pop("id", None)
            row["kind"] = row.pop("pass_kind", None)
        else:
            row.pop("kind", None)
        if kind == "visit":
            row["arrived_at"] = self.arrived
        # one statement per (table, the row's fields in their order): the fields
        # this database has, bound by position
        shape = (table, tuple(row))
        found = self._sql.get(shape)
        if found is None:
            known = self.columns(table)
            kept = tuple(n for n in row if n in known)
            head = f"INSERT INTO {table} ({', '.join(kept)}) VALUES ({', '.join('?' * len(kept))}) "
            if kind in _FACTS:
                sql = head + f"ON CONFLICT({key}) DO NOTHING"
            else:
                sets = ", ".join(f"{n} = excluded.{n}" for n in kept if n != key)
                sql = head + f"ON CONFLICT({key}) DO UPDATE SET {sets}"
            found = self._sql[shape] = (sql, kept)
        sql, kept = found
        return sql, tuple(row[n] for n in kept)

    def _open_visitor(self, row: dict[str, Any]) -> None:
        sealed = row.pop("sealed", None)
        if sealed and self.box is not None:
            opened = open_fields(sealed, self.box)
            if opened is not None:
                fields = json.loads(opened)
                row["id_number"], row["phone"] = fields.get("id_number"), fields.get("phone")

    def _node(self, row: dict[str, Any]) -> bool:
        """Trust (or distrust) a node's keys; False for this node's own row, which
        changes nothing here but the end of its join claims and a removal."""
        if row.get("id") == self.comp.node:
            if row.get("sign_key"):  # the office has our keys: no more join claims
                self.db.execute("DELETE FROM meta WHERE key = ?", [JOIN_MAC])
            if row.get("removed_at"):
                self.db.execute(
                    "UPDATE nodes SET removed_at = ? WHERE id = ?", [row["removed_at"], row["id"]]
                )
            return False
        row.setdefault("enrolled_at", row.get("at"))
        trust_gate_key(self.db, row, self.now)
        return True


def _refused_row(kind: str, author: str) -> BundleRefused:
    text = tr(
        "The exchange bundle carries records {node} may not write ({kind}). "
        "Nothing of it was imported.",
        node=author,
        kind=kind,
    )
    return BundleRefused(Refusal.NOT_ALLOWED, text, f"{kind} claimed by {author}")


def import_bundle(
    db: Database, home: Home, path: Path, *, now: datetime, gap_s: float | None = None
) -> Imported:
    """Check the bundle at ``path`` whole (or refuse it: ``BundleRefused``, nothing
    written), keep its change sets (one transaction), then apply what this node lacks
    at this node's :class:`Pace` (``gap_s`` overrides its pause; the gate's scans get
    the database in between)."""
    comp = require_compound(db)
    joining = _joining(db, comp, path)
    bundle = read_bundle(
        path,
        trust_list(db, {joining["id"]: joining["sign_key"]} if joining else None),
        comp.node,
        box_key(home),
    )
    applied, waiting = apply_change_sets(
        db, comp, home, bundle.change_sets, now, joining=joining, writer=bundle, gap_s=gap_s
    )
    writer = db.execute("SELECT name FROM nodes WHERE id = ?", [bundle.author]).fetchone()
    name = writer[0] if writer else bundle.author
    log.info(
        "imported %s from %s: %d change sets, %d rows applied, %d waiting",
        path,
        name,
        len(bundle.change_sets),
        applied,
        waiting,
    )
    return Imported(
        path,
        name,
        len(bundle.change_sets),
        applied,
        waiting,
        joining["name"] if joining else None,
    )


def apply_change_sets(
    db: Database,
    comp: Compound,
    home: Home,
    change_sets: Sequence[ChangeSet],
    now: datetime,
    *,
    joining: Mapping[str, Any] | None = None,
    writer: Bundle | None = None,
    gap_s: float | None = None,
) -> tuple[int, int]:
    """Check every row's claim, keep the change sets (with the joining gate's keys and
    what the writer reported holding, one transaction), then apply, per author in order,
    what this node lacks. Returns (rows applied, change sets waiting for ones before
    them)."""
    applier = _Applier(db, comp, home, now)
    mine = [c for c in change_sets if c.author != comp.node]  # our own, relayed back: no
    applier.check_claims(mine)
    with write(db):
        for change in mine:
            _keep(db, change, applied=False, now=now)
        if joining is not None:
            _confirm_join(db, joining, now)
        if writer is not None:
            _note_writer(db, writer, now)
    given = {(c.author, c.first): c for c in mine}
    applied = applier.catch_up_all(given, pace_of(comp).gap_s if gap_s is None else gap_s)
    waiting = db.execute("SELECT count(*) FROM change_sets WHERE applied = 0").fetchone()[0]
    return applied, int(waiting)


def _note_writer(db: Database, bundle: Bundle, now: datetime) -> None:
    row = db.execute("SELECT reported FROM nodes WHERE id = ?", [bundle.author]).fetchone()
    if row is None:
        return
    reported = _reported({"reported": row[0]})
    for author, seq in bundle.vector.items():
        reported[author] = max(reported.get(author, 0), seq)
    db.execute(
        "UPDATE nodes SET last_import_at = ?, reported = ? WHERE id = ?",
        [to_db(now), json.dumps(reported, sort_keys=True), bundle.author],
    )


def _joining(db: Database, comp: Compound, path: Path) -> dict[str, Any] | None:
    """At the office: the gate whose first bundle this is, its keys checked against its
    enrolment code; else None."""
    if not comp.is_office:
        return None
    head = peek_header(path)
    return check_join_claim(db, head.get("author"), head.get("join"))


def check_join_claim(db: Database, author: Any, claim: Any) -> dict[str, Any] | None:
    """At the office: a gate's claim to its keys (from its bundle's header, or relayed
    by the hub), checked against its enrolment code; None when it is not one to
    confirm (unknown, already joined, removed); ``BundleRefused`` when it is forged."""
    if not isinstance(claim, dict) or not isinstance(author, str):
        return None
    row = db.execute(
        "SELECT id, name, sign_key, join_secret, removed_at FROM nodes WHERE id = ?", [author]
    ).fetchone()
    if row is None or row[2] or not row[3] or row[4]:
        return None  # unknown, already joined, or removed: read_bundle says which
    try:
        fields = {"sign_key": str(claim["sign_key"]), "box_key": str(claim["box_key"])}
        public_key_from_text(fields["sign_key"])
        box_from_text(fields["box_key"])
        good = hmac.compare_digest(
            join_mac(bytes.fromhex(row[3]), author, fields), str(claim.get("mac", ""))
        )
    except (KeyError, ValueError, UserError):
        good = False
    if not good:
        raise BundleRefused(
            Refusal.TAMPERED,
            tr(
                "The first bundle of {name} does not carry the keys of its enrolment. "
                "Nothing of it was imported.",
                name=row[1],
            ),
            "join claim",
        )
    return {"id": author, "name": row[1], **fields}


def confirm_join(db: Database, joining: Mapping[str, Any], now: datetime) -> None:
    """Trust a gate's keys checked by :func:`check_join_claim` (one transaction)."""
    with write(db):
        _confirm_join(db, joining, now)


def _confirm_join(db: Database, joining: Mapping[str, Any], now: datetime) -> None:
    # not the applier's: the office writes this node row (triggers on)
    db.execute(
        "UPDATE nodes SET sign_key = ?, box_key = ?, joined_at = ?, join_secret = NULL "
        "WHERE id = ?",
        [joining["sign_key"], joining["box_key"], to_db(now), joining["id"]],
    )
    trust_gate_key(db, {**joining, "removed_at": None}, now)


# --- what the screens and `exchange nodes` show ----------------------------------------------


@dataclass(frozen=True)
class Freshness:
    """How old this gate's office data is (docs/exchange.md, "Freshness")."""

    as_of: datetime | None  # the newest office "as of" applied here
    age: timedelta | None
    level: str  # "fresh", "amber", "red" (or "none": no office data, or the office itself)

    def as_json(self) -> dict[str, Any]:
        return {
            "as_of": to_db(self.as_of) if self.as_of else None,
            "age_s": round(self.age.total_seconds()) if self.age is not None else None,
            "level": self.level,
        }


def freshness(db: Database, now: datetime, amber: timedelta) -> Freshness:
    """How old this node's office data is: "none" at the office or a lone checkpoint;
    red when no office data has arrived yet."""
    comp = compound(db)
    if comp is None or comp.is_office:
        return Freshness(None, None, "none")
    return office_data_age(db, now, amber)


def office_data_age(db: Database, now: datetime, amber: timedelta) -> Freshness:
    """The age of the newest office "as of" applied here (one look at ``meta``: cheap
    enough for every verdict)."""
    text = get_meta(db, AS_OF)
    if text is None:
        return Freshness(None, None, "red")
    as_of = from_db(text)
    age = max(now - as_of, timedelta(0))
    level = "red" if age >= RED_AGE else "amber" if age >= amber else "fresh"
    return Freshness(as_of, age, level)


@dataclass(frozen=True)
class NodeNews:
    id: str
    name: str
    role: str
    removed: bool
    last_news: datetime | None  # the newest time among its rows applied here
    last_import: datetime | None  # when a bundle it wrote was last imported here
    last_export: datetime | None  # when a bundle for it was last written here
    outstanding: int | None  # this node's passages it does not hold yet (None: unknown)


def news(db: Database) -> list[NodeNews]:
    """Every node but this one: what this node has heard from it, and what it lacks."""
    comp = require_compound(db)
    mine = (
        frozen_last(db, comp.node)
        + db.execute(
            "SELECT count(*) FROM outbox WHERE seq > ?", [frozen_last(db, comp.node)]
        ).fetchone()[0]
    )
    found = []
    for node in nodes(db):
        if node["id"] == comp.node:
            continue
        heard = db.execute(
            "SELECT newest_at FROM exchange_vector WHERE author = ?", [node["id"]]
        ).fetchone()
        known = _reported(node).get(comp.node)
        found.append(
            NodeNews(
                node["id"],
                node["name"],
                node["role"],
                node["removed_at"] is not None,
                from_db(heard[0]) if heard and heard[0] else None,
                from_db(node["last_import_at"]) if node["last_import_at"] else None,
                from_db(node["last_export_at"]) if node["last_export_at"] else None,
                None if known is None and node["last_import_at"] is None else mine - (known or 0),
            )
        )
    return found


def remove_node(db: Database, name: str, *, now: datetime) -> dict[str, Any]:
    """Distrust a node everywhere from the next exchange (a stolen laptop)."""
    comp = require_compound(db)
    if not comp.is_office:
        raise UserError(tr("Only the office removes a checkpoint from the compound."))
    node = node_named(db, name)
    if node["id"] == comp.node:
        raise UserError(tr("The office cannot remove itself."))
    if node["removed_at"] is None:
        with write(db):
            db.execute("UPDATE nodes SET removed_at = ? WHERE id = ?", [to_db(now), node["id"]])
            trust_gate_key(db, {**node, "removed_at": to_db(now)}, now)
    return node


def random_code() -> str:
    """A one-time enrolment code: 10 Crockford Base32 characters (50 bits) in two groups."""
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    text = "".join(secrets.choice(alphabet) for _ in range(10))
    return f"{text[:5]}-{text[5:]}"


def prune(db: Database, before: str) -> int:
    """Retention for the exchange (inside the caller's write transaction): forget kept
    change sets that arrived before ``before`` and that every other node still in the
    compound has reported holding, and arrival times before ``before``. A node that
    has not caught up keeps what it lacks. Change sets pruned."""
    comp = compound(db)
    if comp is None:
        return 0
    others = [_reported(n) for n in nodes(db) if n["id"] != comp.node and n["removed_at"] is None]
    gone = 0
    # each author's newest change set stays: it says how far that author's numbers go
    for author, first, last in db.execute(
        "SELECT author, first, last FROM change_sets c WHERE arrived_at < ? AND applied = 1 "
        "AND last < (SELECT max(last) FROM change_sets n WHERE n.author = c.author)",
        [before],
    ).fetchall():
        if all(r.get(author, 0) >= last for r in others):
            db.execute("DELETE FROM change_sets WHERE author = ? AND first = ?", [author, first])
            gone += 1
    db.execute("DELETE FROM arrivals WHERE arrived_at < ?", [before])
    return gone


# --- one exchange through a folder (a USB stick) ------------------------------------------------

BUNDLE_SUFFIX = ".gpbundle"


@dataclass(frozen=True)
class FolderExchange:
    """What one exchange through a folder did."""

    imported: tuple[Imported, ...]
    refused: tuple[tuple[Path, str], ...]  # a bundle for this node that was refused, and why
    exported: tuple[Exported, ...]


def bundle_file_name(recipient: str, now: datetime) -> str:
    safe = "".join(ch if ch.isalnum() else "-" for ch in recipient) or "node"
    return f"gatepass-for-{safe}-{local(now):%Y%m%d-%H%M%S}{BUNDLE_SUFFIX}"


def recipients(db: Database) -> list[str]:
    """The names of the nodes this node writes bundles for in an exchange: at the office
    every gate that has sent its first bundle and is not removed; at a gate, the office."""
    comp = require_compound(db)
    if not comp.is_office:
        return [node_named(db, comp.office)["name"]]
    return [
        n["name"]
        for n in nodes(db)
        if n["id"] != comp.node and not n["removed_at"] and n["box_key"]
    ]


def exchange_folder(
    db: Database,
    home: Home,
    key: Ed25519PrivateKey,
    folder: Path,
    *,
    now: datetime,
    rules: Mapping[str, Any] | None = None,
) -> FolderExchange:
    """One exchange through ``folder`` (a USB stick): import every bundle there that is
    sealed for this node (others' are left for their recipients; importing one again
    changes nothing), then write a bundle for each of :func:`recipients` there."""
    comp = require_compound(db)
    imported: list[Imported] = []
    refused: list[tuple[Path, str]] = []
    for path in sorted(folder.glob(f"*{BUNDLE_SUFFIX}")):
        try:
            head = peek_header(path)
        except BundleRefused as exc:
            refused.append((path, str(exc)))
            continue
        if head.get("recipient") != comp.node or head.get("author") == comp.node:
            continue
        try:
            imported.append(import_bundle(db, home, path, now=now))
        except UserError as exc:
            refused.append((path, str(exc)))
    exported = [
        export_bundle(
            db, home, key, name, folder / bundle_file_name(name, now), now=now, rules=rules
        )
        for name in recipients(db)
    ]
    return FolderExchange(tuple(imported), tuple(refused), tuple(exported))
