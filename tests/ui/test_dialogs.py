"""The kiosk's dialogs, driven by keyboard as a guard would (offscreen)."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QLineEdit,
    QWidget,
)
from pytestqt.qtbot import QtBot

from kiosk.core.identity import make_id_number
from kiosk.core.pin import pin_problem
from kiosk.core.rules import DirectionMode, Encounter, ManualReason, Source
from kiosk.demo import DEMO_PIN
from kiosk.gate import Decision, Gate
from kiosk.home import Home
from kiosk.settings import Settings
from kiosk.store.db import connect
from kiosk.ui.dialogs import (
    ManualPassDialog,
    ManualResult,
    PinAttempts,
    PinDialog,
    SettingsDialog,
    ShiftSummaryDialog,
    SignInDialog,
)
from kiosk.ui.dialogs.common import open_dialog
from kiosk.ui.dialogs.registration import (
    RegistrationDialog,
    RegistrationResult,
    VisitorCodeDialog,
    parse_temperature,
)
from kiosk.ui.main_window import MainWindow
from kiosk.ui.ops import DbWorker
from tests.fakes import FakeCamera, FakeClock
from tests.helpers import make_checkpoint, run
from tests.ui.conftest import ReaderFactory, WindowFactory

pytestmark = pytest.mark.gui

ID_OK = make_id_number("110101", datetime(1990, 5, 17).date(), 123)


@pytest.fixture
def home(home_dir: Path) -> Home:
    make_checkpoint(home_dir)
    return Home(home_dir)


@pytest.fixture
def settings(home: Home) -> Settings:
    return Settings.load(home.settings_file)


@pytest.fixture
def reader(make_reader: ReaderFactory, home: Home) -> DbWorker:
    """The reader the window gives its dialogs (kiosk.ui.ops), on this checkpoint."""
    return make_reader(home.database)


def audit_rows(home: Home, action: str | None) -> list[dict[str, Any]]:
    """The audit log's rows (of ``action``; None: all), details decoded."""
    db = connect(home.database)
    try:
        rows = db.execute("SELECT actor, action, detail FROM audit ORDER BY id").fetchall()
    finally:
        db.close()
    return [
        {"actor": a, "action": act, "detail": json.loads(d)}
        for a, act, d in rows
        if action is None or act == action
    ]


def type_text(widget: QWidget, text: str) -> None:
    """Key presses carrying ``text`` (QTest's keyClicks takes ASCII only)."""
    for char in text:
        for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            QApplication.sendEvent(
                widget, QKeyEvent(kind, Qt.Key.Key_unknown, Qt.KeyboardModifier.NoModifier, char)
            )


def type_and_enter(qtbot: QtBot, widget: QWidget, text: str) -> None:
    if text:
        qtbot.keyClicks(widget, text)
    qtbot.keyClick(widget, Qt.Key.Key_Return)


def fill(qtbot: QtBot, dialog: RegistrationDialog, values: list[str]) -> None:
    """Type each value into the focused field and press Enter, as a guard would."""
    for value in values:
        focused = dialog.focusWidget()
        assert focused is not None
        type_and_enter(qtbot, focused, value)


def open_registration(
    qtbot: QtBot, reader: DbWorker, settings: Settings, prefill: dict[str, str] | None = None
) -> RegistrationDialog:
    dialog = RegistrationDialog(reader, settings, prefill)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog.activateWindow()
    return dialog


# -- registration -----------------------------------------------------------------------


def test_registration_by_keyboard_only(
    qtbot: QtBot, home: Home, reader: DbWorker, settings: Settings
) -> None:
    dialog = open_registration(qtbot, reader, settings)
    with qtbot.waitSignal(dialog.accepted, timeout=2000):
        fill(
            qtbot,
            dialog,
            ["Zhang San", "138 0013 9999", ID_OK, "3-2-501", "delivery", "Beijing", "jing a12345"],
        )
        fill(qtbot, dialog, ["36.6"])
    result = dialog.result_value
    assert isinstance(result, RegistrationResult)
    assert result.temperature == pytest.approx(36.6)
    assert result.visitor_id is None
    assert result.visitor.name == "Zhang San"
    assert result.visitor.phone == "13800139999"
    assert result.visitor.id_number == ID_OK
    assert result.visitor.plate == "JING A12345"
    with connect(home.database) as db:
        household = db.execute(
            "SELECT id FROM households WHERE building='3' AND unit='2' AND room='501'"
        ).fetchone()
    assert result.visitor.household_id == household[0]


