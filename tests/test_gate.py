"""The gate service on a real checkpoint database: facts, decisions, the durable log."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kiosk.core.keys import key_id_of, load_private_key
from kiosk.core.passes import PassClaims, PassKind, sign_pass
from kiosk.core.rules import DirectionMode, Encounter, Level, Reason, RuleSettings, Source
from kiosk.gate import Gate
from kiosk.home import Home
from kiosk.store.driver import sqlite3
from kiosk.store.visits import occupancy, resident_holder
from tests.fakes import FakeClock
from tests.helpers import make_checkpoint, raw_connect, run, run_json


@pytest.fixture
def checkpoint(home_dir: Path) -> tuple[Path, list[dict]]:
    make_checkpoint(home_dir, residents=4)
    run(home_dir, "passes", "issue", "--all")
    return home_dir, run_json(home_dir, "passes", "list", "--json")


def gate_for(home: Path, clock: FakeClock, **kw) -> Gate:
    kw.setdefault("mode", DirectionMode.AUTO)
    return Gate(Home(home), clock=clock, monotonic=clock.monotonic, **kw)


def rows(home: Path) -> list[tuple]:
    with raw_connect(home / "gatepass.db") as conn:
        return conn.execute(
            "SELECT level, reason, direction, pass_serial FROM visits ORDER BY at"
        ).fetchall()


def test_valid_pass_is_logged_before_it_is_returned(checkpoint) -> None:
    home, passes = checkpoint
    clock = FakeClock()
    with gate_for(home, clock) as gate:
        decision = gate.handle(Encounter(Source.CAMERA, passes[0]["token"]))
        assert decision is not None
        assert decision.verdict.level is Level.PASS
        # another connection sees the committed row at once
        assert rows(home) == [("pass", "valid_pass", "in", passes[0]["serial"])]
        assert decision.verdict.holder is not None
        assert decision.verdict.holder.name == passes[0]["holder"]


def test_repeat_window_and_auto_direction(checkpoint) -> None:
    home, passes = checkpoint
    clock = FakeClock()
    token = passes[0]["token"]
    with gate_for(home, clock, repeat_window_s=5) as gate:
        # a handheld scanner's repeats are filtered by the gate (camera repeats by the loop)
        assert gate.handle(Encounter(Source.SCANNER, token)) is not None
        clock.advance(2)
        assert gate.handle(Encounter(Source.SCANNER, token)) is None  # scanned again
        clock.advance(4)
        assert gate.handle(Encounter(Source.SCANNER, token)) is None  # window restarted
        clock.advance(6)
        second = gate.handle(Encounter(Source.SCANNER, token))
        assert second is not None and second.verdict.direction.value == "out"
    assert [r[2] for r in rows(home)] == ["in", "out"]


def test_a_clock_set_back_does_not_reverse_auto_directions(checkpoint) -> None:
    """The last passage is the last recorded, not the latest by the wall clock: with the
    gate's clock set back an hour before each scan, someone inside goes out, in, out
    (by timestamp it was out, out, out), and the log's occupancy agrees."""
    from kiosk.store.visits import LiveOccupancy

    home, passes = checkpoint
    token = passes[0]["token"]
    clock = FakeClock(datetime.now(UTC) + timedelta(hours=4))  # set back, the pass is valid
    with gate_for(home, clock, repeat_window_s=0) as gate:
        first = gate.handle(Encounter(Source.CAMERA, token))
        assert first is not None and first.verdict.direction.value == "in"
        directions = []
        for _ in range(3):
            clock.now -= timedelta(minutes=60)  # set back; monotonic time goes on
            clock.mono += 60
            decision = gate.handle(Encounter(Source.CAMERA, token))
            assert decision is not None and decision.verdict.level is Level.PASS
            directions.append(decision.verdict.direction.value)
        assert directions == ["out", "in", "out"]
        # each jump is noticed against the monotonic clock: 60 minutes back, less the
        # minute the monotonic clock counted
        assert gate.clock_jump is not None
        assert gate.clock_jump.by == -timedelta(minutes=61)
        assert gate.clock_jump.noticed_at == clock.now
        assert occupancy(gate.db, gate.checkpoint_id, now=clock.now).inside == []
        assert (
            LiveOccupancy(gate.db, gate.checkpoint_id, now=clock.now).counts(clock.now).inside == 0
        )


