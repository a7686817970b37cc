"""The visit log's hash chain and its signed anchors (issue 12): the encoding, edits and
deletions found, the purge keeping the chain checkable, forged and foreign anchors
refused, and what a gate does at start with a damaged log."""

from __future__ import annotations

import json
import math
import time
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.core.chain import (
    FIELDS,
    GENESIS,
    Anchor,
    AnchorRejected,
    encode,
    link,
    normalize,
    parse_anchor,
    sign_anchor,
)
from kiosk.core.clock import to_db, utcnow
from kiosk.core.keys import generate_private_key, load_private_key
from kiosk.core.rules import Encounter, Reason, Source
from kiosk.gate import Gate
from kiosk.home import Home
from kiosk.store.anchors import ANCHOR_EVERY, Anchorer, AnchorFile, check_log
from kiosk.store.chain import Link, append, head
from kiosk.store.corrections import correct_visit
from kiosk.store.db import connect, write
from kiosk.store.driver import sqlite3
from kiosk.store.retention import purge
from tests.fakes import FakeClock
from tests.helpers import make_checkpoint, run, run_json

# --- the encoding (pure) -----------------------------------------------------------------

text = st.text(max_size=40)
maybe_text = st.none() | text
temperature = st.none() | st.floats(allow_nan=False, allow_infinity=False)


@st.composite
def rows(draw: st.DrawFn) -> dict[str, object]:
    return {name: draw(temperature if name == "temperature" else maybe_text) for name in FIELDS}


@given(rows(), rows(), st.integers(1, 2**40), st.integers(1, 2**40))
def test_different_rows_or_places_encode_differently(a, b, i, j) -> None:
    assert (encode(i, a) == encode(j, b)) == (a == b and i == j)


@given(rows(), st.integers(1, 10**6))
def test_a_changed_field_changes_the_link(row, seq) -> None:
    before = link(GENESIS, seq, row)
    for name in FIELDS:
        changed = dict(row)
        changed[name] = (
            1.5
            if name == "temperature" and row[name] != 1.5
            else (None if name == "temperature" else (row[name] or "") + "x")
        )
        assert link(GENESIS, seq, changed) != before, name
    assert link(before, seq, row) != before  # the previous chain counts


@settings(max_examples=60, deadline=None)
@given(
    rows(),
    st.one_of(st.none(), st.integers(-100, 100), st.floats(), st.just(float("nan"))),
)
def test_what_is_hashed_is_what_sqlite_gives_back(tmp_path_factory, row, temp) -> None:
    """normalize() gives the values as the database stores them: the chain computed at
    insert equals the one computed from the row read back."""
    home = tmp_path_factory.mktemp("h")
    db = connect(home / "gatepass.db", create=True)
    try:
        row = {**row, "temperature": temp, "id": "v1", "at": "2026-01-01T00:00:00+00:00"}
        row.update(direction="in", subject_kind="unknown", level="check", reason="x")
        row.update(checkpoint_id="c", reasons="[]", guard="", plate="", source="camera")
        row.update(note="", corrects=None, resident_id=None, visitor_id=None, household_id=None)
        values = normalize(row)
        if temp is not None and isinstance(temp, float) and not math.isfinite(temp):
            assert values["temperature"] is None
        with write(db):
            db.execute(
                f"INSERT INTO visits ({', '.join(FIELDS)}) VALUES "
                f"({', '.join(':' + f for f in FIELDS)})",
                values,
            )
        back = dict(
            zip(
                FIELDS,
                db.execute(f"SELECT {', '.join(FIELDS)} FROM visits").fetchone(),
                strict=True,
            )
        )
        assert encode(1, back) == encode(1, values)
    finally:
        db.close()


def test_normalize_refuses_what_gatepass_never_stores() -> None:
    row = dict.fromkeys(FIELDS)
    with pytest.raises(TypeError):
        normalize({**row, "guard": 5})
    with pytest.raises(TypeError):
        normalize({**row, "temperature": "36.5"})
    with pytest.raises(TypeError):
        normalize({**row, "note": b"bytes"})


# --- anchors (pure) ----------------------------------------------------------------------


def an_anchor(**changes: object) -> Anchor:
    fields = {
        "checkpoint": "cp-1",
        "seq": 42,
        "visit": "v42",
        "head": bytes(range(32)),
        "at": utcnow(),
    }
    return Anchor(**{**fields, **changes})  # type: ignore[arg-type]


