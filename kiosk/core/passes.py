"""The pass token: what a QR pass says, how it is signed, and how a gate checks it.

A token is ``GP1:`` followed by the RFC 4648 Base32 text (upper case, ``=`` padding
stripped) of an 18-byte body and its 64-byte Ed25519 signature: always 136 characters,
all in the QR alphanumeric set. The full design, its reasons and test vectors are in
``docs/pass-format.md``.

``parse_pass`` checks the signature before it trusts any field, and every bad input,
whatever is wrong with it, raises the one error :class:`InvalidPass` with a
:class:`Rejection` reason.
"""

from __future__ import annotations

import base64
import enum
import re
import secrets
import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import segno
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.core.errors import UserError
from kiosk.core.i18n import N_, tr

if TYPE_CHECKING:
    from kiosk.core.keys import Keyring

__all__ = [
    "CLOCK_SKEW",
    "PREFIX",
    "QR_BORDER",
    "TOKEN_LENGTH",
    "InvalidPass",
    "InvalidSerial",
    "PassClaims",
    "PassKind",
    "Rejection",
    "Validity",
    "looks_like_pass",
    "new_serial",
    "parse_pass",
    "qr_code",
    "serial_from_int",
    "serial_to_int",
    "sign_pass",
    "validity",
]

PREFIX = "GP1:"
_PREFIX_BYTES = PREFIX.encode("ascii")

# key_id (4) | serial (5, 40-bit) | kind (1) | valid_from (4) | valid_until (4), big-endian
_BODY = struct.Struct(">4s5sBII")
BODY_LENGTH = _BODY.size  # 18
SIGNATURE_LENGTH = 64
RAW_LENGTH = BODY_LENGTH + SIGNATURE_LENGTH  # 82
_PAYLOAD_LENGTH = 132  # Base32 characters of 82 bytes, padding stripped
TOKEN_LENGTH = len(PREFIX) + _PAYLOAD_LENGTH  # 136

CLOCK_SKEW = timedelta(minutes=5)
"""How far a gate's clock may be behind the office that issued a pass: a pass whose
``valid_from`` is at most this far ahead of the gate's ``now`` is already valid. It
applies to ``valid_from`` only, never to expiry (docs/pass-format.md)."""

QR_BORDER = 4  # the quiet zone around a QR code, in modules (the standard's minimum)


def qr_code(token: str) -> segno.QRCode:
    """``token`` (a pass or a visitor code) as the QR code Gatepass prints, exports and
    shows: error correction level M, not raised when a higher one would fit (so every
    token is a version 6 code, docs/pass-format.md), never a Micro QR. Draw or save it
    with a border of :data:`QR_BORDER` modules."""
    return segno.make_qr(token, error="m", boost_error=False)


_PAYLOAD = re.compile(f"[A-Z2-7]{{{_PAYLOAD_LENGTH}}}")
_BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_TO_INT_DIGITS = str.maketrans(_BASE32, "0123456789abcdefghijklmnopqrstuv")

SERIAL_BITS = 40
_SERIAL_LIMIT = 1 << SERIAL_BITS
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_CROCKFORD_VALUE = {c: i for i, c in enumerate(_CROCKFORD)} | {"I": 1, "L": 1, "O": 0}
_UINT32_LIMIT = 1 << 32
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class PassKind(enum.StrEnum):
    RESIDENT = "resident"
    STAFF = "staff"
    VISITOR = "visitor"


_KIND_CODE: dict[PassKind, int] = {PassKind.RESIDENT: 1, PassKind.STAFF: 2, PassKind.VISITOR: 3}
_KIND_OF_CODE: dict[int, PassKind] = {code: kind for kind, code in _KIND_CODE.items()}


@dataclass(frozen=True)
class PassClaims:
    """What a pass says. Times are aware and in UTC (whole seconds once parsed)."""

    key_id: str
    serial: str
    kind: PassKind
    valid_from: datetime
    valid_until: datetime


