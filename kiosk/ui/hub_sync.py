"""Syncing with the district hub from a window, in the background (docs/ui.md, "The
hub"; docs/hub.md, "The nodes").

A :class:`HubSync` runs :func:`kiosk.sync.node.sync_once` every minute
(:data:`kiosk.sync.node.INTERVAL`), backing off while the hub is away
(:func:`kiosk.sync.node.next_delay`), and at once when :meth:`HubSync.sync_soon` is
called (a DENY or a fever verdict at the gate, a revoked pass at the office). Each
round is a :class:`~kiosk.ui.ops.QueryOp` on a :class:`~kiosk.ui.ops.DbWorker` of its
own: one thread, one connection, never the gate's, so the scan path goes on beside a
sync exactly as beside a USB-stick exchange (the sync's writes are the exchange's paced
transactions). A checkpoint not enrolled with a hub syncs nothing and shows nothing.

After a round the window gets :attr:`HubSync.statusChanged` (a :class:`HubRound`, or
None when not enrolled) and, when rows from elsewhere were applied,
:attr:`HubSync.synced`: the gate then takes them in as after an exchange (new keys, the
office's rules, the other gates' passages). :func:`hub_text` and :func:`hub_level` say
it for the status line.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QLabel
from sqlite_utils import Database

from kiosk.core.errors import KioskError, UserError
from kiosk.core.hubwire import HubRefused, Refusal
from kiosk.core.i18n import tr
from kiosk.core.keys import key_is_encrypted, load_private_key
from kiosk.home import Home
from kiosk.settings import Settings
from kiosk.store.exchange import compound
from kiosk.sync.node import INTERVAL, SyncStatus, joined, next_delay, sync_once, sync_status
from kiosk.ui.ops import QueryOp, Rounds

log = logging.getLogger("kiosk.ui")

AMBER_AFTER = timedelta(minutes=10)
"""The last good sync is this old: the hub label turns amber."""
RED_AFTER = timedelta(hours=1)
"""... and red."""

FIRST_ROUND_AFTER = timedelta(seconds=5)
"""The first round waits this long (or the interval, if shorter): the gate opens its
database and its camera first."""

PASSPHRASE_ENV = "KIOSK_KEY_PASSPHRASE"  # as kiosk.cli.checkpoint reads it


@dataclass(frozen=True)
class HubRound:
    """What one round did: the node's sync status after it, the rows from elsewhere it
    applied, and this round's problem in the reader's words ("": it got through)."""

    status: SyncStatus
    applied_rows: int = 0
    problem: str = ""

    @property
    def ok(self) -> bool:
        return not self.problem


def node_key(db: Database, home: Home) -> Ed25519PrivateKey:
    """The key that signs this node's change sets: the issuer key at the office (its
    passphrase, if it has one, only from ``KIOSK_KEY_PASSPHRASE``: a background sync
    asks nobody), the gate key at a gate."""
    comp = compound(db)
    if comp is not None and comp.is_office:
        passphrase = os.environ.get(PASSPHRASE_ENV)
        if passphrase is None and key_is_encrypted(home.private_key):
            raise UserError(
                tr(
                    "The issuer key has a passphrase: syncing in the background needs "
                    "KIOSK_KEY_PASSPHRASE. Sync with 'kiosk sync now' meanwhile."
                )
            )
        return load_private_key(home.private_key, passphrase)
    return load_private_key(home.gate_key, None)


def sync_round(
    db: Database, home: Home, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> HubRound | None:
    """One round on the sync thread's connection: None when not enrolled with a hub."""
    if not joined(db):
        return None
    comp = compound(db)
    try:
        key = node_key(db, home)
        rules: dict[str, Any] | None = None
        if comp is not None and comp.is_office:
            rules = Settings.load(home.settings_file).compound_rules()
        done = sync_once(db, home, key, clock=clock, rules=rules)
    except HubRefused as exc:  # recorded by sync_once: the status says it
        log.info("sync with the hub: %s (%s)", exc.reason.value, exc.detail)
        return HubRound(sync_status(db), problem=str(exc))
    except KioskError as exc:
        log.warning("sync with the hub failed: %s", exc)
        return HubRound(sync_status(db), problem=str(exc))
    return HubRound(sync_status(db), applied_rows=done.applied_rows + len(done.joins))


