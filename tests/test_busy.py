"""A busy database never stops the gate, and office bulk work lets the gate in.

Real SQLite files and real second connections holding the write lock: the gate's commit
waits and then lands exactly once; ``kiosk gate`` survives a lock held for longer than
the busy timeout; issuing passes, importing the register and purging old visits commit
in batches, so the gate's commits land between them (checked by what the gate sees
after each of its commits, never by the clock).
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kiosk.core.clock import to_db
from kiosk.core.ids import uuid7
from kiosk.core.keys import load_private_key
from kiosk.core.passes import QR_BORDER, qr_code
from kiosk.core.rules import Encounter, Source
from kiosk.gate import Decision, Gate, GateStopped
from kiosk.home import Home
from kiosk.store import retention
from kiosk.store.db import DatabaseBusy, connect, write
from kiosk.store.driver import sqlite3
from kiosk.store.files.register_import import ImportPlan, PlanRow, apply_plan
from kiosk.store.passes import GOOD_PASSES_SQL, issue_passes, resident_ids_for
from kiosk.store.visits import commit_visit
from tests.helpers import make_checkpoint, raw_connect, run, run_json

BUSY_MS = 200  # the busy timeout these tests run with (KIOSK_BUSY_TIMEOUT_MS)
WAIT = 60.0  # a generous bound for something that must happen (not a measurement)


@pytest.fixture
def short_busy_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """Lock holders in these tests outlast the busy timeout without waiting 5 s."""
    monkeypatch.setenv("KIOSK_BUSY_TIMEOUT_MS", str(BUSY_MS))


@pytest.fixture
def checkpoint(home_dir: Path) -> tuple[Path, list[dict]]:
    make_checkpoint(home_dir, residents=4)
    run(home_dir, "passes", "issue", "--all")
    return home_dir, run_json(home_dir, "passes", "list", "--json")


@contextmanager
def write_lock(path: Path) -> Iterator[sqlite3.Connection]:
    """Another program holding the checkpoint's write lock until the block ends."""
    conn = raw_connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    finally:
        conn.execute("ROLLBACK")
        conn.close()


def visit_ids(home: Path) -> list[str]:
    with raw_connect(home / "gatepass.db") as conn:
        return [r[0] for r in conn.execute("SELECT id FROM visits ORDER BY at")]


class GateThread(threading.Thread):
    """A Gate made and used in a thread of its own (its connection belongs to it), as
    the window's worker does. ``job(gate)`` runs once; its result or error is kept."""

    def __init__(self, home: Path, job: Callable[[Gate], object], **options: object) -> None:
        super().__init__(daemon=True)
        self.home = home
        self.job = job
        self.options = options
        self.events: list[bool] = []
        self.waiting = threading.Event()
        self.ended = threading.Event()
        self.gate: Gate | None = None
        self.result: object = None
        self.error: BaseException | None = None

    def _on_wait(self, waiting: bool) -> None:
        self.events.append(waiting)
        if waiting:
            self.waiting.set()

    def run(self) -> None:
        try:
            self.gate = Gate(Home(self.home), on_wait=self._on_wait, **self.options)  # type: ignore[arg-type]
            try:
                self.result = self.job(self.gate)
            finally:
                self.gate.close()
        except BaseException as exc:
            self.error = exc
        finally:
            self.ended.set()
            self.waiting.set()  # wake a test waiting for the wait, if it never came


def test_a_busy_commit_waits_then_lands_exactly_once(checkpoint, short_busy_timeout) -> None:
    home, passes = checkpoint
    token = passes[0]["token"]
    with write_lock(home / "gatepass.db"):
        thread = GateThread(home, lambda gate: gate.handle(Encounter(Source.CAMERA, token)))
        thread.start()
        assert thread.waiting.wait(WAIT)
        assert thread.error is None, thread.error
        assert not thread.ended.is_set()  # told it is waiting, and still waiting
        time.sleep(3 * BUSY_MS / 1000)  # hold the lock well past the busy timeout
        assert not thread.ended.is_set()
        assert visit_ids(home) == []  # nothing is on disk (nor shown) before the commit
    assert thread.ended.wait(WAIT)
    assert thread.error is None, thread.error
    decision = thread.result
    assert isinstance(decision, Decision)
    assert visit_ids(home) == [decision.visit.id]  # one row, the id made once
    assert thread.events == [True, False]


