"""bench/bench_exchange.py at tiny sizes: it runs to the end and prints its table."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow  # 6 s alone, 12 s on a busy machine: a whole compound made
def test_bench_exchange_quick_prints_its_table() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench_exchange.py"), "--quick"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    for line in (
        "figure",
        "enrol: init --join (gate)",
        "day: write bundle at the gate",
        "day: bundle size",
        "day: apply at the office",
        "catch-up: export + import",
        "scan beside import p95",
    ):
        assert line in done.stdout, done.stdout
