"""Retention: visit and visitor records older than a set number of days are deleted,
and gone from the file too.

``secure_delete`` is on (set and checked when the database opens), so deleted rows are
overwritten with zeros; a WAL checkpoint (TRUNCATE) afterwards folds the WAL back into
the main file and empties it, so no old copy of a page survives there either. While
another connection reads, that checkpoint cannot finish (its old pages stay): the
purge says so (:attr:`PurgeReport.unfinished`, meta :data:`PURGE_UNFINISHED`) and
:func:`finish_purge` (every :func:`purge_if_due`: the gate's start and purge checks)
finishes it once the reader has let go.
A visit that a newer, kept correction points to is kept until that correction goes.

Visits are deleted :data:`PURGE_BATCH` rows per transaction, newest first (a correction
goes before the visit it corrects), so the gate's commits get in between. Each batch
keeps the visit log's hash chain checkable (``kiosk.store.chain.record_purged`` and
``compact``, in the batch's transaction; docs/chain.md).

A purge never acts on a clock in doubt (:func:`clock_doubt`): one more than
:data:`CLOCK_LEAP` after the newest time the checkpoint wrote (its newest visit, its
last purge, its creation), as a clock set 400 days ahead would be. The daily purge
(:func:`purge_if_due`) then holds retention (meta :data:`PURGE_HELD`) and raises
:class:`ClockInDoubt`; it stays held, whatever the clock says later, until an admin
purges on purpose (``kiosk purge --trust-clock``, or the office's purge).

A clock behind the newest passage the log recorded (by more than :data:`CLOCK_BEHIND`)
is in doubt too, and so is one the gate saw set back while it ran: the gate holds
retention then (:func:`hold`) and the guard is told (the gate window's clock notice,
:func:`held_since`, :func:`held_why`) until an admin's purge trusts the clock. Passages
recorded before that purge no longer count against the clock (meta
:data:`CLOCK_TRUSTED_ROWID`): a clock that was ahead and has been put right is not
doubted for the times it wrote while it was wrong.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlite_utils import Database

from kiosk.core.clock import from_db, to_db
from kiosk.core.errors import UserError
from kiosk.core.i18n import N_, tr
from kiosk.core.progress import Cancelled, Progress
from kiosk.store.chain import compact, record_purged
from kiosk.store.checkpoint import get_meta, record_audit, set_meta
from kiosk.store.db import BATCH_GAP_S, Pacer, write
from kiosk.store.driver import sqlite3
from kiosk.store.exchange import prune as prune_exchange

LAST_PURGE = "last_purge"
PURGE_HELD = "purge_held"
"""Meta: when the daily purge first found the clock in doubt (retention held since)."""
CLOCK_LEAP = timedelta(days=2)
"""A clock more than this after the newest time the checkpoint wrote is in doubt."""
CLOCK_BEHIND = timedelta(minutes=1)
"""A clock more than this before the newest passage recorded (since the last purge an
admin trusted) is in doubt: it was set back."""
CLOCK_TRUSTED_ROWID = "clock_trusted_rowid"
"""Meta: the newest visit's rowid when a purge last trusted the clock; passages up to it
are not held against the clock."""
PURGE_UNFINISHED = "purge_unfinished"
"""Meta: when a purge's WAL checkpoint (TRUNCATE) was blocked by a reader still holding
the old pages; :func:`finish_purge` tries again (the gate's next purge check, the next
purge) and clears it."""
PURGE_BATCH = 2000
"""Visits deleted per transaction (a few milliseconds of the write lock each)."""


class ClockInDoubt(UserError):
    """The purge did not run: the clock may be wrong (the message says why)."""


def local_minute(at: datetime) -> str:
    """``at`` in local time to the minute, as the window and the CLI show times."""
    return at.astimezone().strftime("%Y-%m-%d %H:%M")


@dataclass(frozen=True)
class Doubt:
    """Why the clock is in doubt, as a message and its values: kept so in the audit log
    (``retention.held``), so that the gate window says it in its own language later."""

    message: str  # English, marked with N_()
    values: dict[str, str | int]

    def __str__(self) -> str:
        return tr(self.message, **self.values)


def clock_doubt(db: Database, now: datetime) -> str | None:
    """Why a purge must not trust ``now``, or ``None`` when nothing speaks against it."""
    held = get_meta(db, PURGE_HELD)
    if held is not None:
        return tr(
            "Retention is on hold since the clock was in doubt at {time}.",
            time=local_minute(from_db(held)),
        )
    doubt = _doubt(db, now, _known_times(db))
    return None if doubt is None else str(doubt)


def _known_times(db: Database) -> list[datetime]:
    """The newest times the checkpoint wrote: its newest visit, last purge, creation."""
    newest = [
        db.execute("SELECT max(at) FROM visits").fetchone()[0],
        get_meta(db, LAST_PURGE),
        get_meta(db, "created_at"),
    ]
    return [from_db(t) for t in newest if t]


def clock_doubt_of(db: Database, now: datetime) -> Doubt | None:
    """Like :func:`clock_doubt`, not counting a hold: why ``now`` is in doubt itself."""
    return _doubt(db, now, _known_times(db))


def _doubt(db: Database, now: datetime, known: list[datetime]) -> Doubt | None:
    behind = _newest_untrusted_passage(db)
    if behind is not None and behind - now > CLOCK_BEHIND:
        return Doubt(
            N_("The clock says {now}, before the newest recorded passage ({newest})."),
            {"now": local_minute(now), "newest": local_minute(behind)},
        )
    if not known or now - max(known) <= CLOCK_LEAP:
        return None
    return Doubt(
        N_("The clock says {now}, {days} days after the newest record ({newest})."),
        {
            "now": local_minute(now),
            "days": (now - max(known)).days,
            "newest": local_minute(max(known)),
        },
    )


def _newest_untrusted_passage(db: Database) -> datetime | None:
    """The latest time of the passages recorded since a purge last trusted the clock."""
    trusted = int(get_meta(db, CLOCK_TRUSTED_ROWID) or "0")
    newest = db.execute("SELECT max(at) FROM visits WHERE rowid > ?", [trusted]).fetchone()[0]
    return from_db(newest) if newest else None


def hold(db: Database, now: datetime, why: Doubt | str, actor: str = "retention") -> None:
    """Hold retention: the clock is in doubt for ``why`` (audited ``retention.held``
    once, with the message and its values; an existing hold stays as it is). Only an
    admin's purge ends it."""
    if get_meta(db, PURGE_HELD) is not None:
        return
    detail: dict[str, object] = {"now": to_db(now), "why": str(why)}
    if isinstance(why, Doubt):
        detail.update(message=why.message, values=why.values)
    with write(db):
        set_meta(db, PURGE_HELD, to_db(now))
        record_audit(db, actor, "retention.held", detail)


