"""The administrator PIN: stored only as a salted scrypt hash.

Stored as ``scrypt$n$r$p$salt_b64$hash_b64`` in the checkpoint's database (meta
``admin_pin_hash``, :mod:`kiosk.store.pin_lock`). There is no default PIN: ``kiosk
init`` sets one (asked for, ``--pin`` or ``KIOSK_ADMIN_PIN``), ``kiosk pin set`` or the
settings dialog changes it, and while none is stored (a checkpoint made before PINs
were asked for) no PIN opens anything until one is set with ``kiosk pin set``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import secrets

from kiosk.core.i18n import tr

SCHEME = "scrypt"
N, R, P = 2**14, 8, 1
SALT_BYTES = 16
HASH_BYTES = 32
PIN_MIN, PIN_MAX = 4, 12


def _runs_in_order(pin: str) -> bool:
    steps = {(int(b) - int(a)) % 10 for a, b in itertools.pairwise(pin)}
    return steps in ({1}, {9})  # 1234, 7890, 4321, 0987


def _repeats_a_block(pin: str) -> bool:
    return any(
        len(pin) % size == 0 and pin == pin[:size] * (len(pin) // size)
        for size in range(1, len(pin) // 2 + 1)
    )


def pin_problem(pin: str) -> str | None:
    """Why ``pin`` may not be the administrator PIN (translated), or None when it may.

    4 to 12 digits; refused as too easy to guess: one digit repeated (0000), digits
    running in order either way (1234, 98765), a block repeated (1212, 123123).
    """
    if not (pin.isascii() and pin.isdigit()):
        return tr("A PIN is digits only (0-9).")
    if not PIN_MIN <= len(pin) <= PIN_MAX:
        return tr("A PIN is {low} to {high} digits.", low=PIN_MIN, high=PIN_MAX)
    if _runs_in_order(pin):
        return tr("Too easy to guess: the digits run in order (like 1234). Choose another.")
    if _repeats_a_block(pin):
        return tr("Too easy to guess: the same digits repeated (like 1111 or 1212).")
    return None


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
    """Whether ``pin`` matches ``stored``. An empty ``stored`` (no PIN set) and a
    malformed one match nothing.

    The comparison takes the same time whatever the digits.
    """
    if not stored:
        return False
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != SCHEME:
            return False
        expected = base64.b64decode(digest, validate=True)
        got = _derive(pin, base64.b64decode(salt, validate=True), int(n), int(r), int(p))
    except (ValueError, TypeError, MemoryError):
        return False
    return hmac.compare_digest(got, expected)


def is_set(stored: str) -> bool:
    """Whether an administrator PIN has been set."""
    return bool(stored)
