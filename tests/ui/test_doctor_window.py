"""The health check from the window's settings: the screenless checks on the window's
reader, the camera judged by the frames the running gate receives, Qt's own checks."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from kiosk.doctor import Status
from kiosk.ui.dialogs.admin import show_doctor
from kiosk.ui.dialogs.common import _OPEN
from kiosk.ui.doctor import DoctorDialog, fonts, screen
from tests.ui.conftest import WindowFactory


def test_the_health_check_judges_the_running_camera_and_the_home(
    qtbot: QtBot, make_window: WindowFactory
) -> None:
    window = make_window()
    qtbot.waitUntil(lambda: window.worker.latest_frame() is not None, timeout=10_000)
    show_doctor(window)
    dialog = _OPEN["doctor"]
    assert isinstance(dialog, DoctorDialog)
    qtbot.waitUntil(lambda: dialog.findings is not None, timeout=20_000)
    assert dialog.findings is not None
    found = {f.check: f for f in dialog.findings}
    assert found["camera"].status == Status.OK and found["camera"].figures["fps"] > 0
    for check in ("decoder", "database", "keys", "disk"):
        assert found[check].status == Status.OK, found[check]
    assert set(found) >= {"sound", "fonts", "screen", "clock", "exchange"}
    assert dialog.findChild(type(dialog.status), "doctor_camera") is not None
    assert "0.1.0" in dialog.version.text()  # the version and build, for a support call
    dialog.close()


def test_qt_checks_find_the_chinese_font_and_no_screen_offscreen(qtbot: QtBot) -> None:
    assert fonts().status == Status.OK  # CI installs fonts-wqy-microhei
    assert screen().status == Status.SKIP  # the tests run offscreen


def test_the_settings_lead_to_the_health_check_by_keyboard(qtbot: QtBot) -> None:
    from PySide6.QtCore import Qt

    from kiosk.settings import Settings
    from kiosk.ui.dialogs.settings_dialog import SettingsDialog

    dialog = SettingsDialog(Settings())
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.doctor_button.setFocus()
    qtbot.keyClick(dialog.doctor_button, Qt.Key.Key_Space)
    assert dialog.doctor_requested and not dialog.isVisible()