def test_registration_refuses_bad_phone_and_id(
    qtbot: QtBot, reader: DbWorker, settings: Settings
) -> None:
    dialog = open_registration(qtbot, reader, settings)
    fill(qtbot, dialog, ["Li Si", "12345", "110101199005171230", "9-9-999", "", "", "", "36.5"])
    reader.wait_idle()  # the form is checked on the reader
    assert dialog.result_value is None
    assert dialog.isVisible()
    assert "mobile" in dialog.problems["phone"].text()
    assert "ID number" in dialog.problems["id_number"].text()
    assert "No household" in dialog.problems["destination"].text()
    assert not dialog.problems["name"].isVisible()
    assert dialog.focusWidget() is dialog.edits["phone"]


def test_registration_id_required_setting(
    qtbot: QtBot, reader: DbWorker, settings: Settings
) -> None:
    settings, _ = settings.updated({"visitor_id_required": True})
    dialog = open_registration(qtbot, reader, settings)
    fill(qtbot, dialog, ["Li Si", "13800139999", "", "3-2-502", "", "", "", "36.5"])
    reader.wait_idle()
    assert dialog.result_value is None
    assert "required" in dialog.problems["id_number"].text()


def test_registration_temperature(qtbot: QtBot, reader: DbWorker, settings: Settings) -> None:
    dialog = open_registration(qtbot, reader, settings)
    fill(qtbot, dialog, ["Li Si", "13800139999", "", "3-2-502", "", "", ""])
    temperature = dialog.edits["temperature"]
    assert dialog.focusWidget() is temperature
    type_and_enter(qtbot, temperature, "33")
    reader.wait_idle()
    assert "Measure again" in dialog.problems["temperature"].text()
    assert dialog.result_value is None
    temperature.clear()
    qtbot.keyClicks(temperature, "38,2")
    assert "Fever" in dialog.problems["temperature"].text()  # warned while typing
    with qtbot.waitSignal(dialog.accepted, timeout=2000):
        qtbot.keyClick(temperature, Qt.Key.Key_Return)
    assert dialog.result_value is not None
    assert dialog.result_value.temperature == pytest.approx(38.2)


def test_scan_during_registration_types_nothing(
    qtbot: QtBot, reader: DbWorker, settings: Settings
) -> None:
    from kiosk.ui.scanner import ScannerFilter

    scanner = ScannerFilter(clock=FakeClock(step=0.002).monotonic)
    scanner.install()
    try:
        dialog = open_registration(qtbot, reader, settings)
        with qtbot.waitSignal(scanner.scanned, timeout=2000) as scanned:
            type_and_enter(qtbot, dialog.edits["name"], "GP1:ABCDEFGHIJKL")
        assert scanned.args == ["GP1:ABCDEFGHIJKL"]
        assert dialog.edits["name"].text() == ""
        assert dialog.focusWidget() is dialog.edits["name"]  # Enter was the scanner's
    finally:
        scanner.uninstall()


def test_registration_escape_cancels(qtbot: QtBot, reader: DbWorker, settings: Settings) -> None:
    dialog = open_registration(qtbot, reader, settings)
    with qtbot.waitSignal(dialog.rejected, timeout=2000):
        qtbot.keyClick(dialog.edits["name"], Qt.Key.Key_Escape)
    assert dialog.result_value is None


def test_destination_search_by_label_and_name(
    qtbot: QtBot, home: Home, reader: DbWorker, settings: Settings
) -> None:
    from kiosk.store.register import search_households

    with connect(home.database) as db:
        by_label = search_households(db, "3-2-501")
        by_name = search_households(db, "居民1")
        by_prefix = search_households(db, "3-2")
        chinese = search_households(db, "3号楼2单元502室")
        nothing = search_households(db, "%")
    assert [h["label"] for h in by_label] == ["3-2-501"]
    assert sorted(by_label[0]["names"]) == ["居民0", "居民2"]
    assert [h["label"] for h in by_name] == ["3-2-502"]
    assert [h["label"] for h in by_prefix] == ["3-2-501", "3-2-502"]
    assert [h["label"] for h in chinese] == ["3-2-502"]
    assert nothing == []

    dialog = open_registration(qtbot, reader, settings)
    fill(qtbot, dialog, ["Wang Wu", "13800139999", ""])
    destination = dialog.edits["destination"]
    type_text(destination, "居民1")
    reader.wait_idle()  # the matches come from the reader
    assert dialog.matches.count() == 1
    assert dialog.matches.item(0).text().startswith("3-2-502")
    qtbot.keyClick(destination, Qt.Key.Key_Return)  # takes the highlighted match
    assert destination.text() == "3-2-502"
    assert dialog.focusWidget() is dialog.edits["reason"]
    destination.clear()
    qtbot.keyClicks(destination, "3-2")
    reader.wait_idle()
    assert dialog.matches.count() == 2
    qtbot.keyClick(destination, Qt.Key.Key_Down)
    qtbot.keyClick(destination, Qt.Key.Key_Return)
    assert destination.text() == "3-2-502"