def test_the_gate_tells_a_clock_set_back_from_time_passing(checkpoint, caplog) -> None:
    """Time passing (both clocks), a small correction and a clock set forward (or a
    laptop that slept: the monotonic clock stops) raise no flag; a clock set back
    does, and stays flagged until its owner clears it."""
    home, passes = checkpoint
    token = passes[0]["token"]
    clock = FakeClock(datetime.now(UTC) + timedelta(hours=4))
    with gate_for(home, clock, repeat_window_s=0) as gate:
        gate.handle(Encounter(Source.CAMERA, token))
        clock.advance(3 * 3600)
        clock.now -= timedelta(seconds=20)  # an NTP correction
        gate.handle(Encounter(Source.CAMERA, token))
        clock.now += timedelta(hours=2)  # set forward, or slept
        gate.handle(Encounter(Source.CAMERA, token))
        assert gate.clock_jump is None
        assert "moved forward" in caplog.text
        clock.now -= timedelta(minutes=5)
        gate.handle(Encounter(Source.CAMERA, token))
        assert gate.clock_jump is not None and gate.clock_jump.by == -timedelta(minutes=5)
        assert "set back by 0:05:00" in caplog.text
        clock.advance(60)
        gate.handle(Encounter(Source.CAMERA, token))
        assert gate.clock_jump is not None  # until the owner clears it
    assert [r[0] for r in rows(home)] == ["pass"] * 5  # the gate decided on throughout


def test_anti_passback_in_mode(checkpoint) -> None:
    home, passes = checkpoint
    clock = FakeClock()
    with gate_for(home, clock, mode=DirectionMode.IN, repeat_window_s=0) as gate:
        gate.handle(Encounter(Source.CAMERA, passes[0]["token"]))
        clock.advance(60)
        again = gate.handle(Encounter(Source.CAMERA, passes[0]["token"]))
        assert again is not None and again.verdict.reason is Reason.ALREADY_INSIDE


def test_revoked_held_and_junk(checkpoint) -> None:
    home, passes = checkpoint
    run(home, "passes", "revoke", passes[0]["serial"], "--reason", "lost card")
    held = passes[1]
    run(
        home,
        "holds",
        "add",
        "--household",
        held["household"],
        "--until",
        (datetime.now() + timedelta(days=7)).strftime("%Y-%m-%d"),
        "--reason",
        "close contact",
    )
    clock = FakeClock()
    with gate_for(home, clock, mode=DirectionMode.OUT, repeat_window_s=0) as gate:
        revoked = gate.handle(Encounter(Source.CAMERA, passes[0]["token"]))
        assert revoked is not None and revoked.verdict.level is Level.DENY
        assert "lost card" in revoked.verdict.message()
        out = gate.handle(Encounter(Source.CAMERA, held["token"]))
        assert out is not None and out.verdict.reason is Reason.HELD
        junk = gate.handle(Encounter(Source.CAMERA, "weixin://wxpay/bizpayurl?pr=abc"))
        assert junk is not None and junk.verdict.level is Level.CHECK
    with gate_for(home, clock, mode=DirectionMode.IN) as gate:
        home_again = gate.handle(Encounter(Source.CAMERA, held["token"]))
        assert home_again is not None and home_again.verdict.level is Level.CHECK
        assert home_again.verdict.reason is Reason.HELD_RETURNING  # let in, committee told
    levels = [r[:2] for r in rows(home)]
    assert levels == [
        ("deny", "revoked"),
        ("deny", "held"),
        ("check", "not_a_pass"),
        ("check", "held_returning"),
    ]


def test_quota_names_who_used_it(checkpoint) -> None:
    home, passes = checkpoint
    residents = [p for p in passes if p["kind"] == "resident"]  # staff are exempt
    by_household: dict[str, list[dict]] = {}
    for p in residents:
        by_household.setdefault(p["household"], []).append(p)
    same_household = next(group for group in by_household.values() if len(group) >= 2)
    clock = FakeClock()
    rules = RuleSettings(quota_enabled=True)
    with gate_for(home, clock, mode=DirectionMode.OUT, rules=rules, repeat_window_s=0) as gate:
        first = gate.handle(Encounter(Source.CAMERA, same_household[0]["token"]))
        assert first is not None and first.verdict.level is Level.PASS
        clock.advance(3600)
        second = gate.handle(Encounter(Source.CAMERA, same_household[1]["token"]))
        assert second is not None and second.verdict.reason is Reason.QUOTA
        assert same_household[0]["holder"] in second.verdict.message()


