"""Export figures (issue 6): 1,000,000 visits to CSV and to XLSX, streamed.

    python bench/bench_export.py [--residents 100000] [--visits 1000000] [--compare 200000]

Targets: CSV under 20 s, XLSX under 90 s; memory stays flat (peak RSS printed; see
bench/bench_office.py for the peak of each export in a process of its own).
Then the XLSX writer alone against openpyxl's write-only mode, on the same first
``--compare`` export rows held in memory, as a ratio.
"""

from __future__ import annotations

import argparse
import itertools
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_store import build

from kiosk.core.i18n import tr
from kiosk.store.db import connect
from kiosk.store.files.visit_export import COLUMNS, WIDTHS, export_rows, export_visits
from kiosk.store.files.xlsx import write_xlsx

TARGETS = {"csv": 20.0, "xlsx": 90.0}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--residents", type=int, default=100_000)
    parser.add_argument("--visits", type=int, default=1_000_000)
    parser.add_argument("--compare", type=int, default=200_000)
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
        compare_writers(db, Path(tmp), start, end, args.compare)
        db.close()


def compare_writers(db: Any, tmp: Path, start: datetime, end: datetime, count: int) -> None:
    """kiosk.store.files.xlsx against openpyxl write-only on the same rows."""
    from openpyxl import Workbook

    header = [tr(c) for c in COLUMNS]
    rows = list(itertools.islice(export_rows(db, start, end, unmasked=False), count))
    began = time.perf_counter()
    write_xlsx(tmp / "ours.xlsx", "Visits", header, iter(rows), widths=WIDTHS)
    ours = time.perf_counter() - began
    began = time.perf_counter()
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Visits")
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    book.save(tmp / "openpyxl.xlsx")
    theirs = time.perf_counter() - began
    print(
        f"XLSX writers on the same {len(rows)} rows: kiosk.store.files.xlsx {ours:.1f} s "
        f"({(tmp / 'ours.xlsx').stat().st_size / 1e6:.0f} MB), openpyxl write-only "
        f"{theirs:.1f} s ({(tmp / 'openpyxl.xlsx').stat().st_size / 1e6:.0f} MB): "
        f"{theirs / ours:.1f}x faster"
    )


if __name__ == "__main__":
    main()
