"""Importing the register from the spreadsheets committee staff already keep.

Two steps, so the reading can be tested and timed without a database:

* :func:`read_register` reads a CSV or XLSX file into an :class:`ImportPlan`: the good
  rows, checked and normalised, and the bad rows with their reasons in plain words.
* :func:`apply_plan` checks every row against the register first, then writes the
  changes in short transactions (:data:`BATCH` rows each, so the gate's commits get in
  between) and returns an :class:`ImportReport` (added, updated, unchanged, bad).

What is accepted (headers, encodings, Excel's number mangling) is written down for
staff in ``docs/register-import.md``; keep the two in step.
"""

from __future__ import annotations

import codecs
import contextlib
import copy
import csv
import re
import struct
import unicodedata
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from itertools import chain, islice
from pathlib import Path
from typing import IO, Any, NamedTuple, cast

from sqlite_utils import Database

from kiosk.core.clock import to_db, utcnow
from kiosk.core.errors import UserError
from kiosk.core.i18n import tr
from kiosk.core.identity import (
    IdentityError,
    Reason,
    check_id_number,
    check_mobile,
    check_name,
    mask_name,
)
from kiosk.core.ids import uuid7
from kiosk.core.progress import Cancelled, Progress
from kiosk.store.checkpoint import record_audit
from kiosk.store.db import Pacer
from kiosk.store.register import (
    ROLE_WORDS,
    household_label,
    households_by_key,
    normalise_part,
    parse_address,
)

HEADER_SEARCH_ROWS = 10
BATCH = 1000
"""Rows written per transaction: about 10-20 ms of the write lock each."""
PROGRESS_EVERY = 5000  # rows checked between two progress reports
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xlsb", ".xls", ".ods")
_WORKBOOK_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")  # zip (xlsx, ods), OLE2 (xls)
MAX_ROWS = 500_000
"""Rows read from one file (after the header): a register is far smaller."""
MAX_CELLS = 20_000_000
"""Cells a worksheet may span (rows x columns): calamine holds them all in memory."""
MAX_UNPACKED = 200 * 1024 * 1024
"""Bytes the XML (and .xlsb binary) parts of a zipped workbook may unpack to."""
CSV_MAX_LINE = 1_000_000  # characters in one line of a CSV file

HEADERS: dict[str, tuple[str, ...]] = {
    "building": ("楼号", "楼栋", "楼", "栋", "楼栋号", "building", "bldg"),
    "unit": ("单元", "单元号", "unit"),
    "room": ("房号", "房间号", "门牌号", "室", "room"),
    "name": ("姓名", "名字", "name"),
    "phone": ("电话", "手机", "手机号", "手机号码", "联系电话", "phone", "mobile"),
    "id_number": ("身份证号", "身份证", "身份证号码", "证件号码", "id_number", "id", "id number"),
    "role": ("身份", "类别", "role"),
    "address": ("住址", "地址", "address"),
}
"""Accepted column headers per field (compared after :func:`header_key`)."""

_NOTE = re.compile(r"[(（][^)）]*[)）]$")  # 姓名（必填）
_SCIENTIFIC = re.compile(r"[0-9]+(\.[0-9]+)?[eE][+]?[0-9]+")
_APOSTROPHES = "'‘’`"

Cell = str | int | float | date | datetime | time | timedelta | bool | None
_DATES = (date, time, timedelta)  # what calamine makes of a cell Excel formats as a date
Uncached = dict[int, list[tuple[int, str]]]
"""Formula cells with no saved value: row -> [(column index, cell reference)]."""


def header_key(text: str) -> str:
    """A header as compared: NFKC, no spaces/BOM/asterisks/(notes), case-folded."""
    clean = unicodedata.normalize("NFKC", text).replace("\ufeff", "").replace("*", "")
    clean = "".join(clean.split())
    return _NOTE.sub("", clean).casefold()


_ALIASES = {header_key(alias): name for name, aliases in HEADERS.items() for alias in aliases}


class PlanRow(NamedTuple):
    """One good row, checked and normalised (a tuple: 100,000 of them are cheap)."""

    row: int  # as Excel numbers it: 1-based, title and header rows included
    building: str
    unit: str
    room: str
    name: str
    phone: str | None
    id_number: str | None
    role: str | None  # None: not given (new residents get "resident")

    @property
    def household_key(self) -> tuple[str, str, str]:
        return self.building, self.unit, self.room


