"""The office's database work off the UI thread.

One thread with its own connection runs the office's jobs in order: every write (add
a resident, revoke a pass, import a register) and every slow read (an export, a trace
over weeks). A job is ``job(db) -> result``; its callback runs on the UI thread (handed
over by a :class:`~kiosk.ui.relay.UiRelay`, never inside a Qt signal). A job
that fails hands its message, in the clerk's language, to ``on_error``: a
:class:`~kiosk.core.errors.KioskError` as it is, an SQLite error the machine caused as
its :class:`~kiosk.core.errors.EnvironmentFault`, anything else as a short apology
(the traceback goes to the log).

The gate's own worker thread stays the only writer of visits; the office writes the
register, passes and holds. Both use ``BEGIN IMMEDIATE`` (``kiosk.store.db.write``),
so they take turns at the lock; the office's writes are short (one row, one
household), and its bulk jobs (issuing passes, importing the register, purging) write
in short batches with the lock free in between (docs/architecture.md, "Threads").
"""

from __future__ import annotations

import itertools
import logging
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QDeadlineTimer, QObject, Signal
from sqlite_utils import Database

from kiosk.core.errors import KioskError
from kiosk.core.i18n import tr
from kiosk.store.db import connect, environment_fault
from kiosk.ui.relay import UiRelay

log = logging.getLogger("kiosk.ui")

THREAD_NAME = "kiosk-office"

Job = Callable[[Database], Any]
Done = Callable[[Any], None]
Failed = Callable[[str], None]


def error_message(exc: BaseException) -> str:
    """What the clerk reads when a job fails (bugs are logged with their traceback)."""
    if isinstance(exc, KioskError):
        return str(exc)
    if isinstance(exc, sqlite3.Error):
        fault = environment_fault(exc)
        if fault is not None:
            return str(fault)
    log.error("office job failed", exc_info=exc)
    return tr(
        "Something went wrong ({error}). The details are in the log.", error=type(exc).__name__
    )


class OfficeJobs(QObject):
    """Runs ``job(db)`` callables in order on one thread with its own connection."""

    busyChanged = Signal(bool)

    def __init__(
        self, database: Path, parent: QObject | None = None, *, name: str = THREAD_NAME
    ) -> None:
        super().__init__(parent)
        self._path = database
        self._local = threading.local()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._tickets = itertools.count(1)
        self._callbacks: dict[int, tuple[Done | None, Failed | None]] = {}
        self._closed = False
        self._relay = UiRelay(self)  # results come back as Python objects, not in signals

    # ------------------------------------------------------------ UI thread

    @property
    def busy(self) -> bool:
        return bool(self._callbacks)

    def submit(self, job: Job, on_done: Done | None = None, on_error: Failed | None = None) -> int:
        """Queue ``job``; ``on_done(result)`` or ``on_error(message)`` follows on this
        thread. Returns the job's ticket."""
        if self._closed:
            raise RuntimeError("office jobs are closed")
        ticket = next(self._tickets)
        was_busy = self.busy
        self._callbacks[ticket] = (on_done, on_error)
        future = self._executor.submit(self._run, job)
        future.add_done_callback(lambda f: self._report(ticket, f))
        if not was_busy:
            self.busyChanged.emit(True)
        return ticket

    def wait_idle(self, timeout_s: float = 10.0) -> bool:
        """Process events until every queued job has delivered (tests, closing)."""
        deadline = QDeadlineTimer(int(timeout_s * 1000))
        while self.busy and not deadline.hasExpired():
            QCoreApplication.processEvents()
            threading.Event().wait(0.005)
        return not self.busy

    def close(self) -> None:
        """Finish the queued jobs, then close the thread's connection and the thread."""
        if self._closed:
            return
        self._closed = True
        self._executor.submit(self._close_connection)
        self._executor.shutdown(wait=True)

    # ------------------------------------------------------------ the jobs' thread

    def _db(self) -> Database:
        db = getattr(self._local, "db", None)
        if db is None:
            db = connect(self._path)
            self._local.db = db
        return db

    def _run(self, job: Job) -> Any:
        return job(self._db())

    def _close_connection(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    def _report(self, ticket: int, future: Future[Any]) -> None:
        exc = future.exception()
        if exc is None:
            self._relay.call(self._deliver, ticket, future.result(), None)
        else:
            self._relay.call(self._deliver, ticket, None, error_message(exc))

    # ------------------------------------------------------------ back on the UI thread

    def _deliver(self, ticket: int, result: Any, error: str | None) -> None:
        on_done, on_error = self._callbacks.pop(ticket, (None, None))
        try:
            if error is None:
                if on_done is not None:
                    on_done(result)
            elif on_error is not None:
                on_error(error)
            else:
                log.warning("office job failed with no one to tell: %s", error)
        finally:
            if not self.busy:
                self.busyChanged.emit(False)
