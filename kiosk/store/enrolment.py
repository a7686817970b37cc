"""Founding a compound at the office, enrolling a gate, and a gate joining with its
enrolment file (docs/exchange.md, "Enrolment").

The enrolment file is not a bundle (the new gate has no keys yet to seal one for). It
is, big-endian::

    magic "GPENROL1" · version (2 bytes) · header length (4) · header (JSON: compound,
    node, name, office, office_key, salt, created) · body length (4) · body · signature
    (64 bytes, Ed25519 by the office's issuer key over everything before it)

The body is zlib of a JSON payload (the compound's match key, every node's public keys,
the office's change sets as signed), sealed with ChaCha20-Poly1305 under a key that
scrypt derives from a one-time enrolment code shown on the office's screen (a lost
file is nothing without the code). The same derivation gives the MAC key with which
the gate's first bundle proves that the keys it names are the enrolled gate's.
"""

from __future__ import annotations

import json
import secrets
import struct
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from sqlite_utils import Database

from kiosk.core.atomic import whole_file
from kiosk.core.bundle import NONCE, BundleRefused, TrustList, canonical_json, check_line
from kiosk.core.clock import to_db
from kiosk.core.errors import UserError
from kiosk.core.i18n import tr
from kiosk.core.ids import uuid7
from kiosk.core.keys import (
    TrustedKey,
    key_id_of,
    load_private_key,
    public_key_from_text,
    public_key_to_text,
)
from kiosk.core.passes import PassKind
from kiosk.home import Home
from kiosk.store import outbox
from kiosk.store.checkpoint import (
    checkpoint_id,
    checkpoint_name,
    create_checkpoint,
    set_meta,
    trust_keys,
)
from kiosk.store.db import connect, write
from kiosk.store.exchange import (
    AS_OF,
    COMPOUND,
    JOIN_MAC,
    MATCH_KEY,
    OFFICE,
    ROLE,
    Compound,
    add_as_of,
    apply_change_sets,
    box_text,
    compound,
    freeze,
    make_box_key,
    random_code,
    trust_gate_key,
    vector,
)

MAGIC = b"GPENROL1"
VERSION = 1
_PREFIX = struct.Struct(">8sHI")
_LEN = struct.Struct(">I")
_SCRYPT_N = 2**15
_MAX_FILE = 256 * 1024 * 1024
_MAX_BODY = 1024 * 1024 * 1024
_NODE_FIELDS = ("id", "name", "role", "sign_key", "box_key", "enrolled_at", "removed_at")


def _secrets(code: str, salt: bytes) -> tuple[bytes, bytes]:
    """(seal key, MAC key) from the enrolment code."""
    text = "".join(code.upper().split()).replace("-", "").replace("O", "0").replace("I", "1")
    derived = Scrypt(salt=salt, length=64, n=_SCRYPT_N, r=8, p=1).derive(text.encode("utf-8"))
    return derived[:32], derived[32:]


def found_compound(
    db: Database,
    home: Home,
    key: Ed25519PrivateKey,
    *,
    now: datetime,
    compound_id: str | None = None,
) -> Compound:
    """Make this checkpoint the office of a new compound (once): the compound id (a new
    one, or ``compound_id`` when a hub has already accepted it), the match key, the box
    key, the office as the first node, and its outbox holding the register as it stands
    (so a gate's enrolment carries all of it)."""
    existing = compound(db)
    if existing is not None:
        if not existing.is_office:
            raise UserError(
                tr("This checkpoint is a gate of a compound: enrol gates at the office.")
            )
        return existing
    box = make_box_key(home)
    me = checkpoint_id(db)
    with write(db):
        set_meta(db, COMPOUND, compound_id or uuid7())
        set_meta(db, ROLE, "office")
        set_meta(db, OFFICE, me)
        set_meta(db, MATCH_KEY, secrets.token_hex(32))
        db.execute(
            "INSERT INTO nodes (id, name, role, sign_key, box_key, enrolled_at, joined_at) "
            "VALUES (?, ?, 'office', ?, ?, ?, ?)",
            [
                me,
                checkpoint_name(db) or tr("office"),
                public_key_to_text(key.public_key()),
                box_text(box.public_key()),
                to_db(now),
                to_db(now),
            ],
        )
        outbox.backfill(db, "office")
        outbox.install(db, "office")
    found = compound(db)
    assert found is not None
    return found


