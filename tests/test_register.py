"""The register's queries: households, residents, deactivation, audit (kiosk.store.register)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import sqlite_utils

from kiosk.core.errors import UserError
from kiosk.core.identity import make_id_number
from kiosk.store.db import connect
from kiosk.store.register import (
    add_resident,
    deactivate_resident,
    edit_resident,
    find_household,
    find_or_create_household,
    get_resident,
    household_label,
    list_residents,
    parse_address,
)

ID1 = make_id_number("110101", date(1990, 3, 7), 451)
ID2 = make_id_number("310104", date(1985, 6, 1), 22)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sqlite_utils.Database]:
    database = connect(tmp_path / "gatepass.db", create=True)
    yield database
    database.close()


def audit(db: sqlite_utils.Database) -> list[tuple[str, dict[str, object]]]:
    rows = db.execute("SELECT action, detail FROM audit ORDER BY id").fetchall()
    return [(action, json.loads(detail)) for action, detail in rows]


def test_households(db: sqlite_utils.Database) -> None:
    first = find_or_create_household(db, "3", "2", "501")
    assert find_or_create_household(db, "3号楼", "2单元", "501室") == first
    assert find_or_create_household(db, "３", "2", "501") == first  # full-width digit
    other = find_or_create_household(db, "12", "", "101")
    assert other != first
    for text in (first, "3-2-501", " 3 - 2 - 501 ", "3号楼2单元501室", "幸福里3号楼2单元501"):
        found = find_household(db, text)
        assert found is not None and found["id"] == first, text
    found = find_household(db, "12-101")
    assert found is not None and found["id"] == other
    assert find_household(db, "12栋101") is not None
    assert find_household(db, "3-2-502") is None
    assert find_household(db, "nonsense") is None
    assert household_label("3", "2", "501") == "3-2-501"
    assert household_label("3", "", "501") == "3-501"
    with pytest.raises(UserError):
        find_or_create_household(db, "", "", "501")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3-2-501", ("3", "2", "501")),
        ("3-501", ("3", "", "501")),
        ("3号楼2单元501室", ("3", "2", "501")),
        ("3号楼 2单元 501", ("3", "2", "501")),
        ("3栋501", ("3", "", "501")),
        ("A座1单元1203", ("A", "1", "1203")),
        ("幸福里小区12幢3单元402号", ("12", "3", "402")),
        ("３号楼２单元５０１室", ("3", "2", "501")),
        ("北京市朝阳区", None),
        ("", None),
    ],
)
def test_parse_address(text: str, expected: tuple[str, str, str] | None) -> None:
    assert parse_address(text) == expected


def test_add_list_get(db: sqlite_utils.Database) -> None:
    a = add_resident(db, building="3", unit="2", room="501", name=" 张三 ",
                     phone="138 1234 5678", id_number=ID1.lower())  # fmt: skip
    b = add_resident(db, building="10", room="101", name="李四", role="staff")
    c = add_resident(db, building="3", unit="2", room="502", name="王五", id_number=ID2)
    rows = list_residents(db)
    assert [r["id"] for r in rows] == [a, c, b]  # building 3 before building 10
    first = rows[0]
    assert first["name"] == "张三"
    assert first["phone"] == "13812345678"
    assert first["id_number"] == ID1
    assert first["household"] == "3-2-501"
    assert first["role"] == "resident" and first["active"] is True
    staff = get_resident(db, b)
    assert staff is not None and staff["role"] == "staff" and staff["household"] == "10-101"
    assert staff["phone"] is None and staff["id_number"] is None
    assert get_resident(db, "no-such-id") is None
    assert [action for action, _ in audit(db)] == ["residents.add"] * 3


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": "  "}, "Name is missing"),
        ({"phone": "12345"}, "not a mainland mobile number"),
        ({"id_number": ID1[:17] + "0"}, "check digit is wrong"),
        ({"role": "boss"}, "Unknown role boss"),
    ],
)
def test_add_refuses_bad_values(db: sqlite_utils.Database, changes: dict[str, str],
                                message: str) -> None:  # fmt: skip
    values = {"name": "张三", "phone": None, "id_number": None, "role": "resident", **changes}
    with pytest.raises(UserError, match=message):
        add_resident(db, building="3", room="501", **values)  # type: ignore[arg-type]
    assert list_residents(db, include_inactive=True) == []


def test_duplicate_id_number_names_the_owner(db: sqlite_utils.Database) -> None:
    add_resident(db, building="3", unit="2", room="501", name="张三丰", id_number=ID1)
    with pytest.raises(UserError) as caught:
        add_resident(db, building="5", room="101", name="李四", id_number=ID1)
    assert str(caught.value) == "ID number already belongs to 张*丰 of 3-2-501."
    assert len(list_residents(db)) == 1
    assert find_household(db, "5-101") is None  # the whole add was rolled back


def test_edit(db: sqlite_utils.Database) -> None:
    a = add_resident(db, building="3", room="501", name="张三", phone="13812345678")
    b = add_resident(db, building="3", room="502", name="李四", id_number=ID2)
    assert edit_resident(db, a, name="张三丰", phone="13900000000", role="staff") == [
        "name", "phone", "role",
    ]  # fmt: skip
    row = get_resident(db, a)
    assert row is not None
    assert (row["name"], row["phone"], row["role"]) == ("张三丰", "13900000000", "staff")
    assert row["updated_at"] > row["created_at"]
    assert edit_resident(db, a, name="张三丰") == []  # nothing changed
    assert edit_resident(db, a, phone="", id_number=ID1) == ["phone", "id_number"]
    row = get_resident(db, a)
    assert row is not None and row["phone"] is None and row["id_number"] == ID1
    with pytest.raises(UserError, match="already belongs to 李"):
        edit_resident(db, a, id_number=ID2)
    assert edit_resident(db, b, id_number=ID2) == []  # its own number is not a duplicate
    with pytest.raises(UserError, match="No resident with id nope"):
        edit_resident(db, "nope", name="x")
    actions = [action for action, _ in audit(db)]
    assert actions.count("residents.edit") == 2
    detail = audit(db)[-1][1]
    assert detail == {"id": a, "fields": ["phone", "id_number"]}  # no personal data


def test_deactivate(db: sqlite_utils.Database) -> None:
    a = add_resident(db, building="3", room="501", name="张三", id_number=ID1)
    with pytest.raises(UserError, match="reason"):
        deactivate_resident(db, a, "  ")
    deactivate_resident(db, a, "moved out")
    assert list_residents(db) == []
    rows = list_residents(db, include_inactive=True)
    assert len(rows) == 1 and rows[0]["active"] is False and rows[0]["deactivated_at"]
    assert rows[0]["id_number"] == ID1  # the row and its data are kept
    assert audit(db)[-1] == ("residents.deactivate", {"id": a, "reason": "moved out"})
    with pytest.raises(UserError, match="already deactivated"):
        deactivate_resident(db, a, "again")
    with pytest.raises(UserError, match="No resident"):
        deactivate_resident(db, "nope", "x")
    # The ID number still belongs to the deactivated resident.
    with pytest.raises(UserError, match="already belongs to 张"):
        add_resident(db, building="4", room="1", name="张三", id_number=ID1)