def test_forged_and_expired(checkpoint) -> None:
    home, passes = checkpoint
    token = passes[0]["token"]
    forged = token[:-5] + ("A" if token[-5] != "A" else "B") + token[-4:]
    key = load_private_key(home / "keys" / "issuer.key", None)
    now = datetime.now(UTC).replace(microsecond=0)
    expired = sign_pass(
        PassClaims(
            key_id_of(key.public_key()),
            "0000-0009",
            PassKind.RESIDENT,
            now - timedelta(days=3),
            now - timedelta(days=1),
        ),
        key,
    )
    clock = FakeClock()
    with gate_for(home, clock) as gate:
        f = gate.handle(Encounter(Source.CAMERA, forged))
        e = gate.handle(Encounter(Source.CAMERA, expired))
    assert f is not None and f.verdict.reason is Reason.FORGED
    assert e is not None and e.verdict.reason is Reason.EXPIRED


def test_a_signed_pass_the_register_does_not_know(checkpoint, tmp_path: Path) -> None:
    """Signed by the issuer, a serial never issued: amber "not in the register" where
    the register is held; on a public-keys-only gate (no residents) the signature is
    all there is to go by, and it passes as before."""
    home, _passes = checkpoint
    key = load_private_key(home / "keys" / "issuer.key", None)
    now = datetime.now(UTC).replace(microsecond=0)
    stray = sign_pass(
        PassClaims(
            key_id_of(key.public_key()),
            "7777-7777",
            PassKind.RESIDENT,
            now - timedelta(days=1),
            now + timedelta(days=1),
        ),
        key,
    )
    with gate_for(home, FakeClock()) as gate:
        decision = gate.handle(Encounter(Source.CAMERA, stray))
    assert decision is not None
    assert (decision.verdict.level, decision.verdict.reason) == (
        Level.CHECK,
        Reason.NOT_IN_REGISTER,
    )
    assert decision.verdict.holder is None
    assert rows(home) == [("check", "not_in_register", "in", "7777-7777")]

    public_only = tmp_path / "public-only"
    bundle = tmp_path / "keys.json"
    run(home, "keys", "export-public", "--out", str(bundle))
    run(public_only, "init", "--public-only")
    run(public_only, "keys", "import-public", str(bundle))
    with gate_for(public_only, FakeClock()) as gate:
        decision = gate.handle(Encounter(Source.CAMERA, stray))
    assert decision is not None
    assert (decision.verdict.level, decision.verdict.reason) == (Level.PASS, Reason.VALID_PASS)
    assert rows(public_only) == [("pass", "valid_pass", "in", "7777-7777")]


def test_manual_pass_and_occupancy(checkpoint) -> None:
    home, passes = checkpoint
    clock = FakeClock()
    with gate_for(home, clock, mode=DirectionMode.IN) as gate:
        resident_id = gate.db.execute(
            "SELECT resident_id FROM passes WHERE serial = ?", [passes[2]["serial"]]
        ).fetchone()[0]
        holder = resident_holder(gate.db, resident_id)
        manual = gate.handle(
            Encounter(Source.MANUAL, None, note="phone battery dead"), holder=holder
        )
        assert manual is not None and manual.verdict.reason is Reason.MANUAL_PASS
        gate.handle(Encounter(Source.CAMERA, passes[3]["token"]))
        state = occupancy(gate.db, gate.checkpoint_id, now=clock.now)
    assert state.today_in == 2
    assert {r["name"] for r in state.inside} == {passes[2]["holder"], passes[3]["holder"]}
    listed = run_json(home, "visits", "list", "--json")
    assert [v["source"] for v in listed] == ["manual", "camera"]
    assert all("*" in v["subject"] for v in listed)  # names masked in listings


def test_visits_are_never_edited(checkpoint) -> None:
    home, passes = checkpoint
    with gate_for(home, FakeClock()) as gate:
        gate.handle(Encounter(Source.CAMERA, passes[0]["token"]))
    with raw_connect(home / "gatepass.db") as conn, pytest.raises(sqlite3.IntegrityError):
        conn.execute("UPDATE visits SET level = 'deny'")


