"""The whole program under a wrong clock: the real ``python -m kiosk`` run under
Debian's ``faketime`` (libfaketime), as a gate laptop with a wrong clock would run it.

A clock 400 days ahead purges nothing until an admin trusts it; a gate 30 s behind the
office still accepts a pass issued just now (``CLOCK_SKEW``); a gate started with its
clock behind the newest recorded passage says so. (A jump back while the gate runs is
tested in-process, tests/test_gate.py and tests/ui/test_clock_notice.py: from outside,
the moment of the jump cannot be placed between two scans.)"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from kiosk.store.db import connect
from tests.helpers import make_checkpoint, run

pytestmark = [
    pytest.mark.slow,  # a few processes each
    pytest.mark.skipif(shutil.which("faketime") is None, reason="faketime is not installed"),
]


def kiosk(
    home: Path, *args: str, clock: str | None = None, threads: bool = False
) -> subprocess.CompletedProcess[str]:
    """``python -m kiosk --home HOME ARGS``, under ``faketime -f CLOCK`` when given.

    libfaketime moves the monotonic clock by the same offset unless told not to, and
    either way breaks something that a computer with a wrong clock does not: moved, it
    stretches every timed wait of a thread by the offset (a gate 30 s behind waits 30 s
    more at each); left alone, ``time.sleep`` fails (EINVAL from its clock_nanosleep).
    So a command whose threads wait (``threads``: the gate) runs with the monotonic
    clock left alone, as on a real computer; the others (the purge sleeps between
    batches) with it moved."""
    command = [sys.executable, "-m", "kiosk", "--home", str(home), *args]
    env = {**os.environ, "KIOSK_LANG": "en", "PYTHONUNBUFFERED": "1"}
    if clock is not None:
        command = ["faketime", "-f", clock, *command]
        if threads:
            env["FAKETIME_DONT_FAKE_MONOTONIC"] = "1"
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def gate(home: Path, source: Path, clock: str | None = None) -> subprocess.CompletedProcess[str]:
    done = kiosk(
        home, "gate", "--source", str(source), "--json", "--fast", clock=clock, threads=True
    )
    assert done.returncode == 0, done.stderr
    return done


def verdicts(done: subprocess.CompletedProcess[str]) -> list[str]:
    return [json.loads(line)["level"] for line in done.stdout.splitlines() if line.strip()]


def visits(home: Path) -> int:
    db = connect(home / "gatepass.db")
    try:
        return int(db.execute("SELECT count(*) FROM visits").fetchone()[0])
    finally:
        db.close()


@pytest.fixture
def passes(home_dir: Path, tmp_path: Path) -> Path:
    """A checkpoint whose passes were issued just now, as QR images in a folder."""
    make_checkpoint(home_dir, residents=2)
    run(home_dir, "passes", "issue", "--all")
    folder = tmp_path / "passes"
    run(home_dir, "passes", "export", "--out", str(folder))
    return folder


@pytest.fixture
def blank(tmp_path: Path) -> Path:
    """A camera that sees no code: the gate starts (and checks its clock) and ends."""
    folder = tmp_path / "blank"
    folder.mkdir()
    cv2.imwrite(str(folder / "wall.png"), np.full((240, 320, 3), 128, np.uint8))
    return folder


def test_a_clock_far_ahead_purges_nothing_until_an_admin_trusts_it(
    home_dir: Path, passes: Path, blank: Path
) -> None:
    assert verdicts(gate(home_dir, passes)) == ["pass", "pass"]  # today, the right clock
    ahead = gate(home_dir, blank, clock="+400d")
    assert "400 days after the newest record" in ahead.stderr
    assert "Nothing was deleted" in ahead.stderr and "--trust-clock" in ahead.stderr
    assert visits(home_dir) == 2
    refused = kiosk(home_dir, "purge", clock="+400d")
    assert refused.returncode == 2 and "--trust-clock" in refused.stderr
    assert visits(home_dir) == 2
    trusted = kiosk(home_dir, "purge", "--trust-clock", clock="+400d")
    assert trusted.returncode == 0, trusted.stderr
    assert "2 visit(s)" in trusted.stdout and visits(home_dir) == 0
    again = gate(home_dir, blank, clock="+400d")  # the admin trusted this clock
    assert "trust-clock" not in again.stderr and "Retention" not in again.stderr


def test_a_gate_behind_the_office_accepts_a_new_pass_and_one_behind_the_log_says_so(
    home_dir: Path, passes: Path, blank: Path
) -> None:
    behind = gate(home_dir, passes, clock="-30s")  # the passes were issued just now
    assert verdicts(behind) == ["pass", "pass"]
    assert "trust-clock" not in behind.stderr  # 30 s is no reason to doubt the clock
    set_back = gate(home_dir, blank, clock="-2h")
    assert "before the newest recorded passage" in set_back.stderr
    assert "--trust-clock" in set_back.stderr
    refused = kiosk(home_dir, "purge")  # the right clock again, but held: an admin decides
    assert refused.returncode == 2 and "on hold" in refused.stderr
