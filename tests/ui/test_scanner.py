"""The keyboard-wedge scanner filter: bursts are scans, people's typing passes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from conftest import WindowFactory
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication, QDialog, QLineEdit, QVBoxLayout, QWidget
from pytestqt.qtbot import QtBot

from kiosk.core.errors import UserError
from kiosk.core.rules import Level
from kiosk.demo import Demo
from kiosk.settings import Settings
from kiosk.ui.scanner import ScannerFilter, fix_scanned_text
from tests.fakes import FakeCamera, FakeClock

CODE = "GP1:ABCDEFGHIJ234567"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(step=0.005)


@pytest.fixture
def scanner(qtbot: QtBot, clock: FakeClock) -> Iterator[ScannerFilter]:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    found = ScannerFilter(clock=clock.monotonic, release_ms=50)
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


# -- keys shaped as a USB scanner sends them (Shift pressed for capitals and ':') ---------

_SHIFTED = set('~!@#$%^&*()_+{}|:"<>?')
Shift = Qt.KeyboardModifier.ShiftModifier
NoMod = Qt.KeyboardModifier.NoModifier


def _key_of(char: str) -> int:
    return {"\n": Qt.Key.Key_Return, "\t": Qt.Key.Key_Tab}.get(char, ord(char.upper()))


class Keyboard:
    """Sends key events as the window system does: to the window (Qt hands them on to
    its focus widget), each with the time stamp (ms) the window system gave it."""

    def __init__(self, target: QObject) -> None:
        self.target = target
        self.at = 1_000_000  # ms, X server time

    def send(
        self, kind: QEvent.Type, key: int, mods: Qt.KeyboardModifier = NoMod, text: str = ""
    ) -> bool:
        event = QKeyEvent(kind, key, mods, text)
        event.setTimestamp(self.at)
        return QApplication.sendEvent(self.target, event)

    def post(
        self, kind: QEvent.Type, key: int, mods: Qt.KeyboardModifier = NoMod, text: str = ""
    ) -> bool:
        """As :meth:`send`, but queued: delivered when the event loop next runs."""
        event = QKeyEvent(kind, key, mods, text)
        event.setTimestamp(self.at)
        QApplication.postEvent(self.target, event)
        return True

    def tap(self, key: int, mods: Qt.KeyboardModifier = NoMod, text: str = "") -> None:
        self.send(QEvent.Type.KeyPress, key, mods, text)
        self.send(QEvent.Type.KeyRelease, key, mods, text)

    def modifier(self, key: Qt.Key, mods: Qt.KeyboardModifier) -> None:
        """A modifier alone pressed and released (no text), as between characters."""
        self.send(QEvent.Type.KeyPress, key, mods)
        self.send(QEvent.Type.KeyRelease, key, NoMod)

    def char(self, char: str) -> None:
        """One character as a US keyboard makes it: Shift down first where needed."""
        shifted = char.isupper() or char in _SHIFTED
        if shifted:
            self.send(QEvent.Type.KeyPress, Qt.Key.Key_Shift, Shift)
        mods = Shift if shifted else NoMod
        text = "\r" if char == "\n" else char
        self.send(QEvent.Type.KeyPress, _key_of(char), mods, text)
        if shifted:
            self.send(QEvent.Type.KeyRelease, Qt.Key.Key_Shift, NoMod)
        self.send(QEvent.Type.KeyRelease, _key_of(char), NoMod, text.lower())

    def type(self, text: str, gap_ms: int) -> None:
        for char in text:
            self.char(char)
            self.at += gap_ms


@pytest.fixture
def stamped(qtbot: QtBot) -> Iterator[ScannerFilter]:
    """The filter as the gate runs it: gaps from the events' own time stamps."""
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    found = ScannerFilter()
    found.install(app)
    yield found
    found.uninstall(app)


@pytest.fixture
def form(qtbot: QtBot) -> tuple[QWidget, QLineEdit, QLineEdit]:
    """A window with two line edits, the first one focused."""
    window = QWidget()
    qtbot.addWidget(window)
    first, second = QLineEdit(window), QLineEdit(window)
    layout = QVBoxLayout(window)
    layout.addWidget(first)
    layout.addWidget(second)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    first.setFocus()
    qtbot.waitUntil(first.hasFocus)
    return window, first, second