def test_an_anchor_signed_by_the_key_reads_back() -> None:
    key = generate_private_key()
    anchor = an_anchor(kind="rebase", lost=7)
    assert parse_anchor(sign_anchor(anchor, key), key.public_key(), "cp-1") == anchor


@pytest.mark.parametrize(
    ("field", "value"),
    [("seq", 43), ("head", "00" * 32), ("visit", "v41"), ("lost", 1), ("at", "2020-01-01")],
)
def test_a_changed_anchor_fails_its_signature(field: str, value: object) -> None:
    key = generate_private_key()
    data = json.loads(sign_anchor(an_anchor(), key))
    data[field] = value
    with pytest.raises(AnchorRejected) as caught:
        parse_anchor(json.dumps(data), key.public_key(), "cp-1")
    assert caught.value.reason in ("signature", "format")


def test_foreign_and_malformed_anchors_are_rejected() -> None:
    ours, theirs = generate_private_key(), generate_private_key()
    with pytest.raises(AnchorRejected, match="key"):
        parse_anchor(sign_anchor(an_anchor(), theirs), ours.public_key(), "cp-1")
    with pytest.raises(AnchorRejected, match="checkpoint"):  # our key, another checkpoint
        parse_anchor(sign_anchor(an_anchor(checkpoint="cp-2"), ours), ours.public_key(), "cp-1")
    line = json.loads(sign_anchor(an_anchor(), ours))
    for bad in (
        "",
        "{}",
        "[1]",
        json.dumps({**line, "extra": 1}),
        json.dumps({**line, "sig": "!"}),
    ):
        with pytest.raises(AnchorRejected, match="format"):
            parse_anchor(bad, ours.public_key(), "cp-1")


# --- the chain in a checkpoint -----------------------------------------------------------


@pytest.fixture
def checkpoint(home_dir: Path) -> tuple[Home, list[dict]]:
    make_checkpoint(home_dir, residents=4)
    run(home_dir, "passes", "issue", "--all")
    return Home(home_dir), run_json(home_dir, "passes", "list", "--json")


def scan_many(
    gate: Gate, passes: list[dict], count: int, clock: FakeClock | None = None
) -> list[str]:
    ids = []
    for i in range(count):
        if clock is not None:
            clock.advance(30)
        decision = gate.handle(Encounter(Source.SCANNER, passes[i % len(passes)]["token"]))
        assert decision is not None
        ids.append(decision.visit.id)
    return ids


def full_check(home: Home):
    db = connect(home.database)
    try:
        cid = db.execute("SELECT value FROM meta WHERE key = 'checkpoint_id'").fetchone()[0]
        return check_log(db, home, cid, full=True)
    finally:
        db.close()


def test_a_gate_chains_and_anchors_every_passage(checkpoint) -> None:
    home, passes = checkpoint
    with Gate(home, repeat_window_s=0) as gate:
        assert gate.log_damage is None
        ids = scan_many(gate, passes, 12)
        correct_visit(gate.db, ids[3], Reason.VOID, reason="test", actor="t", now=utcnow())
        gate.note_head()
    check = full_check(home)
    assert not check.damaged and check.rows == 13
    assert check.anchor is not None and check.anchor.seq == 13  # anchored at the clean stop
    assert check.anchor.visit == check.head.visit
    assert home.anchors.stat().st_mode & 0o777 == 0o600


def test_an_edited_row_is_found(checkpoint) -> None:
    home, passes = checkpoint
    with Gate(home, repeat_window_s=0) as gate:
        ids = scan_many(gate, passes, 8)
    db = connect(home.database)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"), write(db):
            db.execute("UPDATE visits SET guard = 'mallory' WHERE id = ?", [ids[2]])
        with write(db):  # as someone who knows SQLite would
            db.execute("DROP TRIGGER visits_append_only")
            db.execute("UPDATE visits SET direction = 'out' WHERE id = ?", [ids[2]])
    finally:
        db.close()
    check = full_check(home)
    assert check.damaged
    assert [(b.kind, b.seq, b.count) for b in check.breaks] == [("edited", 3, 1)]
    assert "1 passage in the visit log was changed" in check.messages()[0]
    result = run(home.root, "visits", "verify", ok=False)
    assert result.exit_code == 1
    assert "was changed after it was recorded" in result.output


