"""Contact tracing from the visit log.

* who passed this gate between two times;
* who passed within N minutes of one person's passages (each of that person's
  passages opens a window of +/- N minutes; everyone else seen in any window is a
  contact, with the times they were seen).

Both read only passages that happened (any verdict: a denied person still stood at
the gate) through the ``visits.at`` index.
"""

from __future__ import annotations

import bisect
from datetime import datetime, timedelta
from typing import Any

from sqlite_utils import Database

from kiosk.core.clock import from_db, to_db
from kiosk.core.errors import UserError
from kiosk.core.i18n import tr
from kiosk.core.progress import Progress
from kiosk.store.lookup import Register

# The visits alone: names and households come from a Register (each read once, not
# joined to every row).
_SELECT = """
    SELECT v.id, v.at, v.direction, v.level, v.subject_kind, v.resident_id, v.visitor_id,
           v.household_id
    FROM visits v
"""
Raw = tuple[str | None, str | None, str | None]
PROGRESS_EVERY = 5000  # rows read between two progress reports


def _as_is(a: str | None, b: str | None, c: str | None) -> Raw:
    return a, b, c


def _register(db: Database) -> Register[Raw, Raw]:
    return Register(db, _as_is, _as_is)


class _Count:
    """Rows read so far, told to a progress every :data:`PROGRESS_EVERY` rows."""

    def __init__(self, progress: Progress | None, total: int | None) -> None:
        self.progress, self.total, self.done = progress, total, 0
        if progress is not None:
            progress.update(0, total)

    def one(self) -> None:
        self.done += 1
        if self.progress is not None and self.done % PROGRESS_EVERY == 0:
            self.progress.update(self.done, self.total)


def _rows(
    db: Database,
    where: str,
    args: list[Any],
    register: Register[Raw, Raw] | None = None,
    count: _Count | None = None,
) -> list[dict[str, Any]]:
    register = register or _register(db)
    rows = []
    for vid, at, direction, level, kind, resident_id, visitor_id, household_id in db.conn.execute(
        f"{_SELECT} WHERE {where} ORDER BY v.at", args
    ):
        if count is not None:
            count.one()
        name, id_number, phone = register.person(resident_id, visitor_id)
        building, unit, room = register.household(household_id)
        rows.append(
            {
                "id": vid,
                "at": at,
                "direction": direction,
                "level": level,
                "subject_kind": kind,
                "subject": resident_id if resident_id is not None else visitor_id,
                "name": name,
                "building": building,
                "unit": unit,
                "room": room,
                "phone": phone,
                "id_number": id_number,
            }
        )
    return rows


def passed_between(
    db: Database, start: datetime, end: datetime, *, progress: Progress | None = None
) -> list[dict[str, Any]]:
    """Every passage (any verdict) in [start, end), oldest first. ``progress`` hears
    every few thousand rows read (and may stop the read)."""
    if end <= start:
        raise UserError(tr("The end of the period must come after its start."))
    span = [to_db(start), to_db(end)]
    count = None
    if progress is not None:
        total = db.conn.execute(
            "SELECT COUNT(*) FROM visits WHERE at >= ? AND at < ?", span
        ).fetchone()[0]
        count = _Count(progress, total)
    return _rows(db, "v.at >= ? AND v.at < ?", span, count=count)


def contacts_of(
    db: Database, subject_id: str, window: timedelta, *, progress: Progress | None = None
) -> list[dict[str, Any]]:
    """Passages of other people within ``window`` of any passage of ``subject_id``.

    Each contact is given once, with ``near``: the first of the subject's passages
    whose window holds it. Overlapping windows are read as one span. ``progress``
    hears every few thousand rows read.
    """
    mine = _rows(db, "(v.resident_id = ? OR v.visitor_id = ?)", [subject_id, subject_id])
    if not mine:
        raise UserError(tr("No passages recorded for {id}.", id=subject_id))
    windows = []
    for passage in mine:
        at = from_db(passage["at"])
        windows.append((to_db(at - window), to_db(at + window), passage["at"]))
    spans = _merged(windows)
    register = _register(db)
    total = sum(
        db.conn.execute("SELECT COUNT(*) FROM visits WHERE at >= ? AND at <= ?", span).fetchone()[0]
        for span in spans
    )
    register.preload(total)
    count = _Count(progress, total) if progress is not None else None
    near = _Near(windows)
    contacts: list[dict[str, Any]] = []
    for lo, hi in spans:
        for row in _rows(db, "v.at >= ? AND v.at <= ?", [lo, hi], register, count):
            if row["subject"] == subject_id:
                continue
            row["near"] = near(row["at"])
            contacts.append(row)
    return sorted(contacts, key=lambda r: r["at"])


def _merged(windows: list[tuple[str, str, str]]) -> list[tuple[str, str]]:
    """The union of the windows (closed ranges of stored time text) as disjoint spans."""
    spans: list[tuple[str, str]] = []
    for lo, hi, _ in sorted(windows):
        if spans and lo <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], hi))
        else:
            spans.append((lo, hi))
    return spans


class _Near:
    """The first of the subject's passages (in their order) whose window holds a time."""

    def __init__(self, windows: list[tuple[str, str, str]]) -> None:
        self.windows = windows
        self.los = [lo for lo, _, _ in windows]
        self.his = [hi for _, hi, _ in windows]
        # Stored times in their usual form sort as time does, and so do the windows:
        # then the first window ending at or after ``at`` is the one, if any is.
        self.ordered = self.los == sorted(self.los) and self.his == sorted(self.his)

    def __call__(self, at: str) -> str:
        if self.ordered:
            k = bisect.bisect_left(self.his, at)
            if k < len(self.his) and self.los[k] <= at:
                return self.windows[k][2]
        return next(passage for lo, hi, passage in self.windows if lo <= at <= hi)
