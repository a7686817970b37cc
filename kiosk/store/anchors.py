"""Signed anchors of the visit log, kept outside the database, and the check of the log
against them (docs/chain.md).

An anchor (``kiosk.core.chain.Anchor``) says "the log held ``seq`` passages, the last
one ``visit`` with chain value ``head``", signed with the checkpoint's own key
(``keys/gate.key``) and appended, one JSON line, to ``<home>/visits.anchors`` (fsynced,
owner-only). The gate writes them off its decision path (:class:`Anchorer`: every
:data:`ANCHOR_EVERY` passages or :data:`ANCHOR_AFTER_S` seconds after a passage, and at
a clean stop). :func:`check_log` holds the log against the newest valid anchor: rows
missing after it (a lost tail: a deleted ``-wal``), a chain that does not link (an
edited or deleted row), anchors whose signature fails or that name another checkpoint.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlite_utils import Database

from kiosk.core.chain import Anchor, AnchorRejected, parse_anchor, sign_anchor
from kiosk.core.clock import from_db, to_db, utcnow
from kiosk.core.errors import KioskError
from kiosk.core.i18n import tr, trn
from kiosk.core.keys import load_private_key
from kiosk.home import OWNER_ONLY_FILE, Home, owner_only
from kiosk.store.chain import Break, Link, base, gap_chain, head, last_row, row_at, walk

log = logging.getLogger("kiosk.anchors")

ANCHOR_EVERY = 100
"""The gate anchors the log after this many new passages..."""
ANCHOR_AFTER_S = 60.0
"""... or this long after the first passage not yet anchored, whichever comes first."""
TAIL_BYTES = 64 * 1024
"""The start-up check reads only this much of the anchor file's end."""


def signing_key(home: Home) -> Ed25519PrivateKey | None:
    """The checkpoint's own key (``keys/gate.key``, never passphrase-protected), or None
    when it cannot be read (logged)."""
    try:
        return load_private_key(home.gate_key, None)
    except KioskError as exc:
        log.warning("the visit log cannot be anchored: %s", exc)
        return None