def held_since(db: Database) -> str | None:
    """When retention was held (the clock in doubt), or ``None`` when it is not."""
    return get_meta(db, PURGE_HELD)


def held_why(db: Database) -> str:
    """Why retention is held (the last ``retention.held``), in the current language."""
    row = db.execute(
        "SELECT detail FROM audit WHERE action = 'retention.held' ORDER BY rowid DESC LIMIT 1"
    ).fetchone()
    if row is None:
        return ""
    try:
        detail = json.loads(row[0])
        if "message" in detail:
            return str(Doubt(str(detail["message"]), dict(detail["values"])))
        return str(detail.get("why", ""))
    except (ValueError, TypeError, KeyError, AttributeError):
        return ""


def trust_clock_hint() -> str:
    return tr(
        "Nothing was deleted. Check the computer's clock; when it is right, "
        "run 'kiosk purge --trust-clock'."
    )


@dataclass(frozen=True)
class PurgeReport:
    cutoff: datetime
    visits: int
    visitors: int
    passes: int
    unfinished: bool = False
    """Another connection still reads the old pages: the deleted records stay in the
    file until it closes them (:func:`finish_purge` finishes the job later)."""


def unfinished_note() -> str:
    return tr(
        "Another program still has the checkpoint open: the deleted records leave the "
        "file when the other program closes the checkpoint (the next purge or gate start "
        "finishes the job)."
    )


def _truncate_wal(db: Database) -> bool:
    """Fold the WAL into the file and empty it; False when a reader kept old pages."""
    busy = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
    return not busy


def finish_purge(db: Database) -> bool:
    """Finish a purge whose WAL checkpoint a reader blocked: True when none is left
    unfinished (or it is finished now), False while a reader still holds old pages."""
    if get_meta(db, PURGE_UNFINISHED) is None:
        return True
    if not _truncate_wal(db):
        return False
    with write(db):
        db.execute("DELETE FROM meta WHERE key = ?", [PURGE_UNFINISHED])
    _truncate_wal(db)  # the meta row's own page (no personal data in it)
    return True


