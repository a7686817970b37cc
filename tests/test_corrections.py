"""Correcting a wrongly recorded passage: a new row naming the old one, and every count
that matters (who is inside, today's passages, the next direction, reports) follows it."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from kiosk.core.errors import UserError
from kiosk.core.rules import DirectionMode, Encounter, Reason, Source
from kiosk.gate import Gate
from kiosk.home import Home
from kiosk.store.corrections import correct_visit
from kiosk.store.db import connect
from kiosk.store.stats import daily_summary, shift_summary
from kiosk.store.visits import LiveOccupancy, list_visits, occupancy
from tests.fakes import FakeClock
from tests.helpers import make_checkpoint, raw_connect, run, run_json


@pytest.fixture
def checkpoint(home_dir: Path) -> tuple[Path, list[dict]]:
    make_checkpoint(home_dir, residents=4)
    run(home_dir, "passes", "issue", "--all")
    passes = run_json(home_dir, "passes", "list", "--json")
    with raw_connect(home_dir / "gatepass.db") as db:
        for p in passes:
            [(p["resident_id"],)] = db.execute(
                "SELECT resident_id FROM passes WHERE serial = ?", [p["serial"]]
            ).fetchall()
    return home_dir, passes


def scan(gate: Gate, token: str) -> str:
    decision = gate.handle(Encounter(Source.CAMERA, token))
    assert decision is not None
    return decision.visit.id


def inside_ids(gate: Gate, clock: FakeClock) -> set[str]:
    return {r["id"] for r in occupancy(gate.db, gate.checkpoint_id, now=clock.now).inside}


def test_void_direction_and_person(checkpoint) -> None:
    home, passes = checkpoint
    clock = FakeClock(whole_seconds=True)
    with Gate(Home(home), clock=clock, monotonic=clock.monotonic, mode=DirectionMode.AUTO) as gate:
        a, b = passes[0], passes[1]
        first = scan(gate, a["token"])  # a: in
        clock.advance(60)
        ghost = scan(gate, b["token"])  # b: in, but b never came (a card read by mistake)
        live = LiveOccupancy(gate.db, gate.checkpoint_id, now=clock.now)
        assert live.counts(clock.now).inside == 2
        assert inside_ids(gate, clock) == {a["resident_id"], b["resident_id"]}

        void = correct_visit(
            gate.db, ghost, Reason.VOID, reason="card read by mistake", actor="t", now=clock.now
        )
        assert inside_ids(gate, clock) == {a["resident_id"]}
        live.refresh(gate.db, [b["resident_id"]], now=clock.now)
        counts = live.counts(clock.now)
        assert (counts.inside, counts.today_in) == (1, 1)
        assert (
            LiveOccupancy(gate.db, gate.checkpoint_id, now=clock.now).counts(clock.now) == counts
        )  # the same as read afresh from the log
        clock.advance(60)
        # b's next scan in auto mode is "in" again: the voided passage is not their last
        assert gate.handle(Encounter(Source.CAMERA, b["token"])).verdict.direction.value == "in"

        # a was recorded "in" but went out
        flipped = correct_visit(
            gate.db, first, Reason.WRONG_DIRECTION, reason="went out", actor="t", now=clock.now
        )
        assert a["resident_id"] not in inside_ids(gate, clock)
        clock.advance(60)
        assert gate.handle(Encounter(Source.CAMERA, a["token"])).verdict.direction.value == "in"

        rows = {r["id"]: r for r in list_visits(gate.db)}
        assert rows[ghost]["corrected_by"] == void and rows[void]["corrects"] == ghost
        assert rows[void]["reason"] == "void" and rows[void]["note"] == "card read by mistake"
        assert rows[void]["at"] == rows[ghost]["at"]  # in the old one's place in time
        assert rows[flipped]["direction"] == "out" and rows[first]["direction"] == "in"

        # correcting twice, or a void, is refused with words
        with pytest.raises(UserError, match="already corrected"):
            correct_visit(gate.db, ghost, Reason.VOID, reason="x", actor="t", now=clock.now)
        with pytest.raises(UserError, match="already voided"):
            correct_visit(gate.db, void, Reason.VOID, reason="x", actor="t", now=clock.now)
        with pytest.raises(UserError, match="why"):
            correct_visit(gate.db, flipped, Reason.VOID, reason="  ", actor="t", now=clock.now)
        # a correction can itself be corrected: the newest row counts
        back = correct_visit(
            gate.db, flipped, Reason.WRONG_DIRECTION, reason="it was in", actor="t", now=clock.now
        )
        rows = {r["id"]: r for r in list_visits(gate.db)}
        assert rows[flipped]["corrected_by"] == back and rows[back]["direction"] == "in"
        audit = gate.db.execute(
            "SELECT actor, detail FROM audit WHERE action = 'visits.correct' ORDER BY id"
        ).fetchall()
        assert len(audit) == 3 and json.loads(audit[0][1])["visit"] == ghost


def test_another_person(checkpoint) -> None:
    home, passes = checkpoint
    clock = FakeClock(whole_seconds=True)
    with Gate(Home(home), clock=clock, monotonic=clock.monotonic) as gate:
        wrong, right = passes[0], passes[2]
        visit = scan(gate, wrong["token"])  # a borrowed card: it was `right` who came in
        fixed = correct_visit(
            gate.db,
            visit,
            Reason.WRONG_PERSON,
            reason="used her husband's card",
            actor="t",
            now=clock.now,
            resident_id=right["resident_id"],
        )
        assert inside_ids(gate, clock) == {right["resident_id"]}
        with pytest.raises(UserError, match="No resident"):
            correct_visit(
                gate.db,
                fixed,
                Reason.WRONG_PERSON,
                reason="x",
                actor="t",
                now=clock.now,
                resident_id="nobody",
            )


def test_counts_of_the_day_and_the_shift_follow_corrections(checkpoint) -> None:
    home, passes = checkpoint
    clock = FakeClock(whole_seconds=True)
    start = clock.now - timedelta(minutes=1)
    with Gate(Home(home), clock=clock, monotonic=clock.monotonic, guard="Li") as gate:
        visits = [scan(gate, p["token"]) for p in passes[:3]]
        correct_visit(gate.db, visits[0], Reason.VOID, reason="test card", actor="t", now=clock.now)
        summary = shift_summary(gate.db, "Li", start)
        assert (summary["passes_in"], summary["total"]) == (2, 2)
        day = daily_summary(gate.db, clock.now.astimezone().date())
        assert day.passed_in == 2


def test_cli_correct_needs_the_pin_and_says_what(checkpoint, monkeypatch) -> None:
    home, passes = checkpoint
    clock = FakeClock(whole_seconds=True)
    with Gate(Home(home), clock=clock, monotonic=clock.monotonic) as gate:
        visit = scan(gate, passes[0]["token"])
    nothing = run(home, "visits", "correct", visit, "--reason", "x", ok=False)
    assert nothing.exit_code == 2 and "--void" in nothing.stderr
    monkeypatch.setenv("KIOSK_ADMIN_PIN", "1357")
    wrong = run(home, "visits", "correct", visit, "--void", "--reason", "test", ok=False)
    assert wrong.exit_code == 2 and "Wrong PIN" in wrong.stderr
    monkeypatch.delenv("KIOSK_ADMIN_PIN")
    from tests.helpers import TEST_PIN

    out = run(
        home,
        "visits",
        "correct",
        visit,
        "--direction",
        "--reason",
        "went out",
        "--json",
        input=f"{TEST_PIN}\n",
    ).stdout
    row = json.loads(out[out.index("{") :])
    assert row["corrects"] == visit and row["direction"] == "out"
    assert row["reason"] == "wrong_direction" and row["note"] == "went out"
    listed = run_json(home, "visits", "list", "--json")
    assert [r["corrected_by"] for r in listed if r["id"] == visit] == [row["id"]]
    again = run(home, "visits", "correct", visit, "--void", "--reason", "x", ok=False)
    assert again.exit_code == 2 and row["id"] in again.stderr
    with raw_connect(home / "gatepass.db") as db:
        actor = db.execute("SELECT actor FROM audit WHERE action = 'visits.correct'").fetchone()
    assert actor[0].startswith("cli:")


def test_export_shows_corrections_and_what_they_correct(checkpoint, tmp_path) -> None:
    home, passes = checkpoint
    clock = FakeClock(whole_seconds=True)
    with Gate(Home(home), clock=clock, monotonic=clock.monotonic) as gate:
        visit = scan(gate, passes[0]["token"])
        fixed = correct_visit(gate.db, visit, Reason.VOID, reason="test", actor="t", now=clock.now)
    day = clock.now.astimezone().strftime("%Y-%m-%d")
    out = tmp_path / "v.csv"
    run(home, "visits", "export", "--from", day, "--to", day, "--format", "csv", "--out", str(out))
    lines = out.read_text(encoding="utf-8-sig").splitlines()
    header = lines[0].split(",")
    assert header[-3:] == ["Note", "Record", "Corrects"]
    body = [line.split(",") for line in lines[1:]]
    assert [r[-2:] for r in body] == [[visit, ""], [fixed, visit]]
    assert body[1][-3] == "test"


def test_the_partial_index_serves_the_lookup(checkpoint) -> None:
    home, _passes = checkpoint
    db = connect(home / "gatepass.db")
    try:
        plan = db.execute(
            "EXPLAIN QUERY PLAN SELECT 1 FROM visits c WHERE c.corrects = ?", ["x"]
        ).fetchall()
    finally:
        db.close()
    assert "visits_corrects" in str(plan)
