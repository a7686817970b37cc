"""The pass token: layout, round trips, QR fit, test vectors, and that nothing forged,
damaged or foreign gets through (every single-bit change is refused)."""

from __future__ import annotations

import base64
import pickle
import re
import struct
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlite_utils import Database

from kiosk.core import i18n
from kiosk.core.keys import Keyring, TrustedKey, key_id_of, public_key_to_text
from kiosk.core.passes import (
    CLOCK_SKEW,
    PREFIX,
    TOKEN_LENGTH,
    InvalidPass,
    InvalidSerial,
    PassClaims,
    PassKind,
    Rejection,
    Validity,
    looks_like_pass,
    new_serial,
    parse_pass,
    qr_code,
    serial_from_int,
    serial_to_int,
    sign_pass,
    validity,
)
from kiosk.core.rules import TokenStatus
from kiosk.store.passes import check_token
from kiosk.store.schema import migrations

DOC = Path(__file__).resolve().parent.parent / "docs" / "pass-format.md"
T0 = datetime(2026, 3, 1, tzinfo=UTC)
ALL = frozenset(PassKind)


def key_from_seed(n: int) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(bytes([n]) * 32)


ISSUER = key_from_seed(1)
GATE = key_from_seed(2)
OTHER = key_from_seed(3)  # nobody trusts it


def kid(key: Ed25519PrivateKey) -> str:
    return key_id_of(key.public_key())


def trusted(key: Ed25519PrivateKey, kinds: frozenset[PassKind] = ALL) -> TrustedKey:
    return TrustedKey(kid(key), key.public_key(), kinds, "test")


RING = Keyring([trusted(ISSUER), trusted(GATE, frozenset({PassKind.VISITOR}))])


def claims(
    key: Ed25519PrivateKey = ISSUER,
    serial: str = "3K7Q-9ZD2",
    kind: PassKind = PassKind.RESIDENT,
    start: datetime = T0,
    days: float = 30,
) -> PassClaims:
    return PassClaims(kid(key), serial, kind, start, start + timedelta(days=days))


def encode(raw: bytes) -> str:
    return PREFIX + base64.b32encode(raw).decode("ascii").rstrip("=")


def decode(token: str) -> bytes:
    return base64.b32decode(token[len(PREFIX) :] + "====")


def forge(
    key: Ed25519PrivateKey,
    key_id: bytes,
    serial: int = 12345,
    kind: int = 1,
    start: int = 1_772_323_200,
    end: int = 1_774_915_200,
) -> str:
    """An independent encoder: any body, really signed by ``key``."""
    body = struct.pack(">4s5sBII", key_id, serial.to_bytes(5, "big"), kind, start, end)
    return encode(body + key.sign(b"GP1:" + body))


def rejected(text: str, keyring: Keyring = RING) -> Rejection:
    with pytest.raises(InvalidPass) as info:
        parse_pass(text, keyring)
    assert str(info.value)  # always words for the guard
    return info.value.reason


TOKENS = [
    sign_pass(claims(), ISSUER),
    sign_pass(claims(serial="0000-0000", kind=PassKind.STAFF, days=365), ISSUER),
    sign_pass(claims(GATE, "ZZZZ-ZZZZ", PassKind.VISITOR, T0, 0.25), GATE),
]


# --- round trips and layout ----------------------------------------------------------


@pytest.mark.parametrize("kind", list(PassKind))
def test_round_trip(kind: PassKind) -> None:
    key = GATE if kind is PassKind.VISITOR else ISSUER
    original = claims(key, new_serial(), kind)
    token = sign_pass(original, key)
    assert len(token) == TOKEN_LENGTH == 136
    assert looks_like_pass(token)
    assert parse_pass(token, RING) == original


def test_times_are_whole_seconds_in_utc() -> None:
    beijing = timezone(timedelta(hours=8))
    start = datetime(2026, 3, 3, 8, 0, 0, 999_999, tzinfo=beijing)
    parsed = parse_pass(sign_pass(claims(start=start, days=1), ISSUER), RING)
    assert parsed.valid_from == datetime(2026, 3, 3, 0, 0, 0, tzinfo=UTC)
    assert parsed.valid_from.tzinfo is UTC
    assert parsed.valid_until - parsed.valid_from == timedelta(days=1)


def test_body_layout_is_binary_fields_only() -> None:
    token = sign_pass(claims(serial="3K7Q-9ZD2", days=31), ISSUER)
    raw = decode(token)
    assert len(raw) == 82
    key_id, serial, kind, start, end = struct.unpack(">4s5sBII", raw[:18])
    assert key_id.hex().upper() == kid(ISSUER)
    assert serial_from_int(int.from_bytes(serial, "big")) == "3K7Q-9ZD2"
    assert kind == 1
    assert (start, end) == (int(T0.timestamp()), int((T0 + timedelta(days=31)).timestamp()))
    ISSUER.public_key().verify(raw[18:], b"GP1:" + raw[:18])  # the prefix is signed


