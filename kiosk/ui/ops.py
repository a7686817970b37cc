"""Database work off the UI thread, and its answer back on it: the one way.

The Qt main thread only draws and reacts (docs/architecture.md, "Threads"). Anything
that reads or writes the database from a window goes through an op, in the shape of
Anki's ``QueryOp``::

    QueryOp(
        ctx.jobs,
        parent=self,
        op=lambda db: search_residents(db, text),
        success=self.show_matches,
    ).failure(self.say_error).run_in_background()

- ``op(db)`` runs on a :class:`DbWorker`'s thread, on that thread's own connection;
- ``success(result)`` or ``failure(message)`` runs afterwards on the UI thread, handed
  over by a :class:`~kiosk.ui.relay.UiRelay` (never inside a Qt signal). The message is
  in the reader's language (:func:`error_message`); a bug's traceback goes to the log;
- neither runs if ``parent`` was deleted meanwhile (a closed dialog is not called back);
- ``newest(key)``: an op still waiting is skipped when a newer one with the same key is
  queued (a search typed letter by letter runs once for the last letter, not six times).

A long job (an export, an import, printing 100,000 cards, a trace over weeks) is a
:class:`LongOp`: its ``op(db, progress)`` reports through a
:class:`~kiosk.core.progress.Progress`; the window's :class:`ProgressStrip` (what is
done, how far, Cancel) appears if it runs longer than half a second; Cancel makes the job's next
``progress.update()`` raise :class:`~kiosk.core.progress.Cancelled`, and ``cancelled()``
is called instead of ``failure``. What the job committed before stays committed.

A :class:`DbWorker` is one thread with one connection that runs ops in order. The
office has two (``jobs``: writes and slow reads; ``reader``: table pages), the gate
window one (reads for its dialogs; the gate's own writes go through the gate worker).
A background service runs its rounds as ops on a worker of its own the same way, a
:class:`Rounds`: the hub sync (:mod:`kiosk.ui.hub_sync`) is a ``QueryOp`` a minute on
``kiosk-hub-sync``, the daily backup (:mod:`kiosk.ui.backup_job`) one an hour on
``kiosk-backup`` (``LongOp`` would give such a job progress and a clean stop).

While a long op runs, Python switches threads every half millisecond instead of every
5 ms (:data:`LONG_OP_SWITCH_INTERVAL_S`): a long job is Python work (rows into dicts,
QR codes drawn module by module) that holds the GIL, and the UI thread takes it back
many times per frame it draws; at 5 ms each, the gate's window beside the office
stalled for 60-260 ms while cards were printed (``bench/bench_ui.py --cards``).
"""

from __future__ import annotations

import gc
import itertools
import logging
import queue
import sys
import threading
from collections.abc import Callable, Hashable
from datetime import timedelta
from pathlib import Path
from typing import Any, Generic, TypeVar

import shiboken6
from PySide6.QtCore import QCoreApplication, QDeadlineTimer, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QWidget,
)
from sqlite_utils import Database

from kiosk.core.errors import KioskError
from kiosk.core.i18n import tr
from kiosk.core.progress import Cancelled, Progress, Step
from kiosk.store.db import connect, environment_fault
from kiosk.ui.relay import UiRelay

log = logging.getLogger("kiosk.ui")

T = TypeVar("T")

Success = Callable[[Any], object]
Failure = Callable[[str], object]

SHOW_PROGRESS_AFTER_MS = 500
LONG_OP_SWITCH_INTERVAL_S = 0.0005
"""``sys.setswitchinterval`` while any long op runs (Python's default: 0.005)."""

_long_ops = {"running": 0, "interval": 0.0}  # UI thread only


def _long_op_started() -> None:
    if _long_ops["running"] == 0:
        _long_ops["interval"] = sys.getswitchinterval()
        sys.setswitchinterval(min(_long_ops["interval"], LONG_OP_SWITCH_INTERVAL_S))
        gc.freeze()  # what exists now (the windows, Qt's wrappers) is not swept again
    _long_ops["running"] += 1


def _long_op_ended(*_args: object) -> None:
    _long_ops["running"] -= 1
    if _long_ops["running"] == 0:
        sys.setswitchinterval(_long_ops["interval"])
        gc.unfreeze()  # back into the oldest generation, collected as before