def keyboard_for(window: QWidget) -> Keyboard:
    handle = window.windowHandle()
    assert handle is not None
    return Keyboard(handle)


def collect(scanner: ScannerFilter) -> list[str]:
    got: list[str] = []
    scanner.scanned.connect(got.append)
    return got


@pytest.mark.parametrize("gap_ms", [2, 10, 40, 70])
def test_a_scan_with_shift_presses_is_one_scan(
    qtbot: QtBot, stamped: ScannerFilter, form: tuple[QWidget, QLineEdit, QLineEdit], gap_ms: int
) -> None:
    window, first, _ = form
    got = collect(stamped)
    returns: list[bool] = []
    first.returnPressed.connect(lambda: returns.append(True))
    keys = keyboard_for(window)
    keys.type(CODE + "\n", gap_ms)
    assert got == [CODE]
    assert stamped.holding == ""
    qtbot.wait(20)
    assert first.text() == "" and returns == []


def test_tab_ends_a_scan_and_moves_nothing(
    qtbot: QtBot, stamped: ScannerFilter, form: tuple[QWidget, QLineEdit, QLineEdit]
) -> None:
    window, first, second = form
    got = collect(stamped)
    keyboard_for(window).type(CODE + "\t", 10)
    assert got == [CODE]
    assert first.hasFocus()
    assert first.text() == "" and second.text() == ""


@pytest.mark.parametrize(
    ("key", "mods"),
    [
        (Qt.Key.Key_Shift, Shift),
        (Qt.Key.Key_Control, Qt.KeyboardModifier.ControlModifier),
        (Qt.Key.Key_AltGr, Qt.KeyboardModifier.GroupSwitchModifier),
        (Qt.Key.Key_CapsLock, NoMod),
        (Qt.Key.Key_NumLock, NoMod),
        (Qt.Key.Key_Meta, Qt.KeyboardModifier.MetaModifier),
        (Qt.Key.Key_Alt, Qt.KeyboardModifier.AltModifier),
    ],
)
def test_modifier_keys_alone_never_break_a_burst(
    stamped: ScannerFilter,
    form: tuple[QWidget, QLineEdit, QLineEdit],
    key: Qt.Key,
    mods: Qt.KeyboardModifier,
) -> None:
    window, first, _ = form
    got = collect(stamped)
    keys = keyboard_for(window)
    for char in CODE:
        keys.modifier(key, mods)
        keys.char(char)
        keys.at += 5
    keys.char("\n")
    assert got == [CODE]
    assert first.text() == ""


def test_caps_lock_scan_with_shift_is_inverted_back(
    stamped: ScannerFilter, form: tuple[QWidget, QLineEdit, QLineEdit]
) -> None:
    """Caps lock on: the scanner's Shift makes lower case ("gp1;" would be a layout
    fault; ':' stays ':' as Shift+;)."""
    window, first, _ = form
    got = collect(stamped)
    keys = keyboard_for(window)
    keys.modifier(Qt.Key.Key_CapsLock, NoMod)
    keys.type(CODE.swapcase() + "\n", 4)
    assert got == [CODE]
    assert first.text() == ""


def test_prefix_and_suffix_are_cut_off(
    qtbot: QtBot, form: tuple[QWidget, QLineEdit, QLineEdit]
) -> None:
    window, first, _ = form
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    scanner = ScannerFilter(prefix="]Q1", suffix="#END")
    scanner.install(app)
    try:
        got = collect(scanner)
        returns: list[bool] = []
        first.returnPressed.connect(lambda: returns.append(True))
        keys = keyboard_for(window)
        keys.type("]Q1" + CODE + "#END\n", 10)  # the suffix ends it; its Enter swallowed
        assert got == [CODE]
        keys.at += 1000
        keys.type("]Q1" + CODE + "#END", 10)  # a scanner that sends no Enter after it
        assert got == [CODE, CODE]
        keys.at += 1000
        keys.type(CODE + "\n", 10)  # without prefix and suffix: still a scan
        assert got == [CODE, CODE, CODE]
        qtbot.wait(20)
        assert first.text() == "" and returns == []
    finally:
        scanner.uninstall(app)


