"""Soak: the real gate window on a burst of hundreds of decisions, with the cores busy.

With PySide6 6.12.0 the window died of "Fatal Python error: none_dealloc" (exit 134)
under such a burst, and the fault showed more often under load. This runs the real
program (``kiosk run --windowed`` on the test's Xvfb) on a folder of a few hundred
codes (good passes, revoked passes, codes that are no pass at all) while busy loops
load every core, then checks it is alive, logged many decisions, and ends with exit 0
and nothing fatal on SIGTERM (the kiosk laptop being shut down). The codes come as a
30 fps video (two frames each), so the decisions keep coming for the whole run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import pytest
import segno

from tests.field.conftest import KioskAppFactory
from tests.helpers import run, run_json, write_register

RESIDENTS = 200
REVOKED = 25
UNKNOWN = 35
FRAMES_EACH = 2  # at 30 fps: 15 codes a second for about 16 s
SIDE = 360
SOAK_S = 20.0  # the window runs this long after it is up (the whole test < 60 s)


def _video(folder: Path, out: Path) -> Path:
    """The code images as a 30 fps camera: each shown for ``FRAMES_EACH`` frames."""
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (SIDE, SIDE))
    try:
        for image in sorted(folder.glob("*.png")):
            frame = cv2.resize(cv2.imread(str(image)), (SIDE, SIDE))
            for _ in range(FRAMES_EACH):
                writer.write(frame)
    finally:
        writer.release()
    return out


@pytest.fixture
def burst(tmp_path: Path) -> tuple[Path, Path]:
    """A checkpoint and a video of codes: passes (some revoked) and strangers' codes."""
    home = tmp_path / "gate"
    run(home, "init", "--name", "soak")
    run(home, "residents", "import", str(write_register(tmp_path / "register.csv", RESIDENTS)))
    run(home, "passes", "issue", "--all", "--days", "30")
    folder = tmp_path / "codes"
    run(home, "passes", "export", "--out", str(folder))
    for row in run_json(home, "passes", "list", "--json")[:REVOKED]:
        run(home, "passes", "revoke", row["serial"], "--reason", "moved out")
    for i in range(UNKNOWN):
        segno.make_qr(f"NOT-A-PASS-{i:04d}").save(str(folder / f"zz-stranger-{i:04d}.png"), scale=8)
    return home, _video(folder, tmp_path / "codes.avi")


@pytest.fixture
def busy_cores() -> Iterator[None]:
    """Every core kept busy by a loop, as a kiosk laptop is by other programs."""
    loops = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"])
        for _ in range(os.cpu_count() or 2)
    ]
    try:
        yield
    finally:
        for loop in loops:
            loop.kill()
            loop.wait()


def test_the_window_survives_a_burst_of_decisions_under_load(
    kiosk_app: KioskAppFactory, burst: tuple[Path, Path], busy_cores: None
) -> None:
    home, video = burst
    app = kiosk_app(home, camera=str(video))
    app.wait_ready()
    deadline = time.monotonic() + SOAK_S
    while time.monotonic() < deadline:
        assert app.alive(), app.stderr()
        time.sleep(0.5)
    assert app.alive(), app.stderr()
    assert app.stop() == 0, app.stderr()
    output = app.stderr()
    assert "Fatal" not in output and "Traceback" not in output, output
    visits = run_json(home, "visits", "list", "--json")
    assert len(visits) >= 100, f"only {len(visits)} decisions logged"
    levels = {v["level"] for v in visits}
    assert {"pass", "deny"} <= levels, levels
