"""The exchange bundle alone (kiosk.core.bundle, issue 13): a busy gate's day, 20,000
passages and 500 visitor registrations in change sets of 500 rows, sealed for the
office, written to a file and read back (signatures checked, opened, unpacked, parsed).

    python bench/bench_bundle.py [--passages 20000] [--visitors 500] [--per-set 500]

Prints the file's size, the time to sign the change sets, to write the file, and to
read it. No database: the apply step is issue 13's next part (bench/bench_exchange.py).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kiosk.core.bundle import read_bundle, write_bundle
from kiosk.core.ids import uuid7
from tests.exchange_nodes import COMPOUND, CREATED, NODES, NORTH, OFFICE, SCHEMA, change_set, trust


def rows(passages: int, visitors: int) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for i in range(visitors):
        out.append(
            {
                "kind": "visitor",
                "id": uuid7(),
                "at": f"2026-05-01T{7 + i % 12:02d}:{i % 60:02d}:00.000000+00:00",
                "name": "访客" + str(i),
                "id_number": f"1101011980010{i:05d}",
                "phone": f"138{i:08d}",
                "host_household": uuid7(),
                "reason": "送货",
            }
        )
    for i in range(passages):
        out.append(
            {
                "kind": "visit",
                "id": uuid7(),
                "at": f"2026-05-01T{6 + i % 16:02d}:{i % 60:02d}:{i % 59:02d}.123456+00:00",
                "direction": "in" if i % 2 else "out",
                "subject_kind": "resident",
                "resident_id": uuid7(),
                "household_id": uuid7(),
                "pass_serial": f"{i % 9999:04d}-ABCD",
                "level": "green",
                "reason": None,
                "temperature": 36.4,
                "guard": "王师傅",
                "source": "camera",
            }
        )
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=20_000)
    parser.add_argument("--visitors", type=int, default=500)
    parser.add_argument("--per-set", type=int, default=500)
    args = parser.parse_args()
    day = rows(args.passages, args.visitors)
    started = time.perf_counter()
    sets = [
        change_set("north", 1 + at, day[at : at + args.per_set])
        for at in range(0, len(day), args.per_set)
    ]
    signed = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "north.gpbundle"
        started = time.perf_counter()
        size = write_bundle(
            path,
            compound=COMPOUND,
            author=NORTH,
            key=NODES["north"].key,
            change_sets=sets,
            schema=SCHEMA,
            created_at=CREATED,
            recipient=OFFICE,
            recipient_box=NODES["office"].box.public_key(),
        )
        written = time.perf_counter() - started
        started = time.perf_counter()
        got = read_bundle(path, trust(), OFFICE, NODES["office"].box)
        read = time.perf_counter() - started
    count = sum(len(c.rows) for c in got.change_sets)
    print(f"rows        {count} in {len(sets)} change sets")
    print(f"size        {size / 1e6:.2f} MB")
    print(f"sign sets   {signed:.2f} s")
    print(f"write file  {written:.2f} s")
    print(f"read file   {read:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