class HubSync(Rounds):
    """Background syncing with the hub for one window (made and used on the UI thread).

    ``interval`` stands for :data:`~kiosk.sync.node.INTERVAL` (tests make it short):
    the back-off after failures scales with it."""

    statusChanged = Signal(object)  # HubRound, or None: not enrolled with a hub
    synced = Signal(int)  # a round applied this many rows from elsewhere

    def __init__(
        self,
        home: Home,
        *,
        interval: timedelta = INTERVAL,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        parent: QObject | None = None,
    ) -> None:
        super().__init__(home.database, name="kiosk-hub-sync", parent=parent)
        self.home = home
        self.interval = interval
        self.clock = clock
        self.failures = 0  # failed rounds in a row
        self.rounds = 0  # rounds answered (tests)
        self.last: HubRound | None = None
        self.joined: bool | None = None  # None: not known yet
        self._running = False
        self._again = False  # sync_soon() while a round ran

    # ------------------------------------------------------------ UI thread

    def start(self) -> None:
        """The first round (it finds out whether this checkpoint has a hub) in a few
        seconds (:data:`FIRST_ROUND_AFTER`), or at once on :meth:`sync_soon`."""
        self.round_in(min(self.interval, FIRST_ROUND_AFTER))

    def sync_soon(self) -> None:
        """A decision that must travel: a round now (after the one under way)."""
        if self._stopped or self.joined is False or self.worker.closed:
            return
        if self._running:
            self._again = True
            return
        self._round()

    def refresh(self) -> None:
        """Read the status again without syncing (what waits to go grew)."""
        if self._stopped or not self.joined:
            return
        QueryOp(self.worker, parent=self, op=self._read_status, success=self._show_status).newest(
            "status"
        ).run_in_background()

    def next_delay(self) -> timedelta:
        """When the next round comes: every interval, longer after failures in a row."""
        return self.interval * (next_delay(self.failures) / INTERVAL)

    def stop(self, timeout_s: float = 10.0) -> None:
        """No more rounds; the one under way finishes first (its answer is dropped),
        waited for ``timeout_s`` at most: a hub that stopped answering mid-round does
        not hold the window's closing (what the round committed stays; the rest of it
        is done again next time)."""
        super().stop(timeout_s)

    # ------------------------------------------------------------ rounds

    def _round(self) -> None:
        if self._stopped or self.worker.closed:
            return
        self._timer.stop()
        self._running = True
        home, clock = self.home, self.clock
        QueryOp(
            self.worker,
            parent=self,
            op=lambda db: sync_round(db, home, clock),
            success=self._answered,
        ).failure(self._broke).run_in_background()

    def _answered(self, found: HubRound | None) -> None:
        self._running = False
        self.rounds += 1
        self.joined = found is not None
        if found is None:  # no hub: look again now and then (enrolled meanwhile)
            self.failures = 0
            self.statusChanged.emit(None)
            self._schedule()
            return
        self.failures = 0 if found.ok else self.failures + 1
        self.last = found
        if found.applied_rows:
            self.synced.emit(found.applied_rows)
        self.statusChanged.emit(found)
        self._schedule()

    def _broke(self, message: str) -> None:  # a bug or the database: logged by the op
        self._running = False
        self.rounds += 1
        self.failures += 1
        log.warning("a background sync with the hub failed: %s", message)
        self._schedule()

    def _schedule(self) -> None:
        if self._stopped:
            return
        if self._again and self.joined:
            self._again = False
            self._round()
            return
        self._again = False
        self.round_in(self.next_delay())

    @staticmethod
    def _read_status(db: Database) -> SyncStatus | None:
        return sync_status(db) if joined(db) else None

    def _show_status(self, status: SyncStatus | None) -> None:
        if status is None or self.last is None:
            return
        self.last = HubRound(status, 0, self.last.problem)
        self.statusChanged.emit(self.last)


