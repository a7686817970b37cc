"""Exporting the visit log for the street office: CSV or XLSX, streamed row by row
(memory stays flat however many visits), ID numbers and phones masked unless asked.
A CSV cell that a spreadsheet would read as a formula is written as text
(:mod:`kiosk.core.csv_cells`)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from kiosk.core.atomic import whole_file
from kiosk.core.clock import from_db, to_db
from kiosk.core.csv_cells import csv_writer
from kiosk.core.i18n import N_, tr
from kiosk.core.identity import mask_id_number, mask_phone
from kiosk.core.progress import Progress
from kiosk.store.checkpoint import record_audit
from kiosk.store.files.xlsx import write_xlsx
from kiosk.store.lookup import Register
from kiosk.store.register import household_label

COLUMNS = (
    N_("Time"),
    N_("Direction"),
    N_("Verdict"),
    N_("Reason"),
    N_("Kind"),
    N_("Name"),
    N_("Household"),
    N_("ID number"),
    N_("Phone"),
    N_("Temperature"),
    N_("Pass"),
    N_("Plate"),
    N_("Guard"),
    N_("Checkpoint"),
    N_("Note"),  # a manual pass's note, a correction's reason
    N_("Record"),  # the row's id
    N_("Corrects"),  # a correction: the id of the row it corrects
)

WIDTHS = (20, 6, 8, 18, 10, 12, 12, 20, 14, 8, 12, 10, 10, 14, 20, 38, 38)  # as COLUMNS
_TIME_CACHE_MAX = 100_000  # minutes (about 70 days of them)
PROGRESS_EVERY = 5000  # rows between two progress reports

# The visits alone, without joins: names and households come from a Register, which
# reads each one once (three joins a row were most of the time of a big export).
_SQL = """
    SELECT at, direction, level, reason, subject_kind, resident_id, visitor_id, household_id,
           temperature, pass_serial, plate, guard, checkpoint_id, note, id, corrects
    FROM visits
    WHERE at >= ? AND at < ?
    ORDER BY at, id
"""


def local_time_text(cache: dict[str, str | None], at: str) -> str:
    """A stored UTC time as local ``YYYY-MM-DD HH:MM:SS``, from a per-minute ``cache``.

    Offsets are whole minutes (every zone's since 1972), so the local minute depends
    only on the UTC minute and the seconds stay as they are: one conversion a minute
    instead of one a row. Anything unusual takes the exact way.
    """
    if len(at) == 32 and at[10] == "T" and at.endswith("+00:00"):
        minute = at[:16]
        prefix = cache.get(minute, "")
        if prefix == "":
            moment = from_db(f"{minute}:00+00:00").astimezone()
            offset = moment.utcoffset()
            whole = offset is not None and offset.total_seconds() % 60 == 0
            if len(cache) >= _TIME_CACHE_MAX:
                cache.clear()
            prefix = cache[minute] = moment.strftime("%Y-%m-%d %H:%M:") if whole else None
        if prefix is not None:
            return prefix + at[17:19]
    return from_db(at).astimezone().strftime("%Y-%m-%d %H:%M:%S")


class _Shown:
    """A person as the export shows them: ID number and phone masked unless asked."""

    def __init__(self, unmasked: bool) -> None:
        self.unmasked = unmasked

    def __call__(
        self, name: str | None, id_number: str | None, phone: str | None
    ) -> tuple[str, str, str]:
        if self.unmasked:
            return name or "", id_number or "", phone or ""
        return name or "", mask_id_number(id_number), mask_phone(phone)


def export_rows(
    db: Database,
    start: datetime,
    end: datetime,
    *,
    unmasked: bool,
    progress: Progress | None = None,
) -> Iterator[list[Any]]:
    """The visits in [start, end) as export rows, oldest first, one at a time.

    ``progress`` hears every :data:`PROGRESS_EVERY` rows (and may stop the export)."""
    span = [to_db(start), to_db(end)]
    register = Register(db, _Shown(unmasked), household_label)
    total = db.conn.execute(
        "SELECT COUNT(*) FROM visits WHERE at >= ? AND at < ?", span
    ).fetchone()[0]
    register.preload(total)
    times: dict[str, str | None] = {}
    person, household = register.person, register.household
    if progress is not None:
        progress.update(0, total)
    for done, (
        at,
        direction,
        level,
        reason,
        kind,
        resident_id,
        visitor_id,
        household_id,
        temperature,
        serial,
        plate,
        guard,
        checkpoint,
        note,
        visit_id,
        corrects,
    ) in enumerate(db.conn.execute(_SQL, span), start=1):
        if progress is not None and done % PROGRESS_EVERY == 0:
            progress.update(done, total)
        name, id_number, phone = person(resident_id, visitor_id)
        yield [
            local_time_text(times, at),
            direction,
            level,
            reason,
            kind,
            name,
            household(household_id),
            id_number,
            phone,
            temperature if temperature is not None else "",
            serial or "",
            plate,
            guard,
            checkpoint,
            note,
            visit_id,
            corrects or "",
        ]


def export_visits(
    db: Database,
    out: Path,
    *,
    start: datetime,
    end: datetime,
    fmt: str,
    unmasked: bool = False,
    actor: str = "cli",
    progress: Progress | None = None,
) -> int:
    """Write the visits to ``out`` (``csv`` or ``xlsx``); returns the number of rows.

    Every unmasked export is written to the audit log: who, when and what range.
    ``progress`` hears how many rows are written (every few thousand); when it stops
    the export, no file is left behind.
    """
    header = [tr(c) for c in COLUMNS]
    rows = export_rows(db, start, end, unmasked=unmasked, progress=progress)
    count = _write_xlsx(out, header, rows) if fmt == "xlsx" else _write_csv(out, header, rows)
    if unmasked:
        record_audit(
            db,
            actor,
            "visits.export.unmasked",
            {
                "from": to_db(start),
                "to": to_db(end),
                "rows": count,
                "file": out.name,
            },
        )
    return count


def _write_csv(out: Path, header: list[str], rows: Iterator[list[Any]]) -> int:
    counted = _Counted(rows)
    # No half a file (as the XLSX writer). The BOM: Excel reads it as UTF-8.
    with whole_file(out) as temp, temp.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv_writer(fh)  # formula-looking text quoted (docs/security.md)
        writer.writerow(header)
        writer.writerows(counted)
    return counted.count


class _Counted:
    """Rows passed through, counted."""

    def __init__(self, rows: Iterator[list[Any]]) -> None:
        self.rows, self.count = rows, 0

    def __iter__(self) -> Iterator[list[Any]]:
        for row in self.rows:
            self.count += 1
            yield row


def _write_xlsx(out: Path, header: list[str], rows: Iterator[list[Any]]) -> int:
    return write_xlsx(out, tr("Visits"), header, rows, widths=WIDTHS)