def test_fits_qr_version_6_m_alphanumeric() -> None:
    for token in TOKENS:
        qr = qr_code(token)  # the code every card, export and visitor slip carries
        assert isinstance(qr.version, int) and qr.version <= 6 and qr.error == "M"
        assert qr.mode == "alphanumeric"
        assert re.fullmatch(r"GP1:[A-Z2-7]{132}", token)


def test_sign_refuses_bad_claims() -> None:
    with pytest.raises(ValueError):
        sign_pass(claims(GATE), ISSUER)  # another key's id
    with pytest.raises(ValueError):
        sign_pass(claims(days=0), ISSUER)
    with pytest.raises(ValueError):
        sign_pass(claims(days=1 / 86400 / 2), ISSUER)  # equal once cut to seconds
    with pytest.raises(ValueError):
        sign_pass(claims(start=datetime(2026, 3, 1)), ISSUER)  # naive
    with pytest.raises(ValueError):
        sign_pass(claims(start=datetime(1969, 12, 31, tzinfo=UTC)), ISSUER)
    with pytest.raises(ValueError):
        sign_pass(claims(start=datetime(2106, 2, 7, 6, 28, 15, tzinfo=UTC)), ISSUER)
    with pytest.raises(ValueError):
        sign_pass(claims(serial="not-a-serial"), ISSUER)


def test_validity_window() -> None:
    c = claims(days=1)
    assert validity(c, T0 - timedelta(minutes=10)) is Validity.NOT_YET_VALID
    assert validity(c, T0) is Validity.VALID
    assert validity(c, T0 + timedelta(hours=23)) is Validity.VALID
    assert validity(c, T0 + timedelta(days=1)) is Validity.EXPIRED


def test_a_gate_clock_a_little_behind_the_office_accepts_a_new_pass() -> None:
    c = claims(days=1)
    assert timedelta(minutes=5) == CLOCK_SKEW  # the figure docs/pass-format.md gives
    assert validity(c, T0 - timedelta(seconds=30)) is Validity.VALID
    assert validity(c, T0 - CLOCK_SKEW) is Validity.VALID
    assert validity(c, T0 - CLOCK_SKEW - timedelta(seconds=1)) is Validity.NOT_YET_VALID
    assert validity(c, T0 - timedelta(minutes=10)) is Validity.NOT_YET_VALID
    # no tolerance at the other end: expiry is exact
    assert validity(c, T0 + timedelta(days=1) - timedelta(seconds=1)) is Validity.VALID
    assert validity(c, T0 + timedelta(days=1)) is Validity.EXPIRED
    # the same through the check a gate makes
    db = Database(memory=True)
    migrations.apply(db)
    token = sign_pass(c, ISSUER)
    early = check_token(db, RING, token, T0 - timedelta(seconds=30))
    assert early.status is TokenStatus.VALID
    too_early = check_token(db, RING, token, T0 - timedelta(minutes=10))
    assert too_early.status is TokenStatus.NOT_YET_VALID


# --- serials ---------------------------------------------------------------------------


def test_serials() -> None:
    assert serial_from_int(0) == "0000-0000"
    assert serial_from_int(2**40 - 1) == "ZZZZ-ZZZZ"
    for text in ("3K7Q-9ZD2", "3k7q9zd2", " 3K7Q-9ZD2 "):
        assert serial_from_int(serial_to_int(text)) == "3K7Q-9ZD2"
    assert serial_to_int("IL0O-0000") == serial_to_int("1100-0000")
    for junk in ("", "3K7Q-9ZD", "3K7Q-9ZD23", "3K7Q-9ZDU", "3K7Q--ZD2", "3K7Q 9ZD2", "ſſſſ-ſſſſ"):
        with pytest.raises(InvalidSerial) as info:
            serial_to_int(junk)
        assert isinstance(info.value, ValueError)
    with pytest.raises(ValueError):
        serial_from_int(2**40)
    fresh = {new_serial() for _ in range(200)}
    assert len(fresh) == 200
    assert all(re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}", s) for s in fresh)


@given(st.integers(min_value=0, max_value=2**40 - 1))
def test_serial_round_trip(number: int) -> None:
    assert serial_to_int(serial_from_int(number)) == number


# --- refusals -------------------------------------------------------------------------