@dataclass(frozen=True)
class RowError:
    row: int
    reasons: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"row": self.row, "reasons": list(self.reasons)}


@dataclass
class ImportPlan:
    """What a file says, checked: no database involved."""

    file: str
    sheet: str | None  # XLSX: the worksheet read
    header_row: int
    columns: dict[str, str]  # field -> header text as found
    rows: list[PlanRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


@dataclass
class ImportReport:
    file: str
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    inactive: int = 0  # rows naming a deactivated resident: left as they are
    households_added: int = 0
    errors: list[RowError] = field(default_factory=list)
    dry_run: bool = False
    strict: bool = False
    written: bool = False

    @property
    def bad(self) -> int:
        return len(self.errors)

    def to_json(self) -> dict[str, Any]:
        """The stable ``--json`` shape (docs/cli.md)."""
        return {
            "file": self.file,
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "inactive": self.inactive,
            "bad": self.bad,
            "households_added": self.households_added,
            "dry_run": self.dry_run,
            "strict": self.strict,
            "written": self.written,
            "errors": [e.to_json() for e in self.errors],
        }


# --- reading cells -------------------------------------------------------------------


def _text(value: Cell) -> str:
    if isinstance(value, str):
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value).strip()


def _digits_text(value: Cell) -> tuple[str, bool]:
    """Digits typed into a cell, as text; the flag says Excel lost some of them.

    Excel keeps 15 significant digits of a number: an 18-digit ID number stored as a
    number (or written to CSV as ``1.10101E+17``) cannot be recovered.
    """
    if isinstance(value, float):
        if abs(value) >= 1e15:
            return "", True
        return _text(value), False
    text = _text(value).lstrip(_APOSTROPHES).strip()
    if text.endswith(".0"):
        text = text[:-2]
    if ("E" in text or "e" in text) and _SCIENTIFIC.fullmatch(text):
        try:
            number = Decimal(text)
        except InvalidOperation:  # pragma: no cover - the pattern makes it a number
            return text, False
        exponent = number.as_tuple().exponent
        if isinstance(exponent, int) and exponent > 0:
            return "", True  # digits after the mantissa were never written
        if number == number.to_integral_value():
            return str(int(number)), False
    return text, False


def _id_number(value: Cell, today: date, reasons: list[str]) -> str | None:
    text, lost = _digits_text(value)
    if lost:
        reasons.append(
            tr(
                "ID number was stored by Excel as a number and lost its last digits; format "
                "the column as Text and type it again"
            )
        )
        return None
    if not text:
        return None
    try:
        return check_id_number(text, today)
    except IdentityError as exc:
        reason = str(exc)
        if exc.reason is Reason.CHECK_DIGIT and text.endswith("000"):
            reason = tr(
                "ID number check digit is wrong (ends in 000: Excel may have rounded "
                "it; format the column as Text and type it again)"
            )
        reasons.append(reason)
        return None


def _phone(value: Cell, reasons: list[str]) -> str | None:
    text, lost = _digits_text(value)
    if not text and not lost:
        return None
    try:
        return check_mobile(text)
    except IdentityError as exc:
        reasons.append(str(exc))
        return None


def _role(value: Cell, reasons: list[str]) -> str | None:
    text = _text(value)
    if not text:
        return None
    role = ROLE_WORDS.get("".join(text.split()).casefold())
    if role is None:
        reasons.append(tr("Unknown role {role}: use 居民/resident or 工作人员/staff", role=text))
    return role


def _household(cells: dict[str, Cell], reasons: list[str]) -> tuple[str, str, str]:
    building = _text(cells.get("building"))
    unit = _text(cells.get("unit"))
    room = _text(cells.get("room"))
    address = _text(cells.get("address"))
    if not building and room and "address" not in cells:
        whole = parse_address(room)  # a 门牌号 column holding the whole address: 3-2-501
        if whole is not None:
            building, unit, room = whole
    elif (not building or not room) and address:
        parsed = parse_address(address)
        if parsed is None:
            reasons.append(
                tr(
                    "Cannot read the address {address}: write it like 3号楼2单元501室 or 3-2-501",
                    address=address,
                )
            )
            return "", "", ""
        building, unit, room = parsed
    if not building and not room:
        reasons.append(tr("Building and room are missing"))
    elif not building:
        reasons.append(tr("Building is missing"))
    elif not room:
        reasons.append(tr("Room is missing"))
    return (
        normalise_part(building, "building"),
        normalise_part(unit, "unit"),
        normalise_part(room, "room"),
    )


