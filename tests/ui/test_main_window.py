"""The real window on the real gate, database and scan loop (demo video as camera)."""

from __future__ import annotations

import time
from pathlib import Path

import click
import numpy as np
import pytest
from click.testing import CliRunner
from conftest import WindowFactory
from PySide6.QtCore import Qt, QTimer
from pytestqt.qtbot import QtBot

from kiosk.cli.context import Context
from kiosk.cli.window import register
from kiosk.core.errors import UserError
from kiosk.core.rules import DirectionMode, Level
from kiosk.demo import Demo
from kiosk.home import Home
from kiosk.store.db import connect
from kiosk.ui import verdict_panel
from kiosk.ui.main_window import MainWindow
from kiosk.ui.sounds import Sounds
from kiosk.vision.sources import Frame
from tests.fakes import FakeCamera

pytestmark = pytest.mark.gui


@pytest.mark.slow
def test_demo_video_shows_pass_check_stop_without_blocking_the_ui(
    qtbot: QtBot, window: MainWindow, demo: Demo
) -> None:
    longest = 0.0
    last = time.monotonic()

    def tick() -> None:
        nonlocal longest, last
        now = time.monotonic()
        longest = max(longest, now - last)
        last = now

    watchdog = QTimer()
    watchdog.setInterval(10)
    watchdog.timeout.connect(tick)
    qtbot.waitUntil(lambda: window.preview.first_paint_at is not None, timeout=10_000)
    last = time.monotonic()
    watchdog.start()
    qtbot.waitUntil(
        lambda: {Level.PASS, Level.CHECK, Level.DENY} <= set(window.verdict.shown),
        timeout=30_000,
    )
    watchdog.stop()
    assert longest < 0.25, f"the UI thread stalled for {longest * 1000:.0f} ms"
    shown = {d.verdict.level for d in window.decisions}
    assert shown >= {Level.PASS, Level.CHECK, Level.DENY}
    qtbot.waitUntil(lambda: window.stats is not None and len(window.stats.recent) >= 3)
    assert window.recent.count() >= 3
    window.close()
    db = connect(demo.home.database)
    try:
        rows = {r[0]: r[1] for r in db.execute("SELECT id, level FROM visits").fetchall()}
    finally:
        db.close()
    for decision in window.decisions:
        assert rows[decision.visit.id] == decision.verdict.level.value


def test_scanner_text_is_decided_logged_and_shown(
    qtbot: QtBot, make_window: WindowFactory, demo: Demo
) -> None:
    window = make_window(source=FakeCamera(pace=0.05), camera="fake")
    qtbot.waitUntil(lambda: window.decoder_name != "-", timeout=10_000)
    window.handle_scanned_text(demo.tokens["revoked"] + "\n")
    qtbot.waitUntil(lambda: list(window.verdict.shown) == [Level.DENY], timeout=10_000)
    decision = window.decisions[-1]
    assert decision.encounter.source.value == "scanner"
    assert window.verdict.title.text() == "STOP"
    assert "revoked" in window.verdict.message.text().lower()
    window.handle_scanned_text(demo.tokens["valid"])
    qtbot.waitUntil(lambda: list(window.verdict.shown) == [Level.DENY, Level.PASS], timeout=10_000)
    assert "张伟" in window.verdict.holder.text()
    qtbot.waitUntil(lambda: window.recent.count() == 2)
    window.close()
    db = connect(demo.home.database)
    try:
        levels = [r[0] for r in db.execute("SELECT level FROM visits ORDER BY at")]
    finally:
        db.close()
    assert levels == ["deny", "pass"]


def test_direction_keys_change_the_gate_mode(qtbot: QtBot, make_window: WindowFactory) -> None:
    window = make_window(source=FakeCamera(pace=0.05), camera="fake")
    qtbot.waitUntil(lambda: window.decoder_name != "-", timeout=10_000)
    for key, mode in (
        (Qt.Key.Key_F2, DirectionMode.OUT),
        (Qt.Key.Key_F1, DirectionMode.IN),
        (Qt.Key.Key_F3, DirectionMode.AUTO),
    ):
        qtbot.keyClick(window, key)  # type: ignore[no-untyped-call]

        def changed(wanted: DirectionMode = mode) -> bool:
            return window.mode is wanted

        qtbot.waitUntil(changed, timeout=5_000)
        assert window.mode_buttons[mode].isChecked()
        gate = window.worker._gate
        assert gate is not None and gate.mode is mode


def test_idle_prompt_is_in_both_languages(window: MainWindow) -> None:
    assert window.verdict.idle_en.text() == "Show your pass to the camera"
    assert window.verdict.idle_zh.text() != window.verdict.idle_en.text()


def test_kiosk_run_command(tmp_path: Path) -> None:
    @click.group()
    @click.pass_context
    def root(ctx: click.Context) -> None:
        ctx.obj = Context(Home(tmp_path / "nowhere"))

    register(root)
    runner = CliRunner()
    shown = runner.invoke(root, ["run", "--help"])
    assert shown.exit_code == 0
    assert "--camera" in shown.output and "--windowed" in shown.output
    refused = runner.invoke(root, ["run", "--windowed"])
    assert isinstance(refused.exception, UserError)


