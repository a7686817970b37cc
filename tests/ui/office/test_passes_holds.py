"""The office's Passes and Home quarantine tabs and a resident's history dialog, on a
real copy of the demo checkpoint: issue, revoke, reissue, print, passphrase, holds,
passages."""

from __future__ import annotations

import shutil
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtPrintSupport import QPrinter
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot
from sqlite_utils import Database

from kiosk.core.clock import utcnow
from kiosk.core.i18n import tr
from kiosk.core.keys import load_private_key, save_private_key
from kiosk.core.rules import Encounter, Source, TokenStatus
from kiosk.gate import Gate
from kiosk.store.checkpoint import load_keyring
from kiosk.store.holds import list_holds, search_holds
from kiosk.store.passes import PASS_SORTS, check_token, search_passes
from kiosk.store.register import add_resident
from kiosk.store.sql import order_by
from kiosk.ui.office.context import OfficeContext
from kiosk.ui.office.holds_tab import HoldDialog, HoldsTab
from kiosk.ui.office.issuer import no_key_reason
from kiosk.ui.office.passes_tab import IssueDialog, PassesTab, PrintCardsDialog, RevokeDialog
from kiosk.ui.office.resident_history_dialog import ResidentHistoryDialog
from kiosk.ui.ops import QueryOp

needs_pdftotext = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils")


def resident_id(db: Database, name: str) -> str:
    return str(db.execute("SELECT id FROM residents WHERE name = ?", [name]).fetchone()[0])


def passes_of(db: Database, name: str) -> list[dict[str, Any]]:
    return search_passes(db, now=utcnow(), resident_id=resident_id(db, name))


def good_pass(db: Database, name: str) -> dict[str, Any]:
    [row] = [r for r in passes_of(db, name) if r["state"] == "active"]
    return row


def pdf_text(path: Path) -> str:
    done = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True)
    return done.stdout


def make_tab(qtbot: QtBot, ctx: OfficeContext) -> PassesTab:
    tab = PassesTab(ctx)
    qtbot.addWidget(tab)
    tab.resize(1366, 768)
    assert ctx.wait_idle()  # the first page is in
    return tab


def select(qtbot: QtBot, tab: PassesTab, serial: str) -> None:
    tab.show_filter.setCurrentIndex(3)  # all passes
    qtbot.waitUntil(lambda: tab.select_serial(serial))
    assert tab.selected() is not None and tab.selected()["serial"] == serial  # type: ignore[index]


def test_order_by_is_whitelisted() -> None:
    assert order_by("p.serial desc, p.rowid DESC", PASS_SORTS) == "p.serial DESC, p.rowid DESC"
    with pytest.raises(ValueError):
        order_by("p.serial; DROP TABLE passes", PASS_SORTS)
    with pytest.raises(ValueError):
        order_by("(SELECT 1) ASC", PASS_SORTS)


def test_the_table_lists_filters_and_searches(
    qtbot: QtBot, office: OfficeContext, db: Database
) -> None:
    tab = make_tab(qtbot, office)
    model = tab.model
    states = {model.row_at(i)["state"] for i in range(model.rowCount())}
    assert states == {"active"}  # "Good now" first
    tab.show_filter.setCurrentIndex(1)  # revoked
    assert office.wait_idle()
    assert [model.row_at(i)["holder"] for i in range(model.rowCount())] == ["刘洋"]
    assert model.data(model.index(0, 7)) == "证件遗失，已补办"
    tab.show_filter.setCurrentIndex(3)
    tab.table.search.setText("3-2-502")
    qtbot.waitUntil(lambda: model.rowCount() == 2)
    serial = good_pass(db, "陈静")["serial"]
    tab.table.search.setText(serial.replace("-", "").lower())
    qtbot.waitUntil(lambda: model.rowCount() == 1 and model.row_at(0)["holder"] == "陈静")
    tab.table.search.setText("王")
    qtbot.waitUntil(lambda: model.rowCount() == 1 and model.row_at(0)["holder"] == "王芳")