# --- reading files -------------------------------------------------------------------


def _cannot_read_text() -> UserError:
    return UserError(
        tr(
            "Cannot read the text of the file: save it as CSV UTF-8 or as an Excel "
            "workbook (.xlsx)."
        )
    )


def _looks_utf16(head: bytes) -> bool:
    """Many NUL bytes at every other position: UTF-16 text (of mostly ASCII or CJK)."""
    if len(head) < 8:
        return False
    even, odd = head[0::2].count(0), head[1::2].count(0)
    half = len(head) // 2
    return max(even, odd) > half * 0.3 and min(even, odd) < half * 0.05


def csv_encoding(path: Path) -> str:
    """The encoding of a CSV file: UTF-16 with a BOM, UTF-8 (BOM or not), else GB18030.

    Decided by decoding the whole file a block at a time (nothing is kept), so the
    file can then be read a row at a time.
    """
    with path.open("rb") as fh:
        head = fh.read(4096)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if _looks_utf16(head):
        raise UserError(
            tr(
                "{file} looks like UTF-16 text without a byte order mark: save it as CSV "
                "UTF-8 or as an Excel workbook (.xlsx).",
                file=path.name,
            )
        )
    for encoding in ("utf-8-sig", "gb18030"):
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with path.open("rb") as fh:
                while block := fh.read(1 << 16):
                    decoder.decode(block)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        return encoding
    raise _cannot_read_text()


def _lines(fh: IO[str]) -> Iterator[str]:
    """The file's lines, none longer than :data:`CSV_MAX_LINE` (the csv module would
    read a line of any length into memory)."""
    while line := fh.readline(CSV_MAX_LINE):
        if len(line) == CSV_MAX_LINE and not line.endswith(("\n", "\r")):
            raise csv.Error(tr("a line is longer than {count} characters", count=CSV_MAX_LINE))
        yield line


def _sniff_delimiter(path: Path, encoding: str) -> str:
    with path.open(encoding=encoding, newline="") as fh:
        sample = "".join(islice(_lines(fh), 20))
    try:
        return csv.Sniffer().sniff(sample, delimiters=",\t;").delimiter
    except csv.Error:
        return ","


Sheets = Iterator[tuple[str | None, Iterator[Sequence[Cell]], Uncached]]


def _csv_sheets(path: Path) -> Sheets:
    """The file's rows, read a line at a time (a CSV file is never held whole)."""
    encoding = csv_encoding(path)
    sniffed = _sniff_delimiter(path, encoding)
    # The sniffer's guess first; a header not found with it makes the others be tried.
    for delimiter in dict.fromkeys((sniffed, ",", "\t", ";")):
        with path.open(encoding=encoding, newline="") as fh:
            yield None, csv.reader(_lines(fh), delimiter=delimiter), {}


def _cannot_read_workbook(path: Path) -> UserError:
    return UserError(
        tr(
            "Cannot read {file} as a spreadsheet (.xlsx, .xls, .ods). "
            "Is it damaged or protected by a password?",
            file=path.name,
        )
    )


def _too_large(path: Path) -> UserError:
    return UserError(
        tr(
            "{file} is too large for a register: its sheets unpack to more than {size} MB. "
            "Is it the right file?",
            file=path.name,
            size=MAX_UNPACKED // (1024 * 1024),
        )
    )


def _column_index(letters: bytes) -> int:
    index = 0
    for letter in letters:
        index = index * 26 + letter - 64
    return index - 1