def test_verdict_clears_itself(
    qtbot: QtBot, make_window: WindowFactory, demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(verdict_panel.CLEAR_AFTER_MS, Level.PASS, 300)
    window = make_window(source=FakeCamera(pace=0.05), camera="fake")
    window.handle_scanned_text(demo.tokens["valid"])
    qtbot.waitUntil(lambda: list(window.verdict.shown) == [Level.PASS], timeout=10_000)
    assert window.verdict.icon.level is Level.PASS
    assert window.verdict.idle_en.isHidden()
    qtbot.waitUntil(lambda: window.verdict.decision is None, timeout=3_000)
    assert window.verdict.idle_en.isVisible()
    assert window.verdict.icon.level is None


# The point of the test: no speech-dispatcher on this machine, so Qt's speechd engine
# fails to load (and says so); the gate stays silent and never raises.
@pytest.mark.qt_log_ignore(r'^Error loading text-to-speech plug-in "speechd"$')
def test_sounds_degrade_to_silence(qapp: object) -> None:
    sounds = Sounds(enabled=True, speak=True)
    for level in Level:
        sounds.play(level)  # silent without an audio device, never raises
    sounds.say("PASS")


def test_kiosk_mode_cannot_be_closed_by_accident(qtbot: QtBot, make_window: WindowFactory) -> None:
    from kiosk.ui.dialogs import common

    window = make_window(source=FakeCamera(pace=0.05), camera="fake")
    window.kiosk_mode = True
    window.close()  # Alt+F4, a stray click: refused, and the PIN dialog offered
    assert window.isVisible()
    qtbot.waitUntil(
        lambda: common._OPEN.get("pin") is not None and common._OPEN["pin"].isVisible(),
        timeout=5_000,
    )
    common._OPEN["pin"].reject()
    window.allow_exit()  # what "Exit Gatepass" does after the right PIN
    window.close()
    assert not window.isVisible()


def test_check_opens_registration_prefilled_for_a_returning_visitor(
    qtbot: QtBot, make_window: WindowFactory, demo: Demo
) -> None:
    from kiosk.ui.dialogs import common
    from kiosk.ui.dialogs.registration import RegistrationDialog

    window = make_window(source=FakeCamera(pace=0.05), camera="fake", demo=False)
    assert window.auto_registration  # at a real gate; not in the unattended demo
    qtbot.waitUntil(lambda: window.decoder_name != "-", timeout=10_000)
    window.handle_scanned_text(demo.tokens["visitor"])
    qtbot.waitUntil(lambda: list(window.verdict.shown) == [Level.CHECK], timeout=10_000)
    qtbot.waitUntil(lambda: common._OPEN.get("registration") is not None, timeout=5_000)
    dialog = common._OPEN["registration"]
    assert isinstance(dialog, RegistrationDialog)
    assert dialog.visitor_id is not None
    assert dialog.edits["name"].text() == "周敏"
    assert dialog.edits["name"].isReadOnly()
    dialog.reject()
    window.handle_scanned_text("https://pay.example.cn/qr/1")
    qtbot.waitUntil(
        lambda: list(window.verdict.shown)[-1:] == [Level.CHECK] and len(window.decisions) == 2,
        timeout=10_000,
    )
    qtbot.waitUntil(
        lambda: (
            common._OPEN.get("registration") is not None
            and common._OPEN["registration"].isVisible()
        ),
        timeout=5_000,
    )
    fresh = common._OPEN["registration"]
    assert isinstance(fresh, RegistrationDialog) and fresh.visitor_id is None
    fresh.reject()
    window.close()


def test_a_scan_behind_an_open_dialog_shows_on_the_dialog(
    qtbot: QtBot, make_window: WindowFactory, demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The guard is registering a visitor when a revoked pass is scanned: the STOP is
    shown on a strip across the dialog (not only behind it), then clears."""
    from kiosk.ui.dialogs.common import open_dialog
    from kiosk.ui.verdict_panel import VerdictStrip

    monkeypatch.setitem(verdict_panel.CLEAR_AFTER_MS, Level.DENY, 400)
    window = make_window(source=FakeCamera(pace=0.05), camera="fake")
    qtbot.waitUntil(lambda: window.decoder_name != "-", timeout=10_000)
    window.open_registration()
    dialog = open_dialog("registration")
    assert dialog is not None and dialog.isVisible()
    window.handle_scanned_text(demo.tokens["revoked"])
    qtbot.waitUntil(lambda: dialog.findChild(VerdictStrip) is not None, timeout=10_000)
    strip = dialog.findChild(VerdictStrip)
    assert strip.isVisible() and strip.level is Level.DENY
    assert strip.title.text() == "STOP" and "刘洋" in strip.text.text()
    assert strip.geometry().top() < dialog.height() // 3  # across the top, on the dialog
    dialog.grab().save(str(demo.home.root / "strip.png"))
    qtbot.waitUntil(lambda: not strip.isVisible(), timeout=3_000)
    dialog.reject()


class DarkCamera(FakeCamera):
    """A live camera in a dark tent: noise, but nearly black."""

    def read(self) -> Frame | None:
        frame = super().read()
        if frame is None:
            return None
        return Frame((frame.image // 12).astype(np.uint8), frame.captured_at, frame.index)


@pytest.mark.parametrize(("lang", "words"), [("en", "Too dark"), ("zh_CN", "太暗")])
def test_a_dark_camera_shows_the_hint_in_the_guards_language(
    qtbot: QtBot, make_window: WindowFactory, lang: str, words: str
) -> None:
    """The picture diagnostics reach the window through the real worker: a dark
    camera for half a second shows "too dark" under the preview, in the guard's
    language."""
    from kiosk.core.i18n import language, set_language

    before = language()
    set_language(lang)
    try:
        window = make_window(source=DarkCamera(pace=0.05), camera="fake")
        qtbot.waitUntil(lambda: words in window.hint.text(), timeout=10_000)
    finally:
        set_language(before)
