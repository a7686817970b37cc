"""A native crash (Qt, OpenCV, ZBar: anything that kills the interpreter) leaves its
trace in ``<home>/logs/crash.log``, and the next start says so, once: the CLI in one line
on stderr, the gate window and the office in a box with the time and the file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from kiosk.home import Home
from kiosk.logs import previous_crash, setup_logging
from tests.helpers import make_checkpoint

# The real CLI (its group sets up the language, the home and the logs) with one more
# command, which crashes the interpreter the way a fault in Qt or OpenCV would.
CRASHING_KIOSK = """
import faulthandler, sys
from kiosk.cli import cli, main

@cli.command("crash-now")
def crash_now() -> None:
    faulthandler._sigsegv()

sys.argv = ["kiosk", *sys.argv[1:]]
main()
"""


def _env() -> dict[str, str]:
    return {**os.environ, "QT_QPA_PLATFORM": "offscreen", "KIOSK_LANG": "en"}


def crash(home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CRASHING_KIOSK, "--home", str(home), "crash-now"],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


def kiosk(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kiosk", "--home", str(home), *args],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def crashed(home_dir: Path) -> Path:
    """A checkpoint whose last run died of a segmentation fault."""
    make_checkpoint(home_dir, residents=1)
    died = crash(home_dir)
    assert died.returncode == -signal.SIGSEGV, died.stderr
    return home_dir


@pytest.mark.slow
def test_a_native_crash_leaves_its_trace_and_the_next_start_says_so_once(crashed: Path) -> None:
    trace = (crashed / "logs" / "crash.log").read_text(encoding="utf-8")
    assert "Fatal Python error: Segmentation fault" in trace
    assert "in crash_now" in trace  # the Python stack of the thread that died
    assert "in main" in trace

    first = kiosk(crashed, "residents", "list")
    assert first.returncode == 0, first.stderr
    notes = [line for line in first.stderr.splitlines() if "stopped unexpectedly" in line]
    assert len(notes) == 1, first.stderr
    when = datetime.fromtimestamp((crashed / "logs" / "crash.log").stat().st_mtime)
    assert when.strftime("%Y-%m-%d %H:%M") in notes[0]
    assert str(crashed / "logs" / "crash.log") in notes[0]

    again = kiosk(crashed, "residents", "list")
    assert again.returncode == 0
    assert "stopped unexpectedly" not in again.stderr

    # a second crash is told again, and the first trace is still in the file
    assert crash(crashed).returncode == -signal.SIGSEGV
    assert "stopped unexpectedly" in kiosk(crashed, "residents", "list").stderr
    assert (crashed / "logs" / "crash.log").read_text().count("Fatal Python error") == 2


def test_a_clean_run_is_not_a_crash(home_dir: Path) -> None:
    make_checkpoint(home_dir, residents=1)
    done = kiosk(home_dir, "residents", "list")
    assert done.returncode == 0 and "stopped unexpectedly" not in done.stderr
    assert (home_dir / "logs" / "crash.log").read_text() == ""


@pytest.mark.gui
@pytest.mark.parametrize(("lang", "words"), [("en", "stopped unexpectedly"), ("zh_CN", "意外退出")])
def test_the_windows_show_the_crash_once(
    qtbot: QtBot, crashed: Path, lang: str, words: str
) -> None:
    """What the gate window and the office show at start (``show_crash_notice``): the
    time and the file, in the guard's language, in a box that blocks nothing."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QWidget

    from kiosk.core.i18n import set_language
    from kiosk.ui.app import show_crash_notice

    home, elsewhere = Home(crashed), Home(crashed.parent / "elsewhere")
    setup_logging(elsewhere)  # this process set up the checkpoint: start afresh
    setup_logging(home)  # the start after the crash
    crash_found = previous_crash()
    assert crash_found is not None
    parent = QWidget()
    qtbot.addWidget(parent)
    set_language(lang)
    box = show_crash_notice(parent, home)
    assert box is not None and box.isVisible()
    assert box.windowModality() == Qt.WindowModality.NonModal
    assert words in box.text()
    assert crash_found.time_text() in box.text()
    assert str(crashed / "logs" / "crash.log") in box.text()
    box.close()

    setup_logging(elsewhere)  # the start after that
    setup_logging(home)
    assert previous_crash() is None
    assert show_crash_notice(parent, home) is None


def test_the_crash_hook_logs_an_error_no_code_caught() -> None:
    """The hook the gate window and the office run inside: an error no code caught
    reaches the log with its traceback (offscreen, no box is shown)."""
    import logging

    from kiosk.ui.app import crash_hook

    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logging.getLogger("kiosk.ui").addHandler(handler)
    try:
        before = sys.excepthook
        with crash_hook(office=True):
            assert sys.excepthook is not before
            try:
                raise RuntimeError("a slot went wrong")
            except RuntimeError as exc:
                sys.excepthook(type(exc), exc, exc.__traceback__)
        assert sys.excepthook is before
    finally:
        logging.getLogger("kiosk.ui").removeHandler(handler)
    assert any("a slot went wrong" in r.getMessage() for r in records)