@dataclass(frozen=True)
class Enrolment:
    node: str
    name: str
    code: str  # shown once, typed at the gate
    path: Path
    size: int
    fingerprint: str  # the office key's id, to compare on the gate's screen


def enrol_gate(
    db: Database,
    home: Home,
    key: Ed25519PrivateKey,
    name: str,
    out: Path,
    *,
    now: datetime,
    rules: Mapping[str, Any] | None = None,
) -> Enrolment:
    """Enrol a new gate called ``name``: its node, and its enrolment file at ``out``
    (with the compound's ``rules``, as :func:`kiosk.store.exchange.export_bundle`)."""
    name = name.strip()
    if not name:
        raise UserError(tr("Give the gate a name."))
    comp = found_compound(db, home, key, now=now)
    if db.execute("SELECT 1 FROM nodes WHERE name = ?", [name]).fetchone():
        raise UserError(tr("A checkpoint called {name} is enrolled already.", name=name))
    code, salt, node = random_code(), secrets.token_bytes(16), uuid7()
    seal, mac = _secrets(code, salt)
    with write(db):
        outbox.install(db, "office")
        db.execute(
            "INSERT INTO nodes (id, name, role, enrolled_at, join_secret) "
            "VALUES (?, ?, 'gate', ?, ?)",
            [node, name, to_db(now), mac.hex()],
        )
        add_as_of(db, comp, now, rules)
        freeze(db, comp, key, now)
        held = vector(db)
        db.execute(
            "UPDATE nodes SET reported = ?, last_export_at = ? WHERE id = ?",
            [json.dumps(held, sort_keys=True), to_db(now), node],
        )
    lines = [
        zlib.decompress(line).rstrip(b"\n").decode("utf-8")
        for (line,) in db.execute(
            "SELECT line FROM change_sets ORDER BY author = ?, author, first", [comp.office]
        )
    ]
    office = {k: v for k, v in _node_rows(db)[comp.node].items()}
    payload = {
        "match_key": comp.match_key.hex(),
        "office": office,
        "nodes": [n for n in _node_rows(db).values()],
        "lines": lines,
        "vector": held,
    }
    header = {
        "compound": comp.id,
        "node": node,
        "name": name,
        "office": comp.node,
        "office_key": public_key_to_text(key.public_key()),
        "salt": salt.hex(),
        "created": to_db(now),
    }
    head = canonical_json(header)
    start = _PREFIX.pack(MAGIC, VERSION, len(head)) + head
    body = ChaCha20Poly1305(seal).encrypt(
        NONCE, zlib.compress(json.dumps(payload).encode(), 6), start
    )
    signed = start + _LEN.pack(len(body)) + body
    data = signed + key.sign(signed)
    with whole_file(out, private=True) as temp:
        temp.write_bytes(data)
    return Enrolment(node, name, code, out, len(data), key_id_of(key.public_key()))


def _node_rows(db: Database) -> dict[str, dict[str, Any]]:
    return {
        row["id"]: {k: row[k] for k in _NODE_FIELDS}
        for row in db.query(f"SELECT {', '.join(_NODE_FIELDS)} FROM nodes ORDER BY enrolled_at")
    }


@dataclass(frozen=True)
class Opened:
    header: Mapping[str, Any]
    payload: Mapping[str, Any]
    mac_key: bytes
    fingerprint: str


def _damaged() -> UserError:
    return UserError(tr("This is not a Gatepass enrolment file, or it is damaged."))


