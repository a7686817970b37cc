"""The office's Records tab (visit log export, daily report, retention) and the office
window itself (tabs, unmasking behind the PIN, closing cleanly)."""

from __future__ import annotations

import csv
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QDate
from pytestqt.qtbot import QtBot
from sqlite_utils import Database

from kiosk.core.rules import DirectionMode, Encounter, Source
from kiosk.demo import DEMO_PIN, Demo
from kiosk.gate import Gate
from kiosk.settings import Settings
from kiosk.ui.dialogs.common import open_dialog
from kiosk.ui.dialogs.pin import PinDialog
from kiosk.ui.office import files
from kiosk.ui.office.context import OfficeContext
from kiosk.ui.office.records_tab import RecordsTab
from tests.helpers import raw_connect
from tests.sqlcipher_pages import plaintext
from tests.test_retention_export import SECRET_ID, visitor_visit


def _resident_id_number(db: Database, name: str) -> str:
    row = db.execute("SELECT id_number FROM residents WHERE name = ?", [name]).fetchone()
    return str(row[0])


def _pass_the_gate(demo: Demo) -> None:
    with Gate(demo.home, mode=DirectionMode.IN) as gate:
        gate.handle(Encounter(Source.CAMERA, demo.tokens["valid"]))


def _save_to(monkeypatch: pytest.MonkeyPatch, path: Path) -> list[str]:
    asked: list[str] = []

    def ask(parent: object, title: str, suggested: str, filters: str) -> Path:
        asked.append(suggested)
        return path

    monkeypatch.setattr(files, "ask_save_path", ask)
    return asked


def _audit(db: Database) -> list[str]:
    return [r[0] for r in db.execute("SELECT action FROM audit ORDER BY at")]