def test_every_single_bit_flip_is_refused() -> None:
    mutations = refused = 0
    for token in TOKENS:
        for i, char in enumerate(token):
            for bit in range(8):
                mutations += 1
                mutated = token[:i] + chr(ord(char) ^ (1 << bit)) + token[i + 1 :]
                try:
                    parse_pass(mutated, RING)
                except InvalidPass:
                    refused += 1
        raw = decode(token)
        for i in range(len(raw)):
            for bit in range(8):
                mutations += 1
                flipped = bytearray(raw)
                flipped[i] ^= 1 << bit
                try:
                    parse_pass(encode(bytes(flipped)), RING)
                except InvalidPass as exc:
                    refused += 1
                    want = Rejection.UNKNOWN_KEY if i < 4 else Rejection.BAD_SIGNATURE
                    assert exc.reason is want
    assert mutations == len(TOKENS) * (136 * 8 + 82 * 8)
    assert refused == mutations


def test_unused_bits_of_the_last_character_are_refused() -> None:
    token = TOKENS[0]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    value = alphabet.index(token[-1])
    for low in range(1, 16):  # same data bit, non-zero padding bits
        other = token[:-1] + alphabet[(value & 16) | low]
        assert rejected(other) is Rejection.MALFORMED


def test_truncations_and_extensions() -> None:
    token = TOKENS[0]
    for n in range(len(token)):
        expected = Rejection.NOT_GATEPASS if n < len(PREFIX) else Rejection.MALFORMED
        assert rejected(token[:n]) is expected
    for extra in "A2=7 \n\x00é":
        assert rejected(token + extra) is Rejection.MALFORMED
    assert rejected(token + "A" * 10_000_000) is Rejection.MALFORMED


def test_case_whitespace_and_foreign_codes() -> None:
    token = TOKENS[0]
    assert rejected(token.lower()) is Rejection.NOT_GATEPASS
    assert rejected(PREFIX + token[4:].lower()) is Rejection.MALFORMED
    for wrapped in (f" {token}", f"{token}\n", f"{token}\r\n", f"\t{token} "):
        assert rejected(wrapped) in (Rejection.NOT_GATEPASS, Rejection.MALFORMED)
    inner_space = token[:60] + " " + token[61:]
    assert rejected(inner_space) is Rejection.MALFORMED
    for foreign in ("https://qr.alipay.com/fkx12345", "wxp://f2f0abc", "", "GP2:" + token[4:]):
        assert rejected(foreign) is Rejection.NOT_GATEPASS
        assert not looks_like_pass(foreign)


def test_unknown_and_retired_keys() -> None:
    assert rejected(sign_pass(claims(OTHER), OTHER)) is Rejection.UNKNOWN_KEY
    assert rejected(TOKENS[0], Keyring([])) is Rejection.UNKNOWN_KEY
    # after rotation the old issuer key is retired: removed from the keyring
    new_issuer = key_from_seed(4)
    rotated = Keyring([trusted(new_issuer), trusted(GATE, frozenset({PassKind.VISITOR}))])
    assert rejected(TOKENS[0], rotated) is Rejection.UNKNOWN_KEY
    assert "unknown" in Rejection.UNKNOWN_KEY.value


def test_rotation_keyring_verifies_both_keys() -> None:
    new_issuer = key_from_seed(4)
    both = Keyring([trusted(ISSUER), trusted(new_issuer)])
    old = sign_pass(claims(ISSUER, "0000-0001"), ISSUER)
    new = sign_pass(claims(new_issuer, "0000-0002"), new_issuer)
    assert parse_pass(old, both).key_id == kid(ISSUER)
    assert parse_pass(new, both).key_id == kid(new_issuer)


def test_another_key_claiming_a_trusted_key_id() -> None:
    token = forge(OTHER, bytes.fromhex(kid(ISSUER)))
    assert rejected(token) is Rejection.BAD_SIGNATURE


def test_signature_over_the_body_without_prefix_is_refused() -> None:
    body = struct.pack(">4s5sBII", bytes.fromhex(kid(ISSUER)), b"\0\0\0\0\1", 1, 10, 20)
    assert rejected(encode(body + ISSUER.sign(body))) is Rejection.BAD_SIGNATURE


def test_kind_not_allowed_for_the_key() -> None:
    gate_resident = sign_pass(claims(GATE, kind=PassKind.RESIDENT), GATE)
    assert rejected(gate_resident) is Rejection.KIND_NOT_ALLOWED
    gate_staff = sign_pass(claims(GATE, kind=PassKind.STAFF), GATE)
    assert rejected(gate_staff) is Rejection.KIND_NOT_ALLOWED


@pytest.mark.parametrize(
    ("kind", "start", "end"),
    [(0, 10, 20), (4, 10, 20), (255, 10, 20), (1, 20, 20), (1, 21, 20), (3, 2**32 - 1, 0)],
)
def test_bad_fields_under_a_good_signature(kind: int, start: int, end: int) -> None:
    token = forge(ISSUER, bytes.fromhex(kid(ISSUER)), kind=kind, start=start, end=end)
    assert rejected(token) is Rejection.MALFORMED