def test_issue_for_a_household(qtbot: QtBot, office: OfficeContext, db: Database) -> None:
    newcomer = add_resident(db, building="3", unit="2", room="501", name="张小明")
    tab = make_tab(qtbot, office)
    assert tab.issue_button.isEnabled()
    tab.issue_button.click()
    dialog = tab.dialog
    assert isinstance(dialog, IssueDialog) and dialog.for_household.isChecked()
    dialog.household.setText("9-9-999")
    dialog.ok.click()
    assert not dialog.ok.isEnabled()  # while the household is looked up
    assert office.wait_idle()
    assert dialog.isVisible() and "9-9-999" in dialog.problem.text()
    dialog.household.setText("3-2-501")
    dialog.days.setValue(10)
    dialog.ok.click()
    assert office.wait_idle()
    assert "1 pass(es) issued, 2 resident(s)" in tab.message.text()
    [issued] = search_passes(db, now=office.now(), resident_id=newcomer)
    assert issued["state"] == "active" and tab.last_issued == [issued["serial"]]
    assert tab.model.row_at(0)["serial"] == issued["serial"]  # reloaded, newest first


def test_revoke_with_a_reason_is_refused_at_the_gate(
    qtbot: QtBot, office: OfficeContext, db: Database
) -> None:
    tab = make_tab(qtbot, office)
    row = good_pass(db, "张伟")
    select(qtbot, tab, row["serial"])
    assert tab.revoke_button.isEnabled()
    tab.revoke_button.click()
    dialog = tab.dialog
    assert isinstance(dialog, RevokeDialog)
    dialog.ok.click()  # no reason: refused
    assert dialog.isVisible() and dialog.problem.text() == tr("Give a reason.")
    dialog.reason.setText("卡片被盗")
    dialog.ok.click()
    assert office.wait_idle()
    assert row["serial"] in tab.message.text()
    result = check_token(db, load_keyring(db), row["token"], utcnow())
    assert result.status is TokenStatus.REVOKED and result.detail == "卡片被盗"
    assert tab.select_serial(row["serial"]) and not tab.revoke_button.isEnabled()
    # revoking twice is an error the clerk reads, not a crash
    tab.revoke(row["serial"], "again")
    assert office.wait_idle()
    assert "already revoked" in tab.message.text()


def test_reissue_revokes_the_good_pass_and_issues_a_new_one(
    qtbot: QtBot, office: OfficeContext, db: Database
) -> None:
    tab = make_tab(qtbot, office)
    old = good_pass(db, "王芳")
    select(qtbot, tab, old["serial"])
    tab.reissue_button.click()
    dialog = tab.dialog
    assert isinstance(dialog, IssueDialog) and dialog.reissue
    assert dialog.days.value() == 30  # as long as the pass it replaces
    dialog.ok.click()
    assert office.wait_idle()
    rows = {r["serial"]: r for r in passes_of(db, "王芳")}
    assert rows[old["serial"]]["state"] == "revoked"
    assert rows[old["serial"]]["revoked_reason"] == tr("reissued")
    new = good_pass(db, "王芳")
    assert new["serial"] != old["serial"]
    keyring = load_keyring(db)
    assert check_token(db, keyring, new["token"], utcnow()).status is TokenStatus.VALID
    assert check_token(db, keyring, old["token"], utcnow()).status is TokenStatus.REVOKED