_PARSED_PARTS = (".xml", ".rels", ".bin")  # what calamine unpacks (not images)
_CELL_START = re.compile(rb"<(?:c|row)[\s>/]")
# Literal prefixes, so that a sheet without formulas or wide rows is scanned at memchr
# speed; the slower patterns catch attributes written in another order or spacing.
_FORMULA_NO_VALUE = re.compile(rb"<f\b[^>]*(?:/>|>[^<]*</f>)\s*(<v\s*/>|<v>\s*</v>)?\s*</c>")
_CELL_TAG = re.compile(rb"<c\b([^<>]*[^<>/])>\s*$")
_REF = re.compile(rb'\br="([A-Z]{1,3})([0-9]+)"')
_ROW_NUMBER = re.compile(rb'<row r="([0-9]+)"')
_ANY_ROW_NUMBER = re.compile(rb'<row\b[^>]*?\br="([0-9]+)"')
_WIDE_REF = re.compile(rb' r="([A-Z]{2,3})[0-9]')
_ANY_WIDE_REF = re.compile(rb'\br="([A-Z]{2,3})[0-9]')


class _SheetScan:
    """What a worksheet's XML holds, read as it is unpacked: how far it reaches (rows,
    columns) and its formula cells with no saved value."""

    def __init__(self) -> None:
        self.tail = b""
        self.rows = 0
        self.max_row = 0
        self.max_column = 26
        self.uncached: dict[int, list[tuple[int, str]]] = {}

    def feed(self, chunk: bytes, *, final: bool = False) -> None:
        data = self.tail + chunk
        cut = len(data)
        if not final:  # scan whole elements only: up to the last cell or row start
            last = max(data.rfind(b"<c"), data.rfind(b"<row"))
            cut = last if last > 0 else 0
            if cut == 0 and len(data) > 4 * CSV_MAX_LINE:  # no cell in megabytes
                cut = len(data) - 65536
        self._scan(data[:cut])
        self.tail = data[cut:]

    def _scan(self, data: bytes) -> None:
        if not data:
            return
        rows = data.count(b"<row")
        self.rows += rows
        exact = rows == data.count(b'<row r="')
        numbers = (_ROW_NUMBER if exact else _ANY_ROW_NUMBER).findall(data)
        if numbers:
            self.max_row = max(self.max_row, *map(int, numbers))
        exact = data.count(b'r="') == data.count(b' r="')
        for letters in (_WIDE_REF if exact else _ANY_WIDE_REF).findall(data):
            self.max_column = max(self.max_column, _column_index(letters) + 1)
        for match in _FORMULA_NO_VALUE.finditer(data):
            start = data.rfind(b"<c", 0, match.start())
            tag = _CELL_TAG.match(data, start, match.start()) if start >= 0 else None
            if tag is None:
                continue  # not a cell's formula
            attributes = tag[1]
            if match[1] is not None and b't="str"' in attributes:
                continue  # a formula whose saved value is the empty text
            ref = _REF.search(attributes)
            if ref is not None:
                cell = (_column_index(ref[1]), (ref[1] + ref[2]).decode())
                self.uncached.setdefault(int(ref[2]), []).append(cell)


def _sheet_parts(book: zipfile.ZipFile) -> dict[str, str]:
    """Worksheet part (zip member) -> sheet name, from the workbook's own index."""
    import xml.etree.ElementTree as ET  # small parts, their sizes checked

    try:
        parts = {i.filename: i for i in book.infolist()}
        index, rels = parts.get("xl/workbook.xml"), parts.get("xl/_rels/workbook.xml.rels")
        if index is None or rels is None or max(index.file_size, rels.file_size) > 1 << 24:
            return {}
        targets = {}
        for rel in ET.fromstring(book.read(rels)):
            target = rel.get("Target", "")
            target = target.lstrip("/") if target.startswith("/") else "xl/" + target
            targets[rel.get("Id")] = target
        names = {}
        for element in ET.fromstring(book.read(index)).iter():
            if element.tag.endswith("}sheet"):
                rid = next((v for k, v in element.attrib.items() if k.endswith("}id")), None)
                if rid in targets:
                    names[targets[rid]] = element.get("name", "")
        return names
    except (ET.ParseError, KeyError, ValueError):
        return {}