def test_returning_visitor_prefilled_read_only(
    qtbot: QtBot, reader: DbWorker, settings: Settings
) -> None:
    prefill = {
        "visitor_id": "v-1",
        "name": "Zhao Liu",
        "phone": "13800139999",
        "id_number": ID_OK,
        "destination_household_id": "",
        "destination": "3-2-501",
        "reason": "family",
    }
    dialog = open_registration(qtbot, reader, settings, prefill)
    assert dialog.edits["name"].isReadOnly()
    assert dialog.edits["phone"].text() == "138****9999"
    assert dialog.focusWidget() is dialog.edits["temperature"]
    with qtbot.waitSignal(dialog.accepted, timeout=2000):
        type_and_enter(qtbot, dialog.edits["temperature"], "36.4")
    assert dialog.result_value is not None
    assert dialog.result_value.visitor_id == "v-1"
    assert dialog.result_value.visitor.id_number == ID_OK


def test_returning_visitor_recognised_by_phone_typed(
    qtbot: QtBot, home: Home, reader: DbWorker, settings: Settings
) -> None:
    """Keyboard only: a known visitor's mobile number and Enter fill in the rest
    (read-only, masked) and go to the temperature; an unknown number goes on."""
    registered = run(
        home.root,
        "visitors",
        "register",
        "--name",
        "Zhao Liu",
        "--phone",
        "13800139999",
        "--id-number",
        ID_OK,
        "--destination",
        "3-2-502",
        "--temperature",
        "36.5",
        "--json",
    )
    visitor_id = json.loads(registered.stdout)["visitor_id"]
    dialog = open_registration(qtbot, reader, settings)
    qtbot.keyClick(dialog.edits["name"], Qt.Key.Key_Tab)
    type_and_enter(qtbot, dialog.edits["phone"], "13900000000")  # unknown: on to the ID
    assert dialog.focusWidget() is dialog.edits["id_number"]
    assert not dialog.edits["name"].isReadOnly()
    dialog.edits["phone"].setFocus()
    dialog.edits["phone"].clear()
    type_and_enter(qtbot, dialog.edits["phone"], "138 0013 9999")
    reader.wait_idle()  # recognised on the reader
    assert dialog.edits["name"].text() == "Zhao Liu"
    assert dialog.edits["name"].isReadOnly()
    assert dialog.edits["destination"].text() == "3-2-502"
    assert dialog.edits["id_number"].text() != ID_OK  # masked
    assert dialog.focusWidget() is dialog.edits["temperature"]
    with qtbot.waitSignal(dialog.accepted, timeout=2000):
        type_and_enter(qtbot, dialog.edits["temperature"], "36.4")
    assert dialog.result_value is not None
    assert dialog.result_value.visitor_id == visitor_id
    assert dialog.result_value.visitor.id_number == ID_OK


def test_dialogs_in_chinese(qtbot: QtBot, reader: DbWorker, settings: Settings) -> None:
    from kiosk.core import i18n

    i18n.set_language("zh_CN")
    registration = open_registration(qtbot, reader, settings)
    assert registration.windowTitle() == "访客登记"
    type_and_enter(qtbot, registration.edits["temperature"], "30")
    reader.wait_idle()
    assert "请重新测量" in registration.problems["temperature"].text()
    pin = PinDialog(reader, attempts=PinAttempts(FakeClock().monotonic))
    qtbot.addWidget(pin)
    reader.wait_idle()
    summary = ShiftSummaryDialog({"guard": "李", "since": datetime.now(UTC), "fevers": 1})
    qtbot.addWidget(summary)
    assert summary.values["fevers"].text() == "1"
    dialog = SettingsDialog(settings)
    qtbot.addWidget(dialog)
    assert "太容易猜到" in (pin_problem("1111") or "")  # a refused PIN, said in Chinese


def test_parse_temperature() -> None:
    assert parse_temperature(" 36,5 ") == 36.5
    assert parse_temperature("37.1°C") == 37.1
    assert parse_temperature("abc") is None
    assert parse_temperature("nan") is None


