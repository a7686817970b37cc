"""The office's invitations, in the Visitors tab, by keyboard: the form (the household
searched as at the gate, the day tomorrow by default), the slip with the code's image
saved, and withdrawing the selected invitation."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot
from sqlite_utils import Database

from kiosk.ui.office.context import OfficeContext
from kiosk.ui.office.invite_dialog import InvitationSlip, InviteDialog
from kiosk.ui.office.visitors_tab import VisitorsTab

pytestmark = pytest.mark.gui


def _type_and_enter(qtbot: QtBot, text: str) -> None:
    widget = QApplication.focusWidget()
    assert widget is not None
    if text:
        qtbot.keyClicks(widget, text)
    qtbot.keyClick(widget, Qt.Key.Key_Return)


def test_invite_by_keyboard_then_withdraw(
    qtbot: QtBot, office: OfficeContext, db: Database, tmp_path: Path
) -> None:
    tab = VisitorsTab(office)
    qtbot.addWidget(tab)
    tab.show()
    tab.activateWindow()
    assert office.wait_idle()
    before = tab.model.rowCount()
    tab.invite_button.setFocus()
    qtbot.keyClick(tab.invite_button, Qt.Key.Key_Space)
    dialog = tab.invite_dialog
    assert isinstance(dialog, InviteDialog) and dialog.isVisible()
    tomorrow = date.today() + timedelta(days=1)
    assert dialog.date.date().toPython() == tomorrow
    qtbot.waitUntil(lambda: QApplication.focusWidget() is dialog.edits["name"], timeout=2_000)
    _type_and_enter(qtbot, "Zhao Liu")
    _type_and_enter(qtbot, "138 0013 9999")
    _type_and_enter(qtbot, "")  # no ID number
    qtbot.keyClicks(dialog.edits["destination"], "5-1-3")
    qtbot.waitUntil(lambda: dialog.matches.count() == 2, timeout=5_000)
    qtbot.keyClick(dialog.edits["destination"], Qt.Key.Key_Return)  # the first: 5-1-301
    assert dialog.edits["destination"].text() == "5-1-301"
    assert QApplication.focusWidget() is dialog.date
    _type_and_enter(qtbot, "")  # tomorrow
    with qtbot.waitSignal(dialog.accepted, timeout=5_000):
        _type_and_enter(qtbot, "doctor")
    qtbot.waitUntil(lambda: tab.slip is not None and tab.slip.isVisible(), timeout=10_000)
    slip = tab.slip
    assert isinstance(slip, InvitationSlip)
    assert "Visiting: 5-1-301" in slip.details.text() and "Z*" in slip.details.text()
    saved = slip.save_image(tmp_path / "code.png")
    assert saved is not None and saved.read_bytes().startswith(b"\x89PNG")
    slip.accept()

    row = next(db.query("SELECT * FROM visitors WHERE invited_for IS NOT NULL"))
    assert row["invited_for"] == tomorrow.isoformat() and row["phone"] == "13800139999"
    assert office.wait_idle()
    assert tab.model.rowCount() == before + 1
    index = next(i for i in range(tab.model.rowCount()) if tab.model.row_at(i)["id"] == row["id"])
    assert tab.model.index(index, tab.model.columnCount() - 1).data() == tomorrow.isoformat()
    assert not tab.withdraw_button.isEnabled()
    tab.table.view.selectRow(index)
    assert tab.withdraw_button.isEnabled()
    asked: list[str] = []
    tab.confirm = lambda _parent, question: asked.append(question) or True
    tab.withdraw_button.setFocus()
    qtbot.keyClick(tab.withdraw_button, Qt.Key.Key_Space)
    assert asked and "Zhao Liu" in asked[0]
    assert office.wait_idle()
    code = next(db.query("SELECT status FROM passes WHERE visitor_id = ?", [row["id"]]))
    assert code["status"] == "revoked"
    assert "withdrawn" in tab.message.text()
    assert not tab.withdraw_button.isEnabled()  # the list reloaded: nothing to withdraw
    shown = next(i for i in range(tab.model.rowCount()) if tab.model.row_at(i)["id"] == row["id"])
    assert "(withdrawn)" in tab.model.index(shown, tab.model.columnCount() - 1).data()


def test_a_past_day_cannot_be_chosen_and_problems_are_shown(
    qtbot: QtBot, office: OfficeContext
) -> None:
    dialog = InviteDialog(office)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.date.minimumDate().toPython() == date.today()
    dialog.submit()
    assert office.wait_idle()
    assert dialog.result() != dialog.DialogCode.Accepted
    assert dialog.problems["name"].text() and dialog.problems["destination"].text()
