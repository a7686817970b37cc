"""The administrator PIN: stored only as a salted scrypt hash.

Stored as ``scrypt$n$r$p$salt_b64$hash_b64`` in the ``admin_pin_hash`` setting. While
that setting is empty the PIN is :data:`DEFAULT_PIN` (``1234``): the gate works out of
the box, and the settings dialog asks, every time it opens, for it to be changed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

DEFAULT_PIN = "1234"
SCHEME = "scrypt"
N, R, P = 2**14, 8, 1
SALT_BYTES = 16
HASH_BYTES = 32
PIN_MIN, PIN_MAX = 4, 12


def is_valid_pin(pin: str) -> bool:
    """A PIN is 4 to 12 ASCII digits."""
    return pin.isascii() and pin.isdigit() and PIN_MIN <= len(pin) <= PIN_MAX


def _derive(pin: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        pin.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=HASH_BYTES, maxmem=64 * 1024 * 1024
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_pin(pin: str) -> str:
    """``scrypt$n$r$p$salt$hash`` for ``pin`` with a fresh random salt."""
    salt = secrets.token_bytes(SALT_BYTES)
    return f"{SCHEME}${N}${R}${P}${_b64(salt)}${_b64(_derive(pin, salt, N, R, P))}"


def verify_pin(pin: str, stored: str) -> bool:
    """Whether ``pin`` matches ``stored`` (empty ``stored``: the default PIN).

    The comparison takes the same time whatever the digits; a malformed ``stored``
    matches nothing.
    """
    if not stored:
        return hmac.compare_digest(pin.encode("utf-8"), DEFAULT_PIN.encode("utf-8"))
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != SCHEME:
            return False
        expected = base64.b64decode(digest, validate=True)
        got = _derive(pin, base64.b64decode(salt, validate=True), int(n), int(r), int(p))
    except (ValueError, TypeError, MemoryError):
        return False
    return hmac.compare_digest(got, expected)


def is_default(stored: str) -> bool:
    """Whether the PIN is still the default one (no PIN has been set)."""
    return not stored