def open_enrolment(path: Path, code: str) -> Opened:
    """The enrolment file at ``path``, checked (the office's signature) and opened with
    ``code``; a clear error otherwise."""
    try:
        if path.stat().st_size > _MAX_FILE:
            raise _damaged()
        data = path.read_bytes()
    except OSError as exc:
        raise UserError(
            tr("Cannot read {path}: {reason}", path=path, reason=exc.strerror or exc)
        ) from None
    if len(data) < _PREFIX.size or data[:8] != MAGIC:
        raise _damaged()
    _, version, hlen = _PREFIX.unpack_from(data)
    if version != VERSION:
        raise _damaged()
    at = _PREFIX.size + hlen
    if len(data) < at + _LEN.size + 64:
        raise _damaged()
    (blen,) = _LEN.unpack_from(data, at)
    end = at + _LEN.size + blen
    if len(data) != end + 64:
        raise _damaged()
    try:
        header = json.loads(data[_PREFIX.size : at])
        office_key = public_key_from_text(str(header["office_key"]))
        office_key.verify(data[end:], data[:end])
        salt = bytes.fromhex(str(header["salt"]))
    except (ValueError, KeyError, TypeError, InvalidSignature, UserError):
        raise _damaged() from None
    seal, mac = _secrets(code, salt)
    try:
        packed = ChaCha20Poly1305(seal).decrypt(NONCE, data[at + _LEN.size : end], data[:at])
    except InvalidTag:
        raise UserError(
            tr(
                "The enrolment code does not open this enrolment file: "
                "check it on the office's screen."
            )
        ) from None
    unpacker = zlib.decompressobj()
    payload = json.loads(unpacker.decompress(packed, _MAX_BODY))
    return Opened(header, payload, mac, key_id_of(office_key))


def join(home: Home, path: Path, code: str, *, now: datetime, actor: str) -> Opened:
    """Make this computer the gate the enrolment file at ``path`` was written for: its
    checkpoint (public keys only: the issuer key never leaves the office), its box key,
    the compound's nodes and keys, and the office's register applied."""
    opened = open_enrolment(path, code)
    header, payload = opened.header, opened.payload
    create_checkpoint(home, str(header["name"]), issuer=False, actor=actor)
    box = make_box_key(home)
    db = connect(home.database)
    try:
        me, office = str(header["node"]), str(header["office"])
        nodes = {str(n["id"]): n for n in payload["nodes"]}
        trusted = TrustList(
            str(header["compound"]),
            office,
            {i: public_key_from_text(n["sign_key"]) for i, n in nodes.items() if n.get("sign_key")},
            frozenset(i for i, n in nodes.items() if n.get("removed_at")),
        )
        try:
            change_sets = [
                check_line(line.encode("utf-8"), trusted.compound, trusted)
                for line in payload["lines"]
            ]
        except BundleRefused as exc:
            raise UserError(str(exc)) from None
        with write(db):
            set_meta(db, "checkpoint_id", me)
            set_meta(db, COMPOUND, trusted.compound)
            set_meta(db, ROLE, "gate")
            set_meta(db, OFFICE, office)
            set_meta(db, MATCH_KEY, str(payload["match_key"]))
            set_meta(db, JOIN_MAC, opened.mac_key.hex())
            db.execute("DELETE FROM meta WHERE key = ?", [AS_OF])
            issuer = public_key_from_text(str(header["office_key"]))
            trust_keys(
                db,
                [TrustedKey(key_id_of(issuer), issuer, frozenset(PassKind), nodes[office]["name"])],
            )
            for node in nodes.values():
                row = {k: node.get(k) for k in _NODE_FIELDS}
                if row["id"] == me:
                    continue
                db.table("nodes").insert(row)
            gate = load_private_key(home.gate_key, None)
            db.table("nodes").insert(
                {
                    "id": me,
                    "name": str(header["name"]),
                    "role": "gate",
                    "sign_key": public_key_to_text(gate.public_key()),
                    "box_key": box_text(box.public_key()),
                    "enrolled_at": str(header["created"]),
                    "joined_at": to_db(now),
                }
            )
            db.execute(
                "UPDATE nodes SET reported = ? WHERE id = ?",
                [json.dumps(payload.get("vector", {}), sort_keys=True), office],
            )
            outbox.install(db, "gate")
            comp = compound(db)
            assert comp is not None
            apply_change_sets(db, comp, home, change_sets, now, gap_s=0)
            for node in nodes.values():
                if node.get("role") == "gate":
                    trust_gate_key(db, node, now)
    finally:
        db.close()
    return opened


__all__ = ["Enrolment", "Opened", "enrol_gate", "found_compound", "join", "open_enrolment"]