class AnchorFile:
    """``<home>/visits.anchors``: one signed anchor a line, appended only."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def append(self, line: str) -> None:
        """Append one line and fsync it (OSError when the disk refuses)."""
        data = (line + "\n").encode("ascii")
        with self._lock:
            flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_BINARY", 0)
            fd = os.open(self.path, flags, OWNER_ONLY_FILE)
            try:
                os.write(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
        owner_only(self.path)

    def lines(self, *, tail: bool = False) -> list[tuple[int | None, str]]:
        """(line number, text) of every line, or (``tail``) of the complete lines in
        the last :data:`TAIL_BYTES` (numbers None: not counted)."""
        try:
            with open(self.path, "rb") as f:
                if tail:
                    size = f.seek(0, os.SEEK_END)
                    f.seek(max(0, size - TAIL_BYTES))
                    data = f.read()
                    if size > TAIL_BYTES:
                        data = data.partition(b"\n")[2]  # a partial first line
                    return [(None, t) for t in data.decode("ascii", "replace").splitlines()]
                text = f.read().decode("ascii", "replace")
        except FileNotFoundError:
            return []
        except OSError as exc:  # unreadable: as good as none, but said
            log.error("cannot read the visit log's anchors in %s: %s", self.path, exc)
            return []
        return list(enumerate(text.splitlines(), start=1))


def write_anchor(
    file: AnchorFile,
    key: Ed25519PrivateKey,
    checkpoint: str,
    place: Link,
    at: datetime,
    kind: str = "anchor",
    lost: int = 0,
) -> bool:
    """Sign an anchor of ``place`` and append it to ``file``. False (logged) when the
    file cannot be written: the caller goes on (a gate never stops for it)."""
    anchor = Anchor(checkpoint, place.seq, place.visit, place.chain, at, kind, lost)
    try:
        file.append(sign_anchor(anchor, key))
    except OSError as exc:
        log.error("cannot write the visit log's anchor to %s: %s", file.path, exc)
        return False
    return True


class Anchorer:
    """Writes the gate's anchors on a thread of its own, so no decision waits for a
    signature or an fsync. The gate tells it each committed place (:meth:`note`, a
    lock and a notify); it anchors the newest one after :data:`ANCHOR_EVERY` places or
    :data:`ANCHOR_AFTER_S` seconds, and at :meth:`close`. :meth:`soon` asks for one
    anchor at once (the gate's start: its first anchor, or a rebase), also written on
    the thread, before any later one."""

    def __init__(
        self,
        file: AnchorFile,
        key: Ed25519PrivateKey,
        checkpoint: str,
        *,
        every: int = ANCHOR_EVERY,
        after_s: float = ANCHOR_AFTER_S,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.file, self.key, self.checkpoint = file, key, checkpoint
        self.every, self.after_s, self.clock = every, after_s, clock
        self.written = 0  # anchors written (for tests and the bench)
        self._cond = threading.Condition()
        self._pending: Link | None = None
        self._urgent: list[tuple[Link, str, int]] = []
        self._count = 0
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="kiosk-anchors", daemon=True)
        self._thread.start()

    def note(self, place: Link) -> None:
        with self._cond:
            self._pending = place
            self._count += 1
            if self._count == 1 or self._count >= self.every:  # the timer starts; or due
                self._cond.notify()

    def soon(self, place: Link, *, kind: str = "anchor", lost: int = 0) -> None:
        """Anchor ``place`` at once (``kind`` ``rebase``: after a detected loss)."""
        with self._cond:
            self._urgent.append((place, kind, lost))
            self._cond.notify()

    def write(self, place: Link, *, kind: str = "anchor", lost: int = 0) -> bool:
        """Sign and append an anchor of ``place`` now (on the caller's thread)."""
        if not write_anchor(self.file, self.key, self.checkpoint, place, self.clock(), kind, lost):
            return False
        self.written += 1
        return True

    def _due(self) -> bool:
        return self._closing or bool(self._urgent) or self._count >= self.every

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._pending is None and not self._urgent and not self._closing:
                    self._cond.wait()
                if self._pending is not None and not self._due():
                    self._cond.wait_for(self._due, self.after_s)
                if self._closing:
                    return
                urgent, self._urgent = self._urgent, []
                place = None
                if not urgent or self._count >= self.every:
                    place, self._pending, self._count = self._pending, None, 0
            for item, kind, lost in urgent:
                self.write(item, kind=kind, lost=lost)
            if place is not None:
                self.write(place)

    def close(self) -> None:
        """Stop the thread and anchor what is not anchored yet (a clean stop)."""
        with self._cond:
            self._closing = True
            self._cond.notify()
        self._thread.join(timeout=10)
        with self._cond:
            urgent, self._urgent = self._urgent, []
            place, self._pending = self._pending, None
        for item, kind, lost in urgent:
            self.write(item, kind=kind, lost=lost)
        if place is not None:
            self.write(place)


# --- the check ---------------------------------------------------------------------------


@dataclass(frozen=True)
class BadAnchor:
    line: int | None  # in the anchor file (None: found in its tail)
    reason: str  # AnchorRejected.reason: format, key, signature, checkpoint


@dataclass(frozen=True)
class LogCheck:
    """What :func:`check_log` found. :attr:`damaged`: something to tell."""

    anchor: Anchor | None = None  # the newest valid anchor, held against the log
    lost: int = 0  # passages missing after the last kept one (a lost tail)
    lost_after: str | None = None  # the time of the last passage kept (None: none kept)
    mismatch: Anchor | None = None  # an anchor the log no longer matches
    breaks: tuple[Break, ...] = ()
    bad_anchors: tuple[BadAnchor, ...] = ()
    no_key: bool = False
    rows: int = 0  # rows whose chain was checked
    head: Link = field(default_factory=lambda: Link(0, None, b""))

    @property
    def damaged(self) -> bool:
        return bool(self.lost or self.mismatch or self.breaks or self.bad_anchors)

    def messages(self) -> list[str]:
        """What to tell the guard or clerk, in their language."""
        out = []
        if self.lost:
            assert self.anchor is not None
            out.append(
                trn(
                    "At least {count} passage is missing from the end of the visit log: "
                    "recorded between {since} and {until} (the checkpoint's signed record "
                    "of {until} counts it), it was not kept (the database was not saved "
                    "completely, e.g. its -wal file was lost).",
                    "At least {count} passages are missing from the end of the visit log: "
                    "recorded between {since} and {until} (the checkpoint's signed record "
                    "of {until} counts them), they were not kept (the database was not "
                    "saved completely, e.g. its -wal file was lost).",
                    self.lost,
                    count=self.lost,
                    since=_when(self.lost_after) if self.lost_after else tr("the start"),
                    until=_when(to_db(self.anchor.at)),
                )
            )
        if self.mismatch is not None:
            out.append(
                tr(
                    "The visit log does not match the checkpoint's signed record of {time}: "
                    "passages recorded up to then were changed, deleted or replaced.",
                    time=_when(to_db(self.mismatch.at)),
                )
            )
        for b in self.breaks:
            out.append(_break_message(b))
        if self.bad_anchors:
            n = len(self.bad_anchors)
            out.append(
                trn(
                    "{count} signed record of the visit log is not valid (a wrong "
                    "signature, or another checkpoint's) and was ignored.",
                    "{count} signed records of the visit log are not valid (a wrong "
                    "signature, or another checkpoint's) and were ignored.",
                    n,
                    count=n,
                )
            )
        return out

    def detail(self) -> dict[str, Any]:
        """For the audit log."""
        return {
            "lost": self.lost,
            "lost_after": self.lost_after,
            "anchor_seq": self.anchor.seq if self.anchor else None,
            "anchor_at": to_db(self.anchor.at) if self.anchor else None,
            "mismatch_at": to_db(self.mismatch.at) if self.mismatch else None,
            "breaks": [b.__dict__ for b in self.breaks],
            "bad_anchors": [b.__dict__ for b in self.bad_anchors],
            "head_seq": self.head.seq,
        }


def _when(stamp: str) -> str:
    return f"{from_db(stamp).astimezone():%Y-%m-%d %H:%M}"


def _break_message(b: Break) -> str:
    at = _when(b.at) if b.at else "-"
    if b.kind == "missing":
        return trn(
            "{count} passage was deleted from the visit log (just before the one recorded "
            "at {time}).",
            "{count} passages were deleted from the visit log (just before the one recorded "
            "at {time}).",
            b.count,
            count=b.count,
            time=at,
        )
    if b.kind == "unchained":
        return trn(
            "{count} passage in the visit log was not written by Gatepass (the first "
            "recorded at {time}).",
            "{count} passages in the visit log were not written by Gatepass (the first "
            "recorded at {time}).",
            b.count,
            count=b.count,
            time=at,
        )
    return trn(
        "{count} passage in the visit log was changed after it was recorded (the first "
        "recorded at {time}).",
        "{count} passages in the visit log were changed after they were recorded (the "
        "first recorded at {time}).",
        b.count,
        count=b.count,
        time=at,
    )


def damage_hint() -> str:
    return tr(
        "Passages go on being recorded. If you have a copy of the checkpoint's folder from "
        "before, keep it; 'kiosk visits verify' checks the whole log."
    )


def _anchors(
    home: Home, checkpoint: str, *, full: bool
) -> tuple[list[Anchor], list[BadAnchor], bool]:
    """Valid anchors since the last rebase (oldest first; in the quick check only the
    newest), bad lines (the quick check: only those after the newest valid one), and
    whether the key was missing."""
    key = signing_key(home)
    if key is None:
        return [], [], True
    public = key.public_key()
    good: list[Anchor] = []
    bad: list[BadAnchor] = []
    lines = AnchorFile(home.anchors).lines(tail=not full)
    for number, text in reversed(lines):
        if not text.strip():
            continue
        try:
            anchor = parse_anchor(text, public, checkpoint)
        except AnchorRejected as exc:
            bad.append(BadAnchor(number, exc.reason))
            continue
        if not full:
            return [anchor], bad[::-1], False
        if not good or good[-1].kind != "rebase":
            good.append(anchor)
    return good[::-1], bad[::-1], False


def _against(db: Database, anchor: Anchor) -> tuple[str, int | None]:
    """How the log stands against ``anchor``: ``ok`` (the anchored row is there, as
    signed; its rowid), ``purged`` (removed by retention, as signed), ``lost`` (the log
    ends before it), ``mismatch``."""
    if anchor.visit is not None:
        found = row_at(db, anchor.visit)
        if found is not None:
            rowid, place = found
            if place.seq == anchor.seq and place.chain == anchor.head:
                return "ok", rowid
            return "mismatch", None
    start = base(db)
    if anchor.seq < start.seq:
        return "purged", None
    kept = gap_chain(db, anchor.seq)
    if kept is not None:
        return ("purged" if kept == anchor.head else "mismatch"), None
    if anchor.visit is None and anchor.seq == 0:
        return "ok", 0
    if head(db).seq < anchor.seq:
        return "lost", None
    return "mismatch", None


def check_log(db: Database, home: Home, checkpoint: str, *, full: bool = False) -> LogCheck:
    """Hold the visit log against its anchors.

    Quick (the gate's, the office's and ``kiosk db status``'s start): the newest valid
    anchor in the file's tail, and the rows recorded after it. Full (``kiosk visits
    verify``): every anchor since the last rebase, and every row from the base."""
    anchors, bad, no_key = _anchors(home, checkpoint, full=full)
    newest = anchors[-1] if anchors else None
    mismatch = None
    for anchor in anchors[:-1]:
        if _against(db, anchor)[0] == "mismatch" and mismatch is None:
            mismatch = anchor
    lost, lost_after, rows = 0, None, 0
    breaks: tuple[Break, ...] = ()
    if newest is not None:
        state, rowid = _against(db, newest)
        if state == "mismatch":
            mismatch = mismatch or newest
        elif state == "lost":
            last = last_row(db)
            lost = newest.seq - head(db).seq
            if last is not None:
                lost_after = db.execute(
                    "SELECT at FROM visits WHERE id = ?", [last.visit]
                ).fetchone()[0]
        if full or state == "purged":
            result = walk(db, base(db))
        elif state == "ok" and rowid is not None:
            result = walk(db, Link(newest.seq, newest.visit, newest.head), rowid)
        else:
            result = None
        if result is not None:
            rows, breaks = result.rows, result.breaks
    elif full:
        result = walk(db, base(db))
        rows, breaks = result.rows, result.breaks
    return LogCheck(
        anchor=newest,
        lost=lost,
        lost_after=lost_after,
        mismatch=mismatch,
        breaks=breaks,
        bad_anchors=tuple(bad),
        no_key=no_key,
        rows=rows,
        head=head(db),
    )


def anchor_now(home: Home, db: Database, checkpoint: str) -> bool:
    """Anchor the log's head at once (a correction from the office or the CLI: not the
    gate, whose :class:`Anchorer` does it). False when there is no key or the file
    cannot be written (logged)."""
    key = signing_key(home)
    if key is None:
        return False
    return write_anchor(AnchorFile(home.anchors), key, checkpoint, head(db), utcnow())