def purge(
    db: Database,
    *,
    older_than_days: int,
    now: datetime,
    actor: str = "cli",
    gap_s: float = BATCH_GAP_S,
    progress: Progress | None = None,
) -> PurgeReport:
    """Delete visits, visitors and visitor codes older than ``older_than_days``.

    ``gap_s``: the pause between two batches (see :class:`~kiosk.store.db.Pacer`).
    ``progress`` hears after each batch; when it stops the purge, the batches deleted
    so far stay deleted and are written to the audit log (marked ``stopped``), and
    :class:`~kiosk.core.progress.Cancelled` is raised; the visitors and the WAL
    checkpoint wait for the next purge."""
    if older_than_days < 1:
        raise UserError(tr("Keep at least one day of records."))
    cutoff = now - timedelta(days=older_than_days)
    stamp = to_db(cutoff)
    pacer = Pacer(gap_s)
    visits, stopped = _purge_visits(db, stamp, pacer, progress)
    detail = {"older_than_days": older_than_days, "cutoff": stamp, "visits": visits}
    if stopped:
        with pacer.write(db):
            record_audit(db, actor, "retention.purge", {**detail, "stopped": True})
        raise Cancelled
    with pacer.write(db):
        # an invitation sent ahead is kept until its day is past the cutoff as well
        old_visitors = (
            "SELECT id FROM visitors WHERE created_at < ? AND coalesce(invited_for, '') < ? "
            "AND id NOT IN (SELECT visitor_id FROM visits WHERE visitor_id IS NOT NULL)"
        )
        day = cutoff.astimezone().date().isoformat()
        passes = db.execute(
            f"DELETE FROM passes WHERE visitor_id IN ({old_visitors})", [stamp, day]
        ).rowcount
        visitors = db.execute(
            f"DELETE FROM visitors WHERE id IN ({old_visitors})", [stamp, day]
        ).rowcount
        change_sets = prune_exchange(db, stamp)
        set_meta(db, LAST_PURGE, to_db(now))
        db.execute("DELETE FROM meta WHERE key = ?", [PURGE_HELD])  # an admin's purge
        newest = db.execute("SELECT max(rowid) FROM visits").fetchone()[0]
        set_meta(db, CLOCK_TRUSTED_ROWID, str(newest or 0))  # the clock is trusted now
        record_audit(
            db,
            actor,
            "retention.purge",
            {
                **detail,
                "visitors": visitors,
                "passes": passes,
                "change_sets": change_sets,
            },
        )
    if _truncate_wal(db):
        return PurgeReport(cutoff, visits, visitors, passes)
    with write(db):
        set_meta(db, PURGE_UNFINISHED, to_db(now))
    return PurgeReport(cutoff, visits, visitors, passes, unfinished=True)


def _purge_visits(
    db: Database, stamp: str, pacer: Pacer, progress: Progress | None
) -> tuple[int, bool]:
    """Delete visits before ``stamp`` in batches; the count deleted, and whether
    ``progress`` asked to stop before the end."""
    total = None
    if progress is not None:
        total = db.execute("SELECT count(*) FROM visits WHERE at < ?", [stamp]).fetchone()[0]
        progress.update(0, total)
    # Visits a kept correction points to: read once, without holding the lock.
    keep = [
        row[0]
        for row in db.execute(
            "SELECT corrects FROM visits WHERE corrects IS NOT NULL AND at >= ?", [stamp]
        )
    ]
    deleted = 0
    while True:
        if progress is not None and progress.cancelled:
            return deleted, True
        try:
            with pacer.write(db):
                rowids = [
                    r[0]
                    for r in db.execute(
                        "SELECT rowid FROM visits WHERE at < ? AND id NOT IN "
                        "(SELECT value FROM json_each(?)) ORDER BY at DESC LIMIT ?",
                        [stamp, json.dumps(keep), PURGE_BATCH],
                    )
                ]
                record_purged(db, rowids)  # the chain stays checkable (kiosk.store.chain)
                count = db.execute(
                    "DELETE FROM visits WHERE rowid IN (SELECT value FROM json_each(?))",
                    [json.dumps(rowids)],
                ).rowcount
                compact(db)
        except sqlite3.IntegrityError:
            # A correction written meanwhile, or one older than what it corrects (the
            # clock went back): keep every corrected visit this time.
            everything = [
                row[0]
                for row in db.execute("SELECT corrects FROM visits WHERE corrects IS NOT NULL")
            ]
            if set(everything) <= set(keep):
                raise
            keep = everything
            continue
        deleted += count
        if count < PURGE_BATCH:
            return deleted, False
        if progress is not None:
            with contextlib.suppress(Cancelled):  # stopped at the top of the next round
                progress.update(deleted, total)


def purge_if_due(
    db: Database,
    *,
    older_than_days: int,
    now: datetime,
    actor: str = "retention",
    gap_s: float = BATCH_GAP_S,
) -> PurgeReport | None:
    """Purge once a day: at start-up when a day was missed, and daily after.

    Raises :class:`ClockInDoubt` (and holds retention until an admin purges) when the
    clock is in doubt (:func:`clock_doubt`); nothing is deleted then."""
    finish_purge(db)
    last = get_meta(db, LAST_PURGE)
    if last is not None and last[:10] == to_db(now)[:10]:
        return None
    doubt = clock_doubt(db, now)
    if doubt is not None:
        known = _doubt(db, now, _known_times(db))
        hold(db, now, known or doubt, actor)
        raise ClockInDoubt(f"{doubt} {trust_clock_hint()}")
    return purge(db, older_than_days=older_than_days, now=now, actor=actor, gap_s=gap_s)
