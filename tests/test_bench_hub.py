"""bench/bench_hub.py at tiny sizes against a real PostgreSQL (``GATEPASS_TEST_PG``, or a
throwaway cluster: the hub tests' ``pg_admin``): it runs to the end, prints its table
and drops its database. Asserts no times."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from tests.hub.conftest import pg_admin  # noqa: F401  (the fixture)

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow  # ~20 s: hub processes, a load, a pull and a report
def test_bench_hub_quick_prints_its_table(pg_admin: str) -> None:  # noqa: F811
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench_hub.py"), "--quick", "--pg", pg_admin],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for line in (
        "figure",
        "cores",
        "ingest 1 hub, 20 gates flat out",
        "ingest 1 hub, 20 gates paced p95",
        "size: total per million passages",
        "pull 2000 residents from 0",
        "report: 5 compounds, 20000 passages",
    ):
        assert line in done.stdout, done.stdout
    name = re.search(r"database (gp_bench_\w+)", done.stdout)
    assert name is not None, done.stdout
    with psycopg.connect(pg_admin, autocommit=True) as conn:
        left = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name[1]]).fetchone()
    assert left is None, f"{name[1]} was not dropped"