def test_visitor_code_dialog(qtbot: QtBot, tmp_path: Path) -> None:
    import cv2
    import zxingcpp
    from PySide6.QtPrintSupport import QPrinter

    token = "GP1:" + "ABCDEFGH234567" * 9 + "ABCDEF"
    dialog = VisitorCodeDialog(
        token,
        "2026-03-04 18:00",
        name="Zhou Min",
        destination="3-2-501",
        issued_text="2026-03-03 18:00",
    )
    qtbot.addWidget(dialog)
    assert dialog.details.text().splitlines() == [
        "Visitor: Z** M**",
        "Visiting: 3-2-501",
        "Registered: 2026-03-03 18:00",
    ]
    dialog.show()
    pixmap = dialog.image.pixmap()
    assert pixmap.width() >= 400
    assert pixmap.save(str(tmp_path / "code.png"))
    found = zxingcpp.read_barcodes(cv2.imread(str(tmp_path / "code.png")))
    assert [b.text for b in found] == [token]
    assert "2026-03-04 18:00" in dialog.until.text()
    printer = QPrinter()
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setOutputFileName(str(tmp_path / "code.pdf"))
    assert dialog.print_code(printer)
    assert (tmp_path / "code.pdf").stat().st_size > 1000
    if shutil.which("pdftotext"):  # the printed slip carries the same words
        printed = subprocess.run(
            ["pdftotext", str(tmp_path / "code.pdf"), "-"], capture_output=True, text=True
        ).stdout
        assert "Z** M**" in printed and "3-2-501" in printed and "2026-03-04 18:00" in printed
    with qtbot.waitSignal(dialog.accepted, timeout=2000):
        qtbot.keyClick(dialog.close_button, Qt.Key.Key_Return)


# -- PIN --------------------------------------------------------------------------------


def open_pin(qtbot: QtBot, reader: DbWorker) -> PinDialog:
    """The PIN dialog on the checkpoint's reader, its first answer (the lock, whether a
    PIN is set) in."""
    dialog = PinDialog(reader)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: not dialog.waiting)
    return dialog


def test_pin_right_by_keypad(qtbot: QtBot, reader: DbWorker) -> None:
    dialog = open_pin(qtbot, reader)
    with qtbot.waitSignal(dialog.accepted, timeout=5000):
        for key in ("2", "5", "8", "9", "⌫", "0", "OK"):
            qtbot.mouseClick(dialog.keys[key], Qt.MouseButton.LeftButton)


def test_pin_by_keyboard(qtbot: QtBot, reader: DbWorker) -> None:
    dialog = open_pin(qtbot, reader)
    with qtbot.waitSignal(dialog.accepted, timeout=5000):
        qtbot.keyClicks(dialog, "2580")
        qtbot.keyClick(dialog, Qt.Key.Key_Return)


def test_the_pin_is_checked_off_the_ui_thread(qtbot: QtBot, reader: DbWorker) -> None:
    """scrypt runs on the reader's thread (kiosk.store.pin_lock.check_pin), not in the
    UI thread (the ui_thread_db guard would fail any database use there)."""
    import threading

    import kiosk.store.pin_lock as pin_lock

    threads: list[str] = []
    real = pin_lock.verify_pin

    def watched(pin: str, stored: str) -> bool:
        threads.append(threading.current_thread().name)
        return real(pin, stored)

    pin_lock.verify_pin = watched  # type: ignore[assignment]
    try:
        dialog = open_pin(qtbot, reader)
        with qtbot.waitSignal(dialog.accepted, timeout=5000):
            qtbot.keyClicks(dialog, "2580")
            qtbot.keyClick(dialog, Qt.Key.Key_Return)
    finally:
        pin_lock.verify_pin = real
    assert threads and threading.main_thread().name not in threads


def test_no_pin_set_opens_nothing_and_says_how_to_set_one(
    qtbot: QtBot, reader: DbWorker, home: Home
) -> None:
    """A checkpoint made before init asked for a PIN: 1234 is no longer a way in."""
    from kiosk.store.checkpoint import get_meta, set_meta
    from kiosk.store.pin_lock import FAILURES, PIN_HASH

    db = connect(home.database)
    try:
        set_meta(db, PIN_HASH, "")
        dialog = open_pin(qtbot, reader)
        assert "kiosk pin set" in dialog.message.text() and dialog.message.isVisible()
        accepted: list[bool] = []
        dialog.accepted.connect(lambda: accepted.append(True))
        qtbot.keyClicks(dialog, "1234")
        qtbot.keyClick(dialog, Qt.Key.Key_Return)
        reader.wait_idle()
        assert accepted == [] and dialog.digits == ""
        assert get_meta(db, FAILURES) is None  # nothing could match: not a wrong try
    finally:
        db.close()


def test_pin_wrong_then_locked(qtbot: QtBot, reader: DbWorker) -> None:
    dialog = open_pin(qtbot, reader)
    rejected: list[bool] = []
    dialog.accepted.connect(lambda: rejected.append(False))
    qtbot.keyClicks(dialog, "1111")
    qtbot.keyClick(dialog, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not dialog.waiting)
    assert dialog.digits == ""
    assert "Wrong PIN" in dialog.message.text()
    for _ in range(4):
        qtbot.keyClicks(dialog, "1111")
        qtbot.keyClick(dialog, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: not dialog.waiting)
    assert "Locked for 60 s" in dialog.message.text()
    assert not dialog.keys["5"].isEnabled()
    qtbot.keyClicks(dialog, "2580")  # ignored while locked, even the right PIN
    qtbot.keyClick(dialog, Qt.Key.Key_Return)
    assert rejected == [] and dialog.digits == ""
    # A new dialog shares the lock (on disk).
    again = open_pin(qtbot, reader)
    assert not again.keys["OK"].isEnabled()


