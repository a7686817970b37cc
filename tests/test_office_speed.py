"""Issue 6's speed work: the streaming XLSX writer, the cached local times of the
export, the office-speed migration, and the rewritten queries against the plain ones."""

from __future__ import annotations

import os
import time
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from python_calamine import CalamineWorkbook

from kiosk.core.clock import from_db, to_db
from kiosk.store.files import xlsx
from kiosk.store.files.visit_export import local_time_text
from kiosk.store.files.xlsx import write_xlsx
from kiosk.store.lookup import Register

HEADER = ["Text", "Number", "Other"]

NASTY = [
    "plain",
    "幸福里社区 2号门",
    "emoji 😷 and ümlauts",
    "<tag> & \"quotes\" 'apos' ]]>",
    "  leading and trailing  ",
    "tab\tnew\nline",
    "carriage\rreturn",
    "_x0041_ looks escaped",
    "=1+1",
]
ILLEGAL = "bell\x07 nul\x00 esc\x1b \ufffe end"


def read_openpyxl(path: Path) -> list[list[Any]]:
    book = load_workbook(path, read_only=True)
    try:
        return [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
    finally:
        book.close()


def read_calamine(path: Path, sheet: int = 0) -> list[list[Any]]:
    book = CalamineWorkbook.from_path(str(path))
    return [list(r) for r in book.get_sheet_by_index(sheet).to_python()]


def test_writer_reads_back_the_same_in_openpyxl_and_calamine(tmp_path: Path) -> None:
    rows: list[list[Any]] = [[text, i, None] for i, text in enumerate(NASTY)]
    rows += [
        ["numbers", -17.25, 10**12],
        ["", 0, ""],  # empty cells in the middle and at the end
        [None, 36.6, "last"],
        ["bool", True, False],
    ]
    out = tmp_path / "t.xlsx"
    assert write_xlsx(out, "Visits", HEADER, iter(rows), widths=(30, 8, 8)) == len(rows)

    by_openpyxl = read_openpyxl(out)
    assert by_openpyxl[0] == HEADER
    for got, want in zip(by_openpyxl[1:], rows, strict=True):
        # openpyxl reads an empty cell as None, calamine as ""; and unlike Excel and
        # calamine, openpyxl does not decode the _xHHHH_ escape the format defines
        expected = [None if v == "" else v for v in want]
        if expected[0] == "_x0041_ looks escaped":
            expected[0] = "_x005F_x0041_ looks escaped"
        assert got == expected, want
    by_calamine = read_calamine(out)
    assert by_calamine[0] == HEADER
    for got, want in zip(by_calamine[1:], rows, strict=True):
        expected = ["" if v is None else v for v in want]
        assert got == expected, want


def test_characters_xml_forbids_become_a_replacement_character(tmp_path: Path) -> None:
    out = tmp_path / "t.xlsx"
    write_xlsx(out, "Visits", HEADER, iter([[ILLEGAL, 1, "ok"]]))
    expected = "bell\ufffd nul\ufffd esc\ufffd \ufffd end"
    assert read_openpyxl(out)[1][0] == expected
    assert read_calamine(out)[1][0] == expected


def test_the_package_is_well_formed_with_a_frozen_bold_header(tmp_path: Path) -> None:
    out = tmp_path / "t.xlsx"
    write_xlsx(out, "Visits: a/b", HEADER, iter([[ILLEGAL, 1, "<x>"]]), widths=(30, 8))
    with zipfile.ZipFile(out) as book:
        assert book.testzip() is None
        names = set(book.namelist())
        for part in names:
            ElementTree.fromstring(book.read(part))  # every part parses as XML
    assert {
        "[Content_Types].xml",
        "_rels/.rels",
        "xl/workbook.xml",
        "xl/_rels/workbook.xml.rels",
        "xl/styles.xml",
        "xl/worksheets/sheet1.xml",
    } <= names
    book = load_workbook(out)  # the full reader, styles and all
    sheet = book.active
    assert sheet.title == "Visits_ a_b"  # characters a sheet name may not hold
    assert sheet.freeze_panes == "A2"
    assert sheet["A1"].font.b and not sheet["A2"].font.b
    assert sheet.column_dimensions["A"].width == 30
    book.close()


def test_many_rows_and_a_second_sheet_past_the_row_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(xlsx, "MAX_ROWS", 1001)  # 1,000 rows and the header a sheet
    rows = ([f"名字{i}", i, i / 4] for i in range(2500))
    out = tmp_path / "t.xlsx"
    assert write_xlsx(out, "Visits", HEADER, rows) == 2500
    book = CalamineWorkbook.from_path(str(out))
    assert book.sheet_names == ["Visits", "Visits (2)", "Visits (3)"]
    sheets = [book.get_sheet_by_index(i).to_python() for i in range(3)]
    assert [len(s) for s in sheets] == [1001, 1001, 501]
    assert all(list(s[0]) == HEADER for s in sheets)
    data = [list(r) for s in sheets for r in s[1:]]
    assert data == [[f"名字{i}", i, i / 4] for i in range(2500)]
    assert len(read_openpyxl(out)) == 1001


def test_overlong_text_is_cut_to_the_cell_limit_and_empty_headers_stay_empty(
    tmp_path: Path,
) -> None:
    out = tmp_path / "t.xlsx"
    write_xlsx(out, "Visits", ["A", "", "C"], iter([["x" * 40_000, 1, "y"]]))
    got = read_calamine(out)
    assert got[0] == ["A", "", "C"]
    assert got[1] == ["x" * xlsx.MAX_CHARS, 1, "y"]


def test_no_rows_still_makes_a_workbook_with_its_header(tmp_path: Path) -> None:
    out = tmp_path / "t.xlsx"
    assert write_xlsx(out, "Visits", HEADER, iter([])) == 0
    assert read_openpyxl(out) == [HEADER]


def test_a_failing_source_leaves_no_file(tmp_path: Path) -> None:
    def rows() -> Iterator[list[Any]]:
        yield ["one", 1, 1]
        raise RuntimeError("source broke")

    out = tmp_path / "t.xlsx"
    with pytest.raises(RuntimeError):
        write_xlsx(out, "Visits", HEADER, rows())
    assert not out.exists()


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.lists(
            st.one_of(
                st.text(max_size=12),
                st.integers(min_value=-(2**40), max_value=2**40),
                st.floats(allow_nan=False, allow_infinity=False, width=32),
                st.none(),
            ),
            min_size=3,
            max_size=3,
        ),
        max_size=20,
    )
)
def test_any_text_and_numbers_round_trip(tmp_path: Path, rows: list[list[Any]]) -> None:
    out = tmp_path / "h.xlsx"
    write_xlsx(out, "Visits", HEADER, iter(rows))
    got = read_calamine(out)[1:]

    def expected(v: Any) -> Any:
        if v is None:
            return ""
        if isinstance(v, str):
            return xlsx._ILLEGAL.sub("\ufffd", v)
        return float(v) if isinstance(v, float) else v

    want = [[expected(v) for v in row] for row in rows]
    # calamine drops trailing empty rows and columns of the sheet's range
    while want and all(v == "" for v in want[-1]):
        want.pop()
    width = max((i + 1 for row in want for i, v in enumerate(row) if v != ""), default=0)
    width = max(width, len(HEADER))
    assert [r[:width] + [""] * (width - len(r)) for r in got] == [r[:width] for r in want]