class Rejection(enum.StrEnum):
    """Why a scanned text is not an acceptable pass."""

    NOT_GATEPASS = "not_gatepass"
    MALFORMED = "malformed"
    UNKNOWN_KEY = "unknown_key"
    BAD_SIGNATURE = "bad_signature"
    KIND_NOT_ALLOWED = "kind_not_allowed"

    def message(self) -> str:
        """One line for the guard, in the current language."""
        return tr(_REJECTION_MESSAGES[self])


_REJECTION_MESSAGES: dict[Rejection, str] = {
    Rejection.NOT_GATEPASS: N_("not a Gatepass code"),
    Rejection.MALFORMED: N_("forged or damaged: the code is not a well-formed pass"),
    Rejection.UNKNOWN_KEY: N_("signed by a key this gate does not trust"),
    Rejection.BAD_SIGNATURE: N_("forged: the signature does not match"),
    Rejection.KIND_NOT_ALLOWED: N_("forged: the signing key may not issue this kind of pass"),
}


class InvalidPass(Exception):
    """A scanned text is not an acceptable pass; ``reason`` says why, ``str()`` in words."""

    def __init__(self, reason: Rejection, message: str | None = None) -> None:
        self.reason = reason
        super().__init__(message if message is not None else reason.message())

    def __reduce__(self) -> tuple[type[InvalidPass], tuple[Rejection, str]]:
        return (type(self), (self.reason, str(self)))


class InvalidSerial(UserError, ValueError):
    """Text that is not a pass serial (also a ``ValueError``)."""


class Validity(enum.StrEnum):
    VALID = "valid"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"


# --- serials -------------------------------------------------------------------------


def serial_from_int(number: int) -> str:
    """The display form ``XXXX-XXXX`` (Crockford Base32) of a 40-bit serial number."""
    if isinstance(number, bool) or not 0 <= number < _SERIAL_LIMIT:
        raise ValueError(f"serial number out of the 40-bit range: {number!r}")
    chars = [_CROCKFORD[(number >> shift) & 31] for shift in range(35, -1, -5)]
    return "".join(chars[:4]) + "-" + "".join(chars[4:])


def serial_to_int(text: str) -> int:
    """The number of a serial as typed: dash optional, any case, I/L read as 1, O as 0."""
    raw = text.strip()
    if len(raw) == 9 and raw[4] == "-":
        raw = raw[:4] + raw[5:]
    # ASCII before upper-casing: "ſ".upper() is "S", "ı".upper() is "I".
    raw = raw.upper() if raw.isascii() else ""
    if len(raw) != 8 or not all(c in _CROCKFORD_VALUE for c in raw):
        raise InvalidSerial(
            tr("not a pass serial: {text!r} (8 characters, like 3K7Q-9ZD2)", text=text)
        )
    number = 0
    for char in raw:
        number = number << 5 | _CROCKFORD_VALUE[char]
    return number


def new_serial() -> str:
    """A fresh random serial (40 bits from ``secrets``)."""
    return serial_from_int(secrets.randbits(SERIAL_BITS))


# --- signing ---------------------------------------------------------------------------


def _seconds(moment: datetime, name: str) -> int:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} is a naive datetime: passes carry only aware times")
    seconds = (moment - _EPOCH) // timedelta(seconds=1)  # whole seconds, exact
    if not 0 <= seconds < _UINT32_LIMIT:
        raise ValueError(f"{name} out of range for a pass (1970..2106): {moment.isoformat()}")
    return seconds


def sign_pass(claims: PassClaims, private_key: Ed25519PrivateKey) -> str:
    """The token text of ``claims`` signed with ``private_key``.

    Times are cut to whole seconds. Raises ``ValueError`` when the claims cannot be a
    pass (another key's id, a bad serial or kind, naive or out-of-range times,
    ``valid_until`` not after ``valid_from``): that is a bug in the caller.
    """
    from kiosk.core.keys import key_id_of  # keys imports this module

    key_id = key_id_of(private_key.public_key())
    if claims.key_id != key_id:
        raise ValueError(f"claims name key {claims.key_id!r}, the private key is {key_id!r}")
    serial = serial_to_int(claims.serial)
    try:
        kind = _KIND_CODE[PassKind(claims.kind)]
    except ValueError:
        raise ValueError(f"unknown pass kind {claims.kind!r}") from None
    start = _seconds(claims.valid_from, "valid_from")
    end = _seconds(claims.valid_until, "valid_until")
    if end <= start:
        raise ValueError("valid_until must be after valid_from (in whole seconds)")
    body = _BODY.pack(bytes.fromhex(key_id), serial.to_bytes(5, "big"), kind, start, end)
    signature = private_key.sign(_PREFIX_BYTES + body)
    payload = base64.b32encode(body + signature).decode("ascii").rstrip("=")
    return PREFIX + payload


