"""Register import figures: 100,000 residents from XLSX and from CSV.

    python bench/bench_import.py [--rows 100000] [--keep DIR]

Writes a register of valid residents (ID numbers from ``make_id_number``) as an XLSX
workbook (openpyxl write-only, a merged title row above the header, as committee staff
have them) and as a GBK CSV (what Excel saves on Chinese Windows), then imports each
into a fresh checkpoint database, timing the read (``read_register``) and the write
(``apply_plan``: batches of 1,000 rows) separately. Then re-imports the CSV (nothing changes).
Target: each import, read + write, under 15 s.
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kiosk.core.identity import make_id_number
from kiosk.store.db import connect
from kiosk.store.files.register_import import apply_plan, read_register

TARGET_S = 15.0
HEADER = ["序号", "楼号", "单元", "房号", "姓名", "手机号码", "身份证号", "身份"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂"
REGIONS = ("110101", "310104", "440305", "510107", "330106", "420102")


def residents(count: int) -> Iterator[list[object]]:
    """``count`` valid rows: 4 residents a room, 2 units of 30 rooms a building."""
    born = date(1940, 1, 1)
    for i in range(count):
        room_no, _person = divmod(i, 4)
        building, rest = divmod(room_no, 60)
        unit, room = divmod(rest, 30)
        floor, door = divmod(room, 2)
        name = SURNAMES[i % 20] + GIVEN[(i // 20) % len(GIVEN)] + GIVEN[(i // 480) % len(GIVEN)]
        id_number = make_id_number(
            REGIONS[i % 6], born + timedelta(days=(i // 1000) * 101 + i % 97), i % 1000
        )
        role = "工作人员" if i % 50 == 0 else "居民"
        yield [i + 1, building + 1, unit + 1, f"{floor + 1}0{door + 1}", name,
               f"13{i % 10}{i:08d}", id_number, role]  # fmt: skip


def write_xlsx(path: Path, count: int) -> None:
    from openpyxl import Workbook
    from openpyxl.worksheet.cell_range import CellRange

    book = Workbook(write_only=True)
    sheet = book.create_sheet("登记表")
    sheet.append(["某某社区居民登记表"])
    sheet.merged_cells.add(CellRange("A1:H1"))
    sheet.append(HEADER)
    for row in residents(count):
        sheet.append(row)
    book.save(path)


def write_csv(path: Path, count: int) -> None:
    with path.open("w", encoding="gbk", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["某某社区居民登记表"] + [""] * (len(HEADER) - 1))
        out.writerow(HEADER)
        out.writerows(residents(count))


def measure(label: str, source: Path, database: Path) -> float:
    """Import ``source`` into ``database``; prints wall-clock seconds (and CPU seconds of
    this process: on a busy machine they show how much was waiting for the CPU)."""
    db = connect(database, create=True)
    try:
        started, cpu = time.perf_counter(), time.process_time()
        plan = read_register(source)
        read_s, read_cpu = time.perf_counter() - started, time.process_time() - cpu
        started, cpu = time.perf_counter(), time.process_time()
        report = apply_plan(db, plan)
        write_s, write_cpu = time.perf_counter() - started, time.process_time() - cpu
    finally:
        db.close()
    total = read_s + write_s
    verdict = "ok" if total < TARGET_S else "SLOW"
    print(
        f"{label:<10} read {read_s:6.2f} s  write {write_s:5.2f} s  total {total:6.2f} s "
        f"(cpu {read_cpu + write_cpu:6.2f} s)  [{verdict}]  "
        f"added {report.added}, unchanged {report.unchanged}, bad {report.bad}"
    )
    if report.errors:
        print(f"  first bad row: {report.errors[0]}")
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="Write the files here and keep them.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        xlsx, gbk = folder / "register.xlsx", folder / "register.csv"
        started = time.perf_counter()
        write_xlsx(xlsx, args.rows)
        write_csv(gbk, args.rows)
        print(
            f"{args.rows} residents; files written in {time.perf_counter() - started:.1f} s "
            f"(xlsx {xlsx.stat().st_size // 1024} KiB, csv {gbk.stat().st_size // 1024} KiB)"
        )
        times = [
            measure("XLSX", xlsx, folder / "xlsx.db"),
            measure("CSV (GBK)", gbk, folder / "csv.db"),
            measure("CSV again", gbk, folder / "csv.db"),
        ]
    return 0 if max(times) < TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
