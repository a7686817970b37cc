"""The office's Residents tab: the paged table over thousands of residents, the add /
edit / deactivate dialogs, masking, and the register import wizard."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QWizard
from pytestqt.qtbot import QtBot
from sqlite_utils import Database

from kiosk.core.identity import make_id_number, mask_id_number, mask_phone
from kiosk.core.ids import uuid7
from kiosk.store.db import write
from kiosk.store.register import (
    RESIDENT_DEFAULT_ORDER,
    get_resident,
    page_residents,
)
from kiosk.ui.office.context import OfficeContext
from kiosk.ui.office.import_wizard import ImportWizard
from kiosk.ui.office.resident_dialog import DeactivateDialog, ResidentDialog
from kiosk.ui.office.residents_tab import ResidentsTab

MANY = 3000
STAMP = "2026-01-01T00:00:00.000000Z"


def _bulk_residents(db: Database, count: int = MANY) -> None:
    """``count`` residents in buildings 1..12 (3 per household), one transaction; every
    tenth deactivated. Names ``批量00001``; phones ``139`` + the number."""
    households, residents = [], []
    for n in range(count):
        if n % 3 == 0:
            household = uuid7()
            h = n // 3
            room = str(1101 + h // 24)  # the demo's rooms are 101 to 502
            households.append((household, str(1 + h % 12), str(1 + h // 12 % 2), room))
        born = date(1950 + n % 50, 1 + n % 12, 1 + n % 28)
        id_number = make_id_number("110101", born, n % 1000)
        residents.append(
            (uuid7(), household, f"批量{n:05d}", f"139{n:08d}", id_number, int(n % 10 != 9))
        )
    with write(db):
        db.conn.executemany(
            "INSERT INTO households (id, building, unit, room, created_at) "
            f"VALUES (?, ?, ?, ?, '{STAMP}')",
            households,
        )
        db.conn.executemany(
            "INSERT INTO residents (id, household_id, name, phone, id_number, role, "
            f"active, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'resident', ?, "
            f"'{STAMP}', '{STAMP}')",
            residents,
        )


def _tab(qtbot: QtBot, office: OfficeContext) -> ResidentsTab:
    tab = ResidentsTab(office)
    qtbot.addWidget(tab)
    tab.resize(1366, 700)
    tab.show()
    assert office.wait_idle()  # the first page is in
    return tab


def _cells(tab: ResidentsTab) -> list[list[str]]:
    model = tab.model
    return [
        [str(model.data(model.index(r, c))) for c in range(model.columnCount())]
        for r in range(model.rowCount())
    ]


def _search(qtbot: QtBot, tab: ResidentsTab, text: str) -> None:
    tab.table.search.setText(text)
    tab.table.search.returnPressed.emit()
    assert tab.ctx.wait_idle()


def _row_of(tab: ResidentsTab, name: str) -> dict[str, Any]:
    _search_now = [tab.model.row_at(i) for i in range(tab.model.loaded)]
    return next(r for r in _search_now if r["name"] == name)


def _select(tab: ResidentsTab, name: str) -> dict[str, Any]:
    row = _row_of(tab, name)
    assert tab.select(row["id"])
    return row


# ------------------------------------------------------------------ the store's query


def test_page_residents_searches_sorts_and_refuses_unknown_order(db: Database) -> None:
    _bulk_residents(db)
    first = page_residents(db, limit=50)
    assert len(first) == 50 and all(r["active"] for r in first)
    # Households in natural order: building 2 before 10.
    labels = [r["household"] for r in page_residents(db, limit=5000)]
    buildings = [int(label.split("-")[0]) for label in labels]
    assert buildings == sorted(buildings)
    everyone = page_residents(db, limit=5000, include_inactive=True)
    assert len(everyone) == len(labels) + MANY // 10
    # Pages join up without gaps or repeats.
    pages = [page_residents(db, limit=200, offset=o) for o in range(0, 5000, 200)]
    assert [r["id"] for p in pages for r in p] == [r["id"] for r in page_residents(db, limit=5000)]

    by_name = page_residents(db, search="批量0012", include_inactive=True)
    assert sorted(r["name"] for r in by_name) == [f"批量{n:05d}" for n in range(120, 130)]
    in_3_2 = db.execute("SELECT room FROM households WHERE building = '3' AND unit = '2'")
    assert {r["household"] for r in page_residents(db, search="3-2")} == {
        f"3-2-{room}" for (room,) in in_3_2
    }
    assert {r["household"] for r in page_residents(db, search="3号楼2单元1101室")} == {"3-2-1101"}
    assert [r["name"] for r in page_residents(db, search="00002345")] == ["批量02345"]
    one = page_residents(db, search="批量02345")[0]
    suffix = one["id_number"][-6:]
    assert one["id"] in [r["id"] for r in page_residents(db, search=suffix)]
    assert page_residents(db, search="3-2 批量0000") == []  # every word must match
    assert page_residents(db, search="%") == []  # LIKE's wildcards are text

    names = [r["name"] for r in page_residents(db, order="name DESC, " + RESIDENT_DEFAULT_ORDER)]
    assert names[:2] == sorted(names, reverse=True)[:2]
    for bad in ("r.name; DROP TABLE residents", "phone", "name SIDEWAYS"):
        with pytest.raises(ValueError):
            page_residents(db, order=bad)


# ------------------------------------------------------------------ the table


def test_table_searches_and_sorts_thousands_of_residents(
    qtbot: QtBot, office: OfficeContext, db: Database
) -> None:
    _bulk_residents(db)
    tab = _tab(qtbot, office)
    model = tab.model
    assert model.loaded == 200 and model.canFetchMore()  # one page, not 3000 rows
    assert "200+" in tab.table.count.text()
    model.fetchMore()
    assert office.wait_idle()
    assert model.loaded == 400

    name_column = 1
    tab.table.view.sortByColumn(name_column, Qt.SortOrder.DescendingOrder)
    assert office.wait_idle()
    names = [model.row_at(i)["name"] for i in range(model.loaded)]
    assert names == sorted(names, reverse=True)
    assert f"批量{MANY - 2:05d}" in names
    assert f"批量{MANY - 1:05d}" not in names  # deactivated

    _search(qtbot, tab, "批量0012")
    assert {r[1] for r in _cells(tab)} == {f"批量{n:05d}" for n in range(120, 129)}
    tab.show_inactive.setChecked(True)
    assert office.wait_idle()
    assert len(_cells(tab)) == 10
    deactivated = _row_of(tab, "批量00129")
    assert not deactivated["active"]
    row = [model.row_at(i)["name"] for i in range(model.loaded)].index("批量00129")
    assert model.data(model.index(row, 5)) == "Deactivated"
    assert model.data(model.index(row, 0), Qt.ItemDataRole.ForegroundRole) is not None

    _search(qtbot, tab, "")
    assert model.loaded == 200 and f"批量{MANY - 1:05d}" in [r[1] for r in _cells(tab)]


def test_id_numbers_and_phones_are_masked_unless_unmasked(
    qtbot: QtBot, office: OfficeContext
) -> None:
    tab = _tab(qtbot, office)
    people = [tab.model.row_at(i) for i in range(tab.model.loaded)]
    secrets = [r["id_number"] for r in people if r["id_number"]] + [
        r["phone"] for r in people if r["phone"]
    ]
    assert secrets

    def shown() -> str:
        return "\n".join("\t".join(r) for r in _cells(tab))

    text = shown()
    assert not any(secret in text for secret in secrets)
    assert mask_id_number(secrets[0]) in text
    assert mask_phone(people[0]["phone"]) in text or not people[0]["phone"]

    repaints: list[Any] = []
    tab.model.dataChanged.connect(lambda *a: repaints.append(a))
    office.set_unmasked(True, reason="test")
    assert repaints
    assert all(secret in shown() for secret in secrets)
    office.set_unmasked(False)
    assert not any(secret in shown() for secret in secrets)


def test_buttons_follow_the_selection_and_open_a_residents_history(
    qtbot: QtBot, office: OfficeContext
) -> None:
    tab = _tab(qtbot, office)
    assert not tab.edit_button.isEnabled() and not tab.history_button.isEnabled()
    row = _select(tab, "张伟")
    assert tab.edit_button.isEnabled() and tab.deactivate_button.isEnabled()
    with qtbot.waitSignal(tab.openResident) as opened:
        tab.history_button.click()
    assert opened.args == [row["id"]]


# ------------------------------------------------------------------ add, edit, deactivate


def _fill(dialog: ResidentDialog, **fields: str) -> None:
    for key, value in fields.items():
        getattr(dialog, key).setText(value)


def _problem(dialog: ResidentDialog, field: str) -> str:
    label = dialog.problems[getattr(dialog, field)]
    return label.text() if label.isVisibleTo(dialog) else ""


def test_add_shows_each_problem_by_its_field_then_adds(
    qtbot: QtBot, office: OfficeContext, db: Database
) -> None:
    tab = _tab(qtbot, office)
    tab.add_button.click()
    dialog = tab.dialog
    assert isinstance(dialog, ResidentDialog) and dialog.isVisible()
    _fill(dialog, building="", room="901", name="  ", phone="12345", id_number="110101")
    dialog.ok.click()
    assert "Building" in _problem(dialog, "building")
    assert _problem(dialog, "room") == ""
    assert "Name" in _problem(dialog, "name")
    assert "mobile" in _problem(dialog, "phone")
    assert "18 characters" in _problem(dialog, "id_number")
    assert not office.jobs.busy  # nothing was sent to be written

    id_number = make_id_number("440106", date(1990, 5, 6), 123)
    _fill(dialog, building="8号楼", unit="1", room="901", name="新 居民", phone="139 0000 1111")
    dialog.id_number.setText(f" {id_number.lower()} ")
    added: list[object] = []
    dialog.accepted.connect(lambda: added.append(dialog.result_value))
    with qtbot.waitSignal(office.signals.dataChanged) as changed:
        dialog.ok.click()
        assert all(_problem(dialog, f) == "" for f in ("building", "room", "name", "phone"))
    assert changed.args == ["residents"]
    assert office.wait_idle()
    added_id = str(added[0])
    qtbot.waitUntil(lambda: tab.dialog is None)
    row = get_resident(db, added_id)
    assert row is not None
    assert (row["household"], row["name"], row["phone"]) == (
        "8-1-901",
        "新 居民",
        "13900001111",
    )
    assert row["id_number"] == id_number
    _search(qtbot, tab, "8-1-901")
    assert [r[1] for r in _cells(tab)] == ["新 居民"]
    audit = db.execute("SELECT actor FROM audit WHERE action = 'residents.add'").fetchall()
    assert ("test-clerk",) in audit


def test_add_refused_by_the_store_is_shown_in_the_dialog(
    qtbot: QtBot, office: OfficeContext, db: Database
) -> None:
    taken = db.execute(
        "SELECT id_number FROM residents WHERE id_number IS NOT NULL LIMIT 1"
    ).fetchone()[0]
    tab = _tab(qtbot, office)
    tab.add()
    dialog = tab.dialog
    assert isinstance(dialog, ResidentDialog)
    _fill(dialog, building="8", room="902", name="重复", id_number=taken)
    dialog.submit()
    assert office.wait_idle()
    assert dialog.isVisible() and dialog.ok.isEnabled()
    assert "already belongs" in dialog.error.text() and dialog.error.isVisibleTo(dialog)
    assert taken not in dialog.error.text()


def test_closing_the_dialog_while_it_writes_still_writes_and_does_not_crash(
    qtbot: QtBot, office: OfficeContext, db: Database
) -> None:
    tab = _tab(qtbot, office)
    tab.add()
    dialog = tab.dialog
    assert isinstance(dialog, ResidentDialog)
    _fill(dialog, building="9", room="909", name="关窗")
    with qtbot.waitSignal(office.signals.dataChanged):
        dialog.submit()
        dialog.reject()
    assert office.wait_idle()
    qtbot.waitUntil(lambda: tab.dialog is None)
    assert "关窗" in [r["name"] for r in page_residents(db, search="9-909")]


def test_edit_keeps_a_masked_id_number_and_checks_changes(
    qtbot: QtBot, office: OfficeContext, db: Database
) -> None:
    tab = _tab(qtbot, office)
    row = _select(tab, "张伟")
    stored = get_resident(db, row["id"])
    assert stored is not None and stored["id_number"]
    tab.edit_button.click()
    dialog = tab.dialog
    assert isinstance(dialog, ResidentDialog)
    assert dialog.id_number.text() == mask_id_number(stored["id_number"])
    assert stored["id_number"] not in dialog.phone.text() + dialog.id_number.text()
    assert not dialog.building.isEnabled()

    dialog.phone.setText("1234")
    dialog.ok.click()
    assert "mobile" in _problem(dialog, "phone")
    assert _problem(dialog, "id_number") == ""  # the masked value is left as it is

    dialog.phone.setText("13700001234")
    dialog.name.setText("张伟伟")
    with qtbot.waitSignal(office.signals.dataChanged):
        dialog.ok.click()
    assert office.wait_idle()
    after = get_resident(db, row["id"])
    assert after is not None
    assert (after["name"], after["phone"]) == ("张伟伟", "13700001234")
    assert after["id_number"] == stored["id_number"]  # not overwritten by the mask
    assert sorted(dialog.result_value) == ["name", "phone"]  # type: ignore[arg-type]


def test_edit_when_unmasked_shows_and_changes_the_id_number(
    qtbot: QtBot, office: OfficeContext, db: Database
) -> None:
    office.set_unmasked(True, reason="test")
    tab = _tab(qtbot, office)
    row = _select(tab, "张伟")
    tab.edit()
    dialog = tab.dialog
    assert isinstance(dialog, ResidentDialog)
    assert dialog.id_number.text() == row["id_number"]
    wrong = row["id_number"][:17] + ("0" if row["id_number"][17] != "0" else "1")
    dialog.id_number.setText(wrong)
    dialog.submit()
    assert "check digit" in _problem(dialog, "id_number")
    new = make_id_number("310101", date(1980, 2, 3), 45)
    dialog.id_number.setText(new)
    dialog.submit()
    assert office.wait_idle()
    after = get_resident(db, row["id"])
    assert after is not None and after["id_number"] == new


def test_deactivate_asks_for_a_reason_then_deactivates(
    qtbot: QtBot, office: OfficeContext, db: Database
) -> None:
    tab = _tab(qtbot, office)
    row = _select(tab, "张伟")
    tab.deactivate_button.click()
    dialog = tab.dialog
    assert isinstance(dialog, DeactivateDialog)
    assert "张伟" in dialog.question.text()
    dialog.ok.click()
    assert dialog.reason_problem.isVisibleTo(dialog) and "reason" in dialog.reason_problem.text()
    assert get_resident(db, row["id"])["active"]  # type: ignore[index]

    dialog.reason.setText("moved out")
    with qtbot.waitSignal(office.signals.dataChanged):
        dialog.ok.click()
    assert office.wait_idle()
    assert not get_resident(db, row["id"])["active"]  # type: ignore[index]
    assert "张伟" not in [r[1] for r in _cells(tab)]  # the tab reloaded
    tab.show_inactive.setChecked(True)
    assert office.wait_idle()
    _select(tab, "张伟")
    assert not tab.deactivate_button.isEnabled()


# ------------------------------------------------------------------ the import wizard

CSV_TEXT = """姓名,楼号,单元,房号,手机,身份证号
王新,20,1,101,13800001111,{good_id}
李新,20,1,102,,
,20,1,103,13800002222,
赵新,20,1,104,12345,
钱新,,1,105,,
张伟,{zhang_building},{zhang_unit},{zhang_room},13912345678,
孙新,20,1,106,,{bad_id}
"""


def _write_csv(db: Database, path: Path) -> Path:
    zhang = db.execute(
        "SELECT h.building, h.unit, h.room FROM residents r "
        "JOIN households h ON h.id = r.household_id WHERE r.name = '张伟'"
    ).fetchone()
    good_id = make_id_number("110105", date(1985, 3, 4), 77)
    path.write_text(
        CSV_TEXT.format(
            good_id=good_id,
            bad_id=good_id[:17] + ("0" if good_id[17] != "0" else "1"),
            zhang_building=zhang[0],
            zhang_unit=zhang[1],
            zhang_room=zhang[2],
        ),
        encoding="utf-8",
    )
    return path


def _count(db: Database) -> tuple[int, int]:
    residents = db.execute("SELECT count(*) FROM residents").fetchone()[0]
    audit = db.execute("SELECT count(*) FROM audit").fetchone()[0]
    return residents, audit


def _to_preview(qtbot: QtBot, wizard: ImportWizard, path: Path) -> None:
    wizard.file_page.path.setText(str(path))
    wizard.next()
    qtbot.waitUntil(lambda: wizard.currentPage() is wizard.preview_page, timeout=10_000)


def test_import_shows_bad_rows_writes_nothing_until_import(
    qtbot: QtBot, office: OfficeContext, db: Database, tmp_path: Path
) -> None:
    path = _write_csv(db, tmp_path / "register.csv")
    tab = _tab(qtbot, office)
    before = _count(db)
    tab.import_button.click()
    wizard = tab.dialog
    assert isinstance(wizard, ImportWizard)
    _to_preview(qtbot, wizard, path)
    assert _count(db) == before  # read and dry run: nothing written

    page = wizard.preview_page
    assert "3 good row(s), 4 row(s) with problems" in page.summary.text()
    assert "add 2 resident(s)" in page.would.text() and "update 1" in page.would.text()
    model = page.errors
    bad = {
        int(model.data(model.index(r, 0))): model.data(model.index(r, 1))
        for r in range(model.rowCount())
    }
    assert sorted(bad) == [4, 5, 6, 8]  # Excel's row numbers: the header is row 1
    assert "Name" in bad[4] and "mobile" in bad[5] and "Building" in bad[6]
    assert "check digit" in bad[8]
    assert page.view.isVisibleTo(wizard)

    page.strict.setChecked(True)
    assert not wizard.button(QWizard.WizardButton.CommitButton).isEnabled()
    assert "Strict" in page.status.text()
    page.strict.setChecked(False)
    commit = wizard.button(QWizard.WizardButton.CommitButton)
    assert commit.isEnabled() and commit.text() == "Import"
    assert _count(db) == before

    with qtbot.waitSignal(office.signals.dataChanged):
        commit.click()
    qtbot.waitUntil(lambda: wizard.currentPage() is wizard.report_page)
    report = wizard.report
    assert report is not None and report.written
    assert (report.added, report.updated, report.unchanged, report.bad) == (2, 1, 0, 4)
    assert "2 resident(s) added" in wizard.report_page.text.text()
    assert _count(db)[0] == before[0] + 2
    actions = db.execute("SELECT actor FROM audit WHERE action = 'residents.import'")
    assert actions.fetchall() == [("test-clerk",)]
    _search(qtbot, tab, "20-1")
    assert sorted(r[1] for r in _cells(tab)) == ["李新", "王新"]


def test_import_strict_off_then_on_writes_nothing_with_bad_rows(
    qtbot: QtBot, office: OfficeContext, db: Database, tmp_path: Path
) -> None:
    path = _write_csv(db, tmp_path / "register.csv")
    wizard = ImportWizard(office)
    qtbot.addWidget(wizard)
    wizard.show()
    _to_preview(qtbot, wizard, path)
    before = _count(db)
    # Strict blocks the Import button; the store would refuse as well.
    wizard.preview_page.strict.setChecked(True)
    wizard.next()
    assert office.wait_idle()
    assert wizard.currentPage() is wizard.preview_page
    assert _count(db) == before


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"\x00\x01\x02 not a spreadsheet \x00", "No header row"),
        (b"\xff\xff\x80\x80\xfe", "Cannot read the text"),
        ("姓名,电话\n王五,13800001111\n".encode(), "No header row"),
        (b"PK\x03\x04 broken zip", "Cannot read"),
    ],
)
def test_import_of_a_broken_file_says_why_on_the_page(
    qtbot: QtBot, office: OfficeContext, db: Database, tmp_path: Path, content: bytes, expected: str
) -> None:
    path = tmp_path / "register.xlsx" if content.startswith(b"PK") else tmp_path / "r.csv"
    path.write_bytes(content)
    wizard = ImportWizard(office)
    qtbot.addWidget(wizard)
    wizard.show()
    before = _count(db)
    wizard.file_page.path.setText(str(path))
    wizard.next()
    assert office.wait_idle()
    page = wizard.file_page
    assert wizard.currentPage() is page
    assert expected in page.status.text() and page.status.isVisibleTo(wizard)
    assert wizard.button(QWizard.WizardButton.NextButton).isEnabled()
    assert _count(db) == before


def test_import_of_a_missing_file_says_so(
    qtbot: QtBot, office: OfficeContext, tmp_path: Path
) -> None:
    wizard = ImportWizard(office)
    qtbot.addWidget(wizard)
    wizard.show()
    wizard.file_page.path.setText(str(tmp_path / "gone.csv"))
    wizard.next()
    assert office.wait_idle()
    assert "No file" in wizard.file_page.status.text()


def test_bad_rows_model_has_no_widget_per_row(office: OfficeContext) -> None:
    from kiosk.store.files.register_import import RowError
    from kiosk.ui.office.import_wizard import RowErrorModel

    model = RowErrorModel()
    model.set_errors([RowError(n, ("a", "b")) for n in range(2, 5002)])
    assert model.rowCount() == 5000 and model.columnCount() == 2
    assert model.data(model.index(4999, 1)) == "a; b"
    assert model.rowCount(model.index(0, 0)) == 0
    assert model.data(QModelIndex()) is None
