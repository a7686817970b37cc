"""Wrong admin PINs and the lock they set, kept in the checkpoint's ``meta`` table.

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

from datetime import datetime, timedelta

from sqlite_utils import Database

from kiosk.core.clock import from_db, to_db, utcnow
from kiosk.store.checkpoint import get_meta, record_audit, set_meta
from kiosk.store.db import write

MAX_TRIES = 5
LOCK_S = 60.0
FAILURES = "pin_failures"  # meta: wrong PINs since the last right one or lock
LOCKED_UNTIL = "pin_locked_until"  # meta: the lock's end (UTC, to_db)


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
