"""One log file per process: a second process of the same program writes a file of its
own, never the one another process rotates (which breaks on Windows)."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

from kiosk.home import Home
from kiosk.logs import claim_log_file, log_file, setup_logging
from tests.helpers import make_checkpoint


def test_a_claimed_file_is_not_given_twice(tmp_path: Path) -> None:
    first, lock = claim_log_file(tmp_path, "kiosk")
    second, lock2 = claim_log_file(tmp_path, "kiosk")
    other, lock3 = claim_log_file(tmp_path, "gate")
    assert (first.name, second.name, other.name) == ("kiosk.log", "kiosk-2.log", "gate.log")
    assert lock is not None and lock2 is not None and lock3 is not None
    lock.close()  # the first process ended: its file is free again
    again, lock4 = claim_log_file(tmp_path, "kiosk")
    assert again.name == "kiosk.log"
    for held in (lock2, lock3, lock4):
        assert held is not None
        held.close()


def test_programs_write_their_own_files(home_dir: Path) -> None:
    make_checkpoint(home_dir, residents=1)
    home = Home(home_dir)
    setup_logging(home, program="gate")
    logging.getLogger("kiosk.test").warning("from the gate")
    assert Path(log_file()).name == "gate.log"
    held, lock = claim_log_file(home.logs_dir, "kiosk")  # another command is running
    try:
        done = subprocess.run(
            [sys.executable, "-m", "kiosk", "--home", str(home_dir), "passes", "list", "--json"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
    finally:
        if lock is not None:
            lock.close()
    assert held.name == "kiosk.log"
    logs = home.logs_dir
    assert "from the gate" in (logs / "gate.log").read_text(encoding="utf-8")
    assert (logs / "kiosk-2.log").exists()  # the command found kiosk.log taken
    assert "from the gate" not in (logs / "kiosk-2.log").read_text(encoding="utf-8")
