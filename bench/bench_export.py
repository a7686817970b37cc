"""Export figures (issue 6): 1,000,000 visits to CSV and to XLSX, streamed.

    python bench/bench_export.py [--residents 100000] [--visits 1000000]

Targets: CSV under 20 s, XLSX under 90 s; memory stays flat (peak RSS printed).
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_store import build

from kiosk.store.db import connect
from kiosk.store.export import export_visits

TARGETS = {"csv": 20.0, "xlsx": 90.0}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--residents", type=int, default=100_000)
    parser.add_argument("--visits", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        build(path, args.residents, args.visits)
        db = connect(path)
        start, end = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
        for fmt in ("csv", "xlsx"):
            out = Path(tmp) / f"visits.{fmt}"
            began = time.perf_counter()
            rows = export_visits(db, out, start=start, end=end, fmt=fmt)
            took = time.perf_counter() - began
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            verdict = "PASS" if took < TARGETS[fmt] else "FAIL"
            print(
                f"export {rows} visits to {fmt.upper()}: {took:.1f} s, "
                f"{out.stat().st_size / 1e6:.0f} MB, peak RSS {rss:.0f} MB  "
                f"[target < {TARGETS[fmt]:.0f} s: {verdict}]"
            )
        db.close()


if __name__ == "__main__":
    main()
