"""A streaming XLSX writer: rows go straight into a deflated zip member, one at a time.

Why not openpyxl: its write-only mode wrote 1,000,000 visits in about 220 s (about
5,000 rows a second), over the street office's 90 s (docs/architecture.md). This
writer makes the few parts a workbook needs by hand and writes each row's XML as it
comes: inline strings (``t="inlineStr"``), numbers and booleans, a bold and frozen
header row, column widths. Memory stays flat however many rows: only a small buffer
of rows is held before it is compressed to disk. Past Excel's 1,048,576 rows a sheet,
the rows go on in a second sheet (with the header again), and so on.

Text is escaped for XML; characters XML 1.0 does not allow (most control characters,
lone surrogates, U+FFFE/U+FFFF) become U+FFFD; a literal ``_xHHHH_`` is escaped so
that Excel does not read it as an escaped character; text past Excel's 32,767
characters a cell is cut.
"""

from __future__ import annotations

import math
import re
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, Any

from kiosk.core.atomic import whole_file

MAX_ROWS = 1_048_576  # per sheet, header included (Excel's limit)
MAX_CHARS = 32_767  # per cell (Excel's limit: it "repairs" a file with longer text)
_FLUSH_EVERY = 2000  # rows held before they are encoded and compressed
_SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\]")
_NEEDS_ESCAPE = re.compile(
    "[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]|_x[0-9A-Fa-f]{4}_"
)
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_ESCAPED_X = re.compile("_(?=x[0-9A-Fa-f]{4}_)")
_SPACES = " \t\n\r"
_CACHE_MAX = 50_000  # cell XML kept for repeated values (most columns repeat a lot)

_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"

_STYLES = (
    f'{_HEAD}<styleSheet xmlns="{_NS}">'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)
_ROOT_RELS = (
    f'{_HEAD}<Relationships xmlns="{_PKG_REL_NS}">'
    f'<Relationship Id="rId1" Type="{_REL_NS}/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)


def escape(text: str) -> str:
    """``text`` as XML character data that reads back as ``text`` in Excel and friends."""
    if _NEEDS_ESCAPE.search(text) is None:
        return text
    text = _ILLEGAL.sub("\ufffd", text)
    text = _ESCAPED_X.sub("_x005F_", text)
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    )


def _sheet_names(base: str, count: int) -> list[str]:
    name = _SHEET_NAME_BAD.sub("_", base).strip("'")[:31] or "Sheet"
    return [name if i == 0 else f"{name[:26]} ({i + 1})" for i in range(count)]


def _text_cell(text: str) -> str:
    """A cell holding ``text`` (not empty), as an inline string (cut to Excel's limit)."""
    if len(text) > MAX_CHARS:
        text = text[:MAX_CHARS]
    space = ' xml:space="preserve"' if text[0] in _SPACES or text[-1] in _SPACES else ""
    return f'<c t="inlineStr"><is><t{space}>{escape(text)}</t></is></c>'


def _cell(value: Any) -> str:
    """One cell's XML, in its place in the row (cells carry no reference)."""
    if value is None or value == "":
        return "<c/>"
    if isinstance(value, str):
        return _text_cell(value)
    if isinstance(value, bool):
        return f'<c t="b"><v>{int(value)}</v></c>'
    if isinstance(value, int) or (isinstance(value, float) and math.isfinite(value)):
        return f"<c><v>{value!r}</v></c>"
    return _text_cell(str(value))