def test_visitor_register_cli(checkpoint) -> None:
    home, passes = checkpoint
    household = passes[0]["household"]
    out = run_json(
        home,
        "visitors",
        "register",
        "--name",
        "访客甲",
        "--phone",
        "13912345678",
        "--destination",
        household,
        "--temperature",
        "36.5",
        "--json",
    )
    assert out["level"] == "pass" and out["code"].startswith("GP1:")
    assert run_json(home, "verify", out["code"], "--json")["kind"] == "visitor"
    # the code brings the visitor back: check (confirm + temperature)
    with gate_for(home, FakeClock(), mode=DirectionMode.IN) as gate:
        back = gate.handle(Encounter(Source.CAMERA, out["code"]))
    assert back is not None and back.verdict.reason is Reason.VISITOR_CODE
    assert back.verdict.holder is not None and back.verdict.holder.name == "访客甲"

    fever = run(
        home,
        "visitors",
        "register",
        "--name",
        "访客乙",
        "--phone",
        "13912345679",
        "--destination",
        household,
        "--temperature",
        "38.4",
        "--json",
        ok=False,
    )
    assert fever.exit_code == 1
    result = json.loads(fever.stdout)
    assert (result["level"], result["reason"], result["code"]) == ("deny", "fever", None)

    misread = run(
        home,
        "visitors",
        "register",
        "--name",
        "访客丙",
        "--phone",
        "13912345670",
        "--destination",
        household,
        "--temperature",
        "31",
        ok=False,
    )
    assert misread.exit_code == 2 and "measure again" in misread.stderr
    bad = run(
        home,
        "visitors",
        "register",
        "--name",
        "",
        "--phone",
        "123",
        "--destination",
        "99-9-999",
        "--temperature",
        "36.6",
        ok=False,
    )
    assert bad.exit_code == 2
    assert "Traceback" not in bad.output


def test_holds_cli(checkpoint) -> None:
    home, passes = checkpoint
    run(
        home,
        "holds",
        "add",
        "--household",
        passes[0]["household"],
        "--until",
        "2099-01-01",
        "--reason",
        "quarantine",
    )
    listed = run_json(home, "holds", "list", "--json")
    assert len(listed) == 1 and listed[0]["household"] == passes[0]["household"]
    run(home, "holds", "lift", listed[0]["id"])
    assert run_json(home, "holds", "list", "--json") == []
    past = run(
        home,
        "holds",
        "add",
        "--household",
        passes[0]["household"],
        "--until",
        "2000-01-01",
        "--reason",
        "x",
        ok=False,
    )
    assert past.exit_code == 2
    nobody = run(
        home,
        "holds",
        "add",
        "--household",
        "9-9-9",
        "--until",
        "2099-01-01",
        "--reason",
        "x",
        ok=False,
    )
    assert nobody.exit_code == 2


def test_settings_cli(home_dir: Path) -> None:
    run(home_dir, "init")
    run(home_dir, "settings", "set", "fever_threshold", "37.5")
    assert run_json(home_dir, "settings", "show", "--json")["fever_threshold"] == 37.5
    assert "fever_threshold = 37.5" in (home_dir / "settings.toml").read_text()
    bad = run(home_dir, "settings", "set", "fever_threshold", "hot", ok=False)
    assert bad.exit_code == 2
    unknown = run(home_dir, "settings", "set", "nope", "1", ok=False)
    assert unknown.exit_code == 2


