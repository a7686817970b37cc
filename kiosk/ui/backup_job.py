"""The daily backup, done on its own while a window runs (docs/backup.md).

A :class:`DailyBackup` looks every hour (:data:`CHECK_EVERY`; the first time a few
minutes after the window opens) whether a backup is due: the ``backup_folder`` setting
names a folder and the last backup (``meta``, :func:`kiosk.store.backup.last_backup`)
is a day old or more. Then it writes one there and keeps the newest ``backup_keep``.
Each look is a :class:`~kiosk.ui.ops.QueryOp` on a :class:`~kiosk.ui.ops.DbWorker` of
its own: one thread, one connection, never the gate's; the copy is SQLite's online
backup (one read transaction), so the gate goes on recording passages meanwhile. A
folder that is not there (the drive not plugged in) is tried again at the next look.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from sqlite_utils import Database

from kiosk.home import Home
from kiosk.settings import Settings
from kiosk.store.backup import BackupResult, backup, backup_due
from kiosk.ui.ops import QueryOp, Rounds

log = logging.getLogger("kiosk.ui")

CHECK_EVERY = timedelta(hours=1)
FIRST_CHECK_AFTER = timedelta(minutes=3)
"""The first look waits this long: the gate opens its database and camera first."""


def daily_round(db: Database, home: Home, now: datetime) -> BackupResult | None:
    """On the backup thread's connection: a backup when one is due (None: no folder is
    set, or the last one is less than a day old)."""
    settings = Settings.load(home.settings_file)
    if not settings.backup_folder or not backup_due(db, now):
        return None
    folder = Path(settings.backup_folder).expanduser()
    return backup(home, folder, now, keep=settings.backup_keep, db=db, actor="gate:daily-backup")


class DailyBackup(Rounds):
    """The daily backup of one window's checkpoint (made and used on the UI thread)."""

    done = Signal(object)  # BackupResult: one was written
    failed = Signal(str)  # why one that was due was not written (the reader's words)

    def __init__(
        self,
        home: Home,
        *,
        every: timedelta | None = None,
        first_after: timedelta | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        parent: QObject | None = None,
    ) -> None:
        super().__init__(home.database, name="kiosk-backup", parent=parent)
        self.home = home
        self.every = every if every is not None else CHECK_EVERY
        self.first_after = first_after if first_after is not None else FIRST_CHECK_AFTER
        self.clock = clock
        self.rounds = 0  # looks answered (tests)

    def start(self) -> None:
        self.round_in(self.first_after)

    def stop(self, timeout_s: float = 60.0) -> None:
        """No more looks; a backup under way finishes first (waited ``timeout_s`` at
        most; one cut short leaves no file: it is written whole or not at all)."""
        super().stop(timeout_s)

    def _round(self) -> None:
        if self._stopped or self.worker.closed:
            return
        home, now = self.home, self.clock()
        QueryOp(
            self.worker,
            parent=self,
            op=lambda db: daily_round(db, home, now),
            success=self._answered,
        ).failure(self._broke).run_in_background()

    def _answered(self, found: BackupResult | None) -> None:
        self.rounds += 1
        if found is not None:
            log.info("daily backup written: %s", found.path)
            self.done.emit(found)
        self._schedule()

    def _broke(self, message: str) -> None:
        self.rounds += 1
        log.warning("the daily backup was not written: %s", message)
        self.failed.emit(message)
        self._schedule()

    def _schedule(self) -> None:
        self.round_in(self.every)