# ------------------------------------------------------------------ local times


@pytest.fixture(params=["Asia/Shanghai", "America/New_York", "Asia/Kolkata", "Australia/Adelaide"])
def zone(request: pytest.FixtureRequest) -> Iterator[str]:
    old = os.environ.get("TZ")
    os.environ["TZ"] = request.param
    time.tzset()
    yield request.param
    if old is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = old
    time.tzset()


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.datetimes(
        min_value=datetime(2020, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
    )
)
def test_cached_local_time_is_the_exact_one(zone: str, moment: datetime) -> None:
    cache: dict[str, str | None] = {}
    for at in (moment, moment + timedelta(seconds=59), moment + timedelta(hours=1)):
        text = to_db(at)
        exact = from_db(text).astimezone().strftime("%Y-%m-%d %H:%M:%S")
        assert local_time_text(cache, text) == exact
        assert local_time_text(cache, text) == exact  # from the cache


def test_local_time_across_a_daylight_saving_change(zone: str) -> None:
    cache: dict[str, str | None] = {}
    start = datetime(2026, 3, 8, 5, 0, tzinfo=UTC)  # New York springs forward at 07:00 UTC
    for k in range(0, 4 * 3600, 7):
        text = to_db(start + timedelta(seconds=k, microseconds=999_999))
        assert local_time_text(cache, text) == from_db(text).astimezone().strftime(
            "%Y-%m-%d %H:%M:%S"
        )


