"""Rounds of ``kill -9`` on a real ``kiosk gate`` under load; what was printed against
what is on disk. Used by tests/test_kill_rounds.py (200 rounds in the suite) and
bench/bench_kill.py (as many as you like).

The load: a folder of QR images of real passes (``--source DIR --fast``), the input
path a field gate uses for a folder of photos, through the real decoder, with
``repeat_window_s = 0`` so every image is a decision and a durable row. One process
start (about 0.9 s of imports on a 2-core machine) is the bulk of a round; the
decisions come about every 4 ms once it runs, so a kill lands while rows are being
written.

Where a round is killed (:func:`kill_point`): most rounds after a random number of
printed decisions plus a random few milliseconds (mid-write: the next row's
transaction is under way); some at a random moment from the start (while opening,
checking, migrating the database, or writing); a few let the process run to its end.
A decision counts as acknowledged when its whole line reached stdout, including lines
still in the pipe when the process died: ``kiosk gate`` prints a decision only once
its row is committed.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

IMAGES = 60  # decisions a round can make before its source ends


@dataclass
class Lane:
    """One checkpoint and its folder of pass images; rounds on one lane run one at a time."""

    home: Path
    images: Path


@dataclass
class Tally:
    rounds: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    acknowledged: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # rounds that ended in an error

    def add(self, other: Tally) -> None:
        self.rounds += other.rounds
        for kind, n in other.by_kind.items():
            self.by_kind[kind] = self.by_kind.get(kind, 0) + n
        self.acknowledged += other.acknowledged
        self.failures += other.failures


def make_lane(root: Path, images: int = IMAGES) -> Lane:
    """A checkpoint of 3 residents with passes, a decision for every frame, and
    ``images`` QR images of the passes (PNG, as a phone photo folder would hold)."""
    from kiosk.core.passes import QR_BORDER, qr_code
    from tests.helpers import make_checkpoint, run, run_json

    home = root / "home"
    make_checkpoint(home, residents=3)
    run(home, "passes", "issue", "--all")
    run(home, "settings", "set", "repeat_window_s", "0")  # a decision for every frame
    passes = run_json(home, "passes", "list", "--json")
    folder = root / "images"
    folder.mkdir()
    for i in range(images):
        path = folder / f"pass-{i:03d}.png"
        if i < len(passes):
            qr_code(passes[i]["token"]).save(str(path), scale=4, border=QR_BORDER)
        else:
            shutil.copyfile(folder / f"pass-{i % len(passes):03d}.png", path)
    return Lane(home, folder)


def start_gate(lane: Lane) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "KIOSK_LANG": "en"}
    command = [sys.executable, "-m", "kiosk", "--home", str(lane.home), "gate"]
    command += ["--source", str(lane.images), "--json", "--fast", "--direction", "in"]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)


def kill_point(rng: random.Random) -> tuple[str, float]:
    """(kind, value): ``after_lines`` n decisions read, then up to 4 ms; ``at_time``
    seconds after the start; ``to_end``."""
    draw = rng.random()
    if draw < 0.75:
        return "after_lines", float(rng.randint(1, IMAGES - 5))
    if draw < 0.95:
        return "at_time", rng.uniform(0.3, 1.6)
    return "to_end", 0.0


def acknowledged(out: bytes) -> list[str]:
    """The visit ids of every whole decision line (a line cut by the kill is not one)."""
    lines = out.split(b"\n")[:-1]  # what follows the last newline was never whole
    return [json.loads(line)["visit_id"] for line in lines]


def one_round(lane: Lane, rng: random.Random) -> tuple[str, list[str], str | None]:
    """Run and kill one gate; (kind, acknowledged ids, an error or None)."""
    kind, value = kill_point(rng)
    proc = start_gate(lane)
    assert proc.stdout is not None
    out = b""
    if kind == "after_lines":
        deadline = time.monotonic() + 30
        while out.count(b"\n") < value and time.monotonic() < deadline:
            chunk = proc.stdout.read1(65536)
            if not chunk:
                break
            out += chunk
        time.sleep(rng.uniform(0, 0.004))
        proc.kill()
    elif kind == "at_time":
        time.sleep(value)
        proc.kill()
    rest, err = proc.communicate(timeout=60)
    out += rest
    killed = proc.returncode == -9
    if not killed and proc.returncode != 0:
        return kind, acknowledged(out), f"exit {proc.returncode}: {err.decode(errors='replace')}"
    return kind, acknowledged(out), None


def run_lane(lane: Lane, rounds: int, seed: int) -> Tally:
    rng = random.Random(seed)
    tally = Tally()
    for _ in range(rounds):
        kind, ids, error = one_round(lane, rng)
        tally.rounds += 1
        tally.by_kind[kind] = tally.by_kind.get(kind, 0) + 1
        tally.acknowledged += ids
        if error:
            tally.failures.append(error)
    return tally


def run_lanes(lanes: list[Lane], rounds: int, seed: int) -> Tally:
    """``rounds`` rounds shared out over ``lanes``, each lane in its own thread."""
    tallies = [Tally() for _ in lanes]
    share = [rounds // len(lanes) + (i < rounds % len(lanes)) for i in range(len(lanes))]

    def work(i: int) -> None:
        tallies[i] = run_lane(lanes[i], share[i], seed * 1000 + i)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(lanes))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    total = Tally()
    for t in tallies:
        total.add(t)
    return total


@dataclass
class Audit:
    integrity: str
    rows: int
    ids: set[str]


def audit(lane: Lane) -> Audit:
    """The lane's database as the next start sees it: opened through
    ``kiosk.store.db.connect`` (quick_check), then a full integrity check."""
    from kiosk.store.db import connect

    db = connect(lane.home / "gatepass.db", check=True)
    try:
        integrity = ", ".join(str(r[0]) for r in db.execute("PRAGMA integrity_check").fetchall())
        ids = {str(r[0]) for r in db.execute("SELECT id FROM visits").fetchall()}
        return Audit(integrity, len(ids), ids)
    finally:
        db.close()