def test_pin_lock_is_on_disk_and_a_restarted_window_shows_it(
    qtbot: QtBot, make_reader: ReaderFactory, home: Home, settings: Settings
) -> None:
    from kiosk.store.checkpoint import get_meta, set_meta
    from kiosk.store.pin_lock import LOCKED_UNTIL
    from tests.helpers import TEST_PIN

    def open_stored(worker: DbWorker) -> PinDialog:
        dialog = PinDialog(worker, actor="window:Li")
        qtbot.addWidget(dialog)
        dialog.show()
        return dialog

    first = make_reader(home.database)
    dialog = open_stored(first)
    for _ in range(5):  # each wrong PIN is counted on disk by the worker
        qtbot.keyClicks(dialog, "1111")
        qtbot.keyClick(dialog, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: not dialog.waiting)
    assert "Locked for 60 s" in dialog.message.text()
    assert not dialog.keys["5"].isEnabled()
    assert [row["detail"]["via"] for row in audit_rows(home, "pin.lock")] == ["window"]
    assert [row["actor"] for row in audit_rows(home, "pin.lock")] == ["window:Li"]
    dialog.close()
    first.close()
    # "Restart": a new worker (a new connection) and a new dialog, no memory shared
    again = open_stored(make_reader(home.database))
    qtbot.waitUntil(lambda: not again.waiting)
    assert "Too many wrong PINs" in again.message.text()
    assert not again.keys["OK"].isEnabled()
    accepted: list[bool] = []
    again.accepted.connect(lambda: accepted.append(True))
    qtbot.keyClicks(again, TEST_PIN)  # ignored while locked, even the right PIN
    qtbot.keyClick(again, Qt.Key.Key_Return)
    assert accepted == []
    # The lock has ended (as LOCK_S later): the right PIN opens and clears the count
    db = connect(home.database)
    try:
        set_meta(db, LOCKED_UNTIL, "2000-01-01T00:00:00.000000+00:00")
        later = open_stored(make_reader(home.database))
        with qtbot.waitSignal(later.accepted, timeout=2000):  # OK waits for the lock read
            qtbot.keyClicks(later, TEST_PIN)
            qtbot.keyClick(later, Qt.Key.Key_Return)
        assert later.worker is not None
        later.worker.wait_idle()
        assert get_meta(db, LOCKED_UNTIL) is None
    finally:
        db.close()


def test_pin_escape_cancels(qtbot: QtBot, reader: DbWorker) -> None:
    dialog = open_pin(qtbot, reader)
    with qtbot.waitSignal(dialog.rejected, timeout=2000):
        qtbot.keyClick(dialog, Qt.Key.Key_Escape)


# -- shift ------------------------------------------------------------------------------


def test_sign_in(qtbot: QtBot) -> None:
    dialog = SignInDialog(["Wang", "Li", "Wang"])
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.names.count() == 2
    qtbot.keyClick(dialog.names.lineEdit(), Qt.Key.Key_Return)
    assert dialog.guard_name is None
    assert "missing" in dialog.problem.text()
    with qtbot.waitSignal(dialog.accepted, timeout=2000):
        line = dialog.names.lineEdit()
        assert line is not None
        type_and_enter(qtbot, line, "  Zhao   Min ")
    assert dialog.guard_name == "Zhao Min"


def test_shift_summary_of_real_visits(qtbot: QtBot, home: Home) -> None:
    from kiosk.core.rules import Source
    from kiosk.store.stats import shift_summary

    since = datetime.now(UTC) - timedelta(seconds=1)
    base = ["visitors", "register", "--phone", "13800139999", "--destination", "3-2-501"]
    run(home.root, *base, "--name", "A", "--temperature", "36.5", "--guard", "Li")
    run(home.root, *base, "--name", "B", "--temperature", "38.5", "--guard", "Li", ok=False)
    run(home.root, *base, "--name", "C", "--temperature", "36.5", "--guard", "Wang")
    with Gate(home, guard="Li") as gate:
        gate.handle(Encounter(Source.CAMERA, "not a pass"))
    db = connect(home.database)
    try:
        summary = shift_summary(db, "Li", since)
        later = shift_summary(db, "Li", datetime.now(UTC) + timedelta(minutes=1))
    finally:
        db.close()
    assert summary["visitors_registered"] == 2
    assert summary["passes_in"] == 1
    assert summary["fevers"] == 1
    assert summary["denials"] == 1
    assert summary["checks"] == 1  # not a pass: the guard looks
    assert summary["total"] == 3
    assert later["total"] == 0

    dialog = ShiftSummaryDialog(summary)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.values["fevers"].text() == "1"
    assert dialog.values["passes_in"].text() == "1"
    with qtbot.waitSignal(dialog.accepted, timeout=2000):
        qtbot.keyClick(dialog, Qt.Key.Key_Return)