def test_unusual_stored_text_takes_the_exact_way() -> None:
    cache: dict[str, str | None] = {}
    text = "2026-03-03T08:00:05+08:00"
    assert local_time_text(cache, text) == from_db(text).astimezone().strftime("%Y-%m-%d %H:%M:%S")


# ------------------------------------------------------------ rewritten queries

LEVELS = ("pass", "pass", "pass", "check", "deny")
REASONS = ("valid_pass", "fever", "revoked", "expired", "held")
DAY = datetime(2026, 3, 8).date()  # New York springs forward that night


def reference_summary(db: Any, day: Any, tz: Any = None) -> Any:
    """daily_summary as it was before issue 6 (row by row in Python): the reference."""
    from datetime import time as dtime

    from kiosk.core.identity import mask_id_number
    from kiosk.store.checkpoint import checkpoint_name
    from kiosk.store.register import household_label
    from kiosk.store.stats import DailySummary

    start = (
        datetime.combine(day, dtime(0), tzinfo=tz)
        if tz
        else datetime.combine(day, dtime(0)).astimezone()
    )
    end = start + timedelta(days=1)
    summary = DailySummary(day, checkpoint_name(db))
    guards: set[str] = set()
    rows = db.execute(
        "SELECT v.at, v.direction, v.level, v.reason, v.subject_kind, v.temperature, v.guard, "
        "COALESCE(r.name, vi.name), COALESCE(r.id_number, vi.id_number), "
        "h.building, h.unit, h.room FROM visits v "
        "LEFT JOIN residents r ON r.id = v.resident_id "
        "LEFT JOIN visitors vi ON vi.id = v.visitor_id "
        "LEFT JOIN households h ON h.id = v.household_id "
        "WHERE v.at >= ? AND v.at < ? ORDER BY v.at",
        [to_db(start), to_db(end)],
    )
    for at, direction, level, reason, kind, temperature, guard, name, id_number, b, u, r in rows:
        moment = from_db(at).astimezone(start.tzinfo)
        if guard:
            guards.add(guard)
        if level == "pass":
            hourly = summary.hourly_in if direction == "in" else summary.hourly_out
            hourly[moment.hour] += 1
            if direction == "in":
                summary.passed_in += 1
            else:
                summary.passed_out += 1
            if kind == "visitor":
                summary.visitors += 1
            else:
                summary.residents += 1
        elif level == "check":
            summary.checks += 1
        else:
            summary.denials[reason] = summary.denials.get(reason, 0) + 1
        if level == "deny" or reason == "fever":
            summary.notable.append(
                {
                    "time": moment.strftime("%H:%M"),
                    "reason": reason,
                    "name": name or "",
                    "household": household_label(b, u, r),
                    "id_number": mask_id_number(id_number),
                    "temperature": temperature,
                }
            )
    summary.guards = sorted(guards)
    return summary


