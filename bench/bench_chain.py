"""The visit log's hash chain and anchors (issue 12): what they cost.

    python bench/bench_chain.py [--visits 1000000] [--commits 3000]

Builds a checkpoint database in a temporary folder with ``--visits`` visits made
before the chain existed, then measures:
* migration 0004 (filling ``seq`` and ``chain`` for every existing row);
* the start-up check (``check_log``: the newest anchor and the rows after it) and the
  full check (``check_log(full=True)``, ``kiosk visits verify``: every row);
* one durable visit commit, ``--commits`` times in rotating blocks of 100 (so the
  three share the machine's load): a plain insert as before the chain (its own
  ``BEGIN IMMEDIATE`` .. ``COMMIT``), ``commit_visit`` with the chain, and
  ``commit_visit`` + ``Anchorer.note`` (what ``Gate.handle`` does); p50/p95 and their
  ratios to the plain insert, in this one run;
* writing one anchor (sign + append + fsync), which the anchorer's thread does off
  the decision path.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlite_utils
from cryptography.hazmat.primitives import serialization

from kiosk.core.clock import to_db, utcnow
from kiosk.core.ids import uuid7
from kiosk.core.keys import generate_private_key
from kiosk.home import Home
from kiosk.store.anchors import ANCHOR_EVERY, Anchorer, AnchorFile, check_log, write_anchor
from kiosk.store.chain import head
from kiosk.store.checkpoint import set_meta
from kiosk.store.db import connect, write
from kiosk.store.schema import migrations
from kiosk.store.visits import commit_visit

PLAIN_INSERT = (
    "INSERT INTO visits (id, at, checkpoint_id, direction, subject_kind, level, reason, "
    "reasons, guard, source) VALUES (:id, :at, :checkpoint_id, :direction, :subject_kind, "
    ":level, :reason, :reasons, :guard, :source)"
)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def row(stamp: str) -> dict[str, object]:
    return {
        "id": uuid7(),
        "at": stamp,
        "checkpoint_id": "bench",
        "direction": "in",
        "subject_kind": "unknown",
        "level": "check",
        "reason": "not_a_pass",
        "reasons": '["not_a_pass"]',
        "guard": "bench",
        "source": "camera",
    }


def build(path: Path, visits: int) -> None:
    db = sqlite_utils.Database(path)
    db.conn.execute("PRAGMA journal_mode=WAL")
    migrations.apply(db, stop_before="0004_visit_chain")
    start = utcnow() - timedelta(days=30)
    batch = []
    for i in range(visits):
        r = row(to_db(start + timedelta(seconds=i * 2)))
        r["temperature"] = 36.5
        batch.append(r)
        if len(batch) == 10000:
            db.conn.executemany(PLAIN_INSERT, batch)
            db.conn.commit()
            batch = []
    if batch:
        db.conn.executemany(PLAIN_INSERT, batch)
        db.conn.commit()
    db.execute("INSERT INTO meta(key, value) VALUES ('checkpoint_id', 'bench')")
    db.conn.commit()
    started = time.perf_counter()
    migrations.apply(db)
    print(f"migration 0004 (chain {visits:,} existing rows): {time.perf_counter() - started:.2f} s")
    db.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--visits", type=int, default=1_000_000)
    parser.add_argument("--commits", type=int, default=3000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Home(Path(tmp))
        home.ensure()
        build(home.database, args.visits)
        db = connect(home.database)
        set_meta(db, "created_at", to_db(utcnow()))
        key = generate_private_key()
        file = AnchorFile(home.anchors)
        home.gate_key.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        os.chmod(home.gate_key, 0o600)
        times = []
        for _ in range(50):
            t = time.perf_counter()
            write_anchor(file, key, "bench", head(db), utcnow())
            times.append((time.perf_counter() - t) * 1000)
        print(
            f"one anchor (sign + append + fsync): p50 {statistics.median(times):.2f} ms, "
            f"p95 {pct(times, 0.95):.2f} ms"
        )
        t = time.perf_counter()
        quick = check_log(db, home, "bench")
        print(
            f"start-up check (newest anchor, {quick.rows} rows after it): "
            f"{(time.perf_counter() - t) * 1000:.1f} ms, damaged={quick.damaged}"
        )
        t = time.perf_counter()
        full = check_log(db, home, "bench", full=True)
        print(
            f"full check ({full.rows:,} rows, kiosk visits verify): "
            f"{time.perf_counter() - t:.2f} s, damaged={full.damaged}"
        )

        anchorer = Anchorer(file, key, "bench")
        kinds = {"plain insert": [], "chained": [], "chained + anchor note": []}
        rounds = max(1, args.commits // 100)
        for _ in range(rounds):
            for kind, out in kinds.items():
                plain_ids = []
                for _ in range(100):
                    r = row(to_db(utcnow()))
                    r.update(temperature=None, resident_id=None, visitor_id=None)
                    r.update(household_id=None, pass_serial=None, plate="", note="")
                    r["corrects"] = None
                    t = time.perf_counter()
                    if kind == "plain insert":
                        with write(db):
                            db.execute(PLAIN_INSERT, r)
                    else:
                        place = commit_visit(db, r)
                        if kind == "chained + anchor note" and place is not None:
                            anchorer.note(place)
                    out.append((time.perf_counter() - t) * 1000)
                    if kind == "plain insert":
                        plain_ids.append(r["id"])
                if plain_ids:  # not timed: the chain's head stays a chained row
                    with write(db):
                        db.execute(
                            "DELETE FROM visits WHERE id IN (SELECT value FROM json_each(?))",
                            [json.dumps(plain_ids)],
                        )
        anchorer.close()
        base50 = statistics.median(kinds["plain insert"])
        base95 = pct(kinds["plain insert"], 0.95)
        print(f"durable commit of one visit, {rounds * 100} each, at {args.visits:,} visits:")
        for kind, out in kinds.items():
            p50, p95 = statistics.median(out), pct(out, 0.95)
            print(
                f"  {kind:<24} p50 {p50:.3f} ms  p95 {p95:.3f} ms  "
                f"ratio p50 {p50 / base50:.2f}  p95 {p95 / base95:.2f}"
            )
        print(f"  anchors written meanwhile: {anchorer.written} (every {ANCHOR_EVERY} passages)")
        db.close()


if __name__ == "__main__":
    main()
