"""Cells safe to open in a spreadsheet: every CSV Gatepass writes goes through here.

A CSV cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is
read by Excel, WPS and LibreOffice as a formula: a visitor who gives his name as
``=HYPERLINK("http://…","click")`` or a plate typed as ``@SUM(1)`` would plant a
formula (or a ``-cmd|…`` DDE call) in the street office's export. As OWASP advises
("CSV Injection"), such a text cell is written with a single quote in front, which the
spreadsheet shows as text. Only text is touched: numbers (a temperature, a count)
stay numbers, and a negative number is a number, not a formula.

:func:`safe_cell` is the one rule; :func:`csv_writer` is a ``csv.writer`` that applies
it to every cell of every row (the header too). :func:`read_cell` undoes it, for a file
Gatepass writes and reads back itself (the vision test set's ``truth.tsv``).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import IO, Any

__all__ = ["FORMULA_START", "CsvWriter", "csv_writer", "read_cell", "safe_cell", "safe_row"]

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""The first characters that make a spreadsheet read a cell as a formula (OWASP)."""

QUOTE = "'"


def safe_cell(value: Any) -> Any:
    """``value`` as a CSV cell: text starting with a formula character gets a ``'``
    in front; anything else (numbers included) is returned as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return QUOTE + value
    return value


def safe_row(row: Iterable[Any]) -> list[Any]:
    """Every cell of ``row`` through :func:`safe_cell`."""
    start, quote = FORMULA_START, QUOTE
    # safe_cell inlined: an export of a million visits runs this 17 million times
    return [quote + v if isinstance(v, str) and v.startswith(start) else v for v in row]


def read_cell(text: str) -> str:
    """The text :func:`safe_cell` was given, from the cell it wrote. Exact for any text
    that did not itself start with ``'`` and a formula character."""
    if text.startswith(QUOTE) and text[1:].startswith(FORMULA_START):
        return text[1:]
    return text


class CsvWriter:
    """A ``csv.writer`` whose rows are made safe with :func:`safe_row`."""

    def __init__(self, fh: IO[str], **options: Any) -> None:
        self._writer = csv.writer(fh, **options)

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow(safe_row(row))

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        self._writer.writerows(map(safe_row, rows))


def csv_writer(fh: IO[str], **options: Any) -> CsvWriter:
    """Like ``csv.writer(fh, **options)``, with every cell made safe (:func:`safe_cell`)."""
    return CsvWriter(fh, **options)