def _counts_from_the_log(gate: Gate, now: datetime) -> tuple[int, int, int, int, int]:
    state = occupancy(gate.db, gate.checkpoint_id, now=now)
    visitors = [r for r in state.inside if r["kind"] == "visitor"]
    return (
        len(state.inside),
        len(visitors),
        len(state.visitors_overstaying),
        state.today_in,
        state.today_out,
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_live_occupancy_agrees_with_the_log(checkpoint, seed: int) -> None:
    """The gate window's counts, kept in memory from each decision, equal what the log
    says after every passage: in and out in auto mode, passes refused, a visitor who
    overstays, and hours passing (the counts are read once, at the start)."""
    import random

    from kiosk.store.visitors import ValidVisitor, add_visitor
    from kiosk.store.visits import LiveOccupancy, visitor_holder

    home, passes = checkpoint
    rng = random.Random(seed)
    clock = FakeClock()
    with gate_for(home, clock) as gate:
        gate.handle(Encounter(Source.CAMERA, passes[0]["token"]))  # before the window opens
        clock.advance(60)
        live = LiveOccupancy(gate.db, gate.checkpoint_id, now=clock.now)
        household = gate.db.execute("SELECT id FROM households LIMIT 1").fetchone()[0]
        visitor = add_visitor(
            gate.db,
            ValidVisitor("访客", "13712345678", None, household, "", "", ""),
            now=clock.now,
            checkpoint_id=gate.checkpoint_id,
        )
        tokens = [p["token"] for p in passes] + ["GP1:NOT-A-PASS"]
        for _ in range(40):
            clock.advance(rng.choice([7, 90, 1800, 3 * 3600]))
            if rng.random() < 0.2:
                encounter, holder = (
                    Encounter(Source.REGISTER, None, 36.5),
                    visitor_holder(gate.db, visitor),
                )
            else:
                encounter, holder = Encounter(Source.CAMERA, rng.choice(tokens)), None
            decision = gate.handle(encounter, holder=holder)
            if decision is not None:
                live.record(decision.verdict, decision.at)
            got = live.counts(clock.now)
            assert (
                got.inside,
                got.visitors_inside,
                got.visitors_overstaying,
                got.today_in,
                got.today_out,
            ) == _counts_from_the_log(gate, clock.now)


def test_from_settings_builds_the_gate_and_its_scan_loop(checkpoint) -> None:
    """The window and 'kiosk gate' both start here: the settings' direction, rules,
    repeat window, retention and decoder; the scan loop shares the gate's window."""
    from kiosk.settings import Settings
    from kiosk.vision.sources import ImageFolderSource

    home, _ = checkpoint
    settings, _ = Settings.load(Home(home).settings_file).updated(
        {
            "direction": "out",
            "quota_enabled": "yes",
            "repeat_window_s": "7.5",
            "retention_days": "30",
            "decoder": "opencv",
        }
    )
    with Gate.from_settings(Home(home), settings, guard="Li") as gate:
        assert gate.mode is DirectionMode.OUT and gate.guard == "Li"
        assert gate.rules == settings.rules() and gate.rules.quota_enabled
        assert gate.repeats.window == 7.5 and gate.retention_days == 30
        loop = gate.scan_loop(ImageFolderSource([]))
        assert loop.repeats.window == 7.5 and loop.pipeline.name == "opencv+pipeline"
    overridden = Gate.from_settings(Home(home), settings, direction="in", decoder="zxing")
    with overridden as gate:
        assert gate.mode is DirectionMode.IN and gate.decoder == "zxing"


def test_drive_runs_the_owners_jobs_in_the_scan_loops_queue(checkpoint, tmp_path: Path) -> None:
    """One queue: a job put into the loop's events before it starts runs in ``drive``,
    in order, before the scan that follows it; a job that meets a stopped gate ends
    the drive."""
    import queue
    import threading

    from kiosk.core.rules import Direction
    from kiosk.gate import GateStopped, drive
    from kiosk.vision import synth
    from kiosk.vision.decoders import ZXingDecoder
    from kiosk.vision.pipeline import Pipeline
    from kiosk.vision.scanloop import Event, Job, ScanLoop
    from kiosk.vision.sources import VideoFileSource

    home, passes = checkpoint
    video = tmp_path / "gate.avi"
    synth.write_video(
        video, [(None, 0.2, "clean"), (passes[0]["token"], 0.4, "clean"), (None, 0.2, "clean")]
    )
    seen: list[object] = []

    def go_out(gate: Gate) -> None:
        gate.mode = DirectionMode.OUT
        seen.append("job")

    events: queue.Queue[Event] = queue.Queue()
    events.put(Job(go_out))
    loop = ScanLoop(
        VideoFileSource(video), Pipeline(ZXingDecoder()), drop_stale=False, events=events
    )
    with Gate(Home(home)) as gate:
        drive(gate, loop, threading.Event(), lambda d: seen.append(d.verdict.direction))
        assert loop.stop()
        assert seen == ["job", Direction.OUT]

        def stopped(gate: Gate) -> None:
            raise GateStopped

        events.put(Job(stopped))
        events.put(Job(go_out))
        again = ScanLoop(
            VideoFileSource(video), Pipeline(ZXingDecoder()), drop_stale=False, events=events
        )
        drive(gate, again, threading.Event(), seen.append)
        assert again.stop()
    assert seen == ["job", Direction.OUT]  # the drive ended at the stopped job
