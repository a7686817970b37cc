"""The settings dialog under the mouse wheel and in the guard's words, and the day/night
choice (F12) remembered across restarts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QComboBox, QScrollArea, QWidget
from pytestqt.qtbot import QtBot

from kiosk.core.i18n import set_language
from kiosk.settings import SETTINGS, Settings
from kiosk.store.db import connect
from kiosk.ui.dialogs.settings_dialog import SettingsDialog
from kiosk.ui.theme import theme_for
from tests.ui.conftest import WindowFactory

pytestmark = pytest.mark.gui


def wheel(widget: QWidget, steps: int) -> None:
    """``steps`` notches of the mouse wheel (negative: towards the user) over ``widget``,
    delivered through QApplication as a real wheel is (and handed on to the parents
    when the widget does not accept it)."""
    centre = QPointF(widget.rect().center())
    event = QWheelEvent(
        centre,
        QPointF(widget.mapToGlobal(centre.toPoint())),
        QPoint(0, 0),
        QPoint(0, 120 * steps),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(widget, event)


@pytest.fixture
def dialog(qtbot: QtBot, tmp_path: Path) -> SettingsDialog:
    made = SettingsDialog(Settings(path=tmp_path / "settings.toml"))
    qtbot.addWidget(made)
    made.resize(900, 500)
    made.show()
    qtbot.waitExposed(made)
    return made


def test_wheel_scrolls_the_form_not_the_values(dialog: SettingsDialog) -> None:
    scroll = dialog.findChild(QScrollArea)
    assert scroll is not None
    bar = scroll.verticalScrollBar()
    before = {name: dialog.value_of(name) for name in dialog.widgets}
    for name in ("decoder", "direction", "repeat_window_s", "fever_threshold"):
        widget = dialog.widgets[name]
        scroll.ensureWidgetVisible(widget)
        position = bar.value()
        wheel(widget, -3)
        wheel(widget, 2)
        assert bar.value() != position, f"the form did not scroll over {name}"
    assert {name: dialog.value_of(name) for name in dialog.widgets} == before


def test_wheel_changes_a_value_once_clicked_into(dialog: SettingsDialog) -> None:
    combo = dialog.widgets["decoder"]
    assert isinstance(combo, QComboBox)
    assert combo.focusPolicy() == Qt.FocusPolicy.StrongFocus
    combo.setFocus()
    assert combo.hasFocus()
    wheel(combo, -1)
    assert combo.currentData() != "auto"


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
def test_choices_in_words_values_raw(qtbot: QtBot, tmp_path: Path, lang: str) -> None:
    set_language(lang)
    try:
        made = SettingsDialog(Settings(path=tmp_path / "settings.toml"))
        qtbot.addWidget(made)
        for setting in SETTINGS:
            combo = made.widgets.get(setting.name)
            if not isinstance(combo, QComboBox):
                continue
            shown = [combo.itemText(i) for i in range(combo.count())]
            stored = [combo.itemData(i) for i in range(combo.count())]
            assert stored == list(setting.choices)
            assert not set(shown) & {c for c in setting.choices if c}, shown  # no raw value
            if lang == "zh_CN":
                assert all(any("\u4e00" <= ch <= "\u9fff" for ch in text) for text in shown)
        decoder = made.widgets["decoder"]
        assert isinstance(decoder, QComboBox)
        decoder.setCurrentIndex(decoder.findData("opencv"))
        made.submit()
        assert Settings.load(tmp_path / "settings.toml").decoder == "opencv"
    finally:
        set_language(None)


def test_every_choice_is_labelled() -> None:
    for setting in SETTINGS:
        assert len(setting.labels) == len(setting.choices), setting.name


def test_theme_setting_decides_the_start() -> None:
    from datetime import datetime

    evening, noon = datetime(2026, 3, 1, 20), datetime(2026, 3, 1, 12)
    assert theme_for("auto", evening) == "night"
    assert theme_for("auto", noon) == "day"
    assert theme_for("day", evening) == "day"
    assert theme_for("night", noon) == "night"


def test_f12_is_remembered_at_the_next_start(qtbot: QtBot, make_window: WindowFactory) -> None:
    first = make_window(theme=None)
    started = first.theme
    qtbot.keyClick(first, Qt.Key.Key_F12)
    other = "night" if started == "day" else "day"
    assert first.theme == other
    assert QApplication.instance().property("kioskTheme") == other  # the whole application
    assert Settings.load(first.home.settings_file).theme == other

    def audited() -> list[dict[str, object]]:
        db = connect(first.home.database)
        try:
            rows = db.execute("SELECT detail FROM audit WHERE action = 'settings.set'")
            return [json.loads(r[0]) for r in rows.fetchall()]
        finally:
            db.close()

    qtbot.waitUntil(lambda: any(d["name"] == "theme" for d in audited()), timeout=10_000)
    [change] = [d for d in audited() if d["name"] == "theme"]
    assert change["new"] == other and change["via"] == "window"  # a setting changed: audited
    first.close()
    second = make_window(theme=None)
    assert second.theme == other
    assert QApplication.instance().property("kioskTheme") == other  # the whole application
    qtbot.keyClick(second, Qt.Key.Key_F12)
    assert Settings.load(second.home.settings_file).theme == started
    second.set_theme("day")  # the application's theme, for the tests after this one