# -- manual pass ------------------------------------------------------------------------


def test_manual_pass(qtbot: QtBot, home: Home, reader: DbWorker) -> None:
    from kiosk.store.register import search_residents

    db = connect(home.database)
    try:
        found = search_residents(db, "3-2-501")
        by_name = search_residents(db, "居民1")
    finally:
        db.close()
    assert [r["name"] for r in found] == ["居民0", "居民2"]
    assert found[0]["id_masked"].startswith("1101****")
    assert [r["household"] for r in by_name] == ["3-2-502"]

    dialog = ManualPassDialog(reader)
    qtbot.addWidget(dialog)
    dialog.show()
    type_and_enter(qtbot, dialog.search, "3-2-502")
    reader.wait_idle()  # the search runs on the reader
    assert dialog.results.count() == 1
    assert dialog.focusWidget() is dialog.results  # highlighted, not yet picked
    qtbot.keyClick(dialog.results, Qt.Key.Key_Return)
    assert dialog.focusWidget() is dialog.reasons
    assert dialog.result_value is None
    qtbot.keyClick(dialog.reasons, Qt.Key.Key_4)  # other: in words
    assert dialog.focusWidget() is dialog.note
    qtbot.keyClick(dialog.note, Qt.Key.Key_Return)  # no words: refused
    assert dialog.result_value is None
    assert "reason" in dialog.note_problem.text()
    with qtbot.waitSignal(dialog.accepted, timeout=2000):
        type_and_enter(qtbot, dialog.note, "left pass at home")
    assert dialog.result_value == ManualResult(by_name[0]["id"], "left pass at home")


def test_manual_pass_picks_the_person_not_the_first(
    qtbot: QtBot, home: Home, reader: DbWorker
) -> None:
    """Typing the room and pressing Enter never lets the household's first resident
    through: the guard picks the person (Down, Enter) and the reason (a key)."""
    from kiosk.store.register import search_residents

    db = connect(home.database)
    try:
        found = search_residents(db, "3-2-501")
    finally:
        db.close()
    assert len(found) == 2
    dialog = ManualPassDialog(reader)
    qtbot.addWidget(dialog)
    dialog.show()
    type_and_enter(qtbot, dialog.search, "3-2-501")
    reader.wait_idle()  # the search runs on the reader
    qtbot.keyClick(dialog.results, Qt.Key.Key_Return)  # the first, picked on purpose...
    assert dialog.result_value is None  # ...is not yet let through: a reason first
    qtbot.keyClick(dialog.reasons, Qt.Key.Key_Escape)
    dialog = ManualPassDialog(reader)
    qtbot.addWidget(dialog)
    dialog.show()
    type_and_enter(qtbot, dialog.search, "3-2-501")
    reader.wait_idle()  # the search runs on the reader
    assert found[0]["id_masked"] in dialog.results.item(0).text()  # masked ID shown
    qtbot.keyClick(dialog.results, Qt.Key.Key_Down)
    qtbot.keyClick(dialog.results, Qt.Key.Key_Return)
    with qtbot.waitSignal(dialog.accepted, timeout=2000):
        qtbot.keyClick(dialog.reasons, Qt.Key.Key_2)
    assert dialog.result_value == ManualResult(found[1]["id"], ManualReason.PHONE_DEAD.value)


def test_manual_pass_nobody(qtbot: QtBot, reader: DbWorker) -> None:
    dialog = ManualPassDialog(reader)
    qtbot.addWidget(dialog)
    dialog.show()
    type_and_enter(qtbot, dialog.search, "9-9-909")
    reader.wait_idle()  # the search runs on the reader
    assert "Nobody" in dialog.search_problem.text()
    assert dialog.focusWidget() is dialog.search


# -- settings ---------------------------------------------------------------------------