def error_message(exc: BaseException) -> str:
    """What a person reads when an op fails (bugs are logged with their traceback)."""
    if isinstance(exc, KioskError):
        return str(exc)
    fault = environment_fault(exc)  # SQLite's, or a damaged row's text
    if fault is not None:
        return str(fault)
    log.error("a background job failed", exc_info=exc)
    return tr(
        "Something went wrong ({error}). The details are in the log.", error=type(exc).__name__
    )


class _Task:
    __slots__ = ("cancelled", "failure", "key", "op", "parent", "success", "ticket")

    def __init__(
        self,
        op: Callable[[Database], Any],
        *,
        success: Success | None,
        failure: Failure | None,
        cancelled: Callable[[], object] | None,
        parent: QObject | None,
        key: Hashable | None,
    ) -> None:
        self.op = op
        self.success = success
        self.failure = failure
        self.cancelled = cancelled
        self.parent = parent
        self.key = key
        self.ticket = 0


_STOP = object()


class DbWorker(QObject):
    """One thread, one connection of its own, ops run in the order given.

    Made and used on the UI thread; :meth:`close` finishes what is queued and ends the
    thread (its connection is closed there)."""

    busyChanged = Signal(bool)

    def __init__(self, database: Path, parent: QObject | None = None, *, name: str) -> None:
        super().__init__(parent)
        self.database = database
        self.name = name
        self._queue: queue.Queue[_Task | object] = queue.Queue()
        self._tickets = itertools.count(1)
        self._newest: dict[Hashable, int] = {}  # key -> ticket of the newest op (locked)
        self._lock = threading.Lock()
        self._pending: set[int] = set()  # UI thread: tickets not yet answered
        self._relay = UiRelay(self)
        self._closed = False
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    # ------------------------------------------------------------ UI thread

    @property
    def busy(self) -> bool:
        return bool(self._pending)

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called: no more ops may be queued."""
        return self._closed

    def run(self, task: _Task) -> int:
        """Queue ``task`` (ops call this); returns its ticket."""
        if self._closed:
            raise RuntimeError(f"{self.name} is closed")
        task.ticket = next(self._tickets)
        if task.key is not None:
            with self._lock:
                self._newest[task.key] = task.ticket
        was_busy = self.busy
        self._pending.add(task.ticket)
        self._queue.put(task)
        if not was_busy:
            self.busyChanged.emit(True)
        return task.ticket

    def wait_idle(self, timeout_s: float = 10.0) -> bool:
        """Process events until every queued op has answered (tests, closing)."""
        deadline = QDeadlineTimer(int(timeout_s * 1000))
        while self.busy and not deadline.hasExpired():
            QCoreApplication.processEvents()
            threading.Event().wait(0.005)
        return not self.busy

    def close(self, timeout_s: float = 30.0) -> None:
        """Run what is queued, then close the connection and end the thread."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(_STOP)
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            log.warning("%s did not end within %.0f s", self.name, timeout_s)

    # ------------------------------------------------------------ the worker's thread

    def _serve(self) -> None:
        db: Database | None = None
        try:
            while True:
                task = self._queue.get()
                if task is _STOP:
                    return
                assert isinstance(task, _Task)
                if self._superseded(task):
                    self._relay.call(self._answer, task, _SKIPPED, None)
                    continue
                try:
                    if db is None:
                        db = connect(self.database)
                    result = task.op(db)
                except Cancelled:
                    self._relay.call(self._answer, task, _CANCELLED, None)
                except BaseException as exc:
                    self._relay.call(self._answer, task, None, error_message(exc))
                else:
                    self._relay.call(self._answer, task, result, None)
        finally:
            if db is not None:
                db.close()

    def _superseded(self, task: _Task) -> bool:
        if task.key is None:
            return False
        with self._lock:
            return self._newest.get(task.key, task.ticket) != task.ticket

    # ------------------------------------------------------------ back on the UI thread

    def _answer(self, task: _Task, result: Any, error: str | None) -> None:
        self._pending.discard(task.ticket)
        try:
            if task.parent is not None and not shiboken6.isValid(task.parent):
                return  # the window that asked is gone
            if result is _SKIPPED:
                return
            if result is _CANCELLED:
                if task.cancelled is not None:
                    task.cancelled()
            elif error is not None:
                if task.failure is not None:
                    task.failure(error)
                else:
                    log.warning("%s: an op failed with no one to tell: %s", self.name, error)
            elif task.success is not None:
                task.success(result)
        finally:
            if not self.busy:
                self.busyChanged.emit(False)


