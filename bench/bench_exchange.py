"""Exchange figures for issue 13, on real homes on disk: an office and a gate joined
with the CLI (``kiosk exchange enrol`` .. ``kiosk init --join``), then:

1. a busy gate's day: passages and visitor registrations recorded at the gate (the
   outbox triggers fill its outbox), ``export_bundle`` for the office (time, size) and
   ``import_bundle`` at the office (time). Targets: write < 3 s, apply < 3 s, < 2 MB.
2. catch-up: the office makes changes while the gate is "three days offline" (residents
   edited and added, passes revoked, holds added, each through the store), then exports
   for the gate and the gate imports. Target: export + import < 10 s. The gate's
   enrolment on the register (enrol + join + first handshake) is timed too.
3. the gate's scan path (``Gate.handle`` of a valid pass, committed) alone and while
   ``kiosk exchange import`` of a big bundle runs beside it in another process on the
   same home: p50/p95 of both and their ratio (target: no slower, ratio ~1).

    python bench/bench_exchange.py [--residents 100000] [--passages 20000]
        [--visitors 500] [--changes 2000] [--big 20000] [--scans 300] [--quick]

``--quick``: tiny sizes (a test runs it so). Prints figures; asserts no times.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
# Homes made here are opened by other processes too: all share one key, as the tests'
# do (kiosk.store.db_key reads KIOSK_DB_KEY).
os.environ.setdefault("KIOSK_DB_KEY", "be" * 32)
os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
os.environ.setdefault("KIOSK_ADMIN_PIN", "482915")

from kiosk.core.clock import to_db, utcnow
from kiosk.core.ids import uuid7
from kiosk.core.keys import key_id_of, load_private_key
from kiosk.core.passes import PassClaims, PassKind, new_serial, sign_pass
from kiosk.core.rules import DirectionMode, Encounter, Source
from kiosk.gate import Gate
from kiosk.home import Home
from kiosk.store.chain import append
from kiosk.store.db import connect, write
from kiosk.store.exchange import export_bundle, import_bundle
from kiosk.store.holds import add_hold
from kiosk.store.passes import revoke_pass
from kiosk.store.register import add_resident, edit_resident
from tests.helpers import run

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Register:
    """What the office's register holds, for writing passages that name real people."""

    residents: list[tuple[str, str]] = field(default_factory=list)  # (id, household id)
    serials: list[str] = field(default_factory=list)  # each resident's pass
    tokens: list[str] = field(default_factory=list)


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    target: float | None = None


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def timed(action):  # type: ignore[no-untyped-def]
    """(what ``action()`` returned, its time in seconds)."""
    started = time.perf_counter()
    got = action()
    return got, time.perf_counter() - started


# --- homes ---------------------------------------------------------------------------------