def test_settings_dialog_saves(qtbot: QtBot, home: Home, settings: Settings) -> None:
    audited: list[list[Any]] = []
    new_pins: list[str] = []
    dialog = SettingsDialog(settings, audit=audited.append, set_pin=new_pins.append)
    qtbot.addWidget(dialog)
    dialog.show()
    assert "admin_pin_hash" not in dialog.widgets
    box = dialog.widgets["visitor_id_required"]
    assert isinstance(box, QCheckBox)
    box.setChecked(True)
    spin = dialog.widgets["fever_threshold"]
    assert isinstance(spin, QDoubleSpinBox)
    spin.setValue(37.5)
    qtbot.keyClicks(dialog.pin_new, "1111")
    qtbot.keyClicks(dialog.pin_again, "1111")
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert "Too easy" in dialog.pin_problem.text()  # refused as init refuses it
    assert not dialog.changed and audited == [] and new_pins == []
    for edit in (dialog.pin_new, dialog.pin_again):
        edit.clear()
        qtbot.keyClicks(edit, "2468")
    with qtbot.waitSignal(dialog.accepted, timeout=2000):
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert dialog.pin_changed and new_pins == ["2468"]  # for the gate's worker to store
    assert set(dialog.changed) == {"visitor_id_required", "fever_threshold"}
    [changes] = audited
    assert ("fever_threshold", 37.3, 37.5) in changes
    assert ("visitor_id_required", False, True) in changes
    reloaded = Settings.load(home.settings_file)
    assert reloaded.visitor_id_required is True
    assert reloaded.fever_threshold == 37.5
    assert "admin_pin_hash" not in home.settings_file.read_text()


def test_settings_dialog_invalid_not_saved(qtbot: QtBot, home: Home, settings: Settings) -> None:
    dialog = SettingsDialog(settings)
    qtbot.addWidget(dialog)
    dialog.show()
    curfew = dialog.widgets["curfew_start"]
    assert isinstance(curfew, QLineEdit)
    curfew.setText("25:99")
    qtbot.keyClicks(dialog.pin_new, "12")
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert dialog.result() != QDialog.DialogCode.Accepted
    assert dialog.problems["curfew_start"].text()
    assert "4 to 12" in dialog.pin_problem.text()
    assert not home.settings_file.exists()  # nothing saved (init wrote no settings file)
    assert settings.curfew_start == "22:00"


def test_settings_exit(qtbot: QtBot, settings: Settings) -> None:
    dialog = SettingsDialog(settings)
    qtbot.addWidget(dialog)
    dialog.show()
    with qtbot.waitSignal(dialog.rejected, timeout=2000):
        qtbot.mouseClick(dialog.exit_button, Qt.MouseButton.LeftButton)
    assert dialog.exit_requested


# -- opening from the main window (show_dialog hooks) --------------------------------------


def real_window(make_window: WindowFactory) -> MainWindow:
    """The real window on the demo checkpoint, its camera a fake one (no scans)."""
    return make_window(source=FakeCamera(), camera="fake", demo=False)


def test_hook_registration_issues_and_shows_code(qtbot: QtBot, make_window: WindowFactory) -> None:
    """Through the real window and its worker thread: the entry is decided and logged,
    the counts refresh, and the new visitor's code opens large."""
    from kiosk.ui.dialogs import registration

    real = make_window()
    decided: list[Decision] = []
    real.worker.decided.connect(
        lambda d: decided.append(d) if d.encounter.source is Source.REGISTER else None
    )
    inside: list[int] = []
    real.worker.statsChanged.connect(lambda stats: inside.append(stats.visitors_inside))
    registration.show_dialog(real)
    dialog = open_dialog("registration")
    assert isinstance(dialog, RegistrationDialog)
    registration.show_dialog(real)  # a second press: the same dialog, not another
    assert open_dialog("registration") is dialog
    fill(qtbot, dialog, ["Zhang San", "13800139999", "", "3-2-501", "", "", "", "36.6"])
    qtbot.waitUntil(lambda: open_dialog("registration") is None)  # checked, accepted
    qtbot.waitUntil(lambda: open_dialog("visitor_code") is not None, timeout=10000)
    [decision] = decided
    assert decision.verdict.level.value == "pass"
    qtbot.waitUntil(lambda: bool(inside) and inside[-1] >= 1)  # the counts follow the entry
    code = open_dialog("visitor_code")
    assert isinstance(code, VisitorCodeDialog)
    assert code.token.startswith("GP1:")
    slip = code.details.text()  # who, where to and when, on the slip itself
    assert "Visitor: Z** S**" in slip and "Zhang San" not in slip
    assert "Visiting: 3-2-501" in slip
    assert f"Registered: {datetime.now().astimezone():%Y-%m-%d}" in slip
    code.accept()
    assert open_dialog("visitor_code") is None


def manual_pass(qtbot: QtBot, window: MainWindow, room: str) -> Decision:
    """F6 as a guard does it: the room, Enter, the first resident, reason 1."""
    from kiosk.ui.dialogs import manual

    decided: list[Decision] = []
    window.worker.decided.connect(decided.append)
    manual.show_dialog(window)
    dialog = open_dialog("manual")
    assert isinstance(dialog, ManualPassDialog)
    type_and_enter(qtbot, dialog.search, room)
    window.reader.wait_idle()
    qtbot.keyClick(dialog.results, Qt.Key.Key_Return)
    qtbot.keyClick(dialog.reasons, Qt.Key.Key_1)
    qtbot.waitUntil(lambda: len(decided) == 1, timeout=10_000)
    window.worker.decided.disconnect(decided.append)
    return decided[0]