@needs_pdftotext
def test_print_cards_through_qprinter_and_save_as_pdf(
    qtbot: QtBot, office: OfficeContext, db: Database, tmp_path: Path
) -> None:
    tab = make_tab(qtbot, office)
    printed = tmp_path / "printed.pdf"
    seen: list[QPrinter] = []

    def to_pdf(printer: QPrinter, parent: QWidget) -> bool:
        seen.append(printer)
        printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
        printer.setOutputFileName(str(printed))
        return True

    tab.choose_printer = to_pdf
    row = good_pass(db, "李娜")
    select(qtbot, tab, row["serial"])
    tab.print_button.click()
    dialog = tab.dialog
    assert isinstance(dialog, PrintCardsDialog) and dialog.one.isChecked()
    dialog.print_button.click()
    assert office.wait_idle()
    assert seen and printed.exists()
    text = pdf_text(printed)
    assert row["serial"] in text and "李娜" in text
    assert "1 card(s) on 1 page(s)" in tab.message.text()

    saved = tmp_path / "household.pdf"
    tab.choose_pdf = lambda parent: saved
    tab.print_button.click()
    dialog = tab.dialog
    assert isinstance(dialog, PrintCardsDialog)
    dialog.by_household.setChecked(True)
    dialog.household.setText("3-2-501")
    dialog.language.setCurrentIndex(1)  # English on the cards
    dialog.pdf_button.click()
    assert office.wait_idle()
    text = pdf_text(saved)
    for name in ("张伟", "王芳"):
        assert good_pass(db, name)["serial"] in text
    assert "3-2-501" in text and "Resident pass" in text

    # a household with no good pass: said, not crashed
    tab.print_cards("household", "5-1-302")
    assert office.wait_idle()
    tab.save_cards_pdf("household", "5-1-302", tmp_path / "x.pdf")  # 杨磊 has one
    assert office.wait_idle()
    assert (tmp_path / "x.pdf").exists() and "x.pdf" in tab.message.text()
    tab.print_cards("household", "9-9-999")
    assert office.wait_idle()
    assert "9-9-999" in tab.message.text()


def test_no_issuer_key_disables_issuing(qtbot: QtBot, office: OfficeContext, db: Database) -> None:
    office.home.private_key.unlink()
    tab = make_tab(qtbot, office)
    assert not tab.issue_button.isEnabled()
    assert tab.issue_button.toolTip() == no_key_reason()
    select(qtbot, tab, good_pass(db, "张伟")["serial"])
    assert not tab.reissue_button.isEnabled() and tab.revoke_button.isEnabled()


def test_passphrase_protected_key(qtbot: QtBot, office: OfficeContext, db: Database) -> None:
    path = office.home.private_key
    key = load_private_key(path, None)
    path.unlink()
    save_private_key(path, key, "门卫室 2026")
    newcomer = add_resident(db, building="7", unit="1", room="103", name="孙丽")
    tab = make_tab(qtbot, office)
    problems: list[str] = []
    answers = ["wrong", None]

    def ask(parent: QWidget | None, problem: str) -> str | None:
        problems.append(problem)
        return answers.pop(0)

    tab.issuer.ask = ask
    tab.issue({"resident": newcomer}, 30)  # wrong, then cancel: nothing issued
    assert office.wait_idle()
    assert problems[0] == "" and "Wrong passphrase" in problems[1]
    assert "Nothing issued" in tab.message.text()
    assert search_passes(db, now=office.now(), resident_id=newcomer) == []

    problems.clear()
    answers[:] = ["still wrong", "门卫室 2026"]
    tab.issue({"resident": newcomer}, 30)
    assert office.wait_idle()
    assert len(problems) == 2 and "Wrong passphrase" in problems[1]
    [issued] = search_passes(db, now=office.now(), resident_id=newcomer)
    assert issued["state"] == "active"