def test_a_gate_stopped_while_waiting_saves_and_shows_nothing(
    checkpoint, short_busy_timeout
) -> None:
    home, passes = checkpoint
    token = passes[0]["token"]

    def job(gate: Gate) -> object:
        gate.on_wait = lambda waiting: gate.stop.set() if waiting else None
        return gate.handle(Encounter(Source.CAMERA, token))

    with write_lock(home / "gatepass.db"):
        thread = GateThread(home, job)
        thread.start()
        assert thread.ended.wait(WAIT)
    assert isinstance(thread.error, GateStopped)
    assert thread.result is None
    assert visit_ids(home) == []


def test_a_busy_database_puts_the_gates_purge_off(checkpoint, short_busy_timeout) -> None:
    """The purge at start-up (and daily) waits for nobody: the gate starts and scans."""
    home, passes = checkpoint
    token = passes[0]["token"]
    with write_lock(home / "gatepass.db"):
        thread = GateThread(home, lambda gate: gate._purge_after, retention_days=28)
        thread.start()
        assert thread.ended.wait(WAIT)
    assert thread.error is None, thread.error
    assert thread.result  # put off until later
    with Gate(Home(home), retention_days=28) as gate:  # free again: it purges, then scans
        assert gate.handle(Encounter(Source.CAMERA, token)) is not None
        assert gate.db.execute("SELECT value FROM meta WHERE key = 'last_purge'").fetchone()


def test_a_retried_commit_does_not_write_the_row_twice(checkpoint) -> None:
    home, passes = checkpoint
    with Gate(Home(home)) as gate:
        decision = gate.handle(Encounter(Source.CAMERA, passes[0]["token"]))
        assert decision is not None
        row = next(gate.db["visits"].rows_where("id = ?", [decision.visit.id]))
        assert commit_visit(gate.db, row) is None  # the same row again: already there
    assert visit_ids(home) == [decision.visit.id]


def test_office_writes_still_fail_after_the_busy_timeout(checkpoint, short_busy_timeout) -> None:
    """Only the gate waits without end; a clerk's write says the database is busy."""
    home, _passes = checkpoint
    db = connect(home / "gatepass.db")
    try:
        assert db.execute("PRAGMA busy_timeout").fetchone()[0] == BUSY_MS
        with write_lock(home / "gatepass.db"), pytest.raises(DatabaseBusy), write(db):
            pass
    finally:
        db.close()


# --- kiosk gate as a process -------------------------------------------------------


