"""Spreadsheet-safe CSV cells (OWASP "CSV Injection"): the one rule every CSV Gatepass
writes goes through."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.core.csv_cells import FORMULA_START, csv_writer, read_cell, safe_cell, safe_row

HOSTILE = [
    '=HYPERLINK("http://x.example/?a","open")',
    "@SUM(1)",
    "-cmd|' /C calc'!A0",
    "+1+1",
    "\t=1",
    "\r=1",
    "-",
    "=",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_formula_text_gets_a_quote(text: str) -> None:
    assert safe_cell(text) == "'" + text
    assert safe_row(["ok", text]) == ["ok", "'" + text]
    assert read_cell(safe_cell(text)) == text


@pytest.mark.parametrize(
    "value", ["张三", "3K7Q-9ZD2", "京A12345", "", "a=b", " =1", "'quoted", 36.5, -3, 0, None]
)
def test_everything_else_is_left_alone(value: object) -> None:
    assert safe_cell(value) is value
    assert safe_row([value]) == [value]


def test_numbers_stay_numbers_even_negative() -> None:
    fh = io.StringIO()
    writer = csv_writer(fh, lineterminator="\n")
    writer.writerow(["t", -2.5, -7, "-7"])
    assert fh.getvalue() == "t,-2.5,-7,'-7\n"  # the text "-7" is text; the number a number


def test_writer_makes_every_row_and_the_header_safe() -> None:
    fh = io.StringIO()
    writer = csv_writer(fh, delimiter="\t", lineterminator="\n")
    writer.writerow(["=head", "ok"])
    writer.writerows(iter([["@a", 1], ["b", "+c"]]))
    rows = list(csv.reader(io.StringIO(fh.getvalue()), delimiter="\t"))
    assert rows == [["'=head", "ok"], ["'@a", "1"], ["b", "'+c"]]


@given(st.lists(st.one_of(st.text(), st.integers(), st.floats(allow_nan=False))))
def test_no_text_cell_ever_starts_a_formula(row: list[object]) -> None:
    for before, after in zip(row, safe_row(row), strict=True):
        if isinstance(before, str):
            assert isinstance(after, str) and not after.startswith(FORMULA_START)
            if not before.startswith("'"):
                assert read_cell(after) == before
        else:
            assert after is before
