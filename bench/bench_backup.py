"""Backup and restore figures (issue 16): a checkpoint of 100,000 residents and
1,000,000 passages backed up (``kiosk.store.backup.backup``) and restored into a fresh
home (``restore``), with a writer recording passages all through the backup as a gate
would.

    python bench/bench_backup.py [--residents 100000] [--passages 1000000]

Prints the database's size, the backup's seconds and size, the passages the writer
committed meanwhile with their insert time (p50, p95, max), the restore's seconds
(which include its checks: hashes, ``quick_check``, the visit log against its anchors),
and that the restored home holds every passage of the snapshot.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_store import build, insert_visit, pct

from kiosk.core.clock import utcnow
from kiosk.home import Home
from kiosk.store.backup import backup, restore
from kiosk.store.db import connect


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--residents", type=int, default=100_000)
    parser.add_argument("--passages", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Home(Path(tmp) / "home")
        home.ensure()
        serials, _tokens = build(home.database, args.residents, args.passages)
        size = home.database.stat().st_size
        print(f"database: {size / 1e6:.1f} MB")
        out = Path(tmp) / "backups"
        out.mkdir()

        stop = threading.Event()
        inserts: list[float] = []

        def writer() -> None:
            db = connect(home.database)
            try:
                while not stop.is_set():
                    inserts.append(insert_visit(db, serials[len(inserts) % len(serials)]))
                    time.sleep(0.05)  # a busy gate: 20 passages a second
            finally:
                db.close()

        thread = threading.Thread(target=writer)
        thread.start()
        time.sleep(0.5)
        before = len(inserts)
        db = connect(home.database)
        started = time.perf_counter()
        done = backup(home, out, utcnow(), db=db)
        took = time.perf_counter() - started
        during = inserts[before:]
        stop.set()
        thread.join()
        db.close()
        print(f"backup: {took:.1f} s, {done.size / 1e6:.1f} MB ({done.path.name})")
        if during:
            print(
                f"passages recorded during the backup: {len(during)}, insert p50 "
                f"{pct(during, 0.5):.1f} ms, p95 {pct(during, 0.95):.1f} ms, "
                f"max {max(during):.1f} ms"
            )
        target = Home(Path(tmp) / "restored")
        started = time.perf_counter()
        restore(done.path, target)
        took = time.perf_counter() - started
        print(f"restore (checks included): {took:.1f} s")
        restored = connect(target.database)
        try:
            count = restored.execute("SELECT count(*) FROM visits").fetchone()[0]
        finally:
            restored.close()
        print(
            f"restored passages: {count} (built {args.passages}, +{count - args.passages} "
            "recorded by the writer before the snapshot)"
        )


if __name__ == "__main__":
    main()
