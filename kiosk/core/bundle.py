"""The exchange bundle: one file carrying signed change sets between the checkpoints of
a compound (issue 13; docs/exchange.md, the model and the format with its test vector).

Pure: no database, no Qt; files are written through :func:`kiosk.core.atomic.whole_file`.

A bundle is, in this order::

    magic      8 bytes   b"GPBUNDLE"
    version    2 bytes   the format version, big-endian (FORMAT_VERSION)
    hlen       4 bytes   the header's length, big-endian
    header     hlen      JSON, UTF-8, sorted keys (author, carries, compound, created,
                         key, recipient, rows, schema, sealed, sets, vector)
    blen       4 bytes   the body's length, big-endian
    body       blen      zlib of the change sets as lines; when sealed, the same bytes
                         encrypted for the recipient (ephemeral X25519 public key, 32
                         bytes, then ChaCha20-Poly1305 of the zlib bytes)
    signature  64 bytes  Ed25519 by the author's node key over everything before it

Each change-set line is ``<signature, Base64, 88 characters> <JSON>\\n``: the JSON
(author, first, last, schema, rows) is signed by its own author, so a change set
relayed by another node (the office passing one gate's passages to another, or a gate
carrying the office's revocations) is still the author's word, byte for byte.

:func:`read_bundle` refuses the whole file with one :class:`BundleRefused` (a
``UserError``; ``reason`` says which :class:`Refusal`) or returns all of it.
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
import re
import struct
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from kiosk.core.atomic import whole_file
from kiosk.core.clock import from_db, to_db
from kiosk.core.errors import UserError
from kiosk.core.i18n import N_, tr
from kiosk.core.keys import key_id_of

__all__ = [
    "FORMAT_VERSION",
    "GATE_KINDS",
    "LIMITS",
    "MAGIC",
    "OFFICE_KINDS",
    "Bundle",
    "BundleRefused",
    "ChangeSet",
    "Limits",
    "Refusal",
    "TrustList",
    "canonical_json",
    "check_line",
    "encode_bundle",
    "open_fields",
    "peek_header",
    "read_bundle",
    "seal_fields",
    "sign_change_set",
    "sign_row_texts",
    "write_bundle",
]

MAGIC = b"GPBUNDLE"
FORMAT_VERSION = 1
CHANGE_SET_CONTEXT = b"gatepass-changeset-v1\n"
"""Prefix of what a change set's author signs: this, the compound id, a newline, the JSON."""
HKDF_INFO = b"gatepass-bundle-v1 seal"
NONCE = bytes(12)
"""ChaCha20-Poly1305's nonce: zero. Each bundle's key is new (a fresh ephemeral key), and
used once."""
_PREFIX = struct.Struct(">8sHI")  # magic, version, header length
_LEN = struct.Struct(">I")
_SIG = 64
_SIG_TEXT = 88  # Base64 of 64 bytes

OFFICE_KINDS = frozenset(
    {
        "household",
        "resident",
        "pass",
        "revocation",
        "hold",
        "node",
        "rules",
        "visitor_key",
        "visitor_link",
        "as_of",
    }
)
"""Kinds of row only the office authors (docs/exchange.md, "Nodes")."""
GATE_KINDS = frozenset({"visit", "visitor", "visitor_pass", "shift", "correction", "anchor"})
"""Kinds of row a gate authors (the office may write them too: it registers visitors
and records passages at its own desk). A kind in neither set (a newer schema's) passes
through to the applier, which decides by the change set's schema version."""


@dataclass(frozen=True)
class Limits:
    """What a bundle may hold; past any of them the whole file is refused."""

    file_bytes: int = 64 * 1024 * 1024
    header_bytes: int = 64 * 1024
    body_bytes: int = 256 * 1024 * 1024  # unpacked
    change_sets: int = 100_000
    rows: int = 2_000_000


LIMITS = Limits()


class Refusal(enum.StrEnum):
    DAMAGED = "damaged"
    TRUNCATED = "truncated"
    TAMPERED = "tampered"
    UNKNOWN_NODE = "unknown node"
    REMOVED_NODE = "removed node"
    OTHER_COMPOUND = "other compound"
    OTHER_RECIPIENT = "other recipient"
    CANNOT_OPEN = "cannot open"
    NEWER_FORMAT = "newer format"
    TOO_BIG = "too big"
    NOT_ALLOWED = "not allowed"


