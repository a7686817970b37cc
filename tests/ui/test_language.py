"""The window's language: ``kiosk --lang zh_CN demo`` opens a Chinese window (whatever
KIOSK_LANG says), and Qt's own words (Yes/No, Cancel, file dialogs) follow it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QApplication, QMessageBox, QProgressDialog

from kiosk.core.i18n import tr_in
from kiosk.demo import Demo
from kiosk.home import Home
from kiosk.ui.app import preparing
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


# Runs ``kiosk ARGS`` in this process, looks at the window once it shows, quits.
LOOK_AT_THE_WINDOW = """
import json, sys
from PySide6.QtCore import QCoreApplication, QTimer
from PySide6.QtWidgets import QApplication
from kiosk.cli import cli
from kiosk.ui.main_window import MainWindow

app = QApplication(sys.argv[:1])
seen = {}


def look():
    shown = [w for w in app.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
    if not shown:
        QTimer.singleShot(50, look)
        return
    seen["title"] = shown[0].windowTitle()
    seen["yes"] = QCoreApplication.translate("QPlatformTheme", "&Yes")
    app.quit()


QTimer.singleShot(0, look)
cli.main(sys.argv[1:], standalone_mode=False)
print(json.dumps(seen))
"""


def test_kiosk_lang_opens_the_demo_window_in_that_language(demo: Demo) -> None:
    """``kiosk --lang zh_CN demo`` once showed an English window: the demo did not
    pass --lang on, and the window set the system's language (KIOSK_LANG=en here).
    In a process of its own: the window runs the application's event loop."""
    env = {**os.environ, "KIOSK_LANG": "en", "QT_QPA_PLATFORM": "offscreen"}
    args = ["--home", str(demo.home.root), "--lang", "zh_CN", "demo"]
    out = subprocess.run(
        [sys.executable, "-c", LOOK_AT_THE_WINDOW, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout.splitlines()[-1])
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