def test_hook_manual_pass(qtbot: QtBot, make_window: WindowFactory) -> None:
    decision = manual_pass(qtbot, real_window(make_window), "3-2-502")
    assert decision.encounter.source is Source.MANUAL
    assert decision.encounter.note == ManualReason.FORGOT_PASS.value
    assert decision.verdict.holder is not None and decision.verdict.holder.household == "3-2-502"
    assert decision.verdict.message() == "Let through by hand: forgot the pass"


def test_hook_shift_sign_in_and_out(qtbot: QtBot, make_window: WindowFactory) -> None:
    from kiosk.ui.dialogs import shift

    window = real_window(make_window)
    shift.show_dialog(window)
    qtbot.waitUntil(lambda: isinstance(open_dialog("shift"), SignInDialog))
    sign_in = open_dialog("shift")
    assert isinstance(sign_in, SignInDialog)
    line = sign_in.names.lineEdit()
    assert line is not None
    type_and_enter(qtbot, line, "Li")
    assert window.guard_name == "Li"
    manual_pass(qtbot, window, "3-2-502")
    shift.show_dialog(window)
    qtbot.waitUntil(lambda: isinstance(open_dialog("shift"), ShiftSummaryDialog))
    summary = open_dialog("shift")
    assert isinstance(summary, ShiftSummaryDialog)
    assert summary.values["manual"].text() == "1"
    summary.accept()
    assert window.guard_name == ""
    shift.show_dialog(window)
    qtbot.waitUntil(lambda: isinstance(open_dialog("shift"), SignInDialog))
    again = open_dialog("shift")
    assert isinstance(again, SignInDialog)
    assert again.names.itemText(0) == "Li"  # recent guards offered
    again.reject()


def open_settings(qtbot: QtBot, window: MainWindow, pin: str) -> SettingsDialog:
    from kiosk.ui.dialogs import admin

    admin.show_dialog(window)
    dialog = open_dialog("pin")
    assert isinstance(dialog, PinDialog)
    qtbot.waitUntil(lambda: not dialog.waiting)  # the lock, read from disk
    qtbot.keyClicks(dialog, pin)
    qtbot.keyClick(dialog, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: open_dialog("settings") is not None)  # checked on the reader
    settings = open_dialog("settings")
    assert isinstance(settings, SettingsDialog)
    return settings


def test_hook_admin_pin_then_settings(qtbot: QtBot, make_window: WindowFactory) -> None:
    window = real_window(make_window)
    dialog = open_settings(qtbot, window, DEMO_PIN)
    combo = dialog.widgets["direction"]
    assert isinstance(combo, QComboBox)
    combo.setCurrentIndex(combo.findData("in"))
    spin = dialog.widgets["fever_threshold"]
    assert isinstance(spin, QDoubleSpinBox)
    spin.setValue(37.0)
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.mode is DirectionMode.IN)  # the gate took it
    threshold: list[float] = []
    window.worker.request(lambda gate: threshold.append(gate.rules.fever_threshold))
    qtbot.waitUntil(lambda: threshold == [37.0])
    assert window.settings.fever_threshold == 37.0  # the window took the saved settings
    expected = {
        ("window:admin PIN", "direction", "in"),
        ("window:admin PIN", "fever_threshold", 37.0),
    }
    # who changed what, from the window (written by the gate's worker)
    qtbot.waitUntil(
        lambda: (
            {
                (r["actor"], r["detail"]["name"], r["detail"]["new"])
                for r in audit_rows(window.home, "settings.set")
            }
            == expected
        )
    )
    assert all(r["detail"]["via"] == "window" for r in audit_rows(window.home, "settings.set"))
    window.guard_name = "Li"  # a guard on duty: named
    dialog = open_settings(qtbot, window, DEMO_PIN)
    for edit in (dialog.pin_new, dialog.pin_again):
        qtbot.keyClicks(edit, "9402")
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)

    def pin_changes() -> list[dict[str, Any]]:
        return [r for r in audit_rows(window.home, "pin.change") if r["detail"]["via"] == "window"]

    qtbot.waitUntil(lambda: len(pin_changes()) == 1)
    [change] = pin_changes()
    assert change["actor"] == "window:Li" and change["detail"] == {"via": "window", "first": False}
    assert "scrypt" not in json.dumps(audit_rows(window.home, None))  # never the hash
    dialog = open_settings(qtbot, window, "9402")
    qtbot.mouseClick(dialog.exit_button, Qt.MouseButton.LeftButton)
    assert window.exit_allowed
    assert not window.isVisible()
