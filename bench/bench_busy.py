"""The gate's commits while the office does bulk work (issue 10, item 0b).

    python bench/bench_busy.py [--residents 21000] [--pace-ms 50] [--before OLD_SRC]

A gate (``Gate.handle``: facts, ``decide()``, one durable row) runs in a thread of this
process, one scan every ``--pace-ms``, timing each decision from start to committed
row. Meanwhile the office's bulk jobs run as real ``kiosk`` processes on the same
checkpoint: ``residents import`` of the register, ``passes issue --all``, then
``passes issue --all --reissue``. The gate's latency during each job is printed next to
the same gate with no bulk work (p50, p95, max, and as ratios), with each job's own
duration.

``--before OLD_SRC`` (a source tree of an older Gatepass, e.g. from
``git archive af24d5d | tar -x -C /tmp/old``) runs the same jobs with that code, on a
copy of the checkpoint taken before passes were issued, for the before/after figures.
With the old code each job is one transaction: the gate (the new one, which waits)
waits for all of it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
# Checkpoints made here are opened by other processes too: all share one key, as the
# tests' do (kiosk.store.db_key reads KIOSK_DB_KEY).
os.environ.setdefault("KIOSK_DB_KEY", "be" * 32)

from bench_import import write_csv

from kiosk.core.ids import uuid7
from kiosk.core.rules import Encounter, Source
from kiosk.gate import Gate
from kiosk.home import Home
from kiosk.store.checkpoint import create_checkpoint

SRC = Path(__file__).resolve().parent.parent


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class GateLoop(threading.Thread):
    """A gate scanning every ``pace`` seconds until stopped; each decision's time (ms)
    from the call to the committed row."""

    def __init__(self, home: Path, pace: float) -> None:
        super().__init__(daemon=True)
        self.home, self.pace = home, pace
        self.stop = threading.Event()
        self.ready = threading.Event()
        self.latencies: list[float] = []
        self.waits = 0  # times the gate said it was waiting for a busy database
        self.error: BaseException | None = None

    def _on_wait(self, waiting: bool) -> None:
        self.waits += waiting

    def run(self) -> None:
        try:
            with Gate(Home(self.home), on_wait=self._on_wait) as gate:
                self.ready.set()
                while not self.stop.is_set():
                    started = time.perf_counter()
                    decision = gate.handle(
                        Encounter(Source.CAMERA, f"https://pay.example.cn/{uuid7()}")
                    )
                    self.latencies.append((time.perf_counter() - started) * 1000)
                    assert decision is not None
                    self.stop.wait(self.pace)
        except BaseException as exc:
            self.error = exc
            self.ready.set()


def with_gate(
    home: Path, pace: float, work: Callable[[], object]
) -> tuple[list[float], int, float]:
    """Run ``work()`` while a gate scans; (latencies, waits, seconds ``work`` took)."""
    loop = GateLoop(home, pace)
    loop.start()
    loop.ready.wait()
    started = time.perf_counter()
    try:
        work()
    finally:
        took = time.perf_counter() - started
        loop.stop.set()
        loop.join()
    if loop.error is not None:
        raise loop.error
    return loop.latencies, loop.waits, took


def kiosk(src: Path, home: Path, *args: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(src), "PYTHONDONTWRITEBYTECODE": "1"}
    subprocess.run(
        [sys.executable, "-m", "kiosk", "--home", str(home), *args],
        check=True,
        env=env,
        cwd=src,  # ``-m`` puts the working folder first on the path
        stdout=subprocess.DEVNULL,
    )


def line(label: str, lat: list[float], base: list[float], waits: int, took: float | None) -> str:
    p50, p95, top = statistics.median(lat), pct(lat, 0.95), max(lat)
    b50, b95, btop = statistics.median(base), pct(base, 0.95), max(base)
    job = f"{took:7.1f} s" if took is not None else "      -  "
    return (
        f"{label:<38} {job}  n={len(lat):<5} p50 {p50:8.1f}  p95 {p95:8.1f}  max {top:8.1f} ms"
        f"  (x{p50 / b50:5.1f} x{p95 / b95:6.1f} x{top / btop:7.1f})  waited>100ms: {waits}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--residents", type=int, default=21_000)
    parser.add_argument("--pace-ms", type=float, default=50.0)
    parser.add_argument("--baseline", type=int, default=200, help="idle gate decisions")
    parser.add_argument("--before", type=Path, help="source tree of the old code")
    args = parser.parse_args()
    pace = args.pace_ms / 1000
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        home = root / "home"
        create_checkpoint(Home(home), "bench", issuer=True)
        register = root / "register.csv"
        write_csv(register, args.residents)
        print(
            f"{args.residents} residents; gate: one scan every {args.pace_ms:.0f} ms; "
            f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
        )
        base, _, _ = with_gate(home, pace, lambda: time.sleep(args.baseline * (pace + 0.003)))
        print(
            f"{'gate alone (no bulk work)':<38} {'':9}  n={len(base):<5} "
            f"p50 {statistics.median(base):8.1f}  p95 {pct(base, 0.95):8.1f}  "
            f"max {max(base):8.1f} ms  (ratios below are to these)"
        )
        runs: list[tuple[str, Path, Path]] = [("now", SRC, home)]
        if args.before is not None:
            old_home = root / "old-home"
            shutil.copytree(home, old_home)
            runs.append(("before", args.before.resolve(), old_home))
        for name, src, where in runs:
            jobs = [
                ("residents import", ("residents", "import", str(register))),
                ("passes issue --all", ("passes", "issue", "--all")),
                ("passes issue --all --reissue", ("passes", "issue", "--all", "--reissue")),
            ]
            for label, job in jobs:
                lat, waits, took = with_gate(where, pace, partial(kiosk, src, where, *job))
                print(line(f"{name}: {label}", lat, base, waits, took))


if __name__ == "__main__":
    main()
