"""The window's language: ``kiosk --lang zh_CN demo`` opens a Chinese window (whatever
KIOSK_LANG says), and Qt's own words (Yes/No, Cancel, file dialogs) follow it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from PySide6.QtCore import QCoreApplication, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox, QProgressDialog

from kiosk.cli import cli
from kiosk.core.i18n import tr_in
from kiosk.demo import Demo
from kiosk.home import Home
from kiosk.ui.app import preparing
from kiosk.ui.main_window import MainWindow
from kiosk.ui.qt_app import qt_translations

pytestmark = pytest.mark.gui


def qt_yes() -> str:
    """Qt's own word for Yes (a qtbase string), in the language installed."""
    return QCoreApplication.translate("QPlatformTheme", "&Yes")


@pytest.fixture
def restore_app(qapp: QApplication) -> Iterator[QApplication]:
    """Whatever the test's window did to the shared application is undone after it."""
    sheet, font = qapp.styleSheet(), qapp.font()
    yield qapp
    qt_translations(qapp, "en")
    qapp.setStyleSheet(sheet)
    qapp.setFont(font)


def test_qt_translations_make_message_box_buttons_chinese(restore_app: QApplication) -> None:
    assert qt_translations(restore_app, "zh_CN") == ["qtbase"]
    box = QMessageBox(
        QMessageBox.Icon.Question,
        "",
        "",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
    )
    assert box.button(QMessageBox.StandardButton.Yes).text() == "是(&Y)"
    assert box.button(QMessageBox.StandardButton.No).text() == "否(&N)"
    box.deleteLater()
    assert qt_translations(restore_app, "en") == []  # and back: one set installed at a time
    assert qt_yes() == "&Yes"


def test_kiosk_lang_opens_the_demo_window_in_that_language(
    demo: Demo, restore_app: QApplication, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``kiosk --lang zh_CN demo`` once showed an English window: the demo did not
    pass --lang on, and the window set the system's language (KIOSK_LANG=en here)."""
    monkeypatch.setenv("KIOSK_LANG", "en")
    seen: dict[str, str] = {}
    tries = [0]

    def look() -> None:
        shown = [w for w in restore_app.topLevelWidgets() if isinstance(w, MainWindow)]
        tries[0] += 1
        if not any(w.isVisible() for w in shown) and tries[0] < 400:
            QTimer.singleShot(50, look)
            return
        seen["title"] = next((w.windowTitle() for w in shown if w.isVisible()), "")
        seen["yes"] = qt_yes()
        restore_app.quit()

    QTimer.singleShot(0, look)
    result = CliRunner().invoke(cli, ["--home", str(demo.home.root), "--lang", "zh_CN", "demo"])
    assert result.exit_code == 0, result.output
    assert seen["title"] == tr_in("zh_CN", "Gatepass gate") != "Gatepass gate"
    assert seen["yes"] == "是(&Y)"


def test_printing_from_the_cli_gets_qt_translations() -> None:
    """The CLI's own application (for PDFs) is made by ensure_gui_app(): in a fresh
    process, so that it is the one making the application."""
    code = (
        "from kiosk.core.i18n import set_language; set_language('zh_CN')\n"
        "from kiosk.ui.qt_app import ensure_gui_app\n"
        "from PySide6.QtCore import QCoreApplication\n"
        "app = ensure_gui_app()\n"
        "print(QCoreApplication.translate('QPlatformTheme', '&Yes'))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "是(&Y)"


def test_the_demo_shows_its_progress_while_it_is_made(
    tmp_path: Path, restore_app: QApplication
) -> None:
    """``kiosk demo`` shows a window at once (it showed nothing for 25-32 s while its
    video rendered), in the window's language, and closes it once the gate can start."""

    def dialogs() -> list[QProgressDialog]:
        return [
            w
            for w in restore_app.topLevelWidgets()
            if isinstance(w, QProgressDialog) and w.isVisible()
        ]

    with preparing(Home(tmp_path / "home"), "making", lang="zh_CN") as advance:
        (dialog,) = dialogs()
        assert dialog.windowTitle() == tr_in("zh_CN", "Gatepass")
        advance(0.5)
        assert dialog.value() == 50
    assert dialogs() == []
