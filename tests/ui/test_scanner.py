"""The keyboard-wedge scanner filter: bursts are scans, people's typing passes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDialog, QLineEdit, QVBoxLayout
from pytestqt.qtbot import QtBot

from kiosk.ui.scanner import ScannerFilter, fix_scanned_text

CODE = "GP1:ABCDEFGHIJ234567"


class FakeClock:
    """Each reading is ``step`` seconds after the previous one."""

    def __init__(self, step: float) -> None:
        self.now = 100.0
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(0.005)


@pytest.fixture
def scanner(qtbot: QtBot, clock: FakeClock) -> Iterator[ScannerFilter]:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    found = ScannerFilter(clock=clock, release_ms=50)
    found.install(app)
    yield found
    found.uninstall(app)


@pytest.fixture
def edit(qtbot: QtBot) -> QLineEdit:
    widget = QLineEdit()
    qtbot.addWidget(widget)
    widget.show()
    widget.setFocus()
    return widget


def test_fast_burst_with_enter_is_one_scan_and_types_nothing(
    qtbot: QtBot, scanner: ScannerFilter, edit: QLineEdit
) -> None:
    got: list[str] = []
    scanner.scanned.connect(got.append)
    returns: list[bool] = []
    edit.returnPressed.connect(lambda: returns.append(True))
    qtbot.keyClicks(edit, CODE)
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert got == [CODE]
    qtbot.wait(80)
    assert edit.text() == ""
    assert returns == []


def test_slow_typing_passes_through(
    qtbot: QtBot, scanner: ScannerFilter, edit: QLineEdit, clock: FakeClock
) -> None:
    clock.step = 0.2
    got: list[str] = []
    scanner.scanned.connect(got.append)
    returns: list[bool] = []
    edit.returnPressed.connect(lambda: returns.append(True))
    qtbot.keyClicks(edit, "Zhang Wei 1234")
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert edit.text() == "Zhang Wei 1234"
    assert returns == [True]
    assert got == []


def test_short_fast_burst_is_released_as_typing(
    qtbot: QtBot, scanner: ScannerFilter, edit: QLineEdit
) -> None:
    got: list[str] = []
    scanner.scanned.connect(got.append)
    qtbot.keyClicks(edit, "501")
    qtbot.waitUntil(lambda: edit.text() == "501", timeout=1000)
    qtbot.keyClicks(edit, "abc")
    qtbot.keyClick(edit, Qt.Key.Key_Return)  # short: Enter releases the keys first
    assert edit.text() == "501abc"
    assert got == []


def test_backspace_keeps_order(qtbot: QtBot, scanner: ScannerFilter, edit: QLineEdit) -> None:
    qtbot.keyClicks(edit, "ab")
    qtbot.keyClick(edit, Qt.Key.Key_Backspace)
    assert edit.text() == "a"


def test_scan_into_dialog_line_edit(qtbot: QtBot, scanner: ScannerFilter) -> None:
    dialog = QDialog()
    qtbot.addWidget(dialog)
    line = QLineEdit(dialog)
    QVBoxLayout(dialog).addWidget(line)
    dialog.show()
    line.setFocus()
    got: list[str] = []
    scanner.scanned.connect(got.append)
    accepted: list[bool] = []
    dialog.accepted.connect(lambda: accepted.append(True))
    qtbot.keyClicks(line, "  " + CODE.lower())
    qtbot.keyClick(line, Qt.Key.Key_Enter)
    qtbot.wait(80)
    assert got == [CODE]  # caps lock inverted back, blanks stripped
    assert line.text() == ""
    assert accepted == [] and dialog.isVisible()


def test_disabled_filter_passes_everything(
    qtbot: QtBot, scanner: ScannerFilter, edit: QLineEdit
) -> None:
    scanner.enabled = False
    qtbot.keyClicks(edit, CODE)
    assert edit.text() == CODE


def test_fix_scanned_text() -> None:
    assert fix_scanned_text(" gp1:abc2\n") == "GP1:ABC2"
    assert fix_scanned_text("GP1:ABC") == "GP1:ABC"
    assert fix_scanned_text("hello world") == "hello world"


def test_keys_through_the_window_as_a_real_keyboard(
    qtbot: QtBot, scanner: ScannerFilter, clock: FakeClock
) -> None:
    """Keys as the platform delivers them: to the window, then to the focus widget."""
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QPushButton, QWidget

    window = QWidget()
    qtbot.addWidget(window)
    line = QLineEdit()
    button = QPushButton("x")
    layout = QVBoxLayout(window)
    layout.addWidget(line)
    layout.addWidget(button)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    line.setFocus()
    qtbot.waitUntil(line.hasFocus)
    handle = window.windowHandle()
    assert handle is not None
    got: list[str] = []
    scanner.scanned.connect(got.append)

    clock.step = 0.2
    for char in "hello":
        QTest.keyClick(handle, char)
    qtbot.waitUntil(lambda: line.text() == "hello", timeout=1000)

    clock.step = 0.005
    for char in CODE:
        QTest.keyClick(handle, char)
    QTest.keyClick(handle, Qt.Key.Key_Return)
    assert got == [CODE]

    button.setFocus()  # a button ignores letters: Qt hands them on to its parent
    for char in "abcde":  # five fast keys: not a scan, however often Qt delivers them
        QTest.keyClick(handle, char)
    QTest.keyClick(handle, Qt.Key.Key_Return)
    qtbot.wait(80)
    assert got == [CODE]
    assert line.text() == "hello"


def test_ignored_window_and_its_dialogs_get_the_scan_as_typing(
    qtbot: QtBot, scanner: ScannerFilter
) -> None:
    """A pass scanned into the office's search (beside the gate) is a search, not a
    passage: the office window and its dialogs are ignored by the gate's filter."""
    from PySide6.QtWidgets import QWidget

    office = QWidget()
    qtbot.addWidget(office)
    search = QLineEdit(office)
    QVBoxLayout(office).addWidget(search)
    office.show()
    dialog = QDialog(office)
    line = QLineEdit(dialog)
    QVBoxLayout(dialog).addWidget(line)
    scanner.ignore_window(office)
    got: list[str] = []
    scanner.scanned.connect(got.append)

    search.setFocus()
    qtbot.keyClicks(search, CODE)
    qtbot.keyClick(search, Qt.Key.Key_Return)
    dialog.show()
    line.setFocus()
    qtbot.keyClicks(line, CODE)
    qtbot.keyClick(line, Qt.Key.Key_Return)
    assert got == []
    assert search.text() == CODE and line.text() == CODE

    other = QLineEdit()  # any other window (the gate) still scans
    qtbot.addWidget(other)
    other.show()
    other.setFocus()
    qtbot.keyClicks(other, CODE)
    qtbot.keyClick(other, Qt.Key.Key_Return)
    assert got == [CODE]
