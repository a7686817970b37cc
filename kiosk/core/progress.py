"""How a long job says how far it got, and learns that it should stop.

A bulk job in the store (an export, an import, issuing passes, printing cards, a trace)
takes a :class:`Progress` and calls :meth:`Progress.update` now and then, between
batches or every few thousand rows. ``update`` hands the figures to whoever watches
(the office window's progress strip, a CLI's stderr) and raises :class:`Cancelled` once the
person asked to stop, so the job ends at a point of its own choosing: after a
committed batch, never half-way through one. Nothing here knows of Qt.

The watcher's callback runs in the job's thread: it must only hand the figures on
(``kiosk.ui.ops`` posts them to the UI thread, newest wins).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from kiosk.core.errors import KioskError
from kiosk.core.i18n import tr


class Cancelled(KioskError):
    """The person asked a long job to stop; what it committed before stays."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or tr("Stopped."))


@dataclass(frozen=True)
class Step:
    """How far a job got: ``done`` of ``total`` (``None``: not known), and what it is
    doing now (already translated; may be empty)."""

    done: int
    total: int | None = None
    label: str = ""

    @property
    def fraction(self) -> float | None:
        if not self.total:
            return None
        return min(1.0, max(0.0, self.done / self.total))


Report = Callable[[Step], None]


class Progress:
    """A long job's line to whoever started it. Safe to share between two threads: the
    job calls :meth:`update` and :meth:`check`, the watcher calls :meth:`cancel`."""

    def __init__(self, report: Report | None = None) -> None:
        self._report = report
        self._cancel = threading.Event()

    def update(self, done: int, total: int | None = None, label: str = "") -> None:
        """Say how far the job got; raises :class:`Cancelled` if it should stop."""
        self.check()
        if self._report is not None:
            self._report(Step(done, total, label))

    def check(self) -> None:
        """Raise :class:`Cancelled` if the person asked to stop."""
        if self._cancel.is_set():
            raise Cancelled

    def cancel(self) -> None:
        """Ask the job to stop at its next :meth:`update` or :meth:`check`."""
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()


def quiet() -> Progress:
    """A progress nobody watches and nobody cancels (the default of a bulk function)."""
    return Progress()
