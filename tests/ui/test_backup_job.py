"""The daily backup while a window runs (kiosk.ui.backup_job): on its own thread, once
a day, to the backup_folder setting's folder; the gate goes on meanwhile."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from kiosk.demo import Demo
from kiosk.home import Home
from kiosk.settings import Settings
from kiosk.store.backup import BackupResult, restore
from kiosk.ui import backup_job
from kiosk.ui.backup_job import DailyBackup
from tests.ui.conftest import WindowFactory


def set_folder(home: Home, folder: Path | None) -> None:
    settings = Settings.load(home.settings_file)
    settings.updated({"backup_folder": str(folder) if folder else ""})[0].save()


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def test_once_a_day_to_the_folder_set(qtbot: QtBot, demo: Demo, tmp_path: Path) -> None:
    clock = Clock()
    job = DailyBackup(
        demo.home, every=timedelta(milliseconds=20), first_after=timedelta(0), clock=clock
    )
    try:
        job.start()
        qtbot.waitUntil(lambda: job.rounds >= 2, timeout=10_000)  # no folder: nothing
        drive = tmp_path / "drive"
        set_folder(demo.home, drive)  # set, but the drive is not plugged in
        with qtbot.waitSignal(job.failed, timeout=10_000) as failed:
            pass
        assert "is not there" in failed.args[0]
        drive.mkdir()
        with qtbot.waitSignal(job.done, timeout=10_000) as written:
            pass
        first: BackupResult = written.args[0]
        assert first.path.parent == drive and first.created == clock.now
        rounds = job.rounds
        qtbot.waitUntil(lambda: job.rounds >= rounds + 3, timeout=10_000)
        assert list(drive.iterdir()) == [first.path]  # the same day: no second one
        clock.now += timedelta(days=1)
        with qtbot.waitSignal(job.done, timeout=10_000) as written:
            pass
        assert sorted(drive.iterdir()) == [first.path, written.args[0].path]
    finally:
        job.stop()
    assert restore(first.path, demo.home, check_only=True).checked_only


def test_the_gate_window_backs_up_while_it_scans(
    qtbot: QtBot,
    demo: Demo,
    make_window: WindowFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(backup_job, "FIRST_CHECK_AFTER", timedelta(milliseconds=200))
    drive = tmp_path / "drive"
    drive.mkdir()
    set_folder(demo.home, drive)
    window = make_window()
    with qtbot.waitSignal(window.backups.done, timeout=20_000) as written:
        pass
    qtbot.waitUntil(lambda: bool(window.decisions), timeout=20_000)  # the demo's passes
    assert written.args[0].path.parent == drive
    assert restore(written.args[0].path, demo.home, check_only=True).checked_only