# --- what the status line says ------------------------------------------------------------


def _when(at: datetime, now: datetime) -> str:
    local, today = at.astimezone(), now.astimezone().date()
    return local.strftime("%H:%M") if local.date() == today else local.strftime("%m-%d %H:%M")


def hub_text(found: HubRound, now: datetime) -> str:
    """ "Hub: synced 10:32 · 3 waiting", "Hub: away since 10:20 · 12 waiting"."""
    status = found.status
    last_ok = status.last_ok
    if found.ok and status.error is None:
        text = (
            tr("Hub: synced {time}", time=_when(last_ok, now))
            if last_ok is not None
            else tr("Hub: not synced yet")
        )
    elif status.reason == Refusal.UNAVAILABLE.value:
        text = (
            tr("Hub: away since {time}", time=_when(last_ok, now))
            if last_ok is not None
            else tr("Hub: away, never synced")
        )
    else:
        text = (
            tr("Hub: not syncing since {time}", time=_when(last_ok, now))
            if last_ok is not None
            else tr("Hub: not syncing")
        )
    if status.waiting_rows:
        text += " · " + tr("{n} waiting", n=status.waiting_rows)
    return text


def clock_text(found: HubRound) -> str:
    """The clock against the hub's, short for the status line ("" when close enough:
    :func:`kiosk.core.hubwire.skew_warning` says when; it is the tooltip)."""
    status = found.status
    if not status.skew_warning:
        return ""
    minutes = round(abs(status.skew).total_seconds() / 60)
    if status.skew > timedelta(0):
        return tr("Clock {minutes} min behind the hub", minutes=minutes)
    return tr("Clock {minutes} min ahead of the hub", minutes=minutes)


def hub_tooltip(found: HubRound) -> str:
    """The hub's address, the last problem and the clock, for the curious."""
    status = found.status
    lines = [tr("Hub: {url}", url=status.url or "-")]
    problem = found.problem or status.error
    if problem:
        lines.append(problem)
    if status.waiting_rows:
        lines.append(tr("Waiting to go: {count} changes", count=status.waiting_rows))
    if status.skew_warning:
        lines.append(status.skew_warning)
    return "\n".join(lines)


def hub_level(found: HubRound, now: datetime) -> str:
    """ "fresh", "amber" (the last good sync is over 10 minutes old) or "red" (over an
    hour, or never while failing)."""
    last_ok = found.status.last_ok
    if last_ok is None:
        return "fresh" if found.ok else "red"
    age = now - last_ok
    if age > RED_AFTER:
        return "red"
    if age > AMBER_AFTER:
        return "amber"
    return "fresh"


def show_hub(label: QLabel, found: HubRound, now: datetime) -> None:
    """The hub label of a window's status line: its words, its tooltip, its level (the
    theme's sheet colours ``QLabel#hubStatus[level=...]``, by day and by night)."""
    label.setText(hub_text(found, now))
    label.setToolTip(hub_tooltip(found))
    level = hub_level(found, now)
    if label.property("level") != level:
        label.setProperty("level", level)
        label.style().unpolish(label)
        label.style().polish(label)


def hub_label() -> QLabel:
    """A window's hub label, hidden until a round says the checkpoint has a hub."""
    label = QLabel()
    label.setObjectName("hubStatus")
    label.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    label.hide()
    return label


__all__ = [
    "AMBER_AFTER",
    "FIRST_ROUND_AFTER",
    "RED_AFTER",
    "HubRound",
    "HubSync",
    "clock_text",
    "hub_label",
    "hub_level",
    "hub_text",
    "hub_tooltip",
    "node_key",
    "show_hub",
    "sync_round",
]