def test_a_row_edited_after_the_last_anchor_is_found_at_start(checkpoint) -> None:
    home, passes = checkpoint
    with Gate(home, repeat_window_s=0) as gate:
        scan_many(gate, passes, 3)
    db = connect(home.database)
    try:
        cid = db.execute("SELECT value FROM meta WHERE key = 'checkpoint_id'").fetchone()[0]
        # two more rows the gate did not anchor yet (its process died), one then edited
        gate_rows = list(db.query("SELECT * FROM visits ORDER BY rowid"))
        with write(db):
            for r in gate_rows[:2]:
                append(db, {**r, "id": r["id"] + "b"})
            db.execute("DROP TRIGGER visits_append_only")
            db.execute("UPDATE visits SET note = 'x' WHERE id = ?", [gate_rows[0]["id"] + "b"])
    finally:
        db.close()
    with Gate(home) as gate:
        assert gate.log_damage is not None
        assert [(b.kind, b.seq) for b in gate.log_damage.breaks] == [("edited", 4)]
        audit = gate.db.execute(
            "SELECT detail FROM audit WHERE action = 'visits.damaged'"
        ).fetchall()
        assert len(audit) == 1 and json.loads(audit[0][0])["breaks"][0]["seq"] == 4
        assert cid == gate.checkpoint_id
    with Gate(home) as gate:  # told once: the chain was re-anchored from there
        assert gate.log_damage is None


def test_a_deleted_row_is_found(checkpoint) -> None:
    home, passes = checkpoint
    with Gate(home, repeat_window_s=0) as gate:
        ids = scan_many(gate, passes, 6)
    db = connect(home.database)
    try:
        with write(db):
            db.execute("DELETE FROM visits WHERE id IN (?, ?)", [ids[1], ids[2]])
    finally:
        db.close()
    check = full_check(home)
    assert [(b.kind, b.seq, b.count) for b in check.breaks] == [("missing", 2, 2)]


def test_a_lost_tail_is_found_and_told_once(checkpoint) -> None:
    """What a deleted -wal does, made by deleting the newest rows."""
    home, passes = checkpoint
    with Gate(home, repeat_window_s=0) as gate:
        ids = scan_many(gate, passes, 10)
    db = connect(home.database)
    try:
        with write(db):
            db.execute(
                "DELETE FROM visits WHERE rowid > (SELECT rowid FROM visits WHERE id = ?)",
                [ids[5]],
            )
    finally:
        db.close()
    with Gate(home, repeat_window_s=0) as gate:
        damage = gate.log_damage
        assert damage is not None and damage.lost == 4
        assert damage.messages()[0].startswith("At least 4 passages are missing")
        scan_many(gate, passes, 2)  # the gate goes on logging
    result = run(home.root, "db", "status")
    assert "missing" not in result.output  # re-anchored: the next start is quiet
    with Gate(home) as gate:
        assert gate.log_damage is None
    check = full_check(home)
    assert not check.damaged, check.messages()  # the loss is recorded (a rebase anchor)
    lines = AnchorFile(home.anchors).lines()
    rebases = [json.loads(t) for _, t in lines if json.loads(t)["kind"] == "rebase"]
    assert [r["lost"] for r in rebases] == [4]


def test_forged_and_foreign_anchors_are_rejected(checkpoint) -> None:
    home, passes = checkpoint
    with Gate(home, repeat_window_s=0) as gate:
        ids = scan_many(gate, passes, 3)
        cid = gate.checkpoint_id
    ours = load_private_key(home.gate_key, None)
    stranger = generate_private_key()
    file = AnchorFile(home.anchors)
    at = utcnow()
    # claims 500 passages: signed by another key, or by ours for another checkpoint,
    # or ours with the count changed afterwards
    file.append(sign_anchor(Anchor(cid, 500, "zz", bytes(32), at), stranger))
    file.append(sign_anchor(Anchor("other", 500, "zz", bytes(32), at), ours))
    forged = json.loads(sign_anchor(Anchor(cid, 3, ids[-1], bytes(32), at), ours))
    forged["seq"] = 500
    file.append(json.dumps(forged))
    with Gate(home) as gate:
        damage = gate.log_damage
        assert damage is not None
        assert damage.lost == 0 and damage.mismatch is None  # the valid anchor holds
        assert [b.reason for b in damage.bad_anchors] == ["key", "checkpoint", "signature"]
        assert "3 signed records of the visit log are not valid" in damage.messages()[0]
    check = full_check(home)  # verify names them again (they are still in the file)
    assert len(check.bad_anchors) == 3 and not check.lost and not check.breaks


