"""Signing keys, trusted public keys, and moving them between computers.

A key is known by its key id: the first 4 bytes of SHA-256 of the raw 32-byte Ed25519
public key, as 8 upper-case hex characters. A gate trusts a :class:`Keyring` of
:class:`TrustedKey`: several at once, so keys can be rotated, each limited to the pass
kinds it may sign (an issuer key: all; a gate's own key: visitor codes only).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from kiosk.core.atomic import file_fault, whole_file
from kiosk.core.errors import UserError
from kiosk.core.i18n import tr
from kiosk.core.passes import PassKind

__all__ = [
    "BUNDLE_FORMAT",
    "BUNDLE_VERSION",
    "Keyring",
    "TrustedKey",
    "bundle_from_json",
    "bundle_to_json",
    "generate_private_key",
    "key_id_of",
    "key_is_encrypted",
    "load_private_key",
    "public_key_from_text",
    "public_key_to_text",
    "save_private_key",
]

log = logging.getLogger("kiosk.keys")

BUNDLE_FORMAT = "gatepass-public-keys"
BUNDLE_VERSION = 1
_ENCRYPTED_MARKERS = (b"-----BEGIN ENCRYPTED PRIVATE KEY-----", b"Proc-Type: 4,ENCRYPTED")


def _raw(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id_of(public_key: Ed25519PublicKey) -> str:
    """8 upper-case hex characters: the first 4 bytes of SHA-256 of the raw public key."""
    return hashlib.sha256(_raw(public_key)).digest()[:4].hex().upper()


def generate_private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


# --- private key files -----------------------------------------------------------------


def save_private_key(path: Path, key: Ed25519PrivateKey, passphrase: str | None) -> None:
    """Write ``key`` as PKCS#8 PEM (encrypted when a passphrase is given), mode 0600.

    The file appears whole or not at all (kiosk.core.atomic.whole_file). An existing
    key file is never overwritten.
    """
    if passphrase is not None and not passphrase:
        raise UserError(tr("The passphrase is empty: give one, or none at all."))
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase.encode("utf-8"))
        if passphrase is not None
        else serialization.NoEncryption()
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    if path.exists():
        raise UserError(tr("A key file already exists at {path}; it was not replaced.", path=path))
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise file_fault(exc, path) from exc
    try:
        with whole_file(path, private=True, replace=False) as temp:  # 0600, never replaced
            temp.write_bytes(pem)
    except FileExistsError:  # appeared meanwhile
        raise UserError(
            tr("A key file already exists at {path}; it was not replaced.", path=path)
        ) from None


def _read_key_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise UserError(tr("No key file at {path}.", path=path)) from None
    except OSError as exc:
        raise UserError(
            tr("Cannot read the key file {path}: {reason}", path=path, reason=exc.strerror or exc)
        ) from None


def _is_encrypted(data: bytes) -> bool:
    return any(marker in data for marker in _ENCRYPTED_MARKERS)


def key_is_encrypted(path: Path) -> bool:
    """Whether the key file at ``path`` needs a passphrase."""
    return _is_encrypted(_read_key_file(path))


def _warn_if_exposed(path: Path) -> None:
    if os.name != "posix":
        return
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning(
            "key file %s is readable by other users (mode %o); run: chmod 600 %s",
            path,
            stat.S_IMODE(mode),
            path,
        )


def load_private_key(path: Path, passphrase: str | None) -> Ed25519PrivateKey:
    """The private key in ``path``; a :class:`UserError` that says what to do otherwise.

    A passphrase given for a key file that is not encrypted is ignored.
    """
    data = _read_key_file(path)
    _warn_if_exposed(path)
    encrypted = _is_encrypted(data)
    if encrypted and passphrase is None:
        raise UserError(
            tr(
                "The issuer key {path} is protected by a passphrase: give the passphrase.",
                path=path,
            )
        )
    password = passphrase.encode("utf-8") if encrypted and passphrase is not None else None
    try:
        key = serialization.load_pem_private_key(data, password=password)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        if encrypted:
            raise UserError(tr("Wrong passphrase for the issuer key {path}.", path=path)) from None
        raise UserError(tr("{path} is not a private key file.", path=path)) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise UserError(tr("{path} is not an Ed25519 key.", path=path))
    return key


# --- trusted public keys ---------------------------------------------------------------


def public_key_to_text(public_key: Ed25519PublicKey) -> str:
    """Standard Base64 of the raw 32-byte key (44 characters)."""
    return base64.b64encode(_raw(public_key)).decode("ascii")


def public_key_from_text(text: str) -> Ed25519PublicKey:
    """The key written by :func:`public_key_to_text`; a :class:`UserError` for anything else."""
    junk = UserError(tr("Not a Gatepass public key: {text!r}", text=text[:60]))
    raw_text = text.strip()
    if not raw_text.isascii():
        raise junk
    try:
        raw = base64.b64decode(raw_text, validate=True)
    except binascii.Error:
        raise junk from None
    if len(raw) != 32 or base64.b64encode(raw).decode("ascii") != raw_text:
        raise junk
    return Ed25519PublicKey.from_public_bytes(raw)


@dataclass(frozen=True)
class TrustedKey:
    """A public key a gate trusts, and the pass kinds it may sign."""

    key_id: str
    public_key: Ed25519PublicKey
    kinds: frozenset[PassKind]
    label: str = ""

    def __post_init__(self) -> None:
        actual = key_id_of(self.public_key)
        if self.key_id != actual:
            raise ValueError(f"key id {self.key_id!r} does not match the key ({actual})")


class Keyring:
    """The keys a gate trusts, by key id. Immutable; holds several keys during rotation."""

    __slots__ = ("_keys",)
    _keys: dict[str, TrustedKey]

    def __init__(self, keys: Iterable[TrustedKey] = ()) -> None:
        found: dict[str, TrustedKey] = {}
        for key in keys:
            if key.key_id in found:
                raise ValueError(f"key id {key.key_id} is in the keyring twice")
            found[key.key_id] = key
        object.__setattr__(self, "_keys", found)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("a Keyring cannot be changed; build a new one")

    def get(self, key_id: str) -> TrustedKey | None:
        return self._keys.get(key_id)

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self) -> Iterator[TrustedKey]:
        return iter(list(self._keys.values()))

    def __contains__(self, key_id: object) -> bool:
        return key_id in self._keys

    def __repr__(self) -> str:
        return f"Keyring({sorted(self._keys)})"


# --- the public key bundle -------------------------------------------------------------


def bundle_to_json(keys: Iterable[TrustedKey]) -> str:
    """The public key bundle ``kiosk keys export-public`` writes."""
    order = list(PassKind)
    entries = [
        {
            "key_id": key.key_id,
            "public_key": public_key_to_text(key.public_key),
            "kinds": [kind.value for kind in sorted(key.kinds, key=order.index)],
            "label": key.label,
        }
        for key in keys
    ]
    bundle = {"format": BUNDLE_FORMAT, "version": BUNDLE_VERSION, "keys": entries}
    return json.dumps(bundle, ensure_ascii=False, indent=2) + "\n"


def _bundle_error(detail: str) -> UserError:
    return UserError(tr("Not a valid public key file: {detail}", detail=detail))


def _key_from_entry(number: int, entry: Any) -> TrustedKey:
    if not isinstance(entry, dict):
        raise _bundle_error(tr("key {number} is not an object", number=number))
    key_id, text, kinds, label = (entry.get(f) for f in ("key_id", "public_key", "kinds", "label"))
    if label is None:
        label = ""
    if not isinstance(key_id, str) or not isinstance(text, str) or not isinstance(label, str):
        raise _bundle_error(
            tr("key {number} needs text fields key_id, public_key and label", number=number)
        )
    try:
        public_key = public_key_from_text(text)
    except UserError:
        raise _bundle_error(tr("key {number} has a damaged public key", number=number)) from None
    if key_id != key_id_of(public_key):
        raise _bundle_error(
            tr(
                "key {number}: the key id {key_id} does not match its public key",
                number=number,
                key_id=key_id[:20],
            )
        )
    if not isinstance(kinds, list) or not kinds:
        raise _bundle_error(tr("key {number} lists no pass kinds", number=number))
    allowed = {kind.value for kind in PassKind}
    for kind in kinds:
        if not isinstance(kind, str) or kind not in allowed:
            raise _bundle_error(
                tr("key {number}: unknown pass kind {kind!r}", number=number, kind=kind)
            )
    return TrustedKey(key_id, public_key, frozenset(PassKind(k) for k in kinds), label)


def bundle_from_json(text: str) -> list[TrustedKey]:
    """The keys in a bundle written by :func:`bundle_to_json`, every field checked."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _bundle_error(
            tr("not JSON (line {line}, column {column})", line=exc.lineno, column=exc.colno)
        ) from None
    except (ValueError, RecursionError):  # e.g. a number with too many digits
        raise _bundle_error(tr("not JSON that this program can read")) from None
    if not isinstance(data, dict) or data.get("format") != BUNDLE_FORMAT:
        raise _bundle_error(tr("it is not a Gatepass public key bundle"))
    version = data.get("version")
    if type(version) is not int or version != BUNDLE_VERSION:
        raise _bundle_error(
            tr(
                "version {version!r} is not supported (this program reads version 1)",
                version=version,
            )
        )
    entries = data.get("keys")
    if not isinstance(entries, list):
        raise _bundle_error(tr("it has no list of keys"))
    keys: list[TrustedKey] = []
    seen: set[str] = set()
    for number, entry in enumerate(entries, start=1):
        key = _key_from_entry(number, entry)
        if key.key_id in seen:
            raise _bundle_error(tr("key {key_id} is listed twice", key_id=key.key_id))
        seen.add(key.key_id)
        keys.append(key)
    return keys