def _inspect_zip(path: Path) -> dict[str, Uncached]:
    """Check a zipped workbook before calamine opens it: what its parts really unpack
    to (not what their headers say) stays under :data:`MAX_UNPACKED`, and what each
    worksheet spans under :data:`MAX_ROWS` rows and :data:`MAX_CELLS` cells.
    Returns each sheet's formula cells with no saved value."""
    found: dict[str, Uncached] = {}
    try:
        with zipfile.ZipFile(path) as book:
            members = [i for i in book.infolist() if i.filename.endswith(_PARSED_PARTS)]
            if sum(i.file_size for i in members) > MAX_UNPACKED:
                raise _too_large(path)
            sheets = _sheet_parts(book)
            budget = MAX_UNPACKED
            for info in members:
                is_sheet = info.filename in sheets and info.filename.endswith(".xml")
                scan = _SheetScan() if is_sheet else None
                unbounded = copy.copy(info)
                unbounded.file_size = budget + 1  # read what is there, not what it says
                total = 0
                with book.open(unbounded) as part:
                    while chunk := part.read(1 << 20):
                        total += len(chunk)
                        if total > budget:
                            raise _too_large(path)
                        if total > info.file_size:
                            raise _cannot_read_workbook(path)  # a header that lies
                        if scan is not None:
                            scan.feed(chunk)
                budget -= total
                if scan is None:
                    continue
                scan.feed(b"", final=True)
                rows = max(scan.rows, scan.max_row)
                if rows > MAX_ROWS + HEADER_SEARCH_ROWS or rows * scan.max_column > MAX_CELLS:
                    raise UserError(
                        tr(
                            "{file} reaches down to row {row} and across {columns} columns: "
                            "too large for a register (at most {rows} rows). Delete what is "
                            "below and to the right of the register, or split it.",
                            file=path.name,
                            row=rows,
                            columns=scan.max_column,
                            rows=MAX_ROWS,
                        )
                    )
                found[sheets[info.filename]] = scan.uncached
    except _DAMAGED_ZIP:
        raise _cannot_read_workbook(path) from None
    return found


# What zipfile raises on a damaged archive besides BadZipFile: a member's header offset
# that points before the file is an OSError (a negative seek; tests/data/fuzz/
# register_xlsx), a name or field it cannot decode a ValueError, a short record a
# struct.error. The file was opened and read before, so an OSError here is the archive's.
_DAMAGED_ZIP = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    NotImplementedError,
    RuntimeError,
    OSError,
    ValueError,
    OverflowError,
    struct.error,
)


def _workbook_sheets(path: Path, uncached: dict[str, Uncached]) -> Sheets:
    """Each worksheet's rows, numbered from Excel's row 1 (leading blank rows included),
    with its formula cells that have no saved value (column indexes as in the rows).

    Read with python-calamine (Rust): 100,000 rows in about 0.7 s where openpyxl took
    9-15 s (docs/architecture.md); it also reads old .xls, .xlsb and .ods files.
    """
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        book = CalamineWorkbook.from_path(str(path))
    except (CalamineError, OSError, ValueError):
        raise _cannot_read_workbook(path) from None
    try:
        for name in book.sheet_names:
            try:
                sheet = book.get_sheet_by_name(name)
                rows = cast(Iterator[Sequence[Cell]], iter(sheet.iter_rows()))
            except (CalamineError, ValueError):
                continue
            offset = sheet.start[1] if sheet.start else 0  # rows start at the first column used
            formulas = {
                row: [(column - offset, ref) for column, ref in cells]
                for row, cells in uncached.get(name, {}).items()
            }
            yield name, rows, formulas
    finally:
        book.close()


def _find_header(rows: list[Sequence[Cell]]) -> tuple[int, dict[str, int]] | None:
    for number, cells in enumerate(rows, start=1):
        columns: dict[str, int] = {}
        for index, cell in enumerate(cells):
            if isinstance(cell, str):
                name = _ALIASES.get(header_key(cell))
                if name is not None and name not in columns:
                    columns[name] = index
        if "name" in columns and columns.keys() & {"building", "room", "address"}:
            return number, columns
    return None