_SKIPPED = object()
_CANCELLED = object()


class QueryOp(Generic[T]):
    """``op(db)`` on ``worker``'s thread, then ``success(result)`` on the UI thread."""

    def __init__(
        self,
        worker: DbWorker,
        *,
        parent: QObject | None,
        op: Callable[[Database], T],
        success: Callable[[T], object] | None = None,
    ) -> None:
        self._worker = worker
        self._parent = parent
        self._op = op
        self._success = success
        self._failure: Failure | None = None
        self._key: Hashable | None = None

    def failure(self, fn: Failure) -> QueryOp[T]:
        """``fn(message)`` on the UI thread if the op raised (message translated)."""
        self._failure = fn
        return self

    def newest(self, key: Hashable) -> QueryOp[T]:
        """Skip this op if, when its turn comes, a newer op with ``key`` is queued."""
        self._key = key
        return self

    def run_in_background(self) -> int:
        """Queue the op; returns its ticket."""
        return self._worker.run(
            _Task(
                self._op,
                success=self._success,
                failure=self._failure,
                cancelled=None,
                parent=self._parent,
                key=self._key,
            )
        )


class Rounds(QObject):
    """A background service's rounds: each an op on a :class:`DbWorker` of its own,
    the next one on a single-shot timer (:meth:`round_in`); :meth:`stop` ends them, the
    round under way finishing first. A subclass gives ``_round()``."""

    def __init__(self, database: Path, *, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.worker = DbWorker(database, self, name=name)
        self._stopped = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._round)

    def round_in(self, delay: timedelta) -> None:
        """The next round after ``delay`` (none once stopped)."""
        if not self._stopped:
            self._timer.start(max(int(delay.total_seconds() * 1000), 1))

    def stop(self, timeout_s: float) -> None:
        """No more rounds; the one under way finishes first, waited for ``timeout_s``
        at most."""
        if self._stopped:
            return
        self._stopped = True
        self._timer.stop()
        self.worker.close(timeout_s)

    def _round(self) -> None:
        raise NotImplementedError


class LongOp(Generic[T]):
    """A long job: ``op(db, progress)`` on ``worker``'s thread, shown on the
    :class:`ProgressStrip` of ``parent``'s window (after half a second), whose Cancel
    stops it at its next ``progress.update()``."""

    def __init__(
        self,
        worker: DbWorker,
        *,
        parent: QWidget,
        label: str,
        op: Callable[[Database, Progress], T],
        success: Callable[[T], object] | None = None,
    ) -> None:
        self._worker = worker
        self._parent = parent
        self._label = label
        self._op = op
        self._success = success
        self._failure: Failure | None = None
        self._cancelled: Callable[[], object] | None = None
        self._cancellable = True
        self.progress: Progress | None = None
        self.strip: ProgressStrip | None = None

    def failure(self, fn: Failure) -> LongOp[T]:
        self._failure = fn
        return self

    def cancelled(self, fn: Callable[[], object]) -> LongOp[T]:
        """``fn()`` on the UI thread if the person cancelled the job."""
        self._cancelled = fn
        return self

    def not_cancellable(self) -> LongOp[T]:
        """No Cancel button (a job that must not stop half-way)."""
        self._cancellable = False
        return self

    def run_in_background(self) -> int:
        strip = ProgressStrip.of(self._parent)
        relay = strip.relay
        progress = Progress(lambda step: relay.latest(progress, strip.show_step, progress, step))
        strip.begin(progress, self._label, cancellable=self._cancellable)
        self.progress, self.strip = progress, strip
        _long_op_started()
        op = self._op
        ended = [False]

        def end() -> None:
            if not ended[0]:
                ended[0] = True
                _long_op_ended()
                if shiboken6.isValid(strip):
                    strip.end(progress)

        # The op answers (then its callback runs), or its window goes first: once.
        strip.destroyed.connect(end)

        def end_then(fn: Callable[..., object] | None) -> Callable[..., None]:
            def call(*args: Any) -> None:
                end()
                if fn is not None:
                    fn(*args)

            return call

        return self._worker.run(
            _Task(
                lambda db: op(db, progress),
                success=end_then(self._success),
                failure=end_then(self._failure),
                cancelled=end_then(self._cancelled),
                parent=self._parent,
                key=None,
            )
        )


