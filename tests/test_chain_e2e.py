"""Issue 12 end to end: a real ``kiosk gate`` killed with SIGKILL, its ``-wal`` deleted
(the passages in it are gone), and the next start says how many and since when."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kiosk.core.clock import from_db
from kiosk.store.anchors import ANCHOR_EVERY
from kiosk.store.db import connect
from kiosk.vision.synth import Segment, write_video
from tests.helpers import make_checkpoint, run, run_json

pytestmark = pytest.mark.slow


def kiosk(home: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "KIOSK_LANG": "en"}
    return subprocess.Popen(
        [sys.executable, "-m", "kiosk", "--home", str(home), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def count_visits(path: Path) -> tuple[int, str | None]:
    db = connect(path)
    try:
        return tuple(db.execute("SELECT count(*), max(at) FROM visits").fetchone())  # type: ignore[return-value]
    finally:
        db.close()


def test_a_deleted_wal_after_kill_minus_nine_is_told_at_the_next_start(tmp_path: Path) -> None:
    home = tmp_path / "home"
    make_checkpoint(home, residents=3)
    run(home, "passes", "issue", "--all")
    run(home, "settings", "set", "repeat_window_s", "0")  # a decision for every frame
    passes = run_json(home, "passes", "list", "--json")
    video = tmp_path / "busy.avi"
    write_video(video, [Segment(p["token"], 2.0) for p in passes] * 3, fps=30)
    db_file = home / "gatepass.db"
    wal = home / "gatepass.db-wal"
    short = tmp_path / "short.avi"
    write_video(short, [Segment(passes[0]["token"], 0.5), Segment(None, 0.5)], fps=30)
    first = kiosk(home, "gate", "--source", str(short), "--json", "--fast")
    out, err = first.communicate(timeout=120)
    assert first.returncode == 0 and out.strip() and "missing" not in err, err
    before = count_visits(db_file)[0]  # on disk: the last connection folded the WAL in
    assert before > 0 and not wal.exists()

    gate = kiosk(home, "gate", "--source", str(video), "--json", "--fast", "--direction", "in")
    printed = []
    assert gate.stdout is not None
    deadline = time.monotonic() + 120
    want = ANCHOR_EVERY + 30  # past the first anchor of this run
    while len(printed) < want and time.monotonic() < deadline:
        line = gate.stdout.readline()
        if not line:
            break
        printed.append(json.loads(line)["visit_id"])
    anchors = (home / "visits.anchors").read_text().splitlines()
    gate.send_signal(signal.SIGKILL)
    _out, err = gate.communicate(timeout=10)
    assert len(printed) >= want, err
    newest = json.loads(anchors[-1])
    assert newest["seq"] >= before + ANCHOR_EVERY  # what the signed anchor counts
    assert wal.exists() and wal.stat().st_size > 0
    wal.unlink()  # the passages committed since the last WAL checkpoint are gone

    kept, last_at = count_visits(db_file)
    lost = newest["seq"] - kept
    assert lost > 0 and kept < before + len(printed) and last_at is not None

    status = kiosk(home, "db", "status")
    out, err = status.communicate(timeout=60)
    assert status.returncode == 0, err
    assert f"At least {lost} passages are missing from the end of the visit log" in err
    assert "kiosk visits verify" in err

    # the gate starts, says it, and goes on logging
    again = kiosk(home, "gate", "--source", str(short), "--json", "--fast")
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert f"At least {lost} passages are missing" in err
    since = f"{from_db(last_at).astimezone():%Y-%m-%d %H:%M}"
    assert f"recorded between {since} and" in err
    assert out.strip(), "no passage logged after the loss"
    db = connect(db_file)
    try:
        audit = db.execute("SELECT detail FROM audit WHERE action = 'visits.damaged'").fetchall()
    finally:
        db.close()
    assert [json.loads(d)["lost"] for (d,) in audit] == [lost]

    # told once: the chain goes on from what the database holds (a rebase anchor)
    third = kiosk(home, "gate", "--source", str(short), "--json", "--fast")
    out, err = third.communicate(timeout=120)
    assert third.returncode == 0 and "missing" not in err, err
    verify = kiosk(home, "visits", "verify")
    out, err = verify.communicate(timeout=120)
    assert verify.returncode == 0, out + err