# --- parsing ---------------------------------------------------------------------------


def looks_like_pass(text: object) -> bool:
    """Whether ``text`` claims to be a Gatepass token (prefix only; nothing verified)."""
    return isinstance(text, str) and text.startswith(PREFIX)


def _malformed() -> InvalidPass:
    return InvalidPass(Rejection.MALFORMED)


def _decode(text: object) -> bytes:
    """The 82 bytes of a token, or InvalidPass. Only the canonical spelling is accepted."""
    if not isinstance(text, str):  # bytes, None, ...: a caller's slip, still one error
        raise _malformed()
    if not text.startswith(PREFIX):
        raise InvalidPass(Rejection.NOT_GATEPASS)
    if len(text) != TOKEN_LENGTH:  # before decoding anything: over-long input costs nothing
        raise _malformed()
    payload = text[len(PREFIX) :]
    if not _PAYLOAD.fullmatch(payload):  # A-Z2-7 only: no lower case, no space, no '='
        raise _malformed()
    # RFC 4648 Base32 of 82 bytes is a 660-bit big-endian number: 656 bits of data and
    # 4 unused zero bits. Read it as one base-32 integer (C speed, no error paths).
    number = int(payload.translate(_TO_INT_DIGITS), 32)
    if number & 0xF:  # set unused bits: 15 other spellings of the same bytes
        raise _malformed()
    return (number >> 4).to_bytes(RAW_LENGTH, "big")


def parse_pass(text: str, keyring: Keyring) -> PassClaims:
    """The claims of a genuine pass signed by a key in ``keyring``, or :class:`InvalidPass`.

    Anything that is not a ``str`` (bytes, ``None``) is ``malformed``, like any damaged
    pass, rather than a ``TypeError``.

    Order: prefix, length, Base32, key id, signature; only then the fields are read and
    checked, and last whether that key may sign that kind of pass. Validity in time is
    not checked here (see :func:`validity`).
    """
    raw = _decode(text)
    body, signature = raw[:BODY_LENGTH], raw[BODY_LENGTH:]
    key_id = body[:4].hex().upper()
    trusted = keyring.get(key_id)
    if trusted is None:
        raise InvalidPass(
            Rejection.UNKNOWN_KEY,
            tr("signed by key {key_id}, which this gate does not trust", key_id=key_id),
        )
    try:
        trusted.public_key.verify(signature, _PREFIX_BYTES + body)
    except InvalidSignature:
        raise InvalidPass(Rejection.BAD_SIGNATURE) from None
    # From here the body is what the key holder signed.
    _, serial, kind_code, start, end = _BODY.unpack(body)
    kind = _KIND_OF_CODE.get(kind_code)
    if kind is None or end <= start:
        raise _malformed()
    if kind not in trusted.kinds:
        raise InvalidPass(Rejection.KIND_NOT_ALLOWED)
    return PassClaims(
        key_id=key_id,
        serial=serial_from_int(int.from_bytes(serial, "big")),
        kind=kind,
        valid_from=_EPOCH + timedelta(seconds=start),
        valid_until=_EPOCH + timedelta(seconds=end),
    )


def validity(claims: PassClaims, now: datetime) -> Validity:
    """Whether the pass is valid at ``now`` (aware):
    ``valid_from - CLOCK_SKEW <= now < valid_until``.

    :data:`CLOCK_SKEW` lets a gate whose clock runs a little behind the office accept a
    pass issued a moment ago; expiry gets no such tolerance.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now is a naive datetime")
    if now < claims.valid_from - CLOCK_SKEW:
        return Validity.NOT_YET_VALID
    if now >= claims.valid_until:
        return Validity.EXPIRED
    return Validity.VALID