class _Sheet:
    """One worksheet part being written."""

    def __init__(self, fh: IO[bytes], header: Sequence[str], widths: Sequence[float]) -> None:
        self.fh = fh
        cols = "".join(
            f'<col min="{i + 1}" max="{i + 1}" width="{w:g}" customWidth="1"/>'
            for i, w in enumerate(widths)
        )
        head = "".join(
            _text_cell(h).replace("<c ", '<c s="1" ', 1) if h else '<c s="1"/>' for h in header
        )
        self.fh.write(
            (
                f'{_HEAD}<worksheet xmlns="{_NS}">'
                '<sheetViews><sheetView workbookViewId="0">'
                '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
                '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/>'
                "</sheetView></sheetViews>"
                '<sheetFormatPr defaultRowHeight="15"/>'
                + (f"<cols>{cols}</cols>" if cols else "")
                + f'<sheetData><row r="1">{head}</row>'
            ).encode()
        )
        self.rows = 1
        self.buffer: list[str] = []
        self.cache: dict[str, str] = {}

    def add(self, values: Sequence[Any]) -> None:
        self.rows += 1
        parts = [f'<row r="{self.rows}">']
        cache = self.cache
        for value in values:
            # Cells go in order, so they need no reference; an empty one is <c/>.
            if value.__class__ is str and value:
                xml = cache.get(value)
                if xml is None:
                    if len(cache) >= _CACHE_MAX:
                        cache.clear()
                    xml = cache[value] = _text_cell(value)
                parts.append(xml)
            else:
                parts.append(_cell(value))
        parts.append("</row>")
        self.buffer.append("".join(parts))
        if len(self.buffer) >= _FLUSH_EVERY:
            self.flush()

    def flush(self) -> None:
        if self.buffer:
            self.fh.write("".join(self.buffer).encode("utf-8"))
            self.buffer.clear()

    def close(self) -> None:
        if not self.fh.closed:
            self.flush()
            self.fh.write(b"</sheetData></worksheet>")
            self.fh.close()


def write_xlsx(
    out: Path,
    sheet_name: str,
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    widths: Sequence[float] = (),
    compresslevel: int = 1,
) -> int:
    """Write ``header`` and ``rows`` as a workbook at ``out``; returns the number of rows.

    ``widths``: column widths in characters (Excel's unit), left to right.
    """
    count = 0
    sheets = 0
    # No half a workbook, whatever stops the writing.
    with (
        whole_file(out) as temp,
        zipfile.ZipFile(
            temp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=compresslevel
        ) as book,
    ):
        sheet: _Sheet | None = None
        try:
            for row in rows:
                if sheet is None or sheet.rows >= MAX_ROWS:
                    if sheet is not None:
                        sheet.close()
                    sheets += 1
                    name = f"xl/worksheets/sheet{sheets}.xml"
                    sheet = _Sheet(book.open(name, "w", force_zip64=True), header, widths)
                sheet.add(row)
                count += 1
            if sheet is None:  # no rows: still a sheet with its header
                sheets = 1
                sheet = _Sheet(book.open("xl/worksheets/sheet1.xml", "w"), header, widths)
        finally:
            if sheet is not None:
                sheet.close()  # the zip cannot close over an open member
        _write_parts(book, _sheet_names(sheet_name, sheets))
    return count


def _write_parts(book: zipfile.ZipFile, names: list[str]) -> None:
    """The workbook's other parts, once the number of sheets is known."""
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{_CT}.worksheet+xml"/>'
        for i in range(1, len(names) + 1)
    )
    book.writestr(
        "[Content_Types].xml",
        f'{_HEAD}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{_CT}.sheet.main+xml"/>'
        f'<Override PartName="/xl/styles.xml" ContentType="{_CT}.styles+xml"/>'
        f"{overrides}</Types>",
    )
    book.writestr("_rels/.rels", _ROOT_RELS)
    sheets = "".join(
        f'<sheet name="{escape(name)}" sheetId="{i}" r:id="rId{i}"/>'
        for i, name in enumerate(names, start=1)
    )
    book.writestr(
        "xl/workbook.xml",
        f'{_HEAD}<workbook xmlns="{_NS}" xmlns:r="{_REL_NS}">'
        f"<bookViews><workbookView/></bookViews><sheets>{sheets}</sheets></workbook>",
    )
    rels = "".join(
        f'<Relationship Id="rId{i}" Type="{_REL_NS}/worksheet" Target="worksheets/sheet{i}.xml"/>'
        for i in range(1, len(names) + 1)
    )
    book.writestr(
        "xl/_rels/workbook.xml.rels",
        f'{_HEAD}<Relationships xmlns="{_PKG_REL_NS}">{rels}'
        f'<Relationship Id="rId{len(names) + 1}" Type="{_REL_NS}/styles" Target="styles.xml"/>'
        "</Relationships>",
    )
    book.writestr("xl/styles.xml", _STYLES)