def test_fields_are_read_only_after_the_signature() -> None:
    # kind 0 under a bad signature: the signature is what is reported
    body = struct.pack(">4s5sBII", bytes.fromhex(kid(ISSUER)), b"\0" * 5, 0, 20, 10)
    assert rejected(encode(body + bytes(64))) is Rejection.BAD_SIGNATURE


def test_messages_are_translated() -> None:
    assert Rejection.BAD_SIGNATURE.message() == "forged: the signature does not match"
    for reason in Rejection:
        english = reason.message()
        assert english
        assert i18n.tr_in("zh_CN", english) != english
    i18n.set_language("zh_CN")
    with pytest.raises(InvalidPass) as info:
        parse_pass(sign_pass(claims(OTHER), OTHER), RING)
    assert kid(OTHER) in str(info.value)
    assert re.search("[\u4e00-\u9fff]", str(info.value))
    again = pickle.loads(pickle.dumps(info.value))
    assert (again.reason, str(again)) == (info.value.reason, str(info.value))


# --- anything at all -------------------------------------------------------------------


@pytest.mark.parametrize("thing", [None, b"", TOKENS[0].encode("ascii"), 12345, ["GP1:"]])
def test_not_a_string_is_one_typed_translated_error(thing: object) -> None:
    assert rejected(thing) is Rejection.MALFORMED  # type: ignore[arg-type]
    assert not looks_like_pass(thing)
    result = check_token(Database(memory=True), RING, thing, T0)  # type: ignore[arg-type]
    assert result.status is TokenStatus.FORGED
    assert result.detail == Rejection.MALFORMED.message()
    i18n.set_language("zh_CN")
    with pytest.raises(InvalidPass) as info:
        parse_pass(thing, RING)  # type: ignore[arg-type]
    assert re.search("[\u4e00-\u9fff]", str(info.value))


def check_any(text: str) -> None:
    try:
        parse_pass(text, RING)
    except InvalidPass as exc:
        assert isinstance(exc.reason, Rejection)
    else:  # pragma: no cover - would be a forgery
        pytest.fail(f"accepted {text!r}")


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_any_text(text: str) -> None:
    check_any(text)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes(data: bytes) -> None:
    check_any(data.decode("latin-1"))


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_any_text_after_the_prefix(text: str) -> None:
    check_any(PREFIX + text)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", min_size=132, max_size=132))
def test_any_base32_payload(payload: str) -> None:
    check_any(PREFIX + payload)


@settings(max_examples=100, deadline=None)
@given(st.binary(min_size=14, max_size=14))
def test_any_fields_under_a_trusted_key_id(rest: bytes) -> None:
    raw = bytes.fromhex(kid(ISSUER)) + rest + bytes(64)
    check_any(encode(raw))


# --- the test vectors in docs/pass-format.md -------------------------------------------

VECTOR_SEED = bytes(range(32))
VECTOR_CLAIMS = [
    ("3K7Q-9ZD2", PassKind.RESIDENT, "2026-03-01T00:00:00+00:00", "2026-04-01T00:00:00+00:00"),
    ("0000-0001", PassKind.STAFF, "2026-03-01T06:00:00+00:00", "2026-09-01T00:00:00+00:00"),
    ("ZZZZ-ZZZZ", PassKind.VISITOR, "2026-03-03T06:00:00+00:00", "2026-03-03T10:00:00+00:00"),
]


def test_documented_vectors() -> None:
    doc = DOC.read_text(encoding="utf-8")
    key = Ed25519PrivateKey.from_private_bytes(VECTOR_SEED)
    key_id = kid(key)
    assert VECTOR_SEED.hex() in doc
    assert public_key_to_text(key.public_key()) in doc
    assert key_id in doc
    ring = Keyring([TrustedKey(key_id, key.public_key(), ALL, "vectors")])
    tokens = []
    for serial, kind, start, end in VECTOR_CLAIMS:
        c = PassClaims(
            key_id, serial, kind, datetime.fromisoformat(start), datetime.fromisoformat(end)
        )
        token = sign_pass(c, key)
        assert parse_pass(token, ring) == c
        body = decode(token)[:18].hex()
        spaced = " ".join((body[:8], body[8:18], body[18:20], body[20:28], body[28:]))
        for text in (serial, kind.value, start, end, spaced):
            assert text in doc
        tokens.append(token)
    documented = re.findall(r"^\s*(GP1:[A-Z2-7]{132})\s*$", doc, flags=re.MULTILINE)
    assert documented == tokens