def test_a_rewritten_log_does_not_match_its_anchor(checkpoint) -> None:
    """Someone who edits a row and recomputes every chain after it still fails: the
    signed anchor names the old head."""
    home, passes = checkpoint
    with Gate(home, repeat_window_s=0) as gate:
        scan_many(gate, passes, 5)
    db = connect(home.database)
    try:
        rows = list(db.query("SELECT * FROM visits ORDER BY rowid"))
        with write(db):
            db.execute("DROP TRIGGER visits_append_only")
            db.execute("DELETE FROM visits")
            for r in rows:
                append(db, {**r, "guard": "mallory"})
    finally:
        db.close()
    with Gate(home) as gate:
        assert gate.log_damage is not None and gate.log_damage.mismatch is not None
        assert "does not match the checkpoint's signed record" in gate.log_damage.messages()[0]


def test_a_purge_keeps_the_chain_checkable(checkpoint) -> None:
    home, passes = checkpoint
    clock = FakeClock(utcnow() - timedelta(days=40), whole_seconds=True)
    with Gate(home, repeat_window_s=0, clock=clock, monotonic=clock.monotonic) as gate:
        old = scan_many(gate, passes, 30, clock)
        # a correction keeps the old row's time: the two go together
        correct_visit(gate.db, old[10], Reason.VOID, reason="test", actor="t", now=clock.now)
        clock.advance(20 * 86400)
        scan_many(gate, passes, 10, clock)
        clock.advance(20 * 86400)
        scan_many(gate, passes, 5, clock)
    db = connect(home.database)
    try:
        report = purge(db, older_than_days=30, now=clock.now, gap_s=0)
        assert report.visits == 31
        assert db.execute("SELECT count(*) FROM visits").fetchone()[0] == 15
        assert db.execute("SELECT count(*) FROM visit_chain_gaps").fetchone()[0] == 0
    finally:
        db.close()
    check = full_check(home)
    assert not check.damaged, check.messages()
    assert check.rows == 15
    with Gate(home, repeat_window_s=0, clock=clock, monotonic=clock.monotonic) as gate:
        assert gate.log_damage is None
        scan_many(gate, passes, 3, clock)
    assert not full_check(home).damaged


def test_a_purge_around_a_kept_row_leaves_a_checkable_gap(checkpoint) -> None:
    """Rows purged after a kept one (an old passage kept for a newer correction): their
    places and chain values stay in visit_chain_gaps until the kept row goes too."""
    home, passes = checkpoint
    clock = FakeClock(utcnow() - timedelta(days=80), whole_seconds=True)
    with Gate(home, repeat_window_s=0, clock=clock, monotonic=clock.monotonic) as gate:
        old = scan_many(gate, passes, 10, clock)
        clock.advance(40 * 86400)
        row = dict(next(gate.db.query("SELECT * FROM visits WHERE id = ?", [old[0]])))
        with write(gate.db):  # a correction with a time of its own (as a synced one may)
            append(gate.db, {**row, "id": "fix-1", "corrects": old[0], "at": to_db(clock.now)})
        scan_many(gate, passes, 3, clock)
    db = connect(home.database)
    try:
        report = purge(db, older_than_days=30, now=clock.now, gap_s=0)
        assert report.visits == 9
        assert {r[0] for r in db.execute("SELECT id FROM visits")} >= {old[0], "fix-1"}
        assert db.execute("SELECT count(*) FROM visit_chain_gaps").fetchone()[0] == 9
    finally:
        db.close()
    assert not full_check(home).damaged
    clock.advance(40 * 86400)
    db = connect(home.database)
    try:
        purge(db, older_than_days=30, now=clock.now, gap_s=0)
        assert db.execute("SELECT count(*) FROM visits").fetchone()[0] == 0
        assert db.execute("SELECT count(*) FROM visit_chain_gaps").fetchone()[0] == 0
    finally:
        db.close()
    with Gate(home, repeat_window_s=0, clock=clock, monotonic=clock.monotonic) as gate:
        assert gate.log_damage is None
        scan_many(gate, passes, 2, clock)
        assert head(gate.db).seq == 16
    assert not full_check(home).damaged