def test_a_burst_into_a_dialogs_focused_line_edit_types_nothing(
    qtbot: QtBot, stamped: ScannerFilter
) -> None:
    """The registration form open over the gate, its phone field focused: a pass (or a
    payment code) scanned meanwhile is a scan, not one character of it typed."""
    gate = QWidget()
    qtbot.addWidget(gate)
    gate.show()
    dialog = QDialog(gate)
    phone = QLineEdit(dialog)
    QVBoxLayout(dialog).addWidget(phone)
    dialog.setWindowModality(Qt.WindowModality.WindowModal)
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog.activateWindow()
    phone.setFocus()
    qtbot.waitUntil(phone.hasFocus)
    got = collect(stamped)
    keys = keyboard_for(dialog)
    for code in (CODE, "alipays://platformapi/startapp?saId=10000007"):
        keys.type(code + "\n", 10)
        keys.at += 1000
        assert phone.text() == ""
    assert got == [CODE, "alipays://platformapi/startapp?saId=10000007"]
    assert dialog.isVisible()


def test_a_guards_typing_with_shift_backspace_and_arrows_arrives(
    qtbot: QtBot, stamped: ScannerFilter, form: tuple[QWidget, QLineEdit, QLineEdit]
) -> None:
    """A guard types "Zhang Wei", fixes a letter with Backspace and an arrow, and goes
    on to the next field with Tab: every key arrives, in order."""
    window, first, second = form
    got = collect(stamped)
    keys = keyboard_for(window)
    keys.type("Zhang Wex", 150)
    keys.tap(Qt.Key.Key_Backspace)
    keys.at += 150
    keys.type("i", 150)
    keys.tap(Qt.Key.Key_Left)
    keys.at += 150
    keys.tap(Qt.Key.Key_Left)
    keys.at += 150
    keys.type("-", 150)
    keys.tap(Qt.Key.Key_Tab)
    keys.at += 150
    keys.type("501", 150)
    qtbot.waitUntil(lambda: second.text() == "501", timeout=2000)
    assert first.text() == "Zhang W-ei"
    assert got == []


def test_a_fast_human_is_typing_not_a_scan(
    qtbot: QtBot, stamped: ScannerFilter, form: tuple[QWidget, QLineEdit, QLineEdit]
) -> None:
    """A phone number typed briskly (100 ms a key) and Enter: typing, however long."""
    window, first, _ = form
    got = collect(stamped)
    returns: list[bool] = []
    first.returnPressed.connect(lambda: returns.append(True))
    keyboard_for(window).type("13800138000\n", 100)
    assert first.text() == "13800138000"
    assert returns == [True] and got == []


def test_the_gap_is_the_events_time_stamp_not_when_they_arrive(
    qtbot: QtBot, stamped: ScannerFilter, form: tuple[QWidget, QLineEdit, QLineEdit]
) -> None:
    """All these keys reach the filter at once (a busy thread hands them over in one
    clump), but the window system stamped them 150 ms apart: a person typed them."""
    window, first, _ = form
    got = collect(stamped)
    keyboard_for(window).type("hello world 12\n", 150)
    assert got == []
    assert first.text() == "hello world 12"


def test_a_pause_in_a_burst_releases_what_came_before(
    qtbot: QtBot, stamped: ScannerFilter, form: tuple[QWidget, QLineEdit, QLineEdit]
) -> None:
    window, first, _ = form
    got = collect(stamped)
    keys = keyboard_for(window)
    keys.type("hello", 10)
    keys.at += 200
    keys.type(CODE + "\n", 10)
    assert first.text() == "hello"
    assert got == [CODE]


