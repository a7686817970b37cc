"""The gate window of a compound (issue 13): how old the office data is on the status
line (fresh, amber, red; only at a compound's gate), and one exchange through a USB
stick behind the admin PIN, on real homes (an office and two gates made with the CLI,
as tests/test_exchange.py does)."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import FAST_HEALTH, WindowFactory
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from kiosk.core.rules import DirectionMode, Encounter, Source
from kiosk.gate import Gate
from kiosk.home import Home
from kiosk.settings import Settings
from kiosk.ui.dialogs import exchange as exchange_dialog
from kiosk.ui.dialogs.common import open_dialog
from kiosk.ui.dialogs.exchange import ExchangeDialog
from kiosk.ui.dialogs.pin import PinDialog
from kiosk.ui.dialogs.settings_dialog import SettingsDialog
from kiosk.ui.drives import ENV_DIR
from kiosk.ui.main_window import MainWindow
from tests.fakes import FakeCamera, FakeClock
from tests.helpers import TEST_PIN
from tests.test_exchange import Compound, template  # noqa: F401 (the fixture)

pytestmark = [pytest.mark.gui, pytest.mark.slow]  # a compound of three homes, windows


@pytest.fixture
def c(template: Compound, tmp_path: Path) -> Compound:  # noqa: F811
    """A private copy of the compound (office, north, south), one exchange round done."""
    for name in ("office", "north", "south"):
        shutil.copytree(template.root / name, tmp_path / name)
    return Compound(
        tmp_path, tmp_path / "office", tmp_path / "north", tmp_path / "south", template.passes
    )


GateWindowFactory = Callable[..., MainWindow]


@pytest.fixture
def gate_window(qtbot: QtBot) -> Iterator[GateWindowFactory]:
    """The real gate window on a home (a fake live camera), started; closed after."""
    made: list[MainWindow] = []

    def make(home: Path, **kwargs: object) -> MainWindow:
        window = MainWindow(
            Home(home),
            Settings.load(Home(home).settings_file),
            camera="fake",
            source=FakeCamera(pace=0.05),
            health=FAST_HEALTH,
            demo=True,
            theme="day",
            **kwargs,  # type: ignore[arg-type]
        )
        qtbot.addWidget(window)
        window.resize(1366, 768)
        window.show()
        window.start()
        made.append(window)
        return window

    yield make
    for window in made:
        window.close()
        assert window.service.stop(), "the gate thread did not stop"


@pytest.fixture
def only_the_test_stick(monkeypatch: pytest.MonkeyPatch) -> None:
    """The dialog sees only the folder named by KIOSK_EXCHANGE_DIR, never a USB stick
    that happens to be in the machine running the tests."""
    real = exchange_dialog.removable_drives

    def drives() -> list:  # type: ignore[type-arg]
        forced = Path(str(__import__("os").environ.get(ENV_DIR, "")))
        return [d for d in real() if d.path == forced]

    monkeypatch.delenv(ENV_DIR, raising=False)
    monkeypatch.setattr(exchange_dialog, "removable_drives", drives)


def shown(qtbot: QtBot, window: MainWindow) -> str:
    """The office data label once the worker has read it."""
    qtbot.waitUntil(lambda: window.office_data_label.isVisible(), timeout=10_000)
    return window.office_data_label.text()


def test_a_lone_checkpoint_shows_no_office_data(qtbot: QtBot, make_window: WindowFactory) -> None:
    window = make_window(source=FakeCamera(pace=0.05), camera="fake", health=FAST_HEALTH)
    qtbot.waitUntil(lambda: window.stats is not None, timeout=10_000)
    qtbot.wait(100)
    assert window.office_data is None and not window.compound_gate
    assert window.office_data_label.isHidden() and window.other_gates.isHidden()


def test_the_office_itself_shows_no_office_data(
    qtbot: QtBot, c: Compound, gate_window: GateWindowFactory
) -> None:
    window = gate_window(c.office)
    qtbot.waitUntil(lambda: window.stats is not None, timeout=10_000)
    qtbot.wait(100)
    assert window.office_data is None and window.office_data_label.isHidden()


@pytest.mark.parametrize(
    ("ahead", "level", "words"),
    [
        (timedelta(0), "fresh", "min old"),
        (timedelta(hours=14, minutes=5), "amber", "Office data: 14 h old"),
        (timedelta(hours=49), "red", "Office data: 2 days old"),
    ],
)
def test_the_gate_shows_how_old_its_office_data_is(
    qtbot: QtBot,
    c: Compound,
    gate_window: GateWindowFactory,
    ahead: timedelta,
    level: str,
    words: str,
) -> None:
    clock = FakeClock(datetime.now(UTC) + ahead)
    window = gate_window(c.north, clock=clock, monotonic=clock.monotonic)
    assert words in shown(qtbot, window)
    assert window.office_data_label.property("level") == level
    assert window.compound_gate
    # what this gate does not know: the other gate (nothing from it yet)
    assert "south: no news yet" in window.office_data_label.toolTip()
    assert "south: no news yet" in window.other_gates.text()
    # never louder than the verdict
    assert window.office_data_label.height() * 4 < window.verdict.height()


def test_the_age_in_the_guards_words() -> None:
    """(A joined gate always has office data: its enrolment carries the register.)"""
    from kiosk.store.exchange import Freshness
    from kiosk.ui.office_data import age_text

    def age(**delta: float) -> str:
        return age_text(Freshness(None, timedelta(**delta), "fresh"))

    assert age_text(Freshness(None, None, "red")) == "No office data yet"
    assert age(seconds=20) == "Office data: 0 min old"
    assert age(minutes=35, seconds=50) == "Office data: 35 min old"
    assert age(hours=14, minutes=59) == "Office data: 14 h old"
    assert age(hours=47, minutes=59) == "Office data: 47 h old"
    assert age(hours=80) == "Office data: 3 days old"


def _pin_then_settings(qtbot: QtBot, window: MainWindow) -> SettingsDialog:
    """F10, the admin PIN typed on the keyboard, Enter: the settings."""
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.keyClick(window, Qt.Key.Key_F10)  # the button's shortcut: it clicks soon
    qtbot.waitUntil(lambda: open_dialog("pin") is not None, timeout=3000)
    pin = open_dialog("pin")
    assert isinstance(pin, PinDialog)
    qtbot.waitUntil(lambda: not pin.waiting, timeout=10_000)
    qtbot.keyClicks(pin, TEST_PIN)
    qtbot.keyClick(pin, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: open_dialog("settings") is not None, timeout=10_000)
    settings = open_dialog("settings")
    assert isinstance(settings, SettingsDialog)
    return settings


def _open_exchange(qtbot: QtBot, window: MainWindow) -> ExchangeDialog:
    settings = _pin_then_settings(qtbot, window)
    assert settings.exchange_button.isVisible()
    assert settings.exchange_button.focusPolicy() & Qt.FocusPolicy.TabFocus  # Tab reaches it
    settings.exchange_button.setFocus()  # Tab reaches it; Enter presses it
    qtbot.keyClick(settings.exchange_button, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: open_dialog("exchange") is not None, timeout=5_000)
    dialog = open_dialog("exchange")
    assert isinstance(dialog, ExchangeDialog)
    return dialog


def test_the_exchange_button_takes_in_the_office_bundle_and_writes_the_gates(
    qtbot: QtBot,
    c: Compound,
    gate_window: GateWindowFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    only_the_test_stick: None,
) -> None:
    # A resident goes in at the south gate; the office relays it to north on the stick.
    with Gate(Home(c.south), mode=DirectionMode.IN, repeat_window_s=0) as south:
        assert south.handle(Encounter(Source.CAMERA, c.passes[0]["token"])) is not None
    from tests.helpers import run

    run(c.office, "exchange", "import", str(c.bundle(c.south)))
    stick = tmp_path / "stick"
    stick.mkdir()
    run(c.office, "exchange", "export", "--for", "north", "--out", str(stick / "o.gpbundle"))
    (stick / "broken.gpbundle").write_bytes(b"not a bundle")  # refused, never a crash
    monkeypatch.setenv(ENV_DIR, str(stick))

    window = gate_window(c.north)
    shown(qtbot, window)
    qtbot.waitUntil(lambda: window.stats is not None, timeout=10_000)
    assert window.stats is not None and window.stats.occupancy.inside == 0
    dialog = _open_exchange(qtbot, window)
    assert dialog.state == "ready" and "stick" in dialog.message.text()
    qtbot.keyClick(dialog.action, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: dialog.state == "done", timeout=20_000)
    report = dialog.report.text()
    assert "Taken in from office:" in report
    assert "Refused broken.gpbundle:" in report
    assert "Written for office: gatepass-for-office-" in report
    assert len(list(stick.glob("gatepass-for-office-*.gpbundle"))) == 1
    assert dialog.outcome is not None and dialog.outcome.done is not None
    # the resident who went in at south is inside for north; south's news is known
    qtbot.waitUntil(
        lambda: window.stats is not None and window.stats.occupancy.inside == 1, timeout=10_000
    )
    qtbot.waitUntil(lambda: "south: last news" in window.other_gates.text(), timeout=10_000)
    qtbot.keyClick(dialog.action, Qt.Key.Key_Return)  # Enter closes
    qtbot.waitUntil(lambda: open_dialog("exchange") is None, timeout=5_000)


def test_no_stick_says_insert_it_and_enter_looks_again(
    qtbot: QtBot,
    c: Compound,
    gate_window: GateWindowFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    only_the_test_stick: None,
) -> None:
    window = gate_window(c.north)
    shown(qtbot, window)
    dialog = _open_exchange(qtbot, window)
    assert dialog.state == "none"
    assert "Insert the USB stick" in dialog.message.text()
    stick = tmp_path / "stick"
    stick.mkdir()
    monkeypatch.setenv(ENV_DIR, str(stick))
    qtbot.keyClick(dialog.action, Qt.Key.Key_Return)  # look again
    assert dialog.state == "ready"
    qtbot.keyClick(dialog.action, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: dialog.state == "done", timeout=20_000)
    assert "No bundle for this gate on the stick." in dialog.report.text()
    assert len(list(stick.glob("gatepass-for-office-*.gpbundle"))) == 1
    dialog.accept()


def test_several_drives_the_guard_picks_one_with_the_arrows(
    qtbot: QtBot,
    c: Compound,
    gate_window: GateWindowFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from kiosk.ui.drives import Drive

    first, second = tmp_path / "disk", tmp_path / "stick"
    first.mkdir()
    second.mkdir()
    monkeypatch.setattr(
        exchange_dialog,
        "removable_drives",
        lambda: [Drive(first, "DISK", 0), Drive(second, "STICK", 0)],
    )
    window = gate_window(c.north)
    shown(qtbot, window)
    dialog = ExchangeDialog(window.worker.exchange, window.worker.exchanged, window)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.drive_list.isVisible() and dialog.drive_list.count() == 2
    qtbot.keyClick(dialog.drive_list, Qt.Key.Key_Down)
    qtbot.keyClick(dialog.drive_list, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: dialog.state == "done", timeout=20_000)
    assert not list(first.iterdir())
    assert len(list(second.glob("*.gpbundle"))) == 1
    dialog.accept()


def test_a_stick_pulled_out_before_enter_is_a_message_not_a_crash(
    qtbot: QtBot,
    c: Compound,
    gate_window: GateWindowFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    only_the_test_stick: None,
) -> None:
    stick = tmp_path / "stick"
    stick.mkdir()
    monkeypatch.setenv(ENV_DIR, str(stick))
    window = gate_window(c.north)
    shown(qtbot, window)
    dialog = _open_exchange(qtbot, window)
    assert dialog.state == "ready"
    stick.rmdir()  # pulled out
    qtbot.keyClick(dialog.action, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: dialog.state == "done", timeout=20_000)
    assert "did not finish" in dialog.message.text()
    assert dialog.outcome is not None and dialog.outcome.problem
    assert window.worker.loop is not None  # the gate goes on scanning
    before = len(window.decisions)
    window.handle_scanned_text(c.passes[1]["token"])
    qtbot.waitUntil(lambda: len(window.decisions) == before + 1, timeout=10_000)
    dialog.accept()


def test_the_settings_screen_shows_the_rules_the_office_set(qtbot) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import QLabel

    from kiosk.settings import Settings
    from kiosk.ui.dialogs.settings_dialog import SettingsDialog

    dialog = SettingsDialog(Settings(), office_rules={"curfew_enabled": True, "quota_outings": 3})
    qtbot.addWidget(dialog)
    notes = [w.text() for w in dialog.findChildren(QLabel, "officeRule")]
    assert sorted(notes) == ["Set by the office: 3", "Set by the office: on"]
    plain = SettingsDialog(Settings())
    qtbot.addWidget(plain)
    assert plain.findChildren(QLabel, "officeRule") == []