def wait_for(condition, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert condition()


def test_the_anchorer_writes_after_every_n_passages_and_at_close(tmp_path: Path) -> None:
    key = generate_private_key()
    file = AnchorFile(tmp_path / "a.anchors")
    anchorer = Anchorer(file, key, "cp", every=10, after_s=3600)
    for batch in range(3):
        for seq in range(batch * 10 + 1, batch * 10 + 11):
            anchorer.note(Link(seq, f"v{seq}", bytes(32)))
        wait_for(lambda n=batch + 1: anchorer.written == n)
    anchorer.note(Link(31, "v31", bytes(32)))  # not due: written at the clean stop
    anchorer.close()
    seqs = [parse_anchor(t, key.public_key(), "cp").seq for _, t in file.lines()]
    assert seqs == [10, 20, 30, 31]
    assert ANCHOR_EVERY > 1


def test_the_anchorer_writes_a_lone_passage_after_a_while(tmp_path: Path) -> None:
    key = generate_private_key()
    file = AnchorFile(tmp_path / "a.anchors")
    anchorer = Anchorer(file, key, "cp", every=100, after_s=0.2)
    try:
        anchorer.note(Link(1, "v1", bytes(32)))
        wait_for(lambda: anchorer.written == 1)
    finally:
        anchorer.close()
    assert [parse_anchor(t, key.public_key(), "cp").seq for _, t in file.lines()] == [1]


def test_a_head_after_everything_was_purged_continues_the_chain(checkpoint) -> None:
    home, passes = checkpoint
    clock = FakeClock(utcnow() - timedelta(days=60), whole_seconds=True)
    with Gate(home, repeat_window_s=0, clock=clock, monotonic=clock.monotonic) as gate:
        scan_many(gate, passes, 5, clock)
        before = head(gate.db)
    clock.advance(59 * 86400)
    db = connect(home.database)
    try:
        purge(db, older_than_days=30, now=clock.now, gap_s=0)
        assert db.execute("SELECT count(*) FROM visits").fetchone()[0] == 0
        assert head(db) == type(before)(before.seq, None, before.chain)
    finally:
        db.close()
    with Gate(home, repeat_window_s=0, clock=clock, monotonic=clock.monotonic) as gate:
        assert gate.log_damage is None
        scan_many(gate, passes, 2, clock)
        assert head(gate.db).seq == before.seq + 2
    assert not full_check(home).damaged


def test_the_migration_chains_the_rows_already_recorded(tmp_path: Path) -> None:
    """A database from before the chain: its visits get their places and chain values
    in recorded order (rowid, not time), and the chain goes on from them."""
    from kiosk.store.schema import migrations

    path = tmp_path / "gatepass.db"
    db = connect(path, create=True, migrate=False)
    try:
        migrations.apply(db, stop_before="0004_visit_chain")
        with write(db):
            db.execute("INSERT INTO meta VALUES ('checkpoint_id', 'cp')")
            for i, at in enumerate(["2026-01-03", "2026-01-01", "2026-01-02"]):  # clock set back
                db.execute(
                    "INSERT INTO visits (id, at, checkpoint_id, direction, subject_kind, level, "
                    "reason, temperature) VALUES (?, ?, 'cp', 'in', 'unknown', 'check', 'x', ?)",
                    [f"v{i}", f"{at}T08:00:00+00:00", 36 if i == 1 else None],
                )
    finally:
        db.close()
    db = connect(path)
    try:
        rows = db.execute("SELECT id, seq FROM visits ORDER BY at").fetchall()
        assert rows == [("v1", 2), ("v2", 3), ("v0", 1)]
        with write(db):
            row = dict(next(db.query("SELECT * FROM visits WHERE id = 'v0'")))
            place = append(db, {**row, "id": "v3"})
        assert place.seq == 4
        with pytest.raises(sqlite3.IntegrityError, match="append-only"), write(db):
            db.execute("UPDATE visits SET guard = 'x'")  # the trigger is back
    finally:
        db.close()
    check = full_check(Home(tmp_path))
    assert not check.breaks and check.rows == 4


def test_a_new_checkpoint_sets_a_former_ones_anchors_aside(checkpoint) -> None:
    home, passes = checkpoint
    with Gate(home, repeat_window_s=0) as gate:
        scan_many(gate, passes, 3)
    home.database.rename(home.root / "moved-away.db")  # a new checkpoint, on purpose
    home.private_key.rename(home.root / "moved-away.key")
    run(home.root, "init", "--name", "新的门")
    with Gate(home) as gate:
        assert gate.log_damage is None
    (old,) = home.root.glob("visits.anchors.*.old")
    assert len(old.read_text().splitlines()) >= 2