def build_register(office: Path, residents: int) -> Register:
    """``residents`` residents in households of three, each with a pass signed by the
    office's issuer key, inserted in one transaction (as bench_store does) before the
    compound exists: founding it puts them all in the outbox."""
    home = Home(office)
    key = load_private_key(home.private_key, None)
    kid = key_id_of(key.public_key())
    now = utcnow()
    stamp = to_db(now)
    valid_from, valid_until = now - timedelta(days=1), now + timedelta(days=30)
    found = Register()
    households, rows, passes = [], [], []
    taken: set[str] = set()
    for i in range(residents):
        if i % 3 == 0:
            h = i // 3
            households.append((uuid7(), str(1 + h // 600), str(1 + h // 100 % 6), str(h), stamp))
        rid, hh = uuid7(), households[-1][0]
        rows.append((rid, hh, f"居民{i}", f"139{i:08d}", stamp, stamp))
        serial = new_serial()
        while serial in taken:
            serial = new_serial()
        taken.add(serial)
        token = sign_pass(PassClaims(kid, serial, PassKind.RESIDENT, valid_from, valid_until), key)
        passes.append((serial, "resident", rid, to_db(valid_from), to_db(valid_until), kid, token))
        found.residents.append((rid, hh))
        found.serials.append(serial)
        found.tokens.append(token)
    db = connect(home.database)
    with write(db):
        db.conn.executemany(
            "INSERT INTO households(id, building, unit, room, created_at) VALUES (?,?,?,?,?)",
            households,
        )
        db.conn.executemany(
            "INSERT INTO residents(id, household_id, name, phone, created_at, updated_at) "
            "VALUES (?,?,?,?,?,?)",
            rows,
        )
        db.conn.executemany(
            "INSERT INTO passes(serial, kind, resident_id, valid_from, valid_until, key_id, "
            f"token, issued_at) VALUES (?,?,?,?,?,?,?,'{stamp}')",
            passes,
        )
    db.close()
    return found


def enrol(office: Path, gate: Path, name: str, tmp: Path) -> list[Figure]:
    """Enrol ``name`` at the office, join it at ``gate`` and make the first handshake
    (the gate's first bundle imported at the office), all through the CLI; each step's
    time."""
    enrolment = tmp / f"{name}.enrol"
    done, enrolled = timed(lambda: run(office, "exchange", "enrol", name, "--out", str(enrolment)))
    code = re.search(r"([0-9A-Z]{5}-[0-9A-Z]{5})", done.output)
    assert code is not None, done.output
    _, joined = timed(lambda: run(gate, "init", "--join", str(enrolment), "--code", code.group(1)))
    first = tmp / f"{name}-first.gpbundle"
    _, exported = timed(lambda: run(gate, "exchange", "export", "--out", str(first)))
    _, imported = timed(lambda: run(office, "exchange", "import", str(first)))
    print(f"enrolment file {enrolment.stat().st_size / 1e6:.2f} MB")
    return [
        Figure("enrol: exchange enrol (office)", enrolled, "s"),
        Figure("enrol: init --join (gate)", joined, "s"),
        Figure("enrol: first handshake", exported + imported, "s"),
    ]


# --- 1. a busy gate's day --------------------------------------------------------------------


def record_day(gate: Path, register: Register, passages: int, visitors: int) -> None:
    """``visitors`` registrations and ``passages`` passages (residents' and visitors')
    written at the gate through the chain, in one transaction: the triggers fill the
    outbox as they would one scan at a time."""
    db = connect(Home(gate).database)
    me = db.execute("SELECT value FROM meta WHERE key = 'checkpoint_id'").fetchone()[0]
    start = utcnow() - timedelta(hours=14)
    visitor_ids = []
    with write(db):
        for i in range(visitors):
            vid = uuid7()
            visitor_ids.append((vid, register.residents[i % len(register.residents)][1]))
            db.execute(
                "INSERT INTO visitors (id, name, phone, id_number, destination_household_id, "
                "reason, created_at, checkpoint_id) VALUES (?,?,?,?,?,?,?,?)",
                [
                    vid,
                    "访客",
                    f"138{i:08d}",
                    f"1101011980010{i % 10000:04d}X",
                    visitor_ids[-1][1],
                    "送货",
                    to_db(start + timedelta(seconds=i * 90)),
                    me,
                ],
            )
        for i in range(passages):
            k = random.randrange(len(register.residents))
            by_visitor = visitor_ids and i % 40 == 0
            append(
                db,
                {
                    "id": uuid7(),
                    "at": to_db(start + timedelta(seconds=i * 2.5)),
                    "checkpoint_id": me,
                    "direction": "in" if i % 2 else "out",
                    "subject_kind": "visitor" if by_visitor else "resident",
                    "resident_id": None if by_visitor else register.residents[k][0],
                    "visitor_id": visitor_ids[i % len(visitor_ids)][0] if by_visitor else None,
                    "household_id": (
                        visitor_ids[i % len(visitor_ids)][1]
                        if by_visitor
                        else register.residents[k][1]
                    ),
                    "pass_serial": None if by_visitor else register.serials[k],
                    "level": "pass",
                    "reason": "valid_pass",
                    "reasons": "[]",
                    "temperature": 36.5,
                    "guard": "王师傅",
                    "plate": "",
                    "source": "camera",
                    "note": "",
                    "corrects": None,
                },
            )
    db.close()


def busy_day(office: Path, gate: Path, register: Register, args, tmp: Path) -> list[Figure]:  # type: ignore[no-untyped-def]
    _, recorded = timed(lambda: record_day(gate, register, args.passages, args.visitors))
    home = Home(gate)
    db = connect(home.database)
    key = load_private_key(home.gate_key, None)
    out = tmp / "day.gpbundle"
    done, wrote = timed(lambda: export_bundle(db, home, key, "office", out, now=utcnow()))
    db.close()
    odb = connect(Home(office).database)
    got, applied = timed(lambda: import_bundle(odb, Home(office), out, now=utcnow()))
    odb.close()
    print(
        f"day: {args.passages} passages + {args.visitors} visitors recorded in "
        f"{recorded:.2f} s; bundle {done.change_sets} change sets, {done.rows} rows; "
        f"office applied {got.applied} rows"
    )
    return [
        Figure("day: write bundle at the gate", wrote, "s", 3.0),
        Figure("day: bundle size", done.size / 1e6, "MB", 2.0),
        Figure("day: apply at the office", applied, "s", 3.0),
    ]


# --- 2. catch-up -------------------------------------------------------------------------------


def office_changes(office: Path, register: Register, changes: int) -> int:
    """``changes`` changes made at the office through the store, each its own
    transaction (60% residents edited, 20% passes revoked, 10% holds, 10% residents
    added). Returns the number of revoked passes' first index (those scanned after are
    still valid)."""
    db = connect(Home(office).database)
    now = utcnow()
    n = len(register.residents)
    edits, revokes, holds = changes * 6 // 10, changes * 2 // 10, changes // 10
    adds = changes - edits - revokes - holds
    for i in range(edits):
        edit_resident(db, register.residents[i % n][0], phone=f"137{i:08d}", now=now)
    for i in range(revokes):  # the register's last passes: scans use the first ones
        revoke_pass(db, register.serials[n - 1 - i % n], "遗失", now=now)
    for i in range(holds):
        add_hold(
            db,
            resident=register.residents[(n - 1 - revokes - i) % n][0],
            until=now + timedelta(days=7),
            reason="欠费",
            now=now,
        )
    for i in range(adds):
        add_resident(db, building="99", unit="1", room=str(100 + i % 50), name="新住户", now=now)
    db.close()
    return n - revokes - holds


def catch_up(office: Path, gate: Path, args, tmp: Path) -> list[Figure]:  # type: ignore[no-untyped-def]
    home = Home(office)
    db = connect(home.database)
    key = load_private_key(home.private_key, None)
    out = tmp / "catch-up.gpbundle"
    done, exported = timed(lambda: export_bundle(db, home, key, "north", out, now=utcnow()))
    db.close()
    gdb = connect(Home(gate).database)
    got, imported = timed(lambda: import_bundle(gdb, Home(gate), out, now=utcnow()))
    gdb.close()
    print(
        f"catch-up: {args.changes} office changes -> {done.change_sets} change sets, "
        f"{done.rows} rows, {done.size / 1e6:.2f} MB; gate applied {got.applied} rows "
        f"(export {exported:.2f} s, import {imported:.2f} s)"
    )
    return [Figure("catch-up: export + import", exported + imported, "s", 10.0)]


# --- 3. the scan path beside an import -------------------------------------------------------


def big_bundle(office: Path, rows: int, out: Path) -> None:
    """A bundle for the gate carrying ``rows`` edited residents (one office transaction:
    the triggers put each in the outbox)."""
    home = Home(office)
    db = connect(home.database)
    stamp = to_db(utcnow())
    with write(db):
        db.execute(
            "UPDATE residents SET phone = '136' || substr(phone, 4), updated_at = ? "
            "WHERE rowid IN (SELECT rowid FROM residents ORDER BY rowid LIMIT ?)",
            [stamp, rows],
        )
    export_bundle(db, home, load_private_key(home.private_key, None), "north", out, now=utcnow())
    db.close()


def scans(gate: Gate, tokens: list[str], until=None) -> list[float]:  # type: ignore[no-untyped-def]
    """``Gate.handle`` of each token (a valid pass, committed) in ms, one every 20 ms;
    with ``until``: stop early once it returns True."""
    timings = []
    for token in tokens:
        if until is not None and until():
            break
        started = time.perf_counter()
        decision = gate.handle(Encounter(Source.CAMERA, token))
        timings.append((time.perf_counter() - started) * 1000)
        assert decision is not None and decision.verdict.level.value == "pass", decision
        time.sleep(0.02)
    return timings


def beside_import(office: Path, gate: Path, register: Register, valid: int, args, tmp: Path):  # type: ignore[no-untyped-def]
    out = tmp / "big.gpbundle"
    big_bundle(office, args.big, out)
    picks = random.sample(register.tokens[:valid], min(2 * args.scans, valid))
    alone_tokens, busy_tokens = picks[: len(picks) // 2], picks[len(picks) // 2 :]
    door = Gate(Home(gate), mode=DirectionMode.AUTO)
    try:
        alone = scans(door, alone_tokens)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        command = [sys.executable, "-m", "kiosk", "--home", str(gate), "exchange", "import"]
        started = time.perf_counter()
        proc = subprocess.Popen(
            [*command, str(out)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        busy = scans(door, busy_tokens, until=lambda: proc.poll() is not None)
        _, stderr = proc.communicate()
        took = time.perf_counter() - started
        if proc.returncode != 0:
            raise SystemExit(f"kiosk exchange import failed: {stderr.decode()}")
    finally:
        door.close()
    print(
        f"scan path: {len(alone)} scans alone; {len(busy)} scans while importing "
        f"{args.big} rows ({took:.2f} s, max scan {max(busy, default=0):.0f} ms)"
    )
    if not busy:
        print("  (the import ended before the first scan: raise --big)")
        busy = alone
    return [
        Figure("scan alone p50", statistics.median(alone), "ms"),
        Figure("scan alone p95", pct(alone, 0.95), "ms"),
        Figure("scan beside import p50", statistics.median(busy), "ms"),
        Figure("scan beside import p95", pct(busy, 0.95), "ms", pct(alone, 0.95)),
        Figure("scan alone max", max(alone), "ms"),
        Figure("scan beside import max", max(busy), "ms", max(alone)),
        Figure("scans over 100 ms alone", sum(t > 100 for t in alone), "  "),
        Figure("scans over 100 ms beside import", sum(t > 100 for t in busy), "  "),
    ]


def video_beside_import(office: Path, gate: Path, register: Register, valid: int, args, tmp: Path):  # type: ignore[no-untyped-def]
    """The scan path as issue 4 measures it (``bench_gate.gate_video``: ``kiosk gate`` on
    a 30 fps video in real time, frame capture -> committed row of each decision), alone
    and while ``kiosk exchange import`` of a big bundle runs beside it on the same home
    (only the decisions made before the import ended count)."""
    from datetime import datetime

    from bench_gate import gate_video_decisions

    tokens = register.tokens[:valid]
    alone = [d["latency_ms"] for d in gate_video_decisions(gate, tokens, tmp)]
    out = tmp / "big-video.gpbundle"
    big_bundle(office, 2 * args.big, out)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "kiosk", "--home", str(gate), "exchange", "import"]
    proc = subprocess.Popen(
        [*command, str(out)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    decisions = gate_video_decisions(gate, tokens, tmp)
    _, stderr = proc.communicate()
    ended = datetime.now().astimezone()
    if proc.returncode != 0:
        raise SystemExit(f"kiosk exchange import failed: {stderr.decode()}")
    busy = [d["latency_ms"] for d in decisions if datetime.fromisoformat(d["at"]) < ended]
    print(f"frame to row: {len(alone)} decisions alone, {len(busy)} beside an import")
    if not busy:
        busy = alone
    return [
        Figure("frame to row alone p50", statistics.median(alone), "ms"),
        Figure("frame to row alone p95", pct(alone, 0.95), "ms"),
        Figure("frame to row beside import p50", statistics.median(busy), "ms"),
        Figure("frame to row beside import p95", pct(busy, 0.95), "ms", pct(alone, 0.95)),
    ]


# --- the run -----------------------------------------------------------------------------------


def table(figures: list[Figure]) -> None:
    print(f"{'figure':38} {'value':>10}  {'target':>10}  {'ratio':>6}")
    for f in figures:
        target = f"{f.target:.2f} {f.unit}" if f.target is not None else ""
        ratio = f"{f.value / f.target:.2f}" if f.target else ""
        print(f"{f.name:38} {f.value:>7.2f} {f.unit:2}  {target:>10}  {ratio:>6}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=100_000)
    parser.add_argument("--passages", type=int, default=20_000)
    parser.add_argument("--visitors", type=int, default=500)
    parser.add_argument("--changes", type=int, default=2_000)
    parser.add_argument("--big", type=int, default=20_000, help="rows of the concurrent import")
    parser.add_argument("--scans", type=int, default=300)
    parser.add_argument("--quick", action="store_true", help="tiny sizes (for a test)")
    args = parser.parse_args()
    if args.quick:
        args.residents, args.passages, args.visitors = 1_000, 200, 20
        args.changes, args.big, args.scans = 50, 500, 20
    tmp = Path(tempfile.mkdtemp(prefix="bench-exchange-"))
    try:
        office, gate = tmp / "office", tmp / "north"
        figures = []
        _, took = timed(lambda: run(office, "init", "--name", "office"))
        register, built = timed(lambda: build_register(office, args.residents))
        print(f"office: init {took:.2f} s, {args.residents} residents + passes in {built:.1f} s")
        figures += enrol(office, gate, "north", tmp)
        figures += busy_day(office, gate, register, args, tmp)
        valid = office_changes(office, register, args.changes)
        figures += catch_up(office, gate, args, tmp)
        figures += beside_import(office, gate, register, valid, args, tmp)
        if not args.quick:  # a 30 s video, twice
            figures += video_beside_import(office, gate, register, valid, args, tmp)
        table(figures)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
