"""Database figures for issue 2: pass look-up with a big register, durable visit insert.

    python bench/bench_store.py [--residents 100000] [--visits 1000000]

Builds a checkpoint in a temporary folder with that many residents (each with a
pass) and visits, then measures:
* an indexed look-up of a pass by serial with its holder (``find_pass``), and the
  full check of a scanned token (``check_token``: signature + look-up);
* one durable insert of a visit (its own ``BEGIN IMMEDIATE`` .. ``COMMIT`` with
  ``synchronous=FULL``), p50 and p95.
Targets: look-ups under 1 ms.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kiosk.core.clock import to_db, utcnow
from kiosk.core.ids import uuid7
from kiosk.core.keys import TrustedKey, generate_private_key, key_id_of
from kiosk.core.passes import PassClaims, PassKind, new_serial, sign_pass
from kiosk.store.checkpoint import load_keyring, set_meta, trust_keys
from kiosk.store.db import connect, write
from kiosk.store.passes import check_token, find_pass


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def build(path: Path, residents: int, visits: int) -> tuple[list[str], list[str]]:
    db = connect(path, create=True)
    set_meta(db, "checkpoint_id", "bench")
    key = generate_private_key()
    kid = key_id_of(key.public_key())
    trust_keys(db, [TrustedKey(kid, key.public_key(), frozenset(PassKind), "bench")])
    now = utcnow()
    stamp = to_db(now)
    started = time.perf_counter()
    serials: list[str] = []
    tokens: list[str] = []
    resident_ids: list[str] = []
    with write(db):
        households = []
        for b in range(1, 101):
            for u in range(1, 11):
                for r in range(1, 101):
                    households.append((uuid7(), str(b), str(u), str(r), stamp))
        db.conn.executemany(
            "INSERT INTO households(id, building, unit, room, created_at) VALUES (?,?,?,?,?)",
            households,
        )
        rows = []
        pass_rows = []
        for i in range(residents):
            rid = uuid7()
            resident_ids.append(rid)
            hh = households[i % len(households)][0]
            rows.append((rid, hh, f"居民{i}", f"138{i:08d}", f"ID{i:016d}", stamp, stamp))
            serial = new_serial()
            while serial in serials[-1:]:
                serial = new_serial()
            claims = PassClaims(
                kid, serial, PassKind.RESIDENT, now - timedelta(days=1), now + timedelta(days=30)
            )
            token = sign_pass(claims, key)
            serials.append(serial)
            tokens.append(token)
            pass_rows.append(
                (
                    serial,
                    "resident",
                    rid,
                    to_db(claims.valid_from),
                    to_db(claims.valid_until),
                    kid,
                    token,
                    stamp,
                )
            )
        db.conn.executemany(
            "INSERT INTO residents(id, household_id, name, phone, id_number, created_at, "
            "updated_at) VALUES (?,?,?,?,?,?,?)",
            rows,
        )
        db.conn.executemany(
            "INSERT OR IGNORE INTO passes(serial, kind, resident_id, valid_from, valid_until, "
            "key_id, token, issued_at) VALUES (?,?,?,?,?,?,?,?)",
            pass_rows,
        )
    print(f"built {residents} residents + passes in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    batch = 100_000
    t0 = now - timedelta(days=27)
    with write(db):
        for start in range(0, visits, batch):
            chunk = []
            for j in range(start, min(visits, start + batch)):
                k = random.randrange(residents)
                at = t0 + timedelta(seconds=j * 2.3)
                chunk.append(
                    (
                        uuid7(),
                        to_db(at),
                        "bench",
                        "in" if j % 2 else "out",
                        "resident",
                        resident_ids[k],
                        serials[k],
                        "pass",
                        "valid_pass",
                    )
                )
            db.conn.executemany(
                "INSERT INTO visits(id, at, checkpoint_id, direction, subject_kind, "
                "resident_id, pass_serial, level, reason) VALUES (?,?,?,?,?,?,?,?,?)",
                chunk,
            )
    print(f"built {visits} visits in {time.perf_counter() - started:.1f} s")
    db.close()
    return serials, tokens


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--residents", type=int, default=100_000)
    parser.add_argument("--visits", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        serials, tokens = build(path, args.residents, args.visits)
        db = connect(path)
        keyring = load_keyring(db)
        now = utcnow()
        picks = random.sample(range(len(serials)), min(args.samples, len(serials)))
        lookup = []
        for i in picks:
            t = time.perf_counter()
            found = find_pass(db, serials[i])
            lookup.append((time.perf_counter() - t) * 1000)
            assert found is not None
        check = []
        for i in picks:
            t = time.perf_counter()
            result = check_token(db, keyring, tokens[i], now)
            check.append((time.perf_counter() - t) * 1000)
            assert result.status.value == "valid", result
        inserts = []
        for i in range(300):
            t = time.perf_counter()
            with write(db):
                db.conn.execute(
                    "INSERT INTO visits(id, at, checkpoint_id, direction, subject_kind, "
                    "pass_serial, level, reason) VALUES (?,?,?,?,?,?,?,?)",
                    (
                        uuid7(),
                        to_db(utcnow()),
                        "bench",
                        "in",
                        "resident",
                        serials[i],
                        "pass",
                        "valid_pass",
                    ),
                )
            inserts.append((time.perf_counter() - t) * 1000)
        db.close()
    print(
        f"pass look-up by serial ({len(lookup)}): p50 {statistics.median(lookup):.3f} ms, "
        f"p95 {pct(lookup, 0.95):.3f} ms  [target < 1 ms: "
        f"{'PASS' if pct(lookup, 0.95) < 1 else 'FAIL'}]"
    )
    print(
        f"check_token (verify + look-up): p50 {statistics.median(check):.3f} ms, "
        f"p95 {pct(check, 0.95):.3f} ms"
    )
    print(
        f"durable visit insert (synchronous=FULL): p50 {statistics.median(inserts):.2f} ms, "
        f"p95 {pct(inserts, 0.95):.2f} ms"
    )


if __name__ == "__main__":
    main()