def lines_of(stream: object, into: queue.Queue[str]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        into.put(line)
    into.put("")


@pytest.mark.slow
def test_kiosk_gate_waits_out_a_lock_longer_than_the_busy_timeout(
    checkpoint, tmp_path: Path, short_busy_timeout: None
) -> None:
    home, passes = checkpoint
    images = tmp_path / "images"
    images.mkdir()
    qr_code(passes[0]["token"]).save(str(images / "pass.png"), scale=8, border=QR_BORDER)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "KIOSK_LANG": "en"}
    with write_lock(home / "gatepass.db"):
        proc = subprocess.Popen(
            [sys.executable, "-m", "kiosk", "--home", str(home), "gate", "--source",
             str(images), "--json", "--fast"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )  # fmt: skip
        errors: queue.Queue[str] = queue.Queue()
        reader = threading.Thread(target=lines_of, args=(proc.stderr, errors), daemon=True)
        reader.start()
        said: list[str] = []
        while not any("Waiting for the database" in line for line in said):
            line = errors.get(timeout=WAIT)
            assert line, ("kiosk gate ended while the lock was held", proc.wait(), said)
            said.append(line)
        time.sleep(3 * BUSY_MS / 1000)  # hold the lock well past the busy timeout
        assert proc.poll() is None  # still waiting, not exited
    assert proc.stdout is not None
    out = proc.stdout.read()  # stderr stays with the reader thread
    assert proc.wait(timeout=WAIT) == 0, (out, said)
    decisions = [json.loads(line) for line in out.splitlines()]
    assert [d["level"] for d in decisions] == ["pass"]
    assert visit_ids(home) == [decisions[0]["visit_id"]]
    rest = []
    while (line := errors.get(timeout=WAIT)) != "":
        rest.append(line)
    reader.join(WAIT)
    proc.stdout.close()
    proc.stderr.close()  # type: ignore[union-attr]
    assert any("The database is free again" in line for line in rest), said + rest


# --- office bulk work in batches ---------------------------------------------------


def register_rows(count: int) -> ImportPlan:
    plan = ImportPlan(file="test.csv", sheet=None, header_row=1, columns={})
    for i in range(count):
        room, person = divmod(i, 4)
        plan.rows.append(
            PlanRow(i + 2, str(room // 60 + 1), "1", str(100 + room % 60), f"居民{person}-{i}",
                    None, None, None)
        )  # fmt: skip
    return plan


def interleaved(home: Path, bulk: Callable[[], None], count_sql: str) -> tuple[list[int], int]:
    """Run ``bulk()`` while a gate commits one visit after another in its own thread.

    After each of its commits the gate reads ``count_sql``. Returns those counts, in
    the order the gate saw them, and how many visits the gate committed. The gate
    pauses a little between scans (a real one commits a few times a second at most):
    a gate committing back to back would keep the office from the lock instead."""
    started = threading.Event()
    done = threading.Event()

    def job(gate: Gate) -> tuple[list[int], int]:
        seen: list[int] = []
        committed = 0
        while True:
            last = done.is_set()
            decision = gate.handle(Encounter(Source.CAMERA, f"https://pay.example/{uuid7()}"))
            assert decision is not None
            committed += 1
            seen.append(gate.db.execute(count_sql).fetchone()[0])
            started.set()
            if last:
                return seen, committed
            done.wait(0.01)

    thread = GateThread(home, job)
    thread.start()
    assert started.wait(WAIT)
    try:
        bulk()
    finally:
        done.set()
    assert thread.ended.wait(WAIT)
    assert thread.error is None, thread.error
    seen, committed = thread.result  # type: ignore[misc]
    return seen, committed


def between(seen: list[int], first: int, last: int) -> list[int]:
    return [n for n in seen if first < n < last]


@pytest.mark.slow
def test_issuing_passes_lets_the_gate_commit_between_batches(home_dir: Path) -> None:
    run(home_dir, "init", "--name", "test")
    db = connect(home_dir / "gatepass.db")
    apply_plan(db, register_rows(2000))
    key = load_private_key(home_dir / "keys" / "issuer.key", None)
    ids = resident_ids_for(db, all_=True)
    before = len(visit_ids(home_dir))
    now = datetime.now(UTC)

    def bulk() -> None:
        issue_passes(db, key, ids, days=30, now=now, batch=100)

    try:
        seen, committed = interleaved(home_dir, bulk, "SELECT count(*) FROM passes")
        assert seen == sorted(seen)  # passes only grow, batch by batch
        assert seen[-1] == 2000
        assert between(seen, 0, 2000)  # some commits landed in the middle of the job
        assert len(visit_ids(home_dir)) == before + committed  # each commit once

        def reissue() -> None:
            issue_passes(db, key, ids, days=30, now=now, reissue=True, batch=100)

        active = "SELECT count(*) FROM passes WHERE status = 'revoked'"
        seen, _ = interleaved(home_dir, reissue, active)
        assert seen == sorted(seen) and seen[-1] == 2000
        assert between(seen, 0, 2000)
    finally:
        db.close()


def test_the_good_pass_look_up_uses_the_resident_index(home_dir: Path) -> None:
    """With the (status, valid_until) index chosen instead, each look-up read every
    active pass: issuing to 21,000 residents took 55 s instead of about 6."""
    make_checkpoint(home_dir, residents=2)
    db = connect(home_dir / "gatepass.db")
    try:
        plan = " ".join(
            str(row[-1])
            for row in db.execute(
                "EXPLAIN QUERY PLAN " + GOOD_PASSES_SQL.format(marks="?,?"), ["a", "b", "c"]
            )
        )
    finally:
        db.close()
    assert "passes_resident" in plan, plan


def test_issuing_in_batches_respects_a_pass_issued_meanwhile(home_dir: Path) -> None:
    """A batch is signed before its transaction and checked again inside it."""
    make_checkpoint(home_dir, residents=4)
    db = connect(home_dir / "gatepass.db")
    key = load_private_key(home_dir / "keys" / "issuer.key", None)
    ids = resident_ids_for(db, all_=True)
    try:
        report = issue_passes(db, key, ids, days=30, now=datetime.now(UTC), batch=3)
        assert len(report.issued) == 4
        again = issue_passes(db, key, ids + ids[:1], days=30, now=datetime.now(UTC), batch=3)
        assert (len(again.issued), again.skipped) == (0, 4)
        audits = db.execute("SELECT detail FROM audit WHERE action = 'passes.issue'").fetchall()
        assert [json.loads(a[0])["count"] for a in audits] == [4]  # one row per run
    finally:
        db.close()


@pytest.mark.slow
def test_a_register_import_lets_the_gate_commit_between_batches(
    home_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kiosk.store.files import register_import

    monkeypatch.setattr(register_import, "BATCH", 100)
    run(home_dir, "init", "--name", "test")
    db = connect(home_dir / "gatepass.db")
    plan = register_rows(3000)
    try:
        seen, _ = interleaved(
            home_dir, lambda: apply_plan(db, plan), "SELECT count(*) FROM residents"
        )
        assert seen == sorted(seen) and seen[-1] == 3000
        assert between(seen, 0, 3000)
        again = apply_plan(db, plan)  # a second import (as after an interrupted one)
        assert (again.added, again.unchanged) == (0, 3000)
        audits = db.execute("SELECT count(*) FROM audit WHERE action = 'residents.import'")
        assert audits.fetchone()[0] == 2  # one row per import, with its last batch
    finally:
        db.close()


def old_visit(at: datetime, corrects: str | None = None) -> dict:
    return {
        "id": uuid7(),
        "at": to_db(at),
        "checkpoint_id": "c",
        "direction": "in",
        "subject_kind": "unknown",
        "level": "check",
        "reason": "not_a_pass",
        "corrects": corrects,
    }


@pytest.mark.slow
def test_a_purge_lets_the_gate_commit_between_batches_and_keeps_corrected_visits(
    home_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retention, "PURGE_BATCH", 50)
    run(home_dir, "init", "--name", "test")
    db = connect(home_dir / "gatepass.db")
    now = datetime.now(UTC)
    long_ago = now - timedelta(days=60)
    rows = [old_visit(long_ago + timedelta(minutes=i)) for i in range(3000)]
    # corrected long ago (both go), and corrected recently (the old visit stays)
    gone = old_visit(long_ago + timedelta(hours=1), corrects=rows[10]["id"])
    kept = old_visit(now - timedelta(days=1), corrects=rows[20]["id"])
    with write(db):
        db["visits"].insert_all([*rows, gone, kept])
    old = "SELECT count(*) FROM visits WHERE checkpoint_id = 'c' AND at < '" + (
        to_db(now - timedelta(days=28)) + "'"
    )
    try:
        seen, _ = interleaved(
            home_dir,
            lambda: retention.purge(db, older_than_days=28, now=now),
            old.replace("count(*)", "3001 - count(*)"),  # deleted so far
        )
        assert seen == sorted(seen) and seen[-1] == 3000  # all but the one kept
        assert between(seen, 0, 3000)
        left = {r[0] for r in db.execute("SELECT id FROM visits WHERE checkpoint_id = 'c'")}
        assert left == {rows[20]["id"], kept["id"]}
    finally:
        db.close()