def test_export_is_masked_unless_unmasked_and_audited(
    qtbot: QtBot,
    office: OfficeContext,
    db: Database,
    demo: Demo,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _pass_the_gate(demo)
    full = _resident_id_number(db, "张伟")
    tab = RecordsTab(office)
    qtbot.addWidget(tab)
    assert "masked" in tab.export_masking.text()

    masked = tmp_path / "masked.csv"
    asked = _save_to(monkeypatch, masked)
    tab.export_format.setCurrentIndex(tab.export_format.findData("csv"))
    tab.export_button.click()
    qtbot.waitUntil(lambda: "Wrote 1 visit" in tab.export_status.text())
    assert asked[0].endswith(".csv")
    with masked.open(encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    assert len(rows) == 2 and "张伟" in rows[1]
    assert full not in masked.read_text(encoding="utf-8-sig")
    assert "visits.export.unmasked" not in _audit(db)

    office.set_unmasked(True, reason="test")
    assert "IN FULL" in tab.export_masking.text()
    unmasked = tmp_path / "full"  # the suffix is added
    _save_to(monkeypatch, unmasked)
    tab.export_button.click()
    qtbot.waitUntil(lambda: "full.csv" in tab.export_status.text())
    assert full in (tmp_path / "full.csv").read_text(encoding="utf-8-sig")
    office.wait_idle()
    actions = _audit(db)
    assert "office.unmask" in actions and "visits.export.unmasked" in actions


def test_export_refuses_an_empty_range_and_reports_an_unwritable_file(
    qtbot: QtBot, office: OfficeContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tab = RecordsTab(office)
    qtbot.addWidget(tab)
    tab.export_to.setDateTime(tab.export_from.dateTime().addSecs(-60))
    tab.export_button.click()
    assert "after" in tab.export_status.text()

    tab.export_to.setDateTime(tab.export_from.dateTime().addDays(1))
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    _save_to(monkeypatch, blocker / "visits.xlsx")  # a folder that is a file
    tab.export_button.click()
    qtbot.waitUntil(lambda: tab.export_button.isEnabled() and tab.export_status.text() != "")
    qtbot.waitUntil(lambda: bool(tab.export_status.property("problem")))


def test_daily_report_pdf(
    qtbot: QtBot, office: OfficeContext, demo: Demo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _pass_the_gate(demo)
    tab = RecordsTab(office)
    qtbot.addWidget(tab)
    out = tmp_path / "report.pdf"
    _save_to(monkeypatch, out)
    tab.report_lang.setCurrentIndex(tab.report_lang.findData("en"))
    tab.report_date.setDate(QDate.currentDate())
    tab.report_button.click()
    qtbot.waitUntil(lambda: "report.pdf" in tab.report_status.text())
    text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True).stdout
    assert "Gatepass" in text or "Passed in" in text or "passages" in text.lower()


def test_purge_by_hand_deletes_old_records(qtbot: QtBot, office: OfficeContext, demo: Demo) -> None:
    visitor_visit(demo.home.root, datetime.now(UTC) - timedelta(days=40))
    tab = RecordsTab(office)
    qtbot.addWidget(tab)
    asked: list[int] = []
    tab.confirm_purge = lambda days: asked.append(days) or False
    tab.purge_button.click()
    office.wait_idle()
    assert asked == [28]
    with raw_connect(demo.home.database) as conn:
        assert conn.execute("SELECT COUNT(*) FROM visits").fetchone()[0] == 1  # not yet

    tab.confirm_purge = lambda days: True
    tab.purge_button.click()
    qtbot.waitUntil(lambda: "Deleted 1 visit(s) and 1 visitor(s)" in tab.retention_text.text())
    with raw_connect(demo.home.database) as conn:
        assert conn.execute("SELECT COUNT(*) FROM visits").fetchone()[0] == 0
    assert SECRET_ID.encode() not in plaintext(demo.home.root)  # not even in free pages


def test_office_window_unmasks_only_with_the_pin_and_closes_cleanly(
    qtbot: QtBot, demo: Demo
) -> None:
    from kiosk.ui.office.window import OfficeWindow

    window = OfficeWindow(demo.home, Settings.load(demo.home.settings_file))
    qtbot.addWidget(window)
    window.resize(1366, 768)
    window.show()
    assert window.tabs.count() == 8

    window.unmask_button.click()
    dialog = open_dialog("pin")
    assert isinstance(dialog, PinDialog)
    qtbot.waitUntil(lambda: not dialog.waiting)  # the lock, read from disk
    assert not window.ctx.unmasked and not window.unmask_button.isChecked()
    for key in "0000":
        dialog.press(key)
    dialog.press("OK")  # wrong: stays masked
    qtbot.waitUntil(lambda: not dialog.waiting)  # checked on the office's worker
    assert not window.ctx.unmasked
    for key in DEMO_PIN:
        dialog.press(key)
    dialog.press("OK")
    qtbot.waitUntil(lambda: window.ctx.unmasked)
    assert window.unmask_button.isChecked()

    window.unmask_button.click()  # off again: no PIN needed
    assert not window.ctx.unmasked
    window.close()
    assert window.ctx.jobs.busy is False


@pytest.mark.parametrize("command", ["run", "office"])
def test_windows_need_a_checkpoint(tmp_path: Path, command: str) -> None:
    from tests.helpers import run

    result = run(tmp_path / "nowhere", command, ok=False)
    assert result.exit_code == 2
    assert "kiosk init" in result.output


def test_office_from_the_gate_settings_opens_beside_the_running_gate(
    qtbot: QtBot, make_window: Any
) -> None:
    from kiosk.ui.dialogs import admin
    from kiosk.ui.dialogs.settings_dialog import SettingsDialog
    from kiosk.ui.office.window import OfficeWindow

    gate = make_window()
    admin.show_dialog(gate)
    pin = open_dialog("pin")
    assert isinstance(pin, PinDialog)
    qtbot.waitUntil(lambda: not pin.waiting)  # the lock, read from disk
    for key in DEMO_PIN:
        pin.press(key)
    pin.press("OK")
    qtbot.waitUntil(lambda: open_dialog("settings") is not None)  # PIN checked off the UI
    settings = open_dialog("settings")
    assert isinstance(settings, SettingsDialog)
    settings.office_button.click()
    qtbot.waitUntil(lambda: isinstance(getattr(gate, "office", None), OfficeWindow))
    office = gate.office
    assert office.isVisible() and gate.isVisible()
    qtbot.addWidget(office)
    admin.open_office(gate)  # again: the same window, raised
    assert gate.office is office
    gate.close()  # closing the gate closes its office too
    assert gate.office is None and not office.isVisible()