def read_register(path: Path, *, today: date | None = None) -> ImportPlan:
    """Read a register spreadsheet (CSV or XLSX): good rows and bad rows, no database."""
    today = today or date.today()
    if not path.is_file():
        raise UserError(tr("No file {file}.", file=path))
    suffix = path.suffix.casefold()
    try:
        with path.open("rb") as fh:
            magic = fh.read(4)
            is_workbook = magic in _WORKBOOK_MAGIC
    except OSError as exc:  # e.g. locked by Excel on Windows
        raise UserError(
            tr(
                "Cannot open {file} ({reason}). If it is open in Excel, close it and try again.",
                file=path.name,
                reason=exc.strerror or exc,
            )
        ) from None
    workbook = suffix in WORKBOOK_SUFFIXES or is_workbook
    if workbook:
        uncached = _inspect_zip(path) if magic == _WORKBOOK_MAGIC[0] else {}
        sheets = _workbook_sheets(path, uncached)
    else:
        sheets = _csv_sheets(path)
    try:
        for sheet, rows, formulas in sheets:
            top = list(islice(rows, HEADER_SEARCH_ROWS))
            found = _find_header(top)
            if found is None:
                continue
            header_row, columns = found
            plan = ImportPlan(
                file=path.name,
                sheet=sheet,
                header_row=header_row,
                columns={f: _text(top[header_row - 1][i]) for f, i in columns.items()},
            )
            body = enumerate(chain(top[header_row:], rows), start=header_row + 1)
            _read_rows(plan, columns, body, today, formulas)
            return plan
    except csv.Error as exc:  # e.g. NUL bytes: not a text file
        raise UserError(
            tr("Cannot read {file} as CSV ({reason}).", file=path.name, reason=exc)
        ) from None
    except UnicodeDecodeError:  # a UTF-16 file (with a BOM) that is not all UTF-16
        raise _cannot_read_text() from None
    finally:
        close = getattr(sheets, "close", None)
        if close is not None:
            close()
    raise UserError(
        tr(
            "No header row in the first {rows} rows of {file}: it needs a name column (姓名) "
            "and building and room (楼号, 房号) or address (住址) columns.",
            rows=HEADER_SEARCH_ROWS,
            file=path.name,
        )
    )


def _odd_cells(
    plan: ImportPlan,
    values: dict[str, Cell],
    uncached: list[tuple[int, str]] | None,
    used: set[int],
) -> list[str]:
    """Why a row's cells cannot be read as they look: a formula Excel never calculated
    (read as empty), a date where text was typed (a room 2-1 Excel made a date)."""
    reasons = [
        tr(
            "Cell {cell} is a formula with no saved value: open the file in Excel, "
            "save it and import it again",
            cell=ref,
        )
        for column, ref in uncached or ()
        if column in used
    ]
    for name, value in values.items():
        if isinstance(value, _DATES):
            reasons.append(
                tr(
                    "{column} is a date or time in Excel ({value}): format the column "
                    "as Text and type it again",
                    column=plan.columns[name],
                    value=_text(value),
                )
            )
    return reasons


def _read_rows(
    plan: ImportPlan,
    columns: dict[str, int],
    rows: Iterator[tuple[int, Sequence[Cell]]],
    today: date,
    formulas: Uncached | None = None,
) -> None:
    """Check each row into ``plan``; ``formulas`` are cells with no saved value."""
    ids: dict[str, int] = {}
    names: dict[tuple[str, str, str, str], tuple[int, str | None]] = {}
    fields = list(columns.items())
    used = set(columns.values())
    last = plan.header_row + MAX_ROWS
    for number, cells in rows:
        if number > last:
            raise UserError(
                tr(
                    "{file} has more than {rows} rows: too large for a register. Split it "
                    "into files of at most {rows} rows.",
                    file=plan.file,
                    rows=MAX_ROWS,
                )
            )
        width = len(cells)
        values = {f: cells[i] for f, i in fields if i < width}
        reasons = _odd_cells(plan, values, formulas.get(number) if formulas else None, used)
        blank = all(v is None or (isinstance(v, str) and not v.strip()) for v in values.values())
        if blank and not reasons:
            continue  # blank rows (even if a 序号 column is filled in) are not errors
        try:
            name = check_name(_text(values.get("name")))
        except IdentityError as exc:
            name = ""
            reasons.append(str(exc))
        building, unit, room = _household(values, reasons)
        phone = _phone(values.get("phone"), reasons)
        id_number = _id_number(values.get("id_number"), today, reasons)
        role = _role(values.get("role"), reasons)
        if id_number is not None:
            first = ids.setdefault(id_number, number)
            if first != number:
                reasons.append(tr("Same ID number as row {row}", row=first))
        if name and building and room:
            key = (building, unit, room, name)
            earlier = names.setdefault(key, (number, id_number))
            if earlier[0] != number and (earlier[1] is None or id_number is None):
                reasons.append(tr("Same name and household as row {row}", row=earlier[0]))
        if reasons:
            plan.errors.append(RowError(number, tuple(reasons)))
        else:
            plan.rows.append(PlanRow(number, building, unit, room, name, phone, id_number, role))


