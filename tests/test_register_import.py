"""Importing the register from spreadsheets as committee staff have them
(kiosk.store.files.register_import). Sample files are made here, in tmp_path."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
from openpyxl import Workbook

from kiosk.core.errors import UserError
from kiosk.core.identity import make_id_number
from kiosk.store.db import connect
from kiosk.store.files.register_import import ImportPlan, apply_plan, read_register
from kiosk.store.register import add_resident, deactivate_resident, list_residents

TODAY = date(2026, 3, 3)
DATA = Path(__file__).resolve().parent / "data" / "register"
IDS = [make_id_number("110101", date(1980 + i, 1 + i, 10 + i), 100 + i) for i in range(12)]
BAD_CHECK = IDS[11][:17] + ("1" if IDS[11][17] != "1" else "2")
LOST = "ID number was stored by Excel as a number and lost its last digits"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sqlite_utils.Database]:
    database = connect(tmp_path / "gatepass.db", create=True)
    yield database
    database.close()


def write_xlsx(path: Path, rows: Sequence[Sequence[Any]], *, merge: str | None = None,
               notes_sheet_first: bool = False) -> Path:  # fmt: skip
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    if notes_sheet_first:
        sheet.title = "说明"
        sheet.append(["请在第二页填写"])
        sheet = book.create_sheet("登记表")
    for row in rows:
        sheet.append(list(row))
    if merge:
        sheet.merge_cells(merge)
    book.save(path)
    return path


def write_csv(path: Path, rows: Sequence[Sequence[Any]], *, encoding: str = "utf-8",
              delimiter: str = ",") -> Path:  # fmt: skip
    with path.open("w", encoding=encoding, newline="") as fh:
        csv.writer(fh, delimiter=delimiter).writerows(rows)
    return path


def errors(plan_or_report: Any) -> dict[int, list[str]]:
    return {e.row: list(e.reasons) for e in plan_or_report.errors}


def residents(db: sqlite_utils.Database) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in list_residents(db, include_inactive=True)}


# The register most committees have: a merged title row, Chinese headers, an index
# column, numbers as Excel stores them, blank rows, and some mistakes.
XLSX_ROWS: list[list[Any]] = [
    ["幸福里社区居民登记表", None, None, None, None, None, None, None],  # 1 (merged)
    ["序号", "楼号", "单元", "房号", "姓名", "手机号码", "身份证号", "身份"],  # 2
    [1, 3, 2, 501, "张三", 13812345678, IDS[0], "居民"],  # 3: ID as text
    [2, 3, 2, 501, "李四", 13812345679.0, IDS[1], None],  # 4: phone as a float
    [3, None, None, None, None, None, None, None],  # 5: blank (only 序号)
    [None] * 8,  # 6: blank
    [4, "3号楼", "2单元", "502室", "王五", "138-1234-5670", IDS[2], "工作人员"],  # 7
    [5, 3, 2, 502, "赵六", 13812345671, 1.10101199003074e17, None],  # 8: ID lost
    [6, 3, 2, 503, "孙七", 12345, IDS[3], None],  # 9: bad phone
    [7, 3, 2, 503, None, 13812345672, IDS[4], None],  # 10: no name
    [8, None, None, 503, "周八", None, IDS[5], None],  # 11: no building
    [9, 4, 1, 101, "吴九", None, IDS[0], None],  # 12: same ID as row 3
    [10, 4, 1, 101, "郑十", None, BAD_CHECK, None],  # 13: check digit
    [11, 4, 1, 102, "钱一", None, IDS[6][:6] + "19991332" + IDS[6][14:], None],  # 14
    [12, 4, 1, 102, "冯二", None, IDS[7], "boss"],  # 15: role
    [13, 4, 1, 103, "陈三", None, None, None],  # 16: no ID is fine
    [14, 4, 1, 103, "陈三", "13812345673", None, None],  # 17: same person again
]


def test_xlsx_with_title_row_and_mistakes(tmp_path: Path, db: sqlite_utils.Database) -> None:
    path = write_xlsx(tmp_path / "登记表.xlsx", XLSX_ROWS, merge="A1:H1")
    plan = read_register(path, today=TODAY)
    assert plan.header_row == 2 and plan.sheet == "Sheet"
    assert plan.columns["id_number"] == "身份证号" and plan.columns["role"] == "身份"
    assert [r.row for r in plan.rows] == [3, 4, 7, 16]
    by_row = {r.row: r for r in plan.rows}
    assert by_row[4].id_number == IDS[1] and by_row[4].phone == "13812345679"
    assert (by_row[7].building, by_row[7].unit, by_row[7].room) == ("3", "2", "502")
    assert by_row[7].phone == "13812345670" and by_row[7].role == "staff"
    assert by_row[3].role == "resident" and by_row[4].role is None
    assert errors(plan) == {
        8: [LOST + "; format the column as Text and type it again"],
        9: ["Phone is not a mainland mobile number (11 digits starting with 13 to 19)"],
        10: ["Name is missing"],
        11: ["Building is missing"],
        12: ["Same ID number as row 3"],
        13: ["ID number check digit is wrong"],
        14: ["ID number has an impossible birth date 19991332"],
        15: ["Unknown role boss: use 居民/resident or 工作人员/staff"],
        17: ["Same name and household as row 16"],
    }
    report = apply_plan(db, plan)
    assert (report.added, report.updated, report.unchanged, report.bad) == (4, 0, 0, 9)
    assert report.households_added == 3 and report.written
    stored = residents(db)
    assert sorted(stored) == ["张三", "李四", "王五", "陈三"]
    assert stored["王五"]["role"] == "staff" and stored["李四"]["role"] == "resident"
    assert stored["王五"]["household"] == "3-2-502"


def test_id_numbers_stored_as_numbers_in_xlsx(tmp_path: Path) -> None:
    rows = [
        ["姓名", "楼号", "房号", "身份证号", "手机号"],
        ["甲", 1, 101, int(IDS[1]), 13812345678],  # 2: written (as Excel does) as a float
        ["乙", 1, 101, 1.10101199003074e17, 13812345679.0],  # 3
        ["丙", 1, 102, 110101800101001, None],  # 4: an old 15-digit number, kept exactly
        ["丁", 1, 102, "110101198102111013", 1.3812345678e10],  # 5: text is fine
    ]
    plan = read_register(write_xlsx(tmp_path / "n.xlsx", rows), today=TODAY)
    lost = [LOST + "; format the column as Text and type it again"]
    found = errors(plan)
    assert found[2] == lost and found[3] == lost
    assert found[4] == [
        "ID number has 15 digits (the old format); the register needs the 18-digit number"
    ]
    assert [(r.row, r.id_number, r.phone) for r in plan.rows] == [
        (5, "110101198102111013", "13812345678")
    ]


def test_rows_with_several_mistakes_list_them_all(tmp_path: Path) -> None:
    rows = [["姓名", "楼", "室", "电话", "身份证"], ["", "", "", "1", BAD_CHECK]]
    plan = read_register(write_xlsx(tmp_path / "a.xlsx", rows), today=TODAY)
    assert errors(plan) == {2: [
        "Name is missing", "Building and room are missing",
        "Phone is not a mainland mobile number (11 digits starting with 13 to 19)",
        "ID number check digit is wrong",
    ]}  # fmt: skip


HEADER_EN = ["Building", "Unit", "Room", "Name", "Mobile", "ID Number", "Role"]
HEADER_ZH = ["楼栋", "单元号", "房间号", "名字", "联系电话", "身份证号码", "类别"]


def csv_rows(header: list[str]) -> list[list[str]]:
    return [
        ["某某社区居民登记表", "", "", "", "", "", ""],
        header,
        ["3", "2", "501", "张三", "138 1234 5678", IDS[0], "resident"],
        ["", "", "", "", "", "", ""],
        ["3", "2", "501", "李四", "+86 13812345679", IDS[1].lower()[:17] + IDS[1][17].lower(), ""],
        ["5", "", "101", "王五", "", IDS[2], "staff"],
        ["5", "", "102", "赵六", "", BAD_CHECK, ""],
    ]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16"])
@pytest.mark.parametrize("header", [HEADER_EN, HEADER_ZH], ids=["en", "zh"])
def test_csv_encodings(tmp_path: Path, encoding: str, header: list[str]) -> None:
    path = write_csv(tmp_path / "register.csv", csv_rows(header), encoding=encoding)
    plan = read_register(path, today=TODAY)
    assert plan.header_row == 2
    assert [(r.row, r.name) for r in plan.rows] == [(3, "张三"), (5, "李四"), (6, "王五")]
    assert plan.rows[0].phone == "13812345678" and plan.rows[1].phone == "13812345679"
    assert plan.rows[1].id_number == IDS[1]
    assert plan.rows[2].unit == "" and plan.rows[2].role == "staff"
    assert errors(plan) == {7: ["ID number check digit is wrong"]}


@pytest.mark.parametrize("delimiter", ["\t", ";", ","])
def test_csv_delimiters(tmp_path: Path, delimiter: str) -> None:
    path = write_csv(tmp_path / "r.csv", csv_rows(HEADER_ZH), encoding="gbk",
                     delimiter=delimiter)  # fmt: skip
    plan = read_register(path, today=TODAY)
    assert [r.name for r in plan.rows] == ["张三", "李四", "王五"]


def test_header_spelling_is_forgiven(tmp_path: Path) -> None:
    header = ["\ufeff序 号", "楼\u3000号 ", "*姓名", "手机号（必填）", "ID_NUMBER", "住址"]
    rows = [header, ["1", "7", "王五", "13812345678", IDS[2], ""]]
    plan = read_register(write_csv(tmp_path / "r.csv", rows), today=TODAY)
    assert set(plan.columns) == {"building", "name", "phone", "id_number", "address"}
    assert errors(plan) == {2: ["Room is missing"]}


def test_address_column(tmp_path: Path) -> None:
    rows = [
        ["姓名", "地址", "电话"],
        ["张三", "幸福里3号楼2单元501室", "13812345678"],
        ["李四", "3-2-501", ""],
        ["王五", "12栋101", ""],
        ["赵六", "A座1单元1203号", ""],
        ["孙七", "北京市朝阳区", ""],
    ]
    plan = read_register(write_xlsx(tmp_path / "a.xlsx", rows), today=TODAY)
    assert [(r.name, r.building, r.unit, r.room) for r in plan.rows] == [
        ("张三", "3", "2", "501"),
        ("李四", "3", "2", "501"),
        ("王五", "12", "", "101"),
        ("赵六", "A", "1", "1203"),
    ]
    assert errors(plan) == {6: [
        "Cannot read the address 北京市朝阳区: write it like 3号楼2单元501室 or 3-2-501"
    ]}  # fmt: skip


def test_room_column_holding_whole_address(tmp_path: Path) -> None:
    rows = [["姓名", "门牌号"], ["张三", "3-2-501"], ["李四", "501"]]
    plan = read_register(write_csv(tmp_path / "r.csv", rows), today=TODAY)
    assert [(r.building, r.unit, r.room) for r in plan.rows] == [("3", "2", "501")]
    assert errors(plan) == {3: ["Building is missing"]}


def test_id_numbers_mangled_by_excel_in_csv(tmp_path: Path) -> None:
    rounded = IDS[3][:15] + "000"
    rows = [
        ["楼号", "房号", "姓名", "身份证号", "手机"],
        ["1", "101", "甲", "'" + IDS[0], "13812345678.0"],  # 2: apostrophe, phone .0
        ["1", "101", "乙", IDS[1] + ".0", "1.3812345679E+10"],  # 3
        ["1", "102", "丙", "1.10101E+17", ""],  # 4: lost
        ["1", "102", "丁", f"{IDS[2][0]}.{IDS[2][1:]}E+17", ""],  # 5: all digits there
        ["1", "103", "戊", rounded, ""],  # 6: Excel rounded it (if the check fails)
        ["1", "103", "己", "110101900307451", ""],  # 7: 15-digit old number
    ]
    plan = read_register(write_csv(tmp_path / "r.csv", rows), today=TODAY)
    good = {r.row: (r.id_number, r.phone) for r in plan.rows}
    assert good[2] == (IDS[0], "13812345678")
    assert good[3] == (IDS[1], "13812345679")
    assert good[5] == (IDS[2], None)
    found = errors(plan)
    assert found[4] == [LOST + "; format the column as Text and type it again"]
    if rounded != IDS[3]:
        assert "Excel may have rounded it" in found[6][0]
    assert "15 digits (the old format)" in found[7][0]


def test_header_on_second_sheet(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "a.xlsx", [["姓名", "楼号", "房号"], ["张三", 1, 101]],
                      notes_sheet_first=True)  # fmt: skip
    plan = read_register(path, today=TODAY)
    assert plan.sheet == "登记表" and [r.name for r in plan.rows] == ["张三"]


def test_file_level_problems(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="No file"):
        read_register(tmp_path / "missing.xlsx")
    old = tmp_path / "old.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0 not really")
    with pytest.raises(UserError, match=r"Cannot read old.xls as a spreadsheet"):
        read_register(old)
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(UserError, match=r"Cannot read broken\.xlsx as a spreadsheet"):
        read_register(broken)
    no_header = write_csv(tmp_path / "x.csv", [["a", "b"], ["1", "2"]])
    with pytest.raises(UserError, match=r"No header row in the first 10 rows of x\.csv"):
        read_register(no_header)
    huge = tmp_path / "huge.csv"
    huge.write_bytes(b"name,room\n" + b"x" * 200_000 + b",1\n")  # over csv's field limit
    with pytest.raises(UserError, match=r"Cannot read huge\.csv as CSV"):
        read_register(huge)
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"\x81\x30\xff\xff" * 10)
    with pytest.raises(UserError, match="Cannot read the text"):
        read_register(binary)


def test_committed_sample(db: sqlite_utils.Database) -> None:
    plan = read_register(DATA / "sample-gbk.csv", today=TODAY)
    assert plan.header_row == 2
    assert [r.row for r in plan.rows] == [3, 4, 5, 7]
    assert errors(plan) == {8: ["ID number check digit is wrong"]}


def _import(db: sqlite_utils.Database, path: Path, **kwargs: bool) -> Any:
    return apply_plan(db, read_register(path, today=TODAY), **kwargs)


def test_dry_run_writes_nothing(tmp_path: Path, db: sqlite_utils.Database) -> None:
    path = write_xlsx(tmp_path / "a.xlsx", XLSX_ROWS)
    report = _import(db, path, dry_run=True)
    assert (report.added, report.bad, report.written) == (4, 9, False)
    assert db.execute("SELECT count(*) FROM residents").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM households").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM audit").fetchone()[0] == 0


def test_strict_writes_nothing_when_a_row_is_bad(tmp_path: Path,
                                                 db: sqlite_utils.Database) -> None:  # fmt: skip
    path = write_xlsx(tmp_path / "a.xlsx", XLSX_ROWS)
    report = _import(db, path, strict=True)
    assert (report.added, report.bad, report.written) == (4, 9, False)
    assert db.execute("SELECT count(*) FROM residents").fetchone()[0] == 0
    good = write_xlsx(tmp_path / "good.xlsx", XLSX_ROWS[:4])
    report = _import(db, good, strict=True)
    assert (report.added, report.bad, report.written) == (2, 0, True)


def test_reimport_is_idempotent_and_audited(tmp_path: Path, db: sqlite_utils.Database) -> None:
    path = write_xlsx(tmp_path / "登记表.xlsx", XLSX_ROWS)
    first = _import(db, path)
    before = db.execute("SELECT * FROM residents ORDER BY id").fetchall()
    again = _import(db, path)
    assert (again.added, again.updated, again.unchanged, again.bad) == (0, 0, 4, 9)
    assert again.households_added == 0
    assert db.execute("SELECT * FROM residents ORDER BY id").fetchall() == before
    audits = db.execute("SELECT actor, action, detail FROM audit ORDER BY id").fetchall()
    assert [(a, b) for a, b, _ in audits] == [("cli", "residents.import")] * 2
    assert json.loads(audits[0][2]) == {
        "file": "登记表.xlsx", "added": 4, "updated": 0, "unchanged": 0, "inactive": 0,
        "bad": 9, "households_added": 3,
    }  # fmt: skip
    assert first.to_json()["errors"][0] == {"row": 8, "reasons": [
        LOST + "; format the column as Text and type it again"]}  # fmt: skip


def test_second_file_updates_phone_role_and_id(tmp_path: Path,
                                              db: sqlite_utils.Database) -> None:  # fmt: skip
    header = ["楼号", "单元", "房号", "姓名", "手机号", "身份证号", "身份"]
    first = [header,
             ["3", "2", "501", "张三", "13812345678", IDS[0], ""],
             ["3", "2", "501", "李四", "13812345679", "", ""],
             ["3", "2", "502", "王五", "", IDS[2], ""]]  # fmt: skip
    _import(db, write_csv(tmp_path / "v1.csv", first))
    second = [header,
              ["3", "2", "501", "张三", "13900000000", IDS[0], ""],  # new phone
              ["3", "2", "501", "李四", "", IDS[1], "工作人员"],  # gains an ID and a role
              ["3", "2", "502", "王五", "", IDS[2], ""],  # as it was
              ["3", "2", "502", "赵六", "", IDS[3], ""]]  # new  # fmt: skip
    report = _import(db, write_csv(tmp_path / "v2.csv", second, encoding="gbk"))
    assert (report.added, report.updated, report.unchanged, report.bad) == (1, 2, 1, 0)
    stored = residents(db)
    assert stored["张三"]["phone"] == "13900000000"
    assert stored["李四"]["phone"] == "13812345679"  # an empty cell changes nothing
    assert stored["李四"]["id_number"] == IDS[1] and stored["李四"]["role"] == "staff"
    assert stored["张三"]["updated_at"] > stored["张三"]["created_at"]
    assert stored["王五"]["updated_at"] == stored["王五"]["created_at"]
    again = _import(db, write_csv(tmp_path / "v2.csv", second, encoding="gbk"))
    assert (again.added, again.updated, again.unchanged) == (0, 0, 4)


def test_id_number_of_another_resident(tmp_path: Path, db: sqlite_utils.Database) -> None:
    add_resident(db, building="9", room="901", name="张三丰", id_number=IDS[0])
    rows = [["楼号", "房号", "姓名", "身份证号"],
            ["3", "501", "李四", IDS[0]],  # someone else's number
            ["9", "901", "张三丰", ""]]  # fmt: skip
    report = _import(db, write_csv(tmp_path / "r.csv", rows))
    assert errors(report) == {2: ["ID number already belongs to 张*丰 of 9-901."]}
    assert (report.added, report.unchanged) == (0, 1)
    assert report.households_added == 0


def test_deactivated_residents_stay_deactivated(tmp_path: Path,
                                                db: sqlite_utils.Database) -> None:  # fmt: skip
    rid = add_resident(db, building="3", room="501", name="张三", id_number=IDS[0])
    add_resident(db, building="3", room="501", name="李四")
    deactivate_resident(db, rid, "moved out")
    rows = [
        ["楼号", "房号", "姓名", "身份证号", "手机"],
        ["3", "501", "张三", IDS[0], "13812345678"],
        ["3", "501", "李四", "", "13812345679"],
    ]  # matched by household and name
    report = _import(db, write_csv(tmp_path / "r.csv", rows))
    assert (report.inactive, report.updated, report.added) == (1, 1, 0)
    stored = residents(db)
    assert stored["张三"]["active"] is False and stored["张三"]["phone"] is None
    assert stored["李四"]["phone"] == "13812345679"


def test_same_name_different_id_is_another_person(tmp_path: Path,
                                                  db: sqlite_utils.Database) -> None:  # fmt: skip
    add_resident(db, building="3", room="501", name="王芳", id_number=IDS[0])
    rows = [["楼号", "房号", "姓名", "身份证号"], ["3", "501", "王芳", IDS[1]]]
    report = _import(db, write_csv(tmp_path / "r.csv", rows))
    assert report.added == 1
    assert len(list_residents(db)) == 2


def test_plan_is_plain_data(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", csv_rows(HEADER_EN))
    plan = read_register(path, today=TODAY)
    assert isinstance(plan, ImportPlan) and plan.file == "r.csv" and plan.sheet is None


# --- hostile and odd files (issue 12) ------------------------------------------------


def _with_sheet_xml(path: Path, rows_xml: Iterator[bytes]) -> Path:
    """An XLSX made by openpyxl whose first worksheet's XML is replaced by ``rows_xml``
    (written a chunk at a time, deflated: megabytes of rows zip to kilobytes)."""
    write_xlsx(path, [["姓名", "楼号", "房号"]])
    import zipfile

    source = path.with_suffix(".orig.xlsx")
    path.rename(source)
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            if info.filename != "xl/worksheets/sheet1.xml":
                new.writestr(info, old.read(info))
                continue
            with new.open(info.filename, "w", force_zip64=True) as sheet:
                sheet.write(b'<?xml version="1.0"?><worksheet xmlns="http://schemas.'
                            b'openxmlformats.org/spreadsheetml/2006/main"><sheetData>')  # fmt: skip
                for chunk in rows_xml:
                    sheet.write(chunk)
                sheet.write(b"</sheetData></worksheet>")
    source.unlink()
    return path


def _repeated_rows(megabytes: int) -> Iterator[bytes]:
    row = b'<row><c t="inlineStr"><is><t>x</t></is></c><c><v>1</v></c></row>'
    block = row * (1024 * 1024 // len(row))
    for _ in range(megabytes):
        yield block


def _lie_about_size(path: Path, member: str, size: int) -> None:
    """Write ``size`` as the member's unpacked size in both its headers (a zip bomb
    that hides what it holds; a zip64 local header keeps its real size elsewhere)."""
    import struct
    import zipfile

    with zipfile.ZipFile(path) as book:
        info = book.getinfo(member)
    data = bytearray(path.read_bytes())
    struct.pack_into("<I", data, info.header_offset + 22, size)  # local header
    central = data.find(b"PK\x01\x02")
    while central >= 0:
        name_length = struct.unpack_from("<H", data, central + 28)[0]
        if data[central + 46 : central + 46 + name_length] == member.encode():
            assert struct.unpack_from("<I", data, central + 24)[0] != 0xFFFFFFFF  # not zip64
            struct.pack_into("<I", data, central + 24, size)
            break
        central = data.find(b"PK\x01\x02", central + 4)
    path.write_bytes(bytes(data))
    with zipfile.ZipFile(path) as book:
        assert book.getinfo(member).file_size == size


def test_zip_bomb_xlsx_is_refused_before_it_is_unpacked(tmp_path: Path) -> None:
    import time
    import tracemalloc

    bomb = _with_sheet_xml(tmp_path / "bomb.xlsx", _repeated_rows(210))  # 210 MB of XML
    assert bomb.stat().st_size < 2_000_000
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(UserError, match=r"bomb\.xlsx is too large for a register: its sheets "
                       r"unpack to more than 200 MB"):  # fmt: skip
        read_register(bomb)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert time.perf_counter() - started < 1.0 and peak < 10_000_000


def test_zip_bomb_with_lying_sizes_is_refused_as_it_unpacks(tmp_path: Path) -> None:
    bomb = _with_sheet_xml(tmp_path / "liar.xlsx", _repeated_rows(20))
    _lie_about_size(bomb, "xl/worksheets/sheet1.xml", 4000)
    with pytest.raises(UserError, match=r"Cannot read liar\.xlsx as a spreadsheet"):
        read_register(bomb)


def test_a_sheet_reaching_too_far_is_refused(tmp_path: Path) -> None:
    header = b'<row r="1"><c r="A1" t="inlineStr"><is><t>name</t></is></c></row>'
    deep = _with_sheet_xml(tmp_path / "deep.xlsx", iter([header, b'<row spans="2:2" '
                           b'r="600000"><c r="B600000"><v>1</v></c></row>']))  # fmt: skip
    with pytest.raises(UserError, match=r"deep\.xlsx reaches down to row 600000 and across 26 "
                       r"columns: too large for a register \(at most 500000 rows\)"):  # fmt: skip
        read_register(deep)
    wide = _with_sheet_xml(tmp_path / "wide.xlsx", iter([header, b'<row r="2000">'
                           b'<c\tr="XFD2000"><v>1</v></c></row>']))  # fmt: skip
    with pytest.raises(UserError, match=r"across 16384 columns"):
        read_register(wide)


def test_row_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kiosk.store.files import register_import

    monkeypatch.setattr(register_import, "MAX_ROWS", 100)
    rows = [["标题"], ["姓名", "楼号", "房号"]] + [[f"居民{i}", 1, 101 + i] for i in range(100)]
    assert len(read_register(write_csv(tmp_path / "ok.csv", rows), today=TODAY).rows) == 100
    rows.append(["多一个", 1, 1])
    with pytest.raises(UserError, match=r"many\.csv has more than 100 rows"):
        read_register(write_csv(tmp_path / "many.csv", rows), today=TODAY)
    with pytest.raises(UserError, match=r"many\.xlsx has more than 100 rows"):
        read_register(write_xlsx(tmp_path / "many.xlsx", rows), today=TODAY)


def test_csv_is_read_a_line_at_a_time(tmp_path: Path) -> None:
    import tracemalloc

    path = tmp_path / "long.csv"
    with path.open("w", encoding="utf-8") as fh:
        fh.write("姓名,楼号,房号\n张三,1,101\n")
        fh.write((" " * 120 + ",,\n") * 100_000)  # 12 MB of blank rows
        fh.write("李四,1,102\n")
    tracemalloc.start()
    plan = read_register(path, today=TODAY)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert [r.name for r in plan.rows] == ["张三", "李四"] and peak < 3_000_000
    endless = tmp_path / "endless.csv"
    endless.write_text("姓名,楼号,房号\n" + "1," * 600_000, encoding="utf-8")
    with pytest.raises(UserError, match=r"a line is longer than 1000000 characters"):
        read_register(endless)


def test_dates_and_uncalculated_formulas_are_bad_rows(tmp_path: Path) -> None:
    rows = [
        ["姓名", "楼号", "单元", "房号", "备注"],
        ["张三", 1, 2, date(2026, 2, 1), None],  # 2: Excel made 2-1 a date
        ["李四", 1, "=1+1", 102, None],  # 3: a formula never calculated (openpyxl)
        ["王五", 1, 2, 103, "=2+2"],  # 4: one in an ignored column is fine
        ["赵六", 1, 2, 104, None],  # 5
        [None, None, None, None, "=3+3"],  # 6: blank but for an ignored formula
    ]
    plan = read_register(write_xlsx(tmp_path / "odd.xlsx", rows), today=TODAY)
    assert [r.name for r in plan.rows] == ["王五", "赵六"]
    assert errors(plan) == {
        2: ["房号 is a date or time in Excel (2026-02-01): format the column as Text and "
            "type it again"],
        3: ["Cell C3 is a formula with no saved value: open the file in Excel, save it and "
            "import it again"],
    }  # fmt: skip


def test_formula_cells_with_saved_values_are_read(tmp_path: Path) -> None:
    sheet = iter([
        b'<row r="1"><c r="B1" t="inlineStr"><is><t>name</t></is></c>'
        b'<c r="C1" t="inlineStr"><is><t>room</t></is></c></row>',
        b'<row r="2"><c r="B2" t="inlineStr"><is><t>Ann</t></is></c>'
        b'<c r="C2"><f>1-1+101</f><v>101</v></c></row>',
        b'<row r="3"><c r="B3" t="inlineStr"><is><t>Bob</t></is></c>'
        b'<c r="C3"><f t="shared" si="0"/></c></row>',
    ])  # fmt: skip
    plan = read_register(_with_sheet_xml(tmp_path / "f.xlsx", sheet), today=TODAY)
    assert [r.row for r in plan.rows] == [] and errors(plan) == {
        2: ["Building is missing"],
        3: ["Cell C3 is a formula with no saved value: open the file in Excel, save it and "
            "import it again", "Building and room are missing"],
    }  # fmt: skip


def test_utf16_without_bom_is_named(tmp_path: Path) -> None:
    path = tmp_path / "unicode.txt"
    path.write_bytes("姓名\t楼号\t房号\r\n张三\t1\t101\r\n".encode("utf-16-le"))
    with pytest.raises(UserError, match=r"unicode\.txt looks like UTF-16 text without a "
                       r"byte order mark: save it as CSV UTF-8"):  # fmt: skip
        read_register(path)
    with_bom = tmp_path / "bom.txt"
    with_bom.write_bytes(b"\xff\xfe" + path.read_bytes())
    assert [r.name for r in read_register(with_bom, today=TODAY).rows] == ["张三"]
