"""Database figures: pass look-up with a big register, durable visit insert, each on
the encrypted database (SQLCipher, as Gatepass makes it) and on a plain copy of it, in
one run (issue 2; issue 12: the cost of encryption).

    python bench/bench_store.py [--residents 100000] [--visits 1000000]

Builds a checkpoint in a temporary folder with that many residents (each with a
pass) and visits, exports it with SQLCipher's ``sqlcipher_export`` into an encrypted
copy (a key of its own) and a plain one, then measures on both, the samples taken in
turn:
* an indexed look-up of a pass by serial with its holder (``find_pass``), and the
  full check of a scanned token (``check_token``: signature + look-up);
* one durable insert of a visit (its own ``BEGIN IMMEDIATE`` .. ``COMMIT`` with
  ``synchronous=FULL``), p50 and p95.
Targets: look-ups under 1 ms; the encrypted/plain ratios are printed.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from sqlite_utils import Database

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
# Checkpoints made here are opened by other processes too: all share one key, as the
# tests' do (kiosk.store.db_key reads KIOSK_DB_KEY).
os.environ.setdefault("KIOSK_DB_KEY", "be" * 32)

from kiosk.core.clock import to_db, utcnow
from kiosk.core.ids import uuid7
from kiosk.core.keys import TrustedKey, generate_private_key, key_id_of
from kiosk.core.passes import PassClaims, PassKind, new_serial, sign_pass
from kiosk.store import db_key
from kiosk.store.checkpoint import load_keyring, set_meta, trust_keys
from kiosk.store.db import connect, is_encrypted, write
from kiosk.store.driver import key_pragma, open_connection
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


def export_copy(path: Path, copy: Path, key: bytes | None) -> None:
    """``path``'s database exported by SQLCipher into ``copy``, encrypted with ``key``
    (``None``: plain, what Gatepass made before encryption). Both copies are made the
    same way, so their pages lie alike and only the encryption differs."""
    conn = open_connection(path, db_key.key_in_use(path), timeout=5)
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    secret = key_pragma(key) if key is not None else "''"
    conn.execute(f"ATTACH DATABASE ? AS copy KEY {secret}", (str(copy),))
    conn.execute("SELECT sqlcipher_export('copy')")
    conn.execute(f"PRAGMA copy.user_version = {int(version)}")
    conn.execute("DETACH DATABASE copy")
    conn.close()
    if key is not None:
        db_key.remember(copy, key)


def insert_visit(db: Database, serial: str) -> float:
    """One durable visit insert; its time in ms."""
    t = time.perf_counter()
    with write(db):
        db.conn.execute(
            "INSERT INTO visits(id, at, checkpoint_id, direction, subject_kind, "
            "pass_serial, level, reason) VALUES (?,?,?,?,?,?,?,?)",
            (uuid7(), to_db(utcnow()), "bench", "in", "resident", serial, "pass", "valid_pass"),
        )
    return (time.perf_counter() - t) * 1000


def figures(name: str, values: list[float], unit: str = "ms") -> str:
    return (
        f"{name} ({len(values)}): p50 {statistics.median(values):.3f} {unit}, "
        f"p95 {pct(values, 0.95):.3f} {unit}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--residents", type=int, default=100_000)
    parser.add_argument("--visits", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--inserts", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        serials, tokens = build(path, args.residents, args.visits)
        encrypted_path, plain_path = Path(tmp) / "encrypted.db", Path(tmp) / "plain.db"
        export_copy(path, encrypted_path, db_key.new_key())
        export_copy(path, plain_path, None)
        dbs = {"encrypted": connect(encrypted_path), "plain": connect(plain_path)}
        assert is_encrypted(dbs["encrypted"]) and not is_encrypted(dbs["plain"])
        keyrings = {name: load_keyring(db) for name, db in dbs.items()}
        now = utcnow()
        picks = random.sample(range(len(serials)), min(args.samples, len(serials)))
        lookup: dict[str, list[float]] = {name: [] for name in dbs}
        check: dict[str, list[float]] = {name: [] for name in dbs}
        inserts: dict[str, list[float]] = {name: [] for name in dbs}
        for i in picks:
            for name, db in dbs.items():
                t = time.perf_counter()
                found = find_pass(db, serials[i])
                lookup[name].append((time.perf_counter() - t) * 1000)
                assert found is not None
                t = time.perf_counter()
                result = check_token(db, keyrings[name], tokens[i], now)
                check[name].append((time.perf_counter() - t) * 1000)
                assert result.status.value == "valid", result
        for i in range(args.inserts):
            for name, db in dbs.items():
                inserts[name].append(insert_visit(db, serials[i]))
        for db in dbs.values():
            db.close()
    for name in dbs:
        print(f"[{name}]")
        p95 = pct(lookup[name], 0.95)
        print("  " + figures("pass look-up by serial", lookup[name]), end="")
        print(f"  [target < 1 ms: {'PASS' if p95 < 1 else 'FAIL'}]")
        print("  " + figures("check_token (verify + look-up)", check[name]))
        print("  " + figures("durable visit insert (synchronous=FULL)", inserts[name]))
    print("encrypted / plain, p50 (p95):")
    for label, values in (("look-up", lookup), ("check_token", check), ("insert", inserts)):
        e, p = values["encrypted"], values["plain"]
        print(
            f"  {label}: {statistics.median(e) / statistics.median(p):.2f}x "
            f"({pct(e, 0.95) / pct(p, 0.95):.2f}x)"
        )


if __name__ == "__main__":
    main()
