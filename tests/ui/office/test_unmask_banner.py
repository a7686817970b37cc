"""The office's "show full ID numbers" state is unmistakable: an amber banner with the
time left, counting down, and a button that says what it will do."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from kiosk.demo import Demo
from kiosk.settings import Settings
from kiosk.ui.office.window import UNMASK_MINUTES, OfficeWindow, countdown_text
from kiosk.ui.theme import THEMES, apply_theme
from tests.ui.test_contrast import pixels, text_contrast

pytestmark = pytest.mark.gui


@pytest.fixture
def window(qtbot: QtBot, demo: Demo) -> Iterator[OfficeWindow]:
    made = OfficeWindow(demo.home, Settings.load(demo.home.settings_file))
    qtbot.addWidget(made)
    made.resize(1366, 768)
    made.show()
    yield made
    made.close()


def test_countdown_text() -> None:
    assert countdown_text(UNMASK_MINUTES * 60_000) == "5:00"
    assert countdown_text(272_000) == "4:32"
    assert countdown_text(271_001) == "4:32"  # rounded up: never shows 0:00 too early
    assert countdown_text(999) == "0:01"
    assert countdown_text(0) == countdown_text(-40) == "0:00"


def test_banner_and_button_say_when_full_numbers_are_shown(window: OfficeWindow) -> None:
    assert not window.unmask_banner.isVisible()
    masked_text = window.unmask_button.text()
    window.set_unmasked(True)
    assert window.unmask_banner.isVisible()
    assert re.search(r"[45]:\d\d", window.unmask_banner.text())
    assert window.unmask_button.text() != masked_text
    assert window.unmask_button.isChecked()

    window._remask.remainingTime = lambda: 272_000  # type: ignore[method-assign]
    window._countdown.timeout.emit()  # one second later
    assert "4:32" in window.unmask_banner.text()

    window._remask.timeout.emit()  # the five minutes are up
    assert not window.ctx.unmasked
    assert not window.unmask_banner.isVisible()
    assert not window._countdown.isActive()
    assert window.unmask_button.text() == masked_text
    assert not window.unmask_button.isChecked()


@pytest.mark.parametrize("theme", THEMES)
def test_banner_stands_out_and_is_legible(
    qapp: QApplication, window: OfficeWindow, theme: str
) -> None:
    apply_theme(qapp, theme)
    try:
        window.set_unmasked(True)
        qapp.processEvents()
        contrast, _ink, ground = text_contrast(pixels(window.unmask_banner.grab().toImage()))
        assert ground == "#f2a900"  # amber, whatever the theme
        assert contrast >= 4.5
        window.set_unmasked(False)
    finally:
        apply_theme(qapp, "day")