class BundleRefused(UserError):
    """The whole bundle is refused; nothing of it may be applied. ``detail`` is for the
    log (English, technical); the message is for the person."""

    def __init__(self, reason: Refusal, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.reason = reason
        self.detail = detail


_REFUSALS = {
    Refusal.DAMAGED: N_("This is not a Gatepass exchange bundle, or it is damaged."),
    Refusal.TRUNCATED: N_(
        "The exchange bundle is cut short: copy it again from the other computer."
    ),
    Refusal.TAMPERED: N_("The exchange bundle was changed after it was signed."),
    Refusal.UNKNOWN_NODE: N_(
        "The exchange bundle is signed by a checkpoint not enrolled here ({node})."
    ),
    Refusal.REMOVED_NODE: N_("The exchange bundle is signed by a removed checkpoint ({node})."),
    Refusal.OTHER_COMPOUND: N_("The exchange bundle belongs to another compound."),
    Refusal.OTHER_RECIPIENT: N_("The exchange bundle is meant for another checkpoint ({node})."),
    Refusal.CANNOT_OPEN: N_(
        "The exchange bundle is sealed, and this checkpoint's key does not open it."
    ),
    Refusal.NEWER_FORMAT: N_(
        "The exchange bundle was made by a newer Gatepass (format {version}): "
        "update Gatepass here first."
    ),
    Refusal.TOO_BIG: N_("The exchange bundle is larger than Gatepass accepts."),
    Refusal.NOT_ALLOWED: N_(
        "The exchange bundle carries records its author may not write ({kind})."
    ),
}
"""What each refusal says (translated when raised)."""


def _refused(reason: Refusal, detail: str = "", **values: Any) -> BundleRefused:
    text = tr(_REFUSALS[reason], **values)
    none = tr("Nothing of it was imported.")
    return BundleRefused(reason, f"{text} {none}", detail)


# --- keys and trust ------------------------------------------------------------------------


@dataclass(frozen=True)
class TrustList:
    """Whom a node trusts: its compound, the office's node id, every enrolled node's
    Ed25519 key (the office's is the issuer key), and the nodes removed since."""

    compound: str
    office: str
    nodes: Mapping[str, Ed25519PublicKey]
    removed: frozenset[str] = field(default_factory=frozenset)

    def key_of(self, node: str) -> Ed25519PublicKey:
        if node in self.removed:
            raise _refused(Refusal.REMOVED_NODE, node, node=node)
        key = self.nodes.get(node)
        if key is None:
            raise _refused(Refusal.UNKNOWN_NODE, node, node=node)
        return key


def canonical_json(value: Any) -> bytes:
    """JSON as Gatepass writes it in bundles: sorted keys, no spaces, UTF-8 unescaped."""
    return json.dumps(
        value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
    ).encode("utf-8")


def _x25519_raw(key: X25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _seal_key(shared: bytes, ephemeral: bytes, recipient: bytes) -> bytes:
    hkdf = HKDF(hashes.SHA256(), 32, salt=ephemeral + recipient, info=HKDF_INFO)
    return hkdf.derive(shared)


# --- change sets --------------------------------------------------------------------------


@dataclass(frozen=True)
class ChangeSet:
    """One author's changes ``first``..``last`` (its outbox sequence numbers), one row
    each. ``text`` is the JSON exactly as signed; ``signature`` the author's."""

    author: str
    first: int
    last: int
    schema: int
    rows: tuple[Mapping[str, Any], ...]
    text: bytes
    signature: bytes

    def line(self) -> bytes:
        return base64.b64encode(self.signature) + b" " + self.text + b"\n"


def _signed_text(compound: str, text: bytes) -> bytes:
    return CHANGE_SET_CONTEXT + compound.encode("utf-8") + b"\n" + text


def sign_change_set(
    compound: str,
    author: str,
    first: int,
    schema: int,
    rows: Sequence[Mapping[str, Any]],
    key: Ed25519PrivateKey,
) -> ChangeSet:
    """The change set of ``rows`` numbered from ``first``, signed by ``author``'s key.
    Each row is a JSON object with ``kind``, ``id`` (a UUID: the idempotency key) and
    ``at`` (when it happened), besides its own fields."""
    if first < 1 or not rows:
        raise ValueError("a change set numbers its rows from 1 and has at least one")
    last = first + len(rows) - 1
    body = {"author": author, "first": first, "last": last, "schema": schema, "rows": rows}
    text = canonical_json(body)
    signature = key.sign(_signed_text(compound, text))
    kept = tuple(json.loads(text)["rows"])
    return ChangeSet(author, first, last, schema, kept, text, signature)


def sign_row_texts(
    compound: str,
    author: str,
    first: int,
    schema: int,
    rows: Sequence[bytes],
    key: Ed25519PrivateKey,
) -> bytes:
    """The line of a change set whose rows are already JSON objects (UTF-8, no raw
    newline, each with ``kind``, ``id`` and ``at``): as :func:`sign_change_set`, without
    parsing and writing each row again (a gate's day of passages is frozen so). The
    body's keys are written in sorted order, as :func:`sign_change_set` writes them."""
    if first < 1 or not rows:
        raise ValueError("a change set numbers its rows from 1 and has at least one")
    last = first + len(rows) - 1
    text = b"".join(
        (
            b'{"author":',
            canonical_json(author),
            b',"first":%d,"last":%d,"rows":[' % (first, last),
            b",".join(rows),
            b'],"schema":%d}' % schema,
        )
    )
    signature = key.sign(_signed_text(compound, text))
    return base64.b64encode(signature) + b" " + text + b"\n"


def _carries(change_sets: Iterable[ChangeSet]) -> list[list[Any]]:
    """Per author, the merged sequence ranges carried: ``[[author, first, last], ...]``."""
    spans = sorted((c.author, c.first, c.last) for c in change_sets)
    merged: list[list[Any]] = []
    for author, first, last in spans:
        if merged and merged[-1][0] == author and first <= merged[-1][2] + 1:
            if first <= merged[-1][2]:
                raise ValueError(f"change sets of {author} overlap at {first}")
            merged[-1][2] = last
        else:
            merged.append([author, first, last])
    return merged


# --- writing ------------------------------------------------------------------------------


def encode_bundle(
    *,
    compound: str,
    author: str,
    key: Ed25519PrivateKey,
    change_sets: Sequence[ChangeSet],
    schema: int,
    created_at: datetime,
    recipient: str | None = None,
    recipient_box: X25519PublicKey | None = None,
    vector: Mapping[str, int] | None = None,
    ephemeral: X25519PrivateKey | None = None,
    extra: Mapping[str, Any] | None = None,
) -> bytes:
    """The bundle's bytes. With ``recipient`` it is sealed for ``recipient_box`` (its
    X25519 key). ``vector``: the writer's version vector (per author, the highest
    sequence number it holds with no gap below), so the receiver knows what to send
    back. ``ephemeral`` is for the test vector only (else a fresh key). ``extra``: more
    header fields (a joining gate's keys, ``join``), signed with the rest."""
    if (recipient is None) != (recipient_box is None):
        raise ValueError("a sealed bundle names its recipient and the recipient's key")
    plain = zlib.compress(b"".join(c.line() for c in change_sets), 6)
    header = {
        "author": author,
        "carries": _carries(change_sets),
        "compound": compound,
        "created": to_db(created_at),
        "key": key_id_of(key.public_key()),
        "recipient": recipient,
        "rows": sum(len(c.rows) for c in change_sets),
        "schema": schema,
        "sealed": recipient is not None,
        "sets": len(change_sets),
        "vector": dict(vector or {}),
    }
    for name, value in (extra or {}).items():
        if name in header:
            raise ValueError(f"{name} is a header field of its own")
        header[name] = value
    head = canonical_json(header)
    start = _PREFIX.pack(MAGIC, FORMAT_VERSION, len(head)) + head
    body = plain
    if recipient_box is not None:
        eph = ephemeral or X25519PrivateKey.generate()
        eph_raw = _x25519_raw(eph.public_key())
        sealing = _seal_key(eph.exchange(recipient_box), eph_raw, _x25519_raw(recipient_box))
        body = eph_raw + ChaCha20Poly1305(sealing).encrypt(NONCE, plain, start)
    signed = start + _LEN.pack(len(body)) + body
    return signed + key.sign(signed)


def write_bundle(path: Path, **fields: Any) -> int:
    """Write :func:`encode_bundle` of ``fields`` to ``path``, whole or not at all
    (private: 0600). Returns its size in bytes."""
    data = encode_bundle(**fields)
    with whole_file(path, private=True) as temp:
        temp.write_bytes(data)
    return len(data)


# --- reading ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bundle:
    compound: str
    author: str
    recipient: str | None
    sealed: bool
    schema: int
    created_at: datetime
    carries: tuple[tuple[str, int, int], ...]
    vector: Mapping[str, int]
    change_sets: tuple[ChangeSet, ...]


@dataclass(frozen=True)
class _Header:
    compound: str
    author: str
    key: str
    recipient: str | None
    sealed: bool
    schema: int
    created_at: datetime
    carries: tuple[tuple[str, int, int], ...]
    vector: Mapping[str, int]
    sets: int
    rows: int


def _load(source: Path | bytes, limits: Limits) -> bytes:
    if isinstance(source, bytes):
        data = source
    else:
        try:
            size = source.stat().st_size
            if size > limits.file_bytes:
                raise _refused(Refusal.TOO_BIG, f"file of {size} bytes")
            with source.open("rb") as fp:
                data = fp.read(limits.file_bytes + 1)
        except OSError as exc:
            raise UserError(
                tr("Cannot read {path}: {reason}", path=source, reason=exc.strerror or exc)
            ) from None
    if len(data) > limits.file_bytes:
        raise _refused(Refusal.TOO_BIG, f"file of {len(data)} bytes")
    return data


def _split(data: bytes, limits: Limits) -> tuple[bytes, bytes, bytes, bytes]:
    """(signed part, header, body, signature), or refused for its shape."""
    if len(data) < len(MAGIC) or data[: len(MAGIC)] != MAGIC:
        if data and MAGIC.startswith(data):
            raise _refused(Refusal.TRUNCATED, "inside the magic")
        raise _refused(Refusal.DAMAGED, "no magic")
    if len(data) < _PREFIX.size:
        raise _refused(Refusal.TRUNCATED, "inside the prefix")
    _, version, hlen = _PREFIX.unpack_from(data)
    if version > FORMAT_VERSION:
        raise _refused(Refusal.NEWER_FORMAT, f"format {version}", version=version)
    if version < 1:
        raise _refused(Refusal.DAMAGED, f"format {version}")
    if hlen > limits.header_bytes:
        raise _refused(Refusal.TOO_BIG, f"header of {hlen} bytes")
    at = _PREFIX.size + hlen
    if len(data) < at + _LEN.size:
        raise _refused(Refusal.TRUNCATED, "inside the header")
    (blen,) = _LEN.unpack_from(data, at)
    end = at + _LEN.size + blen
    if len(data) < end + _SIG:
        raise _refused(Refusal.TRUNCATED, f"{len(data)} of {end + _SIG} bytes")
    if len(data) > end + _SIG:
        raise _refused(Refusal.DAMAGED, f"{len(data) - end - _SIG} bytes after the signature")
    return data[:end], data[_PREFIX.size : at], data[at + _LEN.size : end], data[end:]


def peek_header(source: Path | bytes, *, limits: Limits = LIMITS) -> dict[str, Any]:
    """The header of the bundle at ``source`` as written, NOT checked: only to find
    out, before :func:`read_bundle`, who claims to have written it (a gate sending its
    first bundle names its keys in ``join``). Refused as ``read_bundle`` would for its
    shape."""
    _, raw, _, _ = _split(_load(source, limits), limits)
    try:
        head = json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        raise _refused(Refusal.DAMAGED, f"header: {exc}") from None
    if not isinstance(head, dict):
        raise _refused(Refusal.DAMAGED, "the header is not an object")
    return head


# --- fields sealed for one node inside a row ------------------------------------------------

FIELDS_INFO = b"gatepass-fields-v1 seal"


def seal_fields(plain: bytes, recipient_box: X25519PublicKey) -> str:
    """``plain`` sealed for ``recipient_box`` alone, as Base64 text to put in a row: a
    visitor's ID number and phone, which a gate sends to the office inside a change set
    that other gates also receive (docs/exchange.md, "Minimal data at the gate")."""
    eph = X25519PrivateKey.generate()
    eph_raw = _x25519_raw(eph.public_key())
    recipient = _x25519_raw(recipient_box)
    hkdf = HKDF(hashes.SHA256(), 32, salt=eph_raw + recipient, info=FIELDS_INFO)
    sealing = hkdf.derive(eph.exchange(recipient_box))
    return base64.b64encode(
        eph_raw + ChaCha20Poly1305(sealing).encrypt(NONCE, plain, None)
    ).decode()


def open_fields(text: str, box: X25519PrivateKey) -> bytes | None:
    """What :func:`seal_fields` sealed for ``box``; None when it does not open."""
    try:
        raw = base64.b64decode(text, validate=True)
        if len(raw) < 32 + 16:
            return None
        eph = X25519PublicKey.from_public_bytes(raw[:32])
        hkdf = HKDF(
            hashes.SHA256(), 32, salt=raw[:32] + _x25519_raw(box.public_key()), info=FIELDS_INFO
        )
        sealing = hkdf.derive(box.exchange(eph))
        return ChaCha20Poly1305(sealing).decrypt(NONCE, raw[32:], None)
    except (ValueError, InvalidTag, binascii.Error, TypeError):
        return None


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"not a text: {value!r}")
    return value


def _count(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"not a count: {value!r}")
    return value


def _span(value: Any) -> tuple[str, int, int]:
    if not isinstance(value, list) or len(value) != 3:
        raise ValueError(f"not a span: {value!r}")
    author, first, last = _text(value[0]), _count(value[1]), _count(value[2])
    if first < 1 or last < first:
        raise ValueError(f"not a span: {value!r}")
    return author, first, last


def _header(raw: bytes) -> _Header:
    try:
        head = json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
        if not isinstance(head, dict):
            raise ValueError("the header is not an object")
        recipient = head["recipient"]
        sealed = head["sealed"]
        if not isinstance(sealed, bool) or sealed != (recipient is not None):
            raise ValueError("sealed and recipient disagree")
        carries, vector = head["carries"], head["vector"]
        if not isinstance(carries, list) or not isinstance(vector, dict):
            raise ValueError("carries is not a list, or vector not an object")
        return _Header(
            compound=_text(head["compound"]),
            author=_text(head["author"]),
            key=_text(head["key"]),
            recipient=None if recipient is None else _text(recipient),
            sealed=sealed,
            schema=_count(head["schema"]),
            created_at=from_db(_text(head["created"])),
            carries=tuple(_span(s) for s in carries),
            vector={_text(k): _count(v) for k, v in vector.items()},
            sets=_count(head["sets"]),
            rows=_count(head["rows"]),
        )
    except (ValueError, KeyError, TypeError, OverflowError, RecursionError) as exc:
        raise _refused(Refusal.DAMAGED, f"header: {exc}") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _open(body: bytes, start: bytes, header: _Header, box: X25519PrivateKey | None) -> bytes:
    if not header.sealed:
        return body
    if box is None:
        raise _refused(Refusal.CANNOT_OPEN, "no box key here")
    if len(body) < 32:
        raise _refused(Refusal.DAMAGED, "sealed body too short")
    eph = X25519PublicKey.from_public_bytes(body[:32])
    try:
        shared = box.exchange(eph)
    except ValueError:  # a low-order point: all-zero shared secret
        raise _refused(Refusal.CANNOT_OPEN, "bad ephemeral key") from None
    sealing = _seal_key(shared, body[:32], _x25519_raw(box.public_key()))
    try:
        return ChaCha20Poly1305(sealing).decrypt(NONCE, body[32:], start)
    except InvalidTag:
        raise _refused(Refusal.CANNOT_OPEN, "does not decrypt") from None


def _unpack(packed: bytes, limits: Limits) -> bytes:
    """zlib, never more than ``limits.body_bytes`` unpacked (no zip bomb)."""
    unpacker = zlib.decompressobj()
    try:
        plain = unpacker.decompress(packed, limits.body_bytes + 1)
    except zlib.error as exc:
        raise _refused(Refusal.DAMAGED, f"zlib: {exc}") from None
    if len(plain) > limits.body_bytes:
        raise _refused(Refusal.TOO_BIG, f"body over {limits.body_bytes} bytes unpacked")
    if not unpacker.eof or unpacker.unused_data:
        raise _refused(Refusal.DAMAGED, "the zlib stream does not end where the body does")
    return plain


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)


