"""Retention: visit and visitor records older than a set number of days are deleted,
and gone from the file too.

``secure_delete`` is on (set and checked when the database opens), so deleted rows are
overwritten with zeros; a WAL checkpoint (TRUNCATE) afterwards folds the WAL back into
the main file and empties it, so no old copy of a page survives there either.
A visit that a newer, kept correction points to is kept until that correction goes.

Visits are deleted :data:`PURGE_BATCH` rows per transaction, newest first (a correction
goes before the visit it corrects), so the gate's commits get in between.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlite_utils import Database

from kiosk.core.clock import to_db
from kiosk.core.errors import UserError
from kiosk.core.i18n import tr
from kiosk.core.progress import Cancelled, Progress
from kiosk.store.checkpoint import get_meta, record_audit, set_meta
from kiosk.store.db import BATCH_GAP_S, Pacer

LAST_PURGE = "last_purge"
PURGE_BATCH = 2000
"""Visits deleted per transaction (a few milliseconds of the write lock each)."""


@dataclass(frozen=True)
class PurgeReport:
    cutoff: datetime
    visits: int
    visitors: int
    passes: int


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
        old_visitors = (
            "SELECT id FROM visitors WHERE created_at < ? AND id NOT IN "
            "(SELECT visitor_id FROM visits WHERE visitor_id IS NOT NULL)"
        )
        passes = db.execute(
            f"DELETE FROM passes WHERE visitor_id IN ({old_visitors})", [stamp]
        ).rowcount
        visitors = db.execute(
            f"DELETE FROM visitors WHERE id IN ({old_visitors})", [stamp]
        ).rowcount
        set_meta(db, LAST_PURGE, to_db(now))
        record_audit(
            db,
            actor,
            "retention.purge",
            {
                **detail,
                "visitors": visitors,
                "passes": passes,
            },
        )
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return PurgeReport(cutoff, visits, visitors, passes)


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
                count = db.execute(
                    "DELETE FROM visits WHERE rowid IN (SELECT rowid FROM visits WHERE at < ? "
                    "AND id NOT IN (SELECT value FROM json_each(?)) ORDER BY at DESC LIMIT ?)",
                    [stamp, json.dumps(keep), PURGE_BATCH],
                ).rowcount
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
    """Purge once a day: at start-up when a day was missed, and daily after."""
    last = get_meta(db, LAST_PURGE)
    if last is not None and last[:10] == to_db(now)[:10]:
        return None
    return purge(db, older_than_days=older_than_days, now=now, actor=actor, gap_s=gap_s)
