"""The guard on duty: asked for when the gate window starts, and always on screen."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from kiosk.ui.app import start_shift
from kiosk.ui.dialogs import shift
from kiosk.ui.dialogs.common import open_dialog
from kiosk.ui.dialogs.shift import ShiftSummaryDialog, SignInDialog
from tests.ui.conftest import WindowFactory

pytestmark = pytest.mark.gui


def test_the_window_asks_who_is_on_duty_and_shows_them(
    qtbot: QtBot, make_window: WindowFactory
) -> None:
    window = make_window(demo=False)
    assert "No guard signed in" in window.guard_label.text()
    assert window.guard_label.property("onDuty") is False
    start_shift(window, demo=False, guard=None)
    qtbot.waitUntil(lambda: isinstance(open_dialog("shift"), SignInDialog))
    dialog = open_dialog("shift")
    assert isinstance(dialog, SignInDialog)
    line = dialog.names.lineEdit()
    assert line is not None
    qtbot.keyClicks(line, "Li Ming")
    qtbot.keyClick(line, Qt.Key.Key_Return)
    assert window.guard_label.text() == "On duty: Li Ming"
    assert window.guard_label.property("onDuty") is True
    assert window.guard_label.isVisible()
    shift.show_dialog(window)  # signing out: nobody on duty, said so on screen
    qtbot.waitUntil(lambda: isinstance(open_dialog("shift"), ShiftSummaryDialog))
    summary = open_dialog("shift")
    assert isinstance(summary, ShiftSummaryDialog)
    summary.accept()
    assert "No guard signed in" in window.guard_label.text()


def test_a_guard_named_at_start_is_signed_in(qtbot: QtBot, make_window: WindowFactory) -> None:
    window = make_window(demo=False)
    start_shift(window, demo=False, guard="Wang Gang")
    qtbot.wait(50)
    assert open_dialog("shift") is None
    assert window.guard_name == "Wang Gang"
    assert window.guard_label.text() == "On duty: Wang Gang"


def test_the_unattended_demo_asks_nobody(qtbot: QtBot, make_window: WindowFactory) -> None:
    window = make_window()
    start_shift(window, demo=True, guard=None)
    qtbot.wait(50)
    assert open_dialog("shift") is None


def test_run_refuses_a_blank_guard_name(home_dir: Path) -> None:
    from tests.helpers import run

    run(home_dir, "init")
    result = run(home_dir, "run", "--guard", "  ", ok=False)
    assert result.exit_code == 2
