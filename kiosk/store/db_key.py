"""The database key: made at ``init``, found again at every start without typing it.

Each checkpoint (an office, each gate) has its own key: 32 random bytes made when its
database is made (``kiosk init``, ``kiosk db encrypt``). Nothing in the home holds it.
A program finds it, in this order:

1. this process's memory (the key it made, or an unlock card already scanned);
2. ``KIOSK_DB_KEY``: the unlock card's text (or the key in hex), for scripts and
   services started by an administrator (and the test suite);
3. the OS keyring (``keyring``: Windows Credential Locker, macOS Keychain, the Secret
   Service of a Linux desktop), where ``init`` stored it when there is one;
4. otherwise the database is locked (:class:`DatabaseLocked`): the gate window and the
   office ask for the unlock card (scanned by the gate's camera or a USB scanner), the
   command line for its text.

The unlock card is a QR code of ``GPKEY1:`` and the key in base32 (QR alphanumeric
mode, which a USB scanner types as it is), printed at ``init``. Whoever holds the card
and the laptop can read the database: keep the card away from the laptop, like a safe's
combination.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import logging
import os
import secrets
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from kiosk.core.errors import EnvironmentFault, UserError
from kiosk.core.i18n import tr
from kiosk.store.driver import KEY_BYTES

log = logging.getLogger("kiosk.store")

KEY_ENV = "KIOSK_DB_KEY"
CARD_PREFIX = "GPKEY1:"
KEYRING_SERVICE = "Gatepass database"

_known: dict[Path, bytes] = {}
_known_lock = threading.Lock()

Asker = Callable[[Path], str | None]
_asker: Asker | None = None


def ask_with(asker: Asker | None) -> None:
    """How this program asks a person for the unlock card when no key is found (the
    command line, at a terminal: a hidden prompt a USB scanner can type into);
    ``None``: it does not ask, the database is locked."""
    global _asker
    _asker = asker


class DatabaseLocked(EnvironmentFault):
    """The database is encrypted and this program does not have its key (no keyring
    entry, no ``KIOSK_DB_KEY``, no unlock card scanned yet)."""


class WrongKey(EnvironmentFault):
    """No key found (an unlock card, ``KIOSK_DB_KEY``, the keyring) opens this database:
    another checkpoint's key, or a damaged first page (SQLCipher cannot tell them apart)."""


def new_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def card_text(key: bytes) -> str:
    """The unlock card's text for ``key``: ``GPKEY1:`` + 52 base32 letters."""
    return CARD_PREFIX + base64.b32encode(key).decode("ascii").rstrip("=")


def parse_key(text: str) -> bytes:
    """The key in an unlock card's text (or 64 hex digits); :class:`UserError` for
    anything else. Spaces, line ends and letter case (a scanner's Caps Lock) do not
    matter."""
    cleaned = "".join(text.split())
    if cleaned.upper().startswith(CARD_PREFIX):
        body = cleaned[len(CARD_PREFIX) :].upper()
        with contextlib.suppress(binascii.Error, ValueError):
            key = base64.b32decode(body + "=" * (-len(body) % 8))
            if len(key) == KEY_BYTES:
                return key
    elif len(cleaned) == 2 * KEY_BYTES:
        with contextlib.suppress(ValueError):
            return bytes.fromhex(cleaned)
    raise UserError(tr("That is not a Gatepass unlock card."))


def _slot(path: Path) -> Path:
    return path.expanduser().resolve()


def remember(path: Path, key: bytes) -> None:
    """Keep ``key`` for ``path`` for the life of this process (every thread's
    connections use it)."""
    with _known_lock:
        _known[_slot(path)] = key


def forget(path: Path) -> None:
    with _known_lock:
        _known.pop(_slot(path), None)


