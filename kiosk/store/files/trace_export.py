"""Contact-tracing results as the street office reads them: one flat row per passage
(local time, masked ID number and phone unless unmasking was granted), and the XLSX
file both ``kiosk trace --format xlsx`` and the office's Trace tab write."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kiosk.core.clock import from_db
from kiosk.core.i18n import N_, tr
from kiosk.core.identity import mask_id_number, mask_phone
from kiosk.core.progress import Progress
from kiosk.store.files.xlsx import write_xlsx
from kiosk.store.register import household_label

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
PROGRESS_EVERY = 5000  # rows written between two progress reports

TRACE_WIDTHS = (20, 8, 8, 9, 12, 12, 14, 22, 20)

TRACE_COLUMNS = (
    ("time", N_("Time")),
    ("direction", N_("Direction")),
    ("level", N_("Verdict")),
    ("kind", N_("Kind")),
    ("name", N_("Name")),
    ("household", N_("Household")),
    ("phone", N_("Phone")),
    ("id_number", N_("ID number")),
    ("near", N_("Near the passage at")),
)


def trace_row(r: dict[str, Any], *, unmasked: bool = False) -> dict[str, Any]:
    """One row of :func:`kiosk.store.trace.passed_between` / ``contacts_of`` in the
    shape of ``kiosk trace --format json`` (docs/cli.md): local times, ID number and
    phone masked unless ``unmasked``."""
    return {
        "time": from_db(r["at"]).astimezone().strftime(TIME_FORMAT),
        "direction": r["direction"],
        "level": r["level"],
        "kind": r["subject_kind"],
        "subject": r["subject"],
        "name": r["name"],
        "household": household_label(r["building"], r["unit"], r["room"]),
        "phone": (r["phone"] or "") if unmasked else mask_phone(r["phone"]),
        "id_number": (r["id_number"] or "") if unmasked else mask_id_number(r["id_number"]),
        "near": from_db(r["near"]).astimezone().strftime(TIME_FORMAT) if r.get("near") else None,
    }


def write_trace_xlsx(
    out: Path, rows: list[dict[str, Any]], *, progress: Progress | None = None
) -> None:
    """Write rows shaped by :func:`trace_row` (already masked as wanted) to ``out``,
    streamed like the visit export (:func:`kiosk.store.files.xlsx.write_xlsx`). ``progress``
    hears every few thousand rows; when it stops the writing, no file is left."""

    def cells() -> Iterator[list[Any]]:
        for number, r in enumerate(rows, start=1):
            if progress is not None and number % PROGRESS_EVERY == 0:
                progress.update(number, len(rows))
            yield [r[key] or "" for key, _title in TRACE_COLUMNS]

    write_xlsx(
        out,
        tr("Contact tracing"),
        [tr(title) for _key, title in TRACE_COLUMNS],
        cells(),
        widths=TRACE_WIDTHS,
    )
