"""End to end: a rendered video of codes through the real ``kiosk gate`` process.

The verdict sequence it prints and the rows in the database must be exactly right, and
a ``kill -9`` in the middle of logging must never lose a printed decision.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kiosk.core.keys import key_id_of, load_private_key
from kiosk.core.passes import PassClaims, PassKind, sign_pass
from kiosk.vision.synth import Segment, write_video
from tests.helpers import make_checkpoint, raw_connect, run, run_json

pytestmark = pytest.mark.slow


def kiosk_gate(home: Path, video: Path, *more: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "KIOSK_LANG": "en"}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kiosk",
            "--home",
            str(home),
            "gate",
            "--source",
            str(video),
            "--json",
            "--fast",
            *more,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[dict]]:
    root = tmp_path_factory.mktemp("e2e")
    home = root / "home"
    make_checkpoint(home, residents=4)
    run(home, "passes", "issue", "--all")
    passes = run_json(home, "passes", "list", "--json")
    # the held household must not be the valid pass holder's: that one goes out
    valid = passes[0]
    held = next(p for p in passes if p["household"] != valid["household"])
    revoked = next(p for p in passes if p["serial"] not in (valid["serial"], held["serial"]))
    run(home, "passes", "revoke", revoked["serial"], "--reason", "card lost")
    run(
        home,
        "holds",
        "add",
        "--household",
        held["household"],
        "--until",
        "2099-12-31",
        "--reason",
        "home quarantine",
    )
    key = load_private_key(home / "keys" / "issuer.key", None)
    now = datetime.now(UTC).replace(microsecond=0)
    expired = sign_pass(
        PassClaims(
            key_id_of(key.public_key()),
            "0000-00EX",
            PassKind.RESIDENT,
            now - timedelta(days=40),
            now - timedelta(days=10),
        ),
        key,
    )
    forged = valid["token"][:60] + ("Q" if valid["token"][60] != "Q" else "R") + valid["token"][61:]
    visitor = run_json(
        home,
        "visitors",
        "register",
        "--name",
        "访客",
        "--phone",
        "13912345678",
        "--destination",
        valid["household"],
        "--temperature",
        "36.4",
        "--json",
    )
    gap = Segment(None, 0.6)
    segments = [
        Segment(valid["token"], 1.0),
        gap,
        Segment(valid["token"], 1.0),
        gap,  # the same code again at once: no new row
        Segment(revoked["token"], 1.0),
        gap,
        Segment(forged, 1.0),
        gap,
        Segment(expired, 1.0),
        gap,
        Segment(visitor["code"], 1.0),
        gap,
        Segment(held["token"], 1.0),
        gap,
        Segment("https://pay.example.cn/qr/8848", 1.0),
        gap,
    ]
    video = root / "gate.avi"
    write_video(video, segments, fps=30)
    return home, video, passes


EXPECTED = [
    ("pass", "valid_pass"),
    ("deny", "revoked"),
    ("deny", "forged"),
    ("deny", "expired"),
    ("check", "visitor_code"),
    ("deny", "held"),
    ("check", "not_a_pass"),
]


def test_video_gives_exact_verdicts_and_rows(scene: tuple[Path, Path, list[dict]]) -> None:
    home, video, passes = scene
    before = raw_connect(home / "gatepass.db").execute("SELECT COUNT(*) FROM visits").fetchone()[0]
    proc = kiosk_gate(home, video, "--direction", "out")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert [(d["level"], d["reason"]) for d in lines] == EXPECTED, err
    assert all(d["direction"] == "out" for d in lines)
    assert lines[0]["serial"] == passes[0]["serial"]
    assert lines[0]["subject"] and "*" in lines[0]["subject"]  # masked
    assert all(d["latency_ms"] is not None and d["latency_ms"] >= 0 for d in lines)
    with raw_connect(home / "gatepass.db") as conn:
        rows = conn.execute("SELECT id, level, reason FROM visits ORDER BY at").fetchall()
    new = rows[before:]
    assert [(r[1], r[2]) for r in new] == EXPECTED
    assert [r[0] for r in new] == [d["visit_id"] for d in lines]


def test_kill_minus_nine_loses_nothing_printed(
    scene: tuple[Path, Path, list[dict]], tmp_path: Path
) -> None:
    home, _video, passes = scene
    run(home, "settings", "set", "repeat_window_s", "0")  # a decision for every frame
    try:
        busy = tmp_path / "busy.avi"
        write_video(busy, [Segment(p["token"], 1.5) for p in passes[:3]] * 2, fps=30)
        rng = random.Random(7)
        printed: list[str] = []
        for _round in range(6):
            proc = kiosk_gate(home, busy, "--direction", "in")
            want = rng.randint(1, 25)
            got: list[str] = []
            assert proc.stdout is not None
            deadline = time.monotonic() + 60
            while len(got) < want and time.monotonic() < deadline:
                line = proc.stdout.readline()
                if not line:
                    break
                got.append(json.loads(line)["visit_id"])
            proc.kill()  # SIGKILL: no clean-up, no flush, mid-transaction
            _rest, err = proc.communicate(timeout=10)  # also closes the pipes
            assert got, err
            printed += got
        with raw_connect(home / "gatepass.db") as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            stored = {r[0] for r in conn.execute("SELECT id FROM visits")}
        missing = [v for v in printed if v not in stored]
        assert not missing, f"{len(missing)} printed decisions lost"
    finally:
        run(home, "settings", "set", "repeat_window_s", "5")
