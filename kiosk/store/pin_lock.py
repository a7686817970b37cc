"""The admin PIN in the checkpoint's ``meta`` table: its hash, the wrong tries and the
lock they set.

The hash (:data:`PIN_HASH`, ``scrypt$...`` from :func:`kiosk.core.pin.hash_pin`) is in the
database so that it is encrypted with it, not in the world-readable settings file where
an older Gatepass kept it (:func:`adopt_pin_hash` moves it, once). Set by ``kiosk init``,
changed by ``kiosk pin set`` and the window's settings dialog (:func:`set_pin_hash`,
audited ``pin.change`` without the hash); checked by :func:`check_pin`, which the CLI and
the windows share (the windows on a worker's thread: scrypt takes tens of milliseconds).

:data:`MAX_TRIES` wrong PINs in a row lock every PIN check of the checkpoint (the CLI's,
and any window's that uses these functions) for :data:`LOCK_S` seconds. Being on disk,
the count and the lock survive a restart: ``kiosk office`` exits on a wrong PIN, and a
relaunch no longer gives five fresh tries.

The lock's end is wall-clock time (a monotonic clock does not survive a reboot). A
clock moved back would stretch it: an end more than :data:`LOCK_S` ahead of ``now`` is
taken as ``now + LOCK_S`` and written back so. A clock moved forward ends it early,
which costs no more than one more round of :data:`MAX_TRIES` tries.

Every function takes ``now`` (default: the wall clock) so that tests fake time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlite_utils import Database

from kiosk.core.clock import from_db, to_db, utcnow
from kiosk.core.pin import is_set, verify_pin
from kiosk.store.checkpoint import get_meta, record_audit, set_meta
from kiosk.store.db import write

MAX_TRIES = 5
LOCK_S = 60.0
FAILURES = "pin_failures"  # meta: wrong PINs since the last right one or lock
LOCKED_UNTIL = "pin_locked_until"  # meta: the lock's end (UTC, to_db)
PIN_HASH = "admin_pin_hash"
"""Meta: the admin PIN's hash; "" or no row: none set (no PIN opens anything)."""


def pin_hash(db: Database) -> str:
    """The admin PIN's hash ("" when none is set)."""
    return get_meta(db, PIN_HASH) or ""


def set_pin_hash(db: Database, new_hash: str, actor: str, via: str) -> None:
    """A new admin PIN (its hash), audited ``pin.change`` with ``via`` and whether it is
    the first: never the hash."""
    with write(db):
        first = not is_set(pin_hash(db))
        set_meta(db, PIN_HASH, new_hash)
        record_audit(db, actor, "pin.change", {"via": via, "first": first})


def adopt_pin_hash(db: Database, legacy: str, actor: str) -> bool:
    """The hash an older Gatepass kept in settings.toml, into the database: only when the
    database has no PIN row yet (once it has, the file's copy is ignored, never taken
    over the database's). Audited ``pin.moved``. True when it was taken."""
    with write(db):
        if get_meta(db, PIN_HASH) is not None:
            return False
        set_meta(db, PIN_HASH, legacy)
        record_audit(db, actor, "pin.moved", {"from": "settings.toml", "set": is_set(legacy)})
    return True


@dataclass(frozen=True)
class PinCheck:
    """The answer to a PIN: ``right``; else ``locked_for`` seconds of lock (0: none),
    or ``unset`` (no PIN is set here: nothing matches, and it is no wrong try)."""

    right: bool
    locked_for: float = 0.0
    unset: bool = False


def check_pin(
    db: Database, pin: str, actor: str, via: str, now: datetime | None = None
) -> PinCheck:
    """Check ``pin`` against the stored hash, respecting and counting towards the lock:
    the one PIN check of the CLI and the windows."""
    now = now or utcnow()
    left = pin_locked_for(db, now)
    if left > 0:
        return PinCheck(False, left)
    stored = pin_hash(db)
    if not is_set(stored):
        return PinCheck(False, unset=True)
    if verify_pin(pin, stored):
        pin_succeeded(db)
        return PinCheck(True)
    return PinCheck(False, pin_failed(db, actor, via, now))


def pin_locked_for(db: Database, now: datetime | None = None) -> float:
    """Seconds every PIN check stays locked (0: open). Clamps a lock a clock moved back
    left too far ahead (writes only then)."""
    now = now or utcnow()
    stored = get_meta(db, LOCKED_UNTIL)
    if stored is None:
        return 0.0
    left = (from_db(stored) - now).total_seconds()
    if left > LOCK_S:  # the clock went back since the lock was set
        set_meta(db, LOCKED_UNTIL, to_db(now + timedelta(seconds=LOCK_S)))
        return LOCK_S
    return max(0.0, left)


def pin_failed(db: Database, actor: str, via: str, now: datetime | None = None) -> float:
    """Count a wrong PIN; the :data:`MAX_TRIES`-th locks (audited ``pin.lock``).
    Returns the seconds now locked (0: not locked)."""
    now = now or utcnow()
    with write(db):
        failures = int(get_meta(db, FAILURES) or "0") + 1
        if failures < MAX_TRIES:
            set_meta(db, FAILURES, str(failures))
            return 0.0
        set_meta(db, FAILURES, "0")
        set_meta(db, LOCKED_UNTIL, to_db(now + timedelta(seconds=LOCK_S)))
        record_audit(db, actor, "pin.lock", {"via": via, "tries": failures, "seconds": LOCK_S})
    return LOCK_S


def pin_succeeded(db: Database) -> None:
    """A right PIN: the count starts again (writes only when there was one)."""
    if get_meta(db, FAILURES, "0") == "0" and get_meta(db, LOCKED_UNTIL) is None:
        return
    with write(db):
        db.execute("DELETE FROM meta WHERE key IN (?, ?)", [FAILURES, LOCKED_UNTIL])
