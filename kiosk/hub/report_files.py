"""The street office's daily report as a file: ``.xlsx``, ``.json`` or ``.pdf``
(``kiosk hub report daily --out FILE``; docs/hub.md, "Reports").

The workbook is written by the project's streaming XLSX writer
(:mod:`kiosk.store.files.xlsx`), the JSON is :meth:`DailyReport.as_json`, and the PDF
is drawn with Qt as every other PDF Gatepass makes
(:mod:`kiosk.ui.printing.hub_report`). Qt is imported only for a ``.pdf``, so a hub
server never loads it (the import-linter contract ``hub`` names this one import).

Every heading is translated into ``lang`` (the paper's language; default: the current
one), as the kiosk's own daily report is.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kiosk.core.atomic import whole_file
from kiosk.core.errors import UserError
from kiosk.core.i18n import N_, language, tr, tr_in
from kiosk.hub.report import REPORT_TZ, DailyReport
from kiosk.store.files.xlsx import write_xlsx

SUFFIXES = (".xlsx", ".json", ".pdf")

TITLE = N_("Daily report of the compounds")
TOTAL = N_("Total")
# The columns, left to right, with the CompoundDay field each shows.
COLUMNS: tuple[tuple[str, str], ...] = (
    (N_("Compound"), "name"),
    (N_("Community"), "community"),
    (N_("Passages"), "passages"),
    (N_("Visitors"), "visitors"),
    (N_("Fevers"), "fevers"),
    (N_("Denials"), "denials"),
    (N_("On hold"), "on_hold"),
    (N_("Overstaying"), "overstaying"),
    (N_("Gates"), "gates"),
    (N_("Gates not synced"), "gates_not_synced"),
)
WIDTHS = (24, 16, 10, 10, 8, 8, 8, 12, 7, 30)  # as COLUMNS, in characters
NAME_SEPARATOR = "、"  # between the names of the gates not synced


def check_suffix(out: Path) -> str:
    """The report's format from ``out``'s suffix; a :class:`UserError` for any other."""
    suffix = out.suffix.lower()
    if suffix not in SUFFIXES:
        raise UserError(
            tr(
                "Cannot write the report as {suffix}: name a file ending in .pdf, .xlsx or .json.",
                suffix=out.suffix or out.name,
            )
        )
    return suffix


def headings(lang: str) -> list[str]:
    return [tr_in(lang, heading) for heading, _ in COLUMNS]


def made_at_text(report: DailyReport) -> str:
    """When the report was made, in the hub's local time (the day's own zone)."""
    return report.made_at.astimezone(REPORT_TZ).strftime("%Y-%m-%d %H:%M")


def title_lines(report: DailyReport, lang: str) -> tuple[str, str]:
    """The title, and the line under it: the area, the day, when it was made."""
    return (
        tr_in(lang, TITLE),
        tr_in(
            lang,
            "{area}    {day}    made at {made}",
            area=report.area,
            day=report.day.isoformat(),
            made=made_at_text(report),
        ),
    )


def table_rows(report: DailyReport, lang: str) -> Iterator[list[Any]]:
    """One row per compound, then the totals (the gates not synced as names, and as a
    count in the totals)."""
    for compound in report.compounds:
        yield [
            NAME_SEPARATOR.join(value) if isinstance(value, list) else value
            for value in (getattr(compound, field) for _, field in COLUMNS)
        ]
    totals = report.totals()
    yield [
        tr_in(lang, TOTAL),
        "",
        *(totals[field] for _, field in COLUMNS[2:8]),
        sum(c.gates for c in report.compounds),
        totals["gates_not_synced"],
    ]


def write_report(report: DailyReport, out: Path, *, lang: str | None = None) -> None:
    """Write ``report`` to ``out`` as its suffix says (``.xlsx``, ``.json``, ``.pdf``);
    a :class:`UserError` for any other suffix, before anything is written."""
    suffix = check_suffix(out)
    paper = lang or language()
    if suffix == ".json":
        _write_json(report, out)
    elif suffix == ".xlsx":
        _write_xlsx(report, out, paper)
    else:
        from kiosk.ui.printing.hub_report import write_hub_report_pdf

        write_hub_report_pdf(report, out, lang=paper)


def _write_json(report: DailyReport, out: Path) -> None:
    text = json.dumps(report.as_json(), ensure_ascii=False, indent=2) + "\n"
    with whole_file(out) as temp:  # no half a file
        temp.write_text(text, encoding="utf-8")


def _write_xlsx(report: DailyReport, out: Path, lang: str) -> None:
    title, subtitle = title_lines(report, lang)

    def rows() -> Iterator[list[Any]]:
        # The columns' headings are the sheet's (bold, frozen) first row; the title
        # and the area, day and time it was made stand under the table.
        yield from table_rows(report, lang)
        yield []
        yield [title]
        yield [subtitle]

    write_xlsx(out, _sheet_name(report, lang), headings(lang), rows(), widths=WIDTHS)


def _sheet_name(report: DailyReport, lang: str) -> str:
    return f"{report.day.isoformat()} {tr_in(lang, 'Compounds')}"
