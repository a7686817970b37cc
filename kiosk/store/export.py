"""Exporting the visit log for the street office: CSV or XLSX, streamed row by row
(memory stays flat however many visits), ID numbers and phones masked unless asked."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from kiosk.core.clock import from_db, to_db
from kiosk.core.i18n import N_, tr
from kiosk.core.identity import mask_id_number, mask_phone
from kiosk.store.checkpoint import record_audit
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
)

_SQL = """
    SELECT v.at, v.direction, v.level, v.reason, v.subject_kind,
           COALESCE(r.name, vi.name), h.building, h.unit, h.room,
           COALESCE(r.id_number, vi.id_number), COALESCE(r.phone, vi.phone),
           v.temperature, v.pass_serial, v.plate, v.guard, v.checkpoint_id
    FROM visits v
    LEFT JOIN residents r ON r.id = v.resident_id
    LEFT JOIN visitors vi ON vi.id = v.visitor_id
    LEFT JOIN households h ON h.id = v.household_id
    WHERE v.at >= ? AND v.at < ?
    ORDER BY v.at
"""


def export_rows(
    db: Database, start: datetime, end: datetime, *, unmasked: bool
) -> Iterator[list[Any]]:
    """The visits in [start, end) as export rows, oldest first, one at a time."""
    for row in db.execute(_SQL, [to_db(start), to_db(end)]):
        (
            at,
            direction,
            level,
            reason,
            kind,
            name,
            building,
            unit,
            room,
            id_number,
            phone,
            temperature,
            serial,
            plate,
            guard,
            checkpoint,
        ) = row
        yield [
            from_db(at).astimezone().strftime("%Y-%m-%d %H:%M:%S"),
            direction,
            level,
            reason,
            kind,
            name or "",
            household_label(building, unit, room),
            (id_number or "") if unmasked else mask_id_number(id_number),
            (phone or "") if unmasked else mask_phone(phone),
            temperature if temperature is not None else "",
            serial or "",
            plate,
            guard,
            checkpoint,
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
) -> int:
    """Write the visits to ``out`` (``csv`` or ``xlsx``); returns the number of rows.

    Every unmasked export is written to the audit log: who, when and what range.
    """
    header = [tr(c) for c in COLUMNS]
    rows = export_rows(db, start, end, unmasked=unmasked)
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
    count = 0
    with out.open("w", encoding="utf-8-sig", newline="") as fh:  # BOM: Excel reads UTF-8
        writer = csv.writer(fh)
        writer.writerow(header)
        for row in rows:
            writer.writerow(row)
            count += 1
    return count


def _write_xlsx(out: Path, header: list[str], rows: Iterator[list[Any]]) -> int:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(tr("Visits"))
    sheet.append(header)
    count = 0
    for row in rows:
        sheet.append(row)
        count += 1
    book.save(out)
    return count
