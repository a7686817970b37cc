"""Key files, key ids, keyrings and the public key bundle."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.core.errors import UserError
from kiosk.core.keys import (
    Keyring,
    TrustedKey,
    bundle_from_json,
    bundle_to_json,
    generate_private_key,
    key_id_of,
    key_is_encrypted,
    load_private_key,
    public_key_from_text,
    public_key_to_text,
    save_private_key,
)
from kiosk.core.passes import PassKind

POSIX = os.name == "posix"
ALL = frozenset(PassKind)


def raw(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )


def trusted(
    key: Ed25519PrivateKey, kinds: frozenset[PassKind] = ALL, label: str = ""
) -> TrustedKey:
    return TrustedKey(key_id_of(key.public_key()), key.public_key(), kinds, label)


def test_key_id_is_first_four_bytes_of_sha256() -> None:
    key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    assert key_id_of(key.public_key()) == "56475AA7"
    ids = {key_id_of(generate_private_key().public_key()) for _ in range(20)}
    assert len(ids) == 20
    assert all(len(i) == 8 and i == i.upper() and int(i, 16) >= 0 for i in ids)


@pytest.mark.parametrize("passphrase", [None, "correct horse 电池"])
def test_save_and_load(tmp_path: Path, passphrase: str | None) -> None:
    key = generate_private_key()
    path = tmp_path / "keys" / "issuer.key"
    save_private_key(path, key, passphrase)
    assert key_is_encrypted(path) is (passphrase is not None)
    assert raw(load_private_key(path, passphrase)) == raw(key)
    if POSIX:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["issuer.key"]  # no temp file left
    assert path.read_bytes().startswith(
        b"-----BEGIN ENCRYPTED PRIVATE KEY-----" if passphrase else b"-----BEGIN PRIVATE KEY-----"
    )


def test_refuses_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "issuer.key"
    first = generate_private_key()
    save_private_key(path, first, None)
    with pytest.raises(UserError, match="already exists"):
        save_private_key(path, generate_private_key(), None)
    assert raw(load_private_key(path, None)) == raw(first)
    assert len(list(tmp_path.iterdir())) == 1


def test_passphrase_messages(tmp_path: Path) -> None:
    path = tmp_path / "issuer.key"
    save_private_key(path, generate_private_key(), "right")
    with pytest.raises(UserError, match="protected by a passphrase"):
        load_private_key(path, None)
    with pytest.raises(UserError, match="Wrong passphrase"):
        load_private_key(path, "wrong")
    with pytest.raises(UserError, match="Wrong passphrase"):
        load_private_key(path, "")
    with pytest.raises(UserError, match="empty"):
        save_private_key(tmp_path / "other.key", generate_private_key(), "")


def test_passphrase_for_a_plain_key_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "gate.key"
    key = generate_private_key()
    save_private_key(path, key, None)
    assert raw(load_private_key(path, "unused")) == raw(key)


def test_load_errors(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="No key file"):
        load_private_key(tmp_path / "missing.key", None)
    with pytest.raises(UserError, match="No key file"):
        key_is_encrypted(tmp_path / "missing.key")
    junk = tmp_path / "junk.key"
    junk.write_bytes(b"-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n")
    with pytest.raises(UserError, match="not a private key file"):
        load_private_key(junk, None)
    ec_file = tmp_path / "ec.key"
    ec_file.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(UserError, match="not an Ed25519 key"):
        load_private_key(ec_file, None)


@pytest.mark.skipif(not POSIX, reason="POSIX file modes")
def test_warns_when_others_can_read(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "issuer.key"
    save_private_key(path, generate_private_key(), None)
    with caplog.at_level(logging.WARNING, logger="kiosk.keys"):
        load_private_key(path, None)
    assert not caplog.records
    path.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="kiosk.keys"):
        load_private_key(path, None)
    assert "readable by other users" in caplog.text


def test_public_key_text() -> None:
    key = generate_private_key().public_key()
    text = public_key_to_text(key)
    assert len(text) == 44
    assert key_id_of(public_key_from_text(text)) == key_id_of(key)
    for junk in ("", "not base64!", text[:-4], text + "AAAA", "é" * 44, text.replace("=", "")):
        with pytest.raises(UserError):
            public_key_from_text(junk)


def test_trusted_key_checks_its_id() -> None:
    key = generate_private_key()
    with pytest.raises(ValueError):
        TrustedKey("00000000", key.public_key(), ALL, "")


def test_keyring() -> None:
    a, b = (
        trusted(generate_private_key()),
        trusted(generate_private_key(), frozenset({PassKind.VISITOR})),
    )
    ring = Keyring([a, b])
    assert len(ring) == 2
    assert a.key_id in ring and b.key_id in ring and "00000000" not in ring
    assert ring.get(a.key_id) is a and ring.get("00000000") is None
    assert list(ring) == [a, b]
    with pytest.raises(AttributeError):
        ring._keys = {}
    with pytest.raises(ValueError):
        Keyring([a, a])
    assert len(Keyring(iter([a]))) == 1


def test_bundle_round_trip() -> None:
    keys = [
        trusted(generate_private_key(), ALL, "东门 issuer"),
        trusted(generate_private_key(), frozenset({PassKind.VISITOR}), "gate 2"),
    ]
    text = bundle_to_json(keys)
    data = json.loads(text)
    assert data["format"] == "gatepass-public-keys" and data["version"] == 1
    assert data["keys"][0]["kinds"] == ["resident", "staff", "visitor"]
    assert set(data["keys"][0]) == {"key_id", "public_key", "kinds", "label"}
    back = bundle_from_json(text)
    assert [(k.key_id, k.kinds, k.label) for k in back] == [
        (k.key_id, k.kinds, k.label) for k in keys
    ]
    assert [public_key_to_text(k.public_key) for k in back] == [
        public_key_to_text(k.public_key) for k in keys
    ]
    assert bundle_from_json(bundle_to_json([])) == []


def _bundle(**changes: object) -> str:
    key = generate_private_key().public_key()
    entry: dict[str, object] = {
        "key_id": key_id_of(key),
        "public_key": public_key_to_text(key),
        "kinds": ["visitor"],
        "label": "x",
    }
    data: dict[str, object] = {"format": "gatepass-public-keys", "version": 1, "keys": [entry]}
    for name, value in changes.items():
        if name.startswith("entry_"):
            entry[name[6:]] = value
        else:
            data[name] = value
    return json.dumps(data)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "{",
        "[]",
        "null",
        "1" * 5000,
        "[" * 100_000,
        _bundle(format="something-else"),
        _bundle(version=2),
        _bundle(version=True),
        _bundle(version="1"),
        _bundle(keys={}),
        _bundle(keys=["not an object"]),
        _bundle(entry_key_id="00000000"),
        _bundle(entry_key_id=None),
        _bundle(entry_public_key="AAAA"),
        _bundle(entry_public_key=12),
        _bundle(entry_kinds=["resident", "admin"]),
        _bundle(entry_kinds=[]),
        _bundle(entry_kinds="visitor"),
        _bundle(entry_kinds=[None]),
        _bundle(entry_label=["x"]),
    ],
)
def test_bundle_junk(text: str) -> None:
    with pytest.raises(UserError, match="Not a valid public key file"):
        bundle_from_json(text)


def test_bundle_twice_the_same_key() -> None:
    one = json.loads(_bundle())
    one["keys"] = one["keys"] * 2
    with pytest.raises(UserError, match="twice"):
        bundle_from_json(json.dumps(one))


@settings(max_examples=150, deadline=None)
@pytest.mark.slow
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
        lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
        max_leaves=20,
    )
)
def test_bundle_any_json(value: object) -> None:
    for text in (
        json.dumps(value),
        json.dumps({"format": "gatepass-public-keys", "version": 1, "keys": value}),
    ):
        with contextlib.suppress(UserError):
            bundle_from_json(text)