@pytest.fixture(scope="module")
def small_log(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A checkpoint with a few residents and visitors, and no visits yet."""
    from kiosk.core.ids import uuid7
    from kiosk.store.checkpoint import set_meta
    from kiosk.store.db import connect, write

    db = connect(tmp_path_factory.mktemp("log") / "gatepass.db", create=True)
    set_meta(db, "name", "幸福里 2号门")
    stamp = to_db(datetime(2026, 1, 1, tzinfo=UTC))
    with write(db):
        for i in range(3):
            hh = uuid7()
            db.execute(
                "INSERT INTO households(id, building, unit, room, created_at) VALUES (?,?,?,?,?)",
                [hh, "3", str(i), "501", stamp],
            )
            db.execute(
                "INSERT INTO residents(id, household_id, name, phone, id_number, created_at, "
                "updated_at) VALUES (?,?,?,?,?,?,?)",
                [f"r{i}", hh, f"居民{i}", f"1380000000{i}", f"11010119900101000{i}", stamp, stamp],
            )
            db.execute(
                "INSERT INTO visitors(id, name, phone, id_number, created_at, checkpoint_id) "
                "VALUES (?,?,?,?,?, 'c')",
                [f"v{i}", f"访客{i}", f"1390000000{i}", f"V{i}", stamp],
            )
    yield db
    db.close()


visit_rows = st.lists(
    st.tuples(
        st.integers(min_value=-3 * 3600, max_value=27 * 3600),  # seconds from 00:00 UTC
        st.integers(min_value=0, max_value=999_999),
        st.sampled_from(LEVELS),
        st.sampled_from(REASONS),
        st.booleans(),  # in
        st.sampled_from(["r0", "r1", "r2", "v0", "v1", None]),
        st.sampled_from(["", "李师傅", "王师傅"]),
        st.one_of(st.none(), st.floats(min_value=35, max_value=40)),
        st.booleans(),  # stored with another offset (not the canonical form)
    ),
    max_size=60,
)


def fill(db: Any, rows: list[Any]) -> None:
    from kiosk.store.db import write

    base = datetime(DAY.year, DAY.month, DAY.day, tzinfo=UTC)
    with write(db):
        db.execute("DELETE FROM visits")
        for k, (secs, us, level, reason, inward, who, guard, temp, odd) in enumerate(rows):
            at = base + timedelta(seconds=secs, microseconds=us)
            # odd: stored with another offset, not in the canonical UTC form
            text = at.astimezone(timezone(timedelta(hours=8))).isoformat() if odd else to_db(at)
            kind = "unknown" if who is None else ("visitor" if who[0] == "v" else "resident")
            db.execute(
                "INSERT INTO visits(id, at, checkpoint_id, direction, subject_kind, resident_id, "
                "visitor_id, household_id, level, reason, temperature, guard) "
                "VALUES (?,?,?,?,?,?,?,(SELECT household_id FROM residents WHERE id = ?),"
                "?,?,?,?)",
                [
                    f"x{k:04d}",
                    text,
                    "c",
                    "in" if inward else "out",
                    kind,
                    who if kind == "resident" else None,
                    who if kind == "visitor" else ("v2" if k == 0 and who else None),
                    who,
                    level,
                    reason,
                    temp,
                    guard,
                ],
            )


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(visit_rows)
def test_daily_summary_matches_the_row_by_row_reference(
    small_log: Any, zone: str, rows: list[Any]
) -> None:
    from zoneinfo import ZoneInfo

    from kiosk.store.stats import daily_summary

    fill(small_log, rows)
    assert daily_summary(small_log, DAY) == reference_summary(small_log, DAY)
    tz = ZoneInfo(zone)
    assert daily_summary(small_log, DAY, tz) == reference_summary(small_log, DAY, tz)


def reference_export_rows(db: Any, start: datetime, end: datetime, unmasked: bool) -> list[Any]:
    """export_rows as it was before issue 6 (three joins a row): the reference."""
    from kiosk.core.identity import mask_id_number, mask_phone
    from kiosk.store.register import household_label

    sql = """
        SELECT v.at, v.direction, v.level, v.reason, v.subject_kind,
               COALESCE(r.name, vi.name), h.building, h.unit, h.room,
               COALESCE(r.id_number, vi.id_number), COALESCE(r.phone, vi.phone),
               v.temperature, v.pass_serial, v.plate, v.guard, v.checkpoint_id,
               v.note, v.id, v.corrects
        FROM visits v
        LEFT JOIN residents r ON r.id = v.resident_id
        LEFT JOIN visitors vi ON vi.id = v.visitor_id
        LEFT JOIN households h ON h.id = v.household_id
        WHERE v.at >= ? AND v.at < ?
        ORDER BY v.at, v.id
    """
    out = []
    for row in db.execute(sql, [to_db(start), to_db(end)]):
        at, direction, level, reason, kind, name, b, u, r, id_number, phone = row[:11]
        temperature, serial, plate, guard, checkpoint, note, visit_id, corrects = row[11:]
        out.append(
            [
                from_db(at).astimezone().strftime("%Y-%m-%d %H:%M:%S"),
                direction,
                level,
                reason,
                kind,
                name or "",
                household_label(b, u, r),
                (id_number or "") if unmasked else mask_id_number(id_number),
                (phone or "") if unmasked else mask_phone(phone),
                temperature if temperature is not None else "",
                serial or "",
                plate,
                guard,
                checkpoint,
                note,
                visit_id,
                corrects or "",
            ]
        )
    return out


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(visit_rows, st.booleans(), st.booleans())
def test_export_rows_match_the_joined_reference(
    small_log: Any, monkeypatch: pytest.MonkeyPatch, rows: list[Any], unmasked: bool, warm: bool
) -> None:
    from kiosk.store.db import write
    from kiosk.store.files import visit_export

    fill(small_log, rows)  # the first visit, a resident's, also names a visitor (an oddity)
    with write(small_log):
        small_log.execute("UPDATE residents SET phone = NULL WHERE id = 'r2'")
    # warm: the whole register read up front; cold: one look-up per id
    load = Register.load_all if warm else (lambda self: None)
    monkeypatch.setattr(Register, "preload", lambda self, n: load(self))
    span = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
    got = list(visit_export.export_rows(small_log, *span, unmasked=unmasked))
    assert got == reference_export_rows(small_log, *span, unmasked)


def reference_trace_rows(db: Any, where: str, args: list[Any]) -> list[dict[str, Any]]:
    """trace._rows as it was before issue 6 (three joins a row): the reference."""
    cursor = db.execute(
        """
        SELECT v.id, v.at, v.direction, v.level, v.subject_kind,
               COALESCE(v.resident_id, v.visitor_id) AS subject,
               COALESCE(r.name, vi.name) AS name, h.building, h.unit, h.room,
               COALESCE(r.phone, vi.phone) AS phone,
               COALESCE(r.id_number, vi.id_number) AS id_number
        FROM visits v
        LEFT JOIN residents r ON r.id = v.resident_id
        LEFT JOIN visitors vi ON vi.id = v.visitor_id
        LEFT JOIN households h ON h.id = v.household_id
        """
        + f" WHERE {where} ORDER BY v.at",
        args,
    )
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor]


def reference_contacts(db: Any, subject_id: str, window: timedelta) -> list[dict[str, Any]]:
    mine = reference_trace_rows(
        db, "(v.resident_id = ? OR v.visitor_id = ?)", [subject_id, subject_id]
    )
    seen: dict[str, dict[str, Any]] = {}
    for passage in mine:
        at = from_db(passage["at"])
        for row in reference_trace_rows(
            db, "v.at >= ? AND v.at <= ?", [to_db(at - window), to_db(at + window)]
        ):
            if row["subject"] == subject_id or row["id"] in seen:
                continue
            row["near"] = passage["at"]
            seen[row["id"]] = row
    return sorted(seen.values(), key=lambda r: r["at"])


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    visit_rows,
    st.sampled_from(["r0", "r1", "v0"]),
    st.integers(min_value=1, max_value=300),
    st.integers(min_value=-3, max_value=27),
)
def test_trace_matches_the_joined_reference(
    small_log: Any, rows: list[Any], subject: str, minutes: int, hour: int
) -> None:
    from kiosk.core.errors import UserError
    from kiosk.store.trace import contacts_of, passed_between

    fill(small_log, rows)
    start = datetime(DAY.year, DAY.month, DAY.day, tzinfo=UTC) + timedelta(hours=hour)
    end = start + timedelta(minutes=minutes * 3)
    assert passed_between(small_log, start, end) == reference_trace_rows(
        small_log, "v.at >= ? AND v.at < ?", [to_db(start), to_db(end)]
    )
    window = timedelta(minutes=minutes)
    try:
        got = contacts_of(small_log, subject, window)
    except UserError:
        assert not any(r[5] == subject for r in rows)
        return
    assert got == reference_contacts(small_log, subject, window)