class ProgressStrip(QFrame):
    """Where a window shows its long jobs: what is being done, how far, and Cancel.

    It lives inside the window (the office has one along its bottom edge), hidden
    between jobs, and appears only when a job has run for half a second. It is not a
    dialog on purpose: showing a new top-level window took the UI thread 100-160 ms
    (the gate's window beside the office froze that long; ``bench/bench_ui.py
    --cards``); showing this strip in the place kept for it, a few milliseconds. Long
    jobs run one after the other on their worker; the strip shows the one that
    reported last, and Cancel stops that one. A window without a strip gets one of
    its own, as a small tool window (tests, a future window that forgot it)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("progressStrip")
        self.label = QLabel()
        self.bar = QProgressBar()
        self.bar.setRange(0, 0)
        self.cancel_button = QPushButton(tr("Cancel"))
        self.cancel_button.clicked.connect(self.cancel)
        layout = QHBoxLayout(self)
        layout.addWidget(self.label)
        layout.addWidget(self.bar, 1)
        layout.addWidget(self.cancel_button)
        self.relay = UiRelay(self)  # steps come back through it, newest wins
        self._jobs: dict[Progress, tuple[str, bool]] = {}
        self._current: Progress | None = None
        self._appear = QTimer(self)
        self._appear.setSingleShot(True)
        self._appear.setInterval(SHOW_PROGRESS_AFTER_MS)
        self._appear.timeout.connect(self._show_if_busy)
        # Its place in the window is kept while hidden: showing it then repaints the
        # strip alone. (Without this, the window laid itself out again, the tab's table
        # and all, and the UI thread stalled 60-100 ms.)
        policy = self.sizePolicy()
        policy.setRetainSizeWhenHidden(True)
        self.setSizePolicy(policy)
        self.hide()

    @classmethod
    def of(cls, widget: QWidget) -> ProgressStrip:
        """The strip of ``widget``'s window (made as a small window if it has none)."""
        window = widget.window()
        found = window.findChild(ProgressStrip)
        if found is None:
            found = ProgressStrip(window)
            found.setWindowFlag(Qt.WindowType.Tool)
            found.setParent(window, Qt.WindowType.Tool)
        return found

    # ------------------------------------------------------------ the jobs

    def begin(self, progress: Progress, label: str, *, cancellable: bool = True) -> None:
        self._jobs[progress] = (label, cancellable)
        if self._current is None:
            self._make_current(progress)
        if not self._appear.isActive() and self.isHidden():
            self._appear.start()

    def show_step(self, progress: Progress, step: Step) -> None:
        if progress not in self._jobs:
            return  # ended meanwhile
        if progress is not self._current:
            self._make_current(progress)
        if step.total:
            self.bar.setRange(0, step.total)
            self.bar.setValue(min(step.done, step.total))
        label = self._jobs[progress][0]
        self.label.setText(f"{label}: {step.label}" if step.label else label)

    def end(self, progress: Progress) -> None:
        self._jobs.pop(progress, None)
        if progress is self._current:
            self._current = None
            if self._jobs:
                self._make_current(next(iter(self._jobs)))
        if not self._jobs:
            self._appear.stop()
            self.hide()

    def cancel(self) -> None:
        """Stop the job shown (Cancel)."""
        if self._current is not None:
            self._current.cancel()
            self.label.setText(tr("Stopping…"))
            self.cancel_button.setEnabled(False)

    def cancel_all(self) -> None:
        """Stop every job shown here (the window is closing)."""
        for progress in list(self._jobs):
            progress.cancel()

    def value(self) -> int:
        return self.bar.value()

    def maximum(self) -> int:
        return self.bar.maximum()

    # ------------------------------------------------------------ inside

    def _make_current(self, progress: Progress) -> None:
        self._current = progress
        label, cancellable = self._jobs[progress]
        self.label.setText(label)
        self.bar.setRange(0, 0)
        self.cancel_button.setVisible(cancellable)
        self.cancel_button.setEnabled(True)

    def _show_if_busy(self) -> None:
        if self._jobs:
            self.show()