# --- writing -------------------------------------------------------------------------


@dataclass(slots=True)
class _Known:
    id: str
    household_id: str
    name: str
    phone: str | None
    id_number: str | None
    role: str
    active: bool


class _Register:
    """The register as it is, in dicts (one query, not one per row), and what the plan
    would change in it."""

    def __init__(self, db: Database, stamp: str) -> None:
        self.stamp = stamp
        self.households = households_by_key(db)
        self.labels = {hid: household_label(*key) for key, hid in self.households.items()}
        self.by_id: dict[str, _Known] = {}
        self.by_name: dict[tuple[str, str], list[_Known]] = {}
        for rid, hid, name, phone, id_number, role, active in db.execute(
            "SELECT id, household_id, name, phone, id_number, role, active FROM residents "
            "ORDER BY active DESC"
        ):
            self._remember(_Known(rid, hid, name, phone, id_number, role, bool(active)))
        self.new_households: list[tuple[str, str, str, str, str]] = []
        self.inserts: list[tuple[str, str, str, str | None, str | None, str, str, str]] = []
        self.updates: list[tuple[str | None, str, str | None, str, str]] = []

    def _remember(self, known: _Known) -> None:
        if known.id_number:
            self.by_id[known.id_number] = known
        self.by_name.setdefault((known.household_id, known.name), []).append(known)

    def _household_id(self, key: tuple[str, str, str]) -> str:
        found = self.households.get(key)
        if found is None:
            found = self.households[key] = uuid7()
            self.labels[found] = household_label(*key)
            self.new_households.append((found, *key, self.stamp))
        return found

    def place(self, row: PlanRow) -> str | RowError:
        """What the row does: "added", "updated", "unchanged", "inactive", or why not."""
        household_id = self.households.get(row.household_key)
        match = self.by_id.get(row.id_number) if row.id_number else None
        if match is not None and (match.household_id != household_id or match.name != row.name):
            owner = tr(
                "ID number already belongs to {name} of {household}.",
                name=mask_name(match.name),
                household=self.labels[match.household_id],
            )
            return RowError(row.row, (owner,))
        candidates = self.by_name.get((household_id, row.name)) if household_id else None
        if match is None and candidates:
            # Same name, same household: the same person unless both have ID numbers.
            match = next(
                (k for k in candidates if row.id_number is None or k.id_number is None), None
            )
        if match is None:
            known = _Known(
                uuid7(),
                self._household_id(row.household_key),
                row.name,
                row.phone,
                row.id_number,
                row.role or "resident",
                True,
            )
            self.inserts.append(
                (known.id, known.household_id, known.name, known.phone, known.id_number,
                 known.role, self.stamp, self.stamp)
            )  # fmt: skip
            self._remember(known)
            return "added"
        if not match.active:
            return "inactive"
        if not _merge(match, row):
            return "unchanged"
        self.updates.append((match.phone, match.role, match.id_number, self.stamp, match.id))
        if match.id_number:
            self.by_id[match.id_number] = match
        return "updated"

    def save(
        self,
        db: Database,
        last: Callable[[], None],
        progress: Progress | None = None,
        stopped: Callable[[int], None] | None = None,
    ) -> None:
        """Write the changes, :data:`BATCH` rows per transaction (households first, so
        each resident's household is on disk before them); ``last()`` runs inside the
        final transaction. Between transactions other writers (the gate) get the lock.
        ``progress`` hears after each transaction; when it asks to stop,
        ``stopped(rows written)`` runs in a transaction of its own (if any were) and
        :class:`Cancelled` is raised."""
        steps: list[tuple[str, Sequence[tuple[Any, ...]]]] = []
        tables: tuple[tuple[str, Sequence[tuple[Any, ...]]], ...] = (
            (
                "INSERT INTO households (id, building, unit, room, created_at) VALUES (?,?,?,?,?)",
                self.new_households,
            ),
            (
                "INSERT INTO residents (id, household_id, name, phone, id_number, role, "
                "active, created_at, updated_at) VALUES (?,?,?,?,?,?,1,?,?)",
                self.inserts,
            ),
            (
                "UPDATE residents SET phone = ?, role = ?, id_number = ?, updated_at = ? "
                "WHERE id = ?",
                self.updates,
            ),
        )
        for sql, rows in tables:
            steps += [(sql, rows[start : start + BATCH]) for start in range(0, len(rows), BATCH)]
        pacer = Pacer()
        total = sum(len(chunk) for _sql, chunk in steps)
        written = 0
        for number, (sql, chunk) in enumerate(steps or [("", [])], start=1):
            if progress is not None and progress.cancelled:
                if stopped is not None and written:
                    with pacer.write(db):
                        stopped(written)
                raise Cancelled
            with pacer.write(db):
                if chunk:
                    db.conn.executemany(sql, chunk)
                if number == max(1, len(steps)):
                    last()
            written += len(chunk)
            if progress is not None:
                with contextlib.suppress(Cancelled):  # stopped at the top of the next round
                    progress.update(written, total, tr("Writing the register…"))


