"""The clock notice of the gate window (issue 12): the guard is told when the clock is
in doubt (set back while the gate runs, behind the newest passage at start), scanning
and the verdict go on meanwhile, and only an admin's purge that trusts the clock ends
it."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import FAST_HEALTH, WindowFactory
from pytestqt.qtbot import QtBot

from kiosk.core.rules import Encounter, Level, Source
from kiosk.demo import Demo
from kiosk.gate import Gate
from tests.fakes import FakeCamera, FakeClock

pytestmark = [pytest.mark.gui, pytest.mark.slow]  # a window and a CLI process each


def trust_clock(home: Path) -> None:
    """The admin's way out, as the notice says: ``kiosk purge --trust-clock``."""
    done = subprocess.run(
        [sys.executable, "-m", "kiosk", "--home", str(home), "purge", "--trust-clock"],
        env={**os.environ, "KIOSK_LANG": "en"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


def scan_and_wait(qtbot: QtBot, window, token: str) -> None:  # type: ignore[no-untyped-def]
    before = len(window.decisions)
    window.handle_scanned_text(token)
    qtbot.waitUntil(lambda: len(window.decisions) == before + 1, timeout=10_000)


def test_a_clock_behind_the_newest_passage_is_told_at_start_until_an_admin_trusts_it(
    qtbot: QtBot, make_window: WindowFactory, demo: Demo
) -> None:
    ahead = FakeClock(datetime.now(UTC) + timedelta(hours=2))  # the clock was ahead
    with Gate(demo.home, clock=ahead, monotonic=ahead.monotonic) as gate:
        assert gate.handle(Encounter(Source.SCANNER, demo.tokens["valid"])) is not None
    # now the right time: behind the passage just recorded
    window = make_window(source=FakeCamera(pace=0.05), camera="fake", health=FAST_HEALTH)
    qtbot.waitUntil(lambda: window.clock_notice.isVisible(), timeout=10_000)
    assert window.clock_warning is not None
    text = window.clock_notice.text()
    assert "clock may be wrong" in text and "committee admin" in text
    assert "before the newest recorded passage" in text and "--trust-clock" in text
    # Scanning goes on, and the verdict is in full view below the notice.
    scan_and_wait(qtbot, window, demo.tokens["valid"])
    assert window.decisions[-1].verdict.level is Level.PASS
    assert window.verdict.isVisible() and window.verdict.height() > 300
    verdict_top = window.verdict.mapTo(window, window.verdict.rect().topLeft()).y()
    notice = window.clock_notice
    assert notice.mapTo(window, notice.rect().bottomLeft()).y() < verdict_top
    assert not window.clock_notice.hasFocus()
    # Not on its own: the next looks at the clock keep it.
    window.worker.check_clock()
    qtbot.wait(300)
    assert window.clock_notice.isVisible()
    trust_clock(demo.home.root)
    window.worker.check_clock()
    qtbot.waitUntil(lambda: window.clock_notice.isHidden(), timeout=10_000)
    assert window.clock_warning is None


def test_a_clock_set_back_while_running_is_told_and_stays_until_trusted(
    qtbot: QtBot, make_window: WindowFactory, demo: Demo
) -> None:
    clock = FakeClock(datetime.now(UTC))
    window = make_window(
        source=FakeCamera(pace=0.05),
        camera="fake",
        health=FAST_HEALTH,
        clock=clock,
        monotonic=clock.monotonic,
    )
    qtbot.waitUntil(lambda: window.decoder_name != "-", timeout=10_000)
    scan_and_wait(qtbot, window, demo.tokens["valid"])
    assert window.clock_notice.isHidden()
    clock.mono += 30  # past the repeat window
    clock.now -= timedelta(hours=2)  # set back; the monotonic clock says 30 s passed
    scan_and_wait(qtbot, window, demo.tokens["valid"])  # noticed by the next passage
    qtbot.waitUntil(lambda: window.clock_notice.isVisible(), timeout=10_000)
    assert "set back by 120 minutes" in window.clock_notice.text()  # 2 h less 30 s
    directions = [d.verdict.direction.value for d in window.decisions]
    assert directions == ["in", "out"]  # by the order recorded, not the clock
    clock.now += timedelta(hours=2)  # right again (for the gate: moved forward)
    window.worker.check_clock()
    qtbot.wait(300)
    assert window.clock_notice.isVisible()  # never silently, while nobody checked
    trust_clock(demo.home.root)
    window.worker.check_clock()
    qtbot.waitUntil(lambda: window.clock_notice.isHidden(), timeout=10_000)
    clock.advance(30)
    scan_and_wait(qtbot, window, demo.tokens["valid"])
    window.worker.check_clock()
    qtbot.wait(300)
    assert window.clock_notice.isHidden()  # trusted: the earlier passages no longer count