def test_the_release_timer_lets_waiting_keys_in_first(
    qtbot: QtBot, stamped: ScannerFilter, form: tuple[QWidget, QLineEdit, QLineEdit]
) -> None:
    """The thread was busy in the middle of a slow burst: the release timer fires while
    the burst's next keys are still waiting in the queue. They are let in first, so
    the burst stays whole and its first characters never reach the line edit."""
    window, first, _ = form
    got = collect(stamped)
    keys = keyboard_for(window)
    keys.type(CODE[:6], 40)
    assert stamped.holding == CODE[:6]
    keys.send = keys.post  # type: ignore[method-assign]  # the rest waits in the queue
    keys.type(CODE[6:] + "\n", 40)
    assert got == []
    stamped._timer.timeout.emit()  # the timer fires first, as after a stall
    assert got == [CODE]
    assert first.text() == ""


def test_held_keys_are_released_by_the_timer(
    qtbot: QtBot, stamped: ScannerFilter, form: tuple[QWidget, QLineEdit, QLineEdit]
) -> None:
    """The last key of a person's typing waits only for the release timer (100 ms)."""
    window, first, _ = form
    keyboard_for(window).type("7", 150)
    assert first.text() == "" and stamped.holding == "7"
    assert stamped._timer.isActive() and stamped._timer.interval() <= 100
    stamped._timer.timeout.emit()
    assert first.text() == "7"


def test_scanner_settings_are_printable_text() -> None:
    settings, _ = Settings().updated({"scanner_prefix": "]Q1", "scanner_suffix": "#"})
    assert (settings.scanner_prefix, settings.scanner_suffix) == ("]Q1", "#")
    with pytest.raises(UserError):
        settings.updated({"scanner_suffix": "\x03"})


def test_fix_scanned_text_cuts_prefix_and_suffix() -> None:
    assert fix_scanned_text("]q1gp1:abc2#end", "]Q1", "#END") == "GP1:ABC2"
    assert fix_scanned_text("GP1:ABC2", "]Q1", "#END") == "GP1:ABC2"


def test_the_gate_window_scans_with_its_prefix_and_suffix(
    qtbot: QtBot, make_window: WindowFactory, demo: Demo
) -> None:
    settings, _ = Settings.load(demo.home.settings_file).updated(
        {"scanner_prefix": "]Q1", "scanner_suffix": "#"}
    )
    settings.save()
    window = make_window(source=FakeCamera(pace=0.05), camera="fake")
    window.install_scanner()
    scanner = window._scanner
    try:
        assert (scanner.prefix, scanner.suffix) == ("]Q1", "#")
        qtbot.waitUntil(lambda: window.decoder_name != "-", timeout=10_000)
        keyboard_for(window).type("]Q1" + demo.tokens["valid"] + "#", 5)
        qtbot.waitUntil(lambda: list(window.verdict.shown) == [Level.PASS], timeout=10_000)
    finally:
        scanner.uninstall()


def test_a_scanner_pausing_after_its_first_characters_is_still_one_scan(
    qtbot: QtBot, stamped: ScannerFilter, form: tuple[QWidget, QLineEdit, QLineEdit]
) -> None:
    """Eight characters within 80 ms each are no person's: a pause after them (a loaded
    machine, a wireless scanner's buffer) neither types them nor breaks the scan; the
    release timer waits as long as such a pause may be."""
    window, first, _ = form
    got = collect(stamped)
    keys = keyboard_for(window)
    keys.type(CODE[:8], 40)
    assert stamped._timer.interval() >= 400
    keys.at += 300
    keys.type(CODE[8:12], 40)
    keys.at += 300
    keys.type(CODE[12:] + "\n", 40)
    assert got == [CODE]
    assert first.text() == ""


def test_a_pause_within_the_first_characters_breaks_the_burst(
    qtbot: QtBot, stamped: ScannerFilter, form: tuple[QWidget, QLineEdit, QLineEdit]
) -> None:
    """Seven quick keys (key rollover, a typist's burst), a pause, then more quick keys
    and Enter: typing, not a scan, and every key arrives in order."""
    window, first, _ = form
    got = collect(stamped)
    keys = keyboard_for(window)
    keys.type("1380013", 40)
    keys.at += 150
    keys.type("8000\n", 40)
    assert got == []
    assert first.text() == "13800138000"