def _merge(known: _Known, row: PlanRow) -> bool:
    """Take the row's phone, role and (when missing) ID number; True if any changed."""
    changed = False
    if row.phone and row.phone != known.phone:
        known.phone, changed = row.phone, True
    if row.role and row.role != known.role:
        known.role, changed = row.role, True
    if row.id_number and not known.id_number:
        known.id_number, changed = row.id_number, True
    return changed


def apply_plan(
    db: Database,
    plan: ImportPlan,
    *,
    strict: bool = False,
    dry_run: bool = False,
    actor: str = "cli",
    now: datetime | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Write the plan's good rows (none with ``dry_run``, or with ``strict`` when any
    row is bad). Re-applying the same plan changes nothing.

    Every row is checked against the register before anything is written, so a bad
    row (and with ``strict`` any bad row) is found first. The changes are then written
    in transactions of :data:`BATCH` rows, letting the gate commit in between; the
    audit row goes with the last. An import interrupted half-way (a power cut) keeps
    the batches already written; importing the same file again adds the rest and
    changes nothing else.

    A row is the resident with the same ID number, else the one with the same name in
    the same household; their phone and role (and a missing ID number) are updated,
    empty cells change nothing. A row whose ID number belongs to a resident with another
    name or household is bad. Deactivated residents are left as they are.

    ``progress`` hears as the rows are checked and after each transaction; when it
    stops the import, the transactions written stay (with an audit row saying so).
    """
    register = _Register(db, to_db(now or utcnow()))
    report = ImportReport(plan.file, dry_run=dry_run, strict=strict)
    counts = {"added": 0, "updated": 0, "unchanged": 0, "inactive": 0}
    errors = list(plan.errors)
    for number, row in enumerate(plan.rows, start=1):
        if progress is not None and number % PROGRESS_EVERY == 0:
            progress.update(number, len(plan.rows), tr("Checking the rows…"))
        outcome = register.place(row)
        if isinstance(outcome, RowError):
            errors.append(outcome)
        else:
            counts[outcome] += 1
    report.added, report.updated = counts["added"], counts["updated"]
    report.unchanged, report.inactive = counts["unchanged"], counts["inactive"]
    report.households_added = len(register.new_households)
    report.errors = sorted(errors, key=lambda e: e.row)
    if dry_run or (strict and report.errors):
        return report
    detail = report.to_json()
    del detail["errors"], detail["dry_run"], detail["strict"], detail["written"]
    register.save(
        db,
        lambda: record_audit(db, actor, "residents.import", detail),
        progress,
        lambda written: record_audit(
            db, actor, "residents.import", {**detail, "stopped": True, "rows_written": written}
        ),
    )
    report.written = True
    return report