def _row(value: Any) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ValueError("a row is not an object")
    _text(value.get("kind"))
    if not _UUID.fullmatch(_text(value.get("id"))):
        raise ValueError(f"not a UUID: {value.get('id')!r}")
    if datetime.fromisoformat(_text(value.get("at"))).tzinfo is None:
        # every node writes aware times (kiosk.core.clock.to_db); a time without its
        # offset would be read in whichever zone the reader is in
        raise ValueError(f"a time without its offset: {value.get('at')!r}")
    return value


def _change_set(line: bytes, compound: str, trusted: TrustList) -> ChangeSet:
    if len(line) < _SIG_TEXT + 3 or line[_SIG_TEXT : _SIG_TEXT + 1] != b" ":
        raise _refused(Refusal.DAMAGED, "a change-set line has no signature")
    text = line[_SIG_TEXT + 1 :]
    try:
        signature = base64.b64decode(line[:_SIG_TEXT], validate=True)
        body = json.loads(text.decode("utf-8"), parse_constant=_no_constant)
        if not isinstance(body, dict) or not isinstance(body.get("rows"), list):
            raise ValueError("a change set is not an object with rows")
        author, first, last = _span([body.get("author"), body.get("first"), body.get("last")])
        schema = _count(body.get("schema"))
        rows = tuple(_row(r) for r in body["rows"])
        if len(rows) != last - first + 1:
            raise ValueError(f"{len(rows)} rows for {first}..{last}")
    except (ValueError, TypeError, OverflowError, binascii.Error, RecursionError) as exc:
        raise _refused(Refusal.DAMAGED, f"change set: {exc}") from None
    try:
        trusted.key_of(author).verify(signature, _signed_text(compound, text))
    except InvalidSignature:
        raise _refused(Refusal.TAMPERED, f"change set {author} {first}..{last}") from None
    forbidden = frozenset() if author == trusted.office else OFFICE_KINDS
    for row in rows:
        if row["kind"] in forbidden:
            kind = row["kind"]
            raise _refused(Refusal.NOT_ALLOWED, f"{kind} by {author}", kind=kind)
    return ChangeSet(author, first, last, schema, rows, text, signature)