def from_env() -> bytes | None:
    """The key in ``KIOSK_DB_KEY`` (``None``: not set)."""
    text = os.environ.get(KEY_ENV, "").strip()
    if not text:
        return None
    try:
        return parse_key(text)
    except UserError:
        raise UserError(
            tr(
                "{name} is set but holds no database key (an unlock card's text, or 64 hex "
                "digits).",
                name=KEY_ENV,
            )
        ) from None


def _keyring_user(path: Path) -> str:
    return str(_slot(path))


def from_keyring(path: Path) -> bytes | None:
    """The key the OS keyring keeps for ``path``; ``None`` when there is no keyring,
    no entry, or it cannot be read (never an error: the card is the way then)."""
    try:
        import keyring
        import keyring.errors

        text = keyring.get_password(KEYRING_SERVICE, _keyring_user(path))
    except Exception as exc:
        log.info("OS keyring not available: %s", exc)
        return None
    if not text:
        return None
    try:
        return parse_key(text)
    except UserError:
        log.warning("the OS keyring's entry for %s holds no key", path)
        return None


def save_to_keyring(path: Path, key: bytes) -> bool:
    """Store ``key`` for ``path`` in the OS keyring; ``False`` where there is none
    (then the unlock card, or ``KIOSK_DB_KEY``, opens the database)."""
    try:
        import keyring

        keyring.set_password(KEYRING_SERVICE, _keyring_user(path), card_text(key))
    except Exception as exc:
        log.info("the key of %s is not in an OS keyring: %s", path, exc)
        return False
    log.info("the key of %s is kept by the OS keyring", path)
    return True


def candidates(path: Path, *, ask: bool = True) -> Iterator[bytes]:
    """The keys that may open ``path``, in order (see the module's doc): memory,
    ``KIOSK_DB_KEY``, the OS keyring. The keyring is asked only when the others did
    not open it; the caller :func:`remember` s the one that does."""
    with _known_lock:
        known = _known.get(_slot(path))
    if known is not None:
        yield known
    env = from_env()
    if env is not None and env != known:
        yield env
    kept = from_keyring(path)
    if kept is not None and kept not in (known, env):
        yield kept
    asker = _asker if ask else None
    if asker is not None:
        text = asker(path)
        if text:
            yield parse_key(text)


def opens(path: Path, key: bytes) -> bool:
    """Whether ``key`` opens the database at ``path`` (then remembered for it). Any
    thread; one short read of the file."""
    from kiosk.store.driver import keyed, open_connection

    conn = open_connection(path, key, timeout=1.0)
    try:
        if not keyed(conn):
            return False
    finally:
        conn.close()
    remember(path, key)
    return True


def needs_card(path: Path) -> bool:
    """Whether no key this program can find without asking opens the database at
    ``path`` (a window then asks for the card). A database not made yet, or made before
    encryption, needs none."""
    from kiosk.store.driver import is_plain

    if not path.exists() or is_plain(path):
        return False
    return not any(opens(path, key) for key in candidates(path, ask=False))


def key_in_use(path: Path) -> bytes:
    """The key this process opened ``path`` with (:func:`remember` ed by the open)."""
    with _known_lock:
        key = _known.get(_slot(path))
    if key is None:
        raise locked(path)
    return key


def key_for_new(path: Path) -> bytes:
    """The key for a database about to be made at ``path``: one already given for it
    (:func:`remember`: the demo's), else ``KIOSK_DB_KEY`` (a script that made its card
    first), else a new random one. Remembered."""
    with _known_lock:
        key = _known.get(_slot(path))
    key = key or from_env() or new_key()
    remember(path, key)
    return key


def locked(path: Path) -> DatabaseLocked:
    return DatabaseLocked(
        tr(
            "The database {path} is encrypted and its key is not on this computer. Scan "
            "the checkpoint's unlock card (or set {name} to its text), then try again.",
            path=path,
            name=KEY_ENV,
        )
    )


def wrong_key(path: Path) -> WrongKey:
    return WrongKey(
        tr(
            "That key does not open {path}: it is another checkpoint's unlock card, or "
            "the file is damaged.",
            path=path,
        )
    )
