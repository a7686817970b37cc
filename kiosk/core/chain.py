"""The visit log's hash chain and its signed anchors: encoding, hashing, signing. Pure
(no database, no files); the store keeps the chain (``kiosk.store.chain``) and the
anchor file (``kiosk.store.anchors``). See docs/chain.md.

Each visit row carries ``seq`` (its place in the log: 1, 2, 3, ... as recorded) and
``chain = SHA-256(previous chain || encode(seq, row))``; the first row's previous chain
is :data:`GENESIS`. An anchor is the checkpoint's signed statement "the log held
``seq`` passages, the last one ``visit``, its chain ``head``, at ``at``": a line of
JSON in a file outside the database, signed with the checkpoint's own Ed25519 key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from kiosk.core.clock import from_db, to_db
from kiosk.core.keys import key_id_of

FIELDS: tuple[str, ...] = (
    "id",
    "at",
    "checkpoint_id",
    "direction",
    "subject_kind",
    "resident_id",
    "visitor_id",
    "household_id",
    "pass_serial",
    "level",
    "reason",
    "reasons",
    "temperature",
    "guard",
    "plate",
    "source",
    "note",
    "corrects",
)
"""A visit's recorded fields, in the order they are encoded. Adding a column to
``visits`` that matters means a new encoding version (:data:`ROW_MAGIC`)."""

REAL_FIELDS = frozenset({"temperature"})
ROW_MAGIC = b"gatepass-visit-v1\x00"
GENESIS = hashlib.sha256(b"gatepass-visit-chain-v1").digest()
"""The "previous chain" of a log's first row."""

ANCHOR_FORMAT = "gatepass-anchor"
ANCHOR_VERSION = 1
_SIGNED_PREFIX = b"gatepass-anchor-v1\n"
ANCHOR_KEYS = ("format", "v", "kind", "checkpoint", "seq", "visit", "head", "at", "lost", "key")
"""An anchor line's fields besides ``sig``; all of them are signed."""


def normalize(row: Mapping[str, Any]) -> dict[str, Any]:
    """The row's recorded fields as SQLite will give them back: text or ``None``, and a
    real number (float; NaN, which SQLite stores as NULL, is ``None``) for the
    temperature. Insert exactly these values, so what is hashed is what is stored.
    Raises ``TypeError`` for anything else."""
    out: dict[str, Any] = {}
    for name in FIELDS:
        value = row.get(name)
        if value is None:
            out[name] = None
        elif name in REAL_FIELDS:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise TypeError(f"visit field {name} must be a number, not {type(value)}")
            out[name] = None if math.isnan(value) else float(value)
        elif isinstance(value, str):
            out[name] = value
        else:
            raise TypeError(f"visit field {name} must be text, not {type(value).__name__}")
    return out


_LENGTH = struct.Struct(">I").pack
_REAL = struct.Struct(">d").pack


def encode(seq: int, row: Mapping[str, Any]) -> bytes:
    """The canonical bytes of one visit row at place ``seq``: every field of
    :data:`FIELDS` in order, each tagged (0 none, 1 text, 2 real) and text
    length-prefixed, so no two different rows encode alike. ``row`` as :func:`normalize`
    gives it."""
    return encode_values(seq, [row[name] for name in FIELDS])


def encode_values(seq: int, values: Sequence[Any]) -> bytes:
    """:func:`encode` of the values of :data:`FIELDS`, in that order (as a row read
    with those columns gives them)."""
    if seq < 1:
        raise ValueError("seq starts at 1")
    if len(values) != len(FIELDS):
        raise ValueError("one value for each field")
    parts = [ROW_MAGIC, seq.to_bytes(8, "big")]
    add = parts.append
    for value in values:
        if value is None:
            add(b"\x00")
        elif value.__class__ is str:
            data = value.encode("utf-8")
            add(b"\x01")
            add(_LENGTH(len(data)))
            add(data)
        elif value.__class__ is float:
            add(b"\x02")
            add(_REAL(value))
        else:
            raise TypeError(f"not a value of a visit: {type(value).__name__}")
    return b"".join(parts)


