"""Handing results from other threads to the UI thread without Qt carrying them.

A worker (the gate's thread, the decode thread) never emits a signal that carries a
Python object across threads. It calls :meth:`UiRelay.call` (every message, in order)
or :meth:`UiRelay.latest` (only the newest counts: today's stats, the code outlines):
the function and its arguments go into a plain, locked Python queue, and the relay
wakes the UI thread with a signal that has no arguments. The UI thread then takes the
calls out and runs them itself, so a Python object is only ever handled by the
interpreter, never wrapped and unwrapped by Qt between two threads (see "Why these
PySide6 versions" in docs/architecture.md).

The relay lives in the thread that made it (make it in the UI thread).
"""

from __future__ import annotations

import sys
import threading
from collections import deque
from collections.abc import Callable, Hashable
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal, Slot


class _Call:
    __slots__ = ("args", "fn", "live")

    def __init__(self, fn: Callable[..., object], args: tuple[Any, ...]) -> None:
        self.fn = fn
        self.args = args
        self.live = True


class UiRelay(QObject):
    """Runs functions in the thread that owns the relay, on behalf of any thread."""

    _wake = Signal()  # no arguments: nothing but "look in the queue" crosses threads

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._lock = threading.Lock()
        self._calls: deque[_Call] = deque()
        self._newest: dict[Hashable, _Call] = {}
        self._woken = False
        self._wake.connect(self.run_pending, Qt.ConnectionType.QueuedConnection)

    def call(self, fn: Callable[..., object], *args: Any) -> None:
        """Run ``fn(*args)`` in the relay's thread, after the calls posted before it.
        Safe from any thread."""
        self._post(None, _Call(fn, args))

    def latest(self, key: Hashable, fn: Callable[..., object], *args: Any) -> None:
        """Like :meth:`call`, but a call under ``key`` still waiting is dropped: only
        the newest runs (in the place of the newest). Safe from any thread."""
        self._post(key, _Call(fn, args))

    def _post(self, key: Hashable | None, item: _Call) -> None:
        with self._lock:
            if key is not None:
                older = self._newest.get(key)
                if older is not None:
                    older.live = False
                self._newest[key] = item
            self._calls.append(item)
            wake, self._woken = not self._woken, True
        if wake:
            self._wake.emit()

    def pending(self) -> int:
        """How many calls wait to run (for tests)."""
        with self._lock:
            return sum(1 for item in self._calls if item.live)

    @Slot()
    def run_pending(self) -> None:
        """Run every call posted so far, oldest first (in the relay's thread)."""
        with self._lock:
            calls = list(self._calls)
            self._calls.clear()
            self._newest.clear()
            self._woken = False
        for item in calls:
            if not item.live:
                continue
            try:
                item.fn(*item.args)
            except Exception as exc:  # as Qt does for a slot: report it, go on
                sys.excepthook(type(exc), exc, exc.__traceback__)