def check_line(line: bytes, compound: str, trusted: TrustList) -> ChangeSet:
    """One change-set line (without its newline) checked as a bundle's are: its
    author's signature, its shape, the kinds its author may write (an enrolment file
    carries lines outside a bundle)."""
    return _change_set(line, compound, trusted)


def _change_sets(plain: bytes, header: _Header, trusted: TrustList) -> tuple[ChangeSet, ...]:
    if plain and not plain.endswith(b"\n"):
        raise _refused(Refusal.DAMAGED, "the last line has no end")
    lines = plain.split(b"\n")[:-1] if plain else []
    if len(lines) != header.sets:
        raise _refused(Refusal.DAMAGED, f"{len(lines)} change sets, header says {header.sets}")
    sets = tuple(_change_set(line, header.compound, trusted) for line in lines)
    if sum(len(c.rows) for c in sets) != header.rows:
        raise _refused(Refusal.DAMAGED, "rows do not match the header")
    try:
        carried = _carries(sets)
    except ValueError as exc:
        raise _refused(Refusal.DAMAGED, str(exc)) from None
    if [tuple(c) for c in carried] != list(header.carries):
        raise _refused(Refusal.DAMAGED, "change sets do not match the header's ranges")
    return sets


def read_bundle(
    source: Path | bytes,
    trusted: TrustList,
    my_node: str,
    my_box_key: X25519PrivateKey | None,
    *,
    limits: Limits = LIMITS,
) -> Bundle:
    """The bundle at ``source`` (a file, or its bytes), checked whole: or one
    :class:`BundleRefused` saying why not. Nothing is returned in part."""
    data = _load(source, limits)
    start_end, raw_header, body, signature = _split(data, limits)
    header = _header(raw_header)
    if header.compound != trusted.compound:
        raise _refused(Refusal.OTHER_COMPOUND, header.compound)
    if header.recipient is not None and header.recipient != my_node:
        raise _refused(Refusal.OTHER_RECIPIENT, header.recipient, node=header.recipient)
    author_key = trusted.key_of(header.author)
    if header.key != key_id_of(author_key):
        raise _refused(Refusal.TAMPERED, f"key {header.key} is not {header.author}'s")
    try:
        author_key.verify(signature, start_end)
    except InvalidSignature:
        raise _refused(Refusal.TAMPERED, "bundle signature") from None
    if header.sets > limits.change_sets or header.rows > limits.rows:
        raise _refused(Refusal.TOO_BIG, f"{header.sets} change sets, {header.rows} rows")
    start = start_end[: _PREFIX.size + len(raw_header)]
    plain = _unpack(_open(body, start, header, my_box_key), limits)
    sets = _change_sets(plain, header, trusted)
    return Bundle(
        compound=header.compound,
        author=header.author,
        recipient=header.recipient,
        sealed=header.sealed,
        schema=header.schema,
        created_at=header.created_at,
        carries=header.carries,
        vector=header.vector,
        change_sets=sets,
    )