def test_add_and_lift_holds(qtbot: QtBot, office: OfficeContext, db: Database) -> None:
    tab = HoldsTab(office)
    qtbot.addWidget(tab)
    assert office.wait_idle()
    assert tab.model.rowCount() == 1  # the demo's hold on 5-1-301
    assert tab.model.data(tab.model.index(0, 1)) == "5-1-301"

    tab.add_button.click()
    dialog = tab.dialog
    assert isinstance(dialog, HoldDialog)
    dialog.household.setText("3-2-502")
    dialog.set_until(office.now().date() + timedelta(days=3))
    dialog.ok.click()  # no reason yet
    assert office.wait_idle()
    assert dialog.isVisible() and dialog.problem.isVisibleTo(dialog)
    dialog.reason.setText("同楼栋确诊")
    dialog.ok.click()
    assert office.wait_idle()
    assert tab.model.rowCount() == 2
    [held] = [r for r in list_holds(db, now=utcnow()) if r["reason"] == "同楼栋确诊"]
    assert held["building"] == "3" and held["room"] == "502"

    # one person, picked by name
    tab.add_button.click()
    dialog = tab.dialog
    assert isinstance(dialog, HoldDialog)
    dialog.on_resident.setChecked(True)
    dialog.picker.choose("赵敏")
    assert office.wait_idle()
    assert dialog.picker.resident_id() == resident_id(db, "赵敏")
    dialog.reason.setText("发热待查")
    dialog.ok.click()
    assert office.wait_idle()
    assert tab.model.rowCount() == 3

    # lift, after a confirmation
    questions: list[str] = []
    tab.confirm = lambda parent, question: questions.append(question) or True
    row_number = next(
        i for i in range(tab.model.rowCount()) if tab.model.row_at(i)["reason"] == "同楼栋确诊"
    )
    tab.table.view.selectRow(row_number)
    assert tab.lift_button.isEnabled()
    tab.lift_button.click()
    assert office.wait_idle()
    assert questions and "3-2-502" in questions[0]
    assert tab.model.rowCount() == 2
    tab.show_past.setChecked(True)
    assert office.wait_idle()
    assert tab.model.rowCount() == 3
    lifted = [r for r in search_holds(db, now=utcnow(), include_past=True) if r["lifted_at"]]
    assert [r["reason"] for r in lifted] == ["同楼栋确诊"]
    assert lifted[0]["created_by"] == "test-clerk"


def test_resident_history_shows_passages_passes_and_holds(
    qtbot: QtBot, office: OfficeContext, db: Database
) -> None:
    rid = resident_id(db, "陈静")  # household 5-1-301 is under a hold
    dialog = ResidentHistoryDialog(office, rid)
    qtbot.addWidget(dialog)
    assert office.wait_idle()
    assert dialog.passages.model.rowCount() == 0
    assert dialog.passes.model.rowCount() == 1
    assert dialog.holds.model.rowCount() == 1
    assert "*" in dialog.id_number.text()  # masked
    assert dialog.household.text() == "5-1-301"

    token = good_pass(db, "陈静")["token"]
    with Gate(office.home, guard="老李") as gate:
        gate.handle(Encounter(Source.CAMERA, token, temperature=36.6))
    office.changed("visits")
    assert office.wait_idle()
    model = dialog.passages.model
    assert model.rowCount() == 1
    assert model.data(model.index(0, 5)) == "老李"
    assert model.data(model.index(0, 4)) == "36.6 °C"

    office.set_unmasked(True, reason="test")
    assert office.wait_idle()
    assert "*" not in dialog.id_number.text()

    # a hold on this one person, from their record
    dialog.holds.open_add()
    assert office.wait_idle()
    add = dialog.holds.dialog
    assert isinstance(add, HoldDialog) and add.household.text() == "5-1-301"
    add.on_resident.setChecked(True)
    add.reason.setText("发热待查")
    add.ok.click()
    assert office.wait_idle()
    assert dialog.holds.model.rowCount() == 2
    assert {r["resident_id"] for r in list_holds(db, now=utcnow())} == {None, rid}


def test_closing_the_history_while_its_job_runs(
    qtbot: QtBot, office: OfficeContext, db: Database
) -> None:
    """The dialog may be gone when its revoke reports: the change still reaches the
    other tabs, and nothing is said on a deleted widget."""
    import threading

    import shiboken6
    from PySide6.QtCore import QCoreApplication, QEvent, Qt

    tab = make_tab(qtbot, office)
    row = good_pass(db, "张伟")
    dialog = ResidentHistoryDialog(office, resident_id(db, "张伟"))
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.show()
    gate = threading.Event()
    QueryOp(office.jobs, parent=None, op=lambda _db: gate.wait(5)).run_in_background()
    dialog.passes.revoke(row["serial"], "遗失")
    dialog.close()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    assert not shiboken6.isValid(dialog)
    gate.set()
    assert office.wait_idle()
    office.changed("visits")
    office.set_unmasked(True, reason="test")
    assert office.wait_idle()
    shown = [tab.model.row_at(i)["serial"] for i in range(tab.model.rowCount())]
    assert shown and row["serial"] not in shown  # the Passes tab ("Good now") reloaded