def link(previous: bytes, seq: int, row: Mapping[str, Any]) -> bytes:
    """The chain value of the row at ``seq`` after a row whose chain is ``previous``."""
    return hashlib.sha256(previous + encode(seq, row)).digest()


def link_values(previous: bytes, seq: int, values: Sequence[Any]) -> bytes:
    """:func:`link` of the values of :data:`FIELDS` in order."""
    return hashlib.sha256(previous + encode_values(seq, values)).digest()


# --- anchors -----------------------------------------------------------------------------


class AnchorRejected(Exception):
    """An anchor line that is not a valid anchor of this checkpoint (``reason``: one of
    ``format``, ``key``, ``signature``, ``checkpoint``)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass(frozen=True)
class Anchor:
    """The checkpoint's signed statement about its log at one moment.

    ``kind`` is ``anchor``, or ``rebase``: written when a start found the log damaged
    and the chain goes on from what the database holds (``lost``: the passages known to
    be missing then). Anchors before a rebase are not held against the log again."""

    checkpoint: str
    seq: int
    visit: str | None  # the id of the row at seq (None: an empty log)
    head: bytes
    at: datetime
    kind: str = "anchor"
    lost: int = 0

    def fields(self, key_id: str) -> dict[str, Any]:
        return {
            "format": ANCHOR_FORMAT,
            "v": ANCHOR_VERSION,
            "kind": self.kind,
            "checkpoint": self.checkpoint,
            "seq": self.seq,
            "visit": self.visit,
            "head": self.head.hex(),
            "at": to_db(self.at),
            "lost": self.lost,
            "key": key_id,
        }


def _signed_bytes(fields: Mapping[str, Any]) -> bytes:
    body = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return _SIGNED_PREFIX + body.encode("ascii")


def sign_anchor(anchor: Anchor, key: Ed25519PrivateKey) -> str:
    """One line (no newline) of JSON: the anchor's fields and ``sig``, an Ed25519
    signature over them by ``key``."""
    fields = anchor.fields(key_id_of(key.public_key()))
    sig = base64.b64encode(key.sign(_signed_bytes(fields))).decode("ascii")
    return json.dumps({**fields, "sig": sig}, sort_keys=True, separators=(",", ":"))


def parse_anchor(line: str, public_key: Ed25519PublicKey, checkpoint: str) -> Anchor:
    """The anchor in ``line`` if ``public_key`` signed it for ``checkpoint``; else
    :class:`AnchorRejected` saying why."""
    try:
        data = json.loads(line)
        if not isinstance(data, dict) or data.get("format") != ANCHOR_FORMAT:
            raise AnchorRejected("format", "not an anchor")
        sig = base64.b64decode(data.pop("sig"), validate=True)
        if data.get("v") != ANCHOR_VERSION or data.get("kind") not in ("anchor", "rebase"):
            raise AnchorRejected("format", "unknown version or kind")
        if set(data) != set(ANCHOR_KEYS):
            raise AnchorRejected("format", "unexpected fields")
        fields = {k: data[k] for k in ANCHOR_KEYS}
        anchor = Anchor(
            checkpoint=str(fields["checkpoint"]),
            seq=int(fields["seq"]),
            visit=None if fields["visit"] is None else str(fields["visit"]),
            head=bytes.fromhex(fields["head"]),
            at=from_db(fields["at"]),
            kind=str(fields["kind"]),
            lost=int(fields["lost"]),
        )
    except AnchorRejected:
        raise
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise AnchorRejected("format", str(exc)) from None
    if fields["key"] != key_id_of(public_key):
        raise AnchorRejected("key", f"signed by key {fields['key']}")
    try:
        public_key.verify(sig, _signed_bytes(fields))
    except InvalidSignature:
        raise AnchorRejected("signature") from None
    if anchor.checkpoint != checkpoint:
        raise AnchorRejected("checkpoint", f"names checkpoint {anchor.checkpoint}")
    return anchor
