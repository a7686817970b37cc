"""A compound of an office and two gates as three checkpoint homes on disk, exchanging
real bundle files (issue 13; docs/exchange.md): enrolment, anti-passback across gates,
revocations and holds reaching both gates, a visitor registered once, every passage
reaching the office exactly once, and bundles that must change nothing."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from kiosk.core.bundle import BundleRefused, Refusal
from kiosk.core.clock import utcnow
from kiosk.core.identity import make_id_number
from kiosk.core.keys import load_private_key
from kiosk.core.rules import DirectionMode, Encounter, Level, Reason, Source, TokenStatus
from kiosk.gate import Gate
from kiosk.home import Home
from kiosk.store.checkpoint import load_keyring
from kiosk.store.db import connect, write
from kiosk.store.exchange import import_bundle
from kiosk.store.passes import check_token
from kiosk.store.visitors import (
    ValidVisitor,
    add_visitor,
    find_returning_visitor,
    issue_visitor_code,
)
from tests.helpers import make_checkpoint, raw_connect, run, run_json

CODE = re.compile(r"([0-9A-Z]{5}-[0-9A-Z]{5})")


@dataclass
class Compound:
    root: Path
    office: Path
    north: Path
    south: Path
    passes: list[dict]
    n: int = 0

    def bundle(self, home: Path, *args: str) -> Path:
        """``kiosk exchange export`` at ``home`` into a new file (or folder)."""
        self.n += 1
        out = self.root / f"b{self.n}-{home.name}.gpbundle"
        run(home, "exchange", "export", "--out", str(out), *args)
        return out

    def office_out(self) -> dict[str, Path]:
        """The office's bundles, one per gate."""
        self.n += 1
        folder = self.root / f"office-{self.n}"
        folder.mkdir()
        run(self.office, "exchange", "export", "--out", str(folder))
        return {p.name.split("-")[2]: p for p in folder.iterdir()}

    def round(self) -> None:
        """Both gates to the office, the office to both gates."""
        run(
            self.office,
            "exchange",
            "import",
            str(self.bundle(self.north)),
            str(self.bundle(self.south)),
        )
        out = self.office_out()
        run(self.north, "exchange", "import", str(out["north"]))
        run(self.south, "exchange", "import", str(out["south"]))


def _enrol(office: Path, gate: Path, root: Path) -> None:
    file = root / f"{gate.name}.enrol"
    shown = run(office, "exchange", "enrol", gate.name, "--out", str(file)).output
    code = CODE.search(shown)
    assert code is not None, shown
    joined = run(gate, "init", "--join", str(file), "--code", code.group(1)).output
    assert "Office key fingerprint" in joined


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Compound]:
    root = tmp_path_factory.mktemp("compound")
    office, north, south = root / "office", root / "north", root / "south"
    make_checkpoint(office, residents=4, name="office")
    run(office, "passes", "issue", "--all")
    passes = run_json(office, "passes", "list", "--json")
    _enrol(office, north, root)
    _enrol(office, south, root)
    compound = Compound(root, office, north, south, passes)
    compound.round()  # the gates' keys reach the office; the office's news the gates
    yield compound


@pytest.fixture
def c(template: Compound, tmp_path: Path) -> Compound:
    for name in ("office", "north", "south"):
        shutil.copytree(template.root / name, tmp_path / name)
    return Compound(
        tmp_path, tmp_path / "office", tmp_path / "north", tmp_path / "south", template.passes
    )


def gate(home: Path, mode: DirectionMode = DirectionMode.IN) -> Gate:
    return Gate(Home(home), mode=mode, repeat_window_s=0)


def scan(home: Path, token: str, mode: DirectionMode = DirectionMode.IN) -> tuple[Level, Reason]:
    with gate(home, mode) as g:
        decision = g.handle(Encounter(Source.CAMERA, token))
    assert decision is not None
    return decision.verdict.level, decision.verdict.reason


def count(home: Path, sql: str, *args: object) -> int:
    with raw_connect(home / "gatepass.db") as conn:
        return int(conn.execute(sql, args).fetchone()[0])


def test_a_gate_joins_with_the_register_but_no_id_numbers_or_issuer_key(c: Compound) -> None:
    assert not Home(c.north).private_key.exists()  # the issuer key never left the office
    residents = run_json(c.north, "residents", "list", "--json")
    assert len(residents) == 4
    with raw_connect(c.north / "gatepass.db") as conn:
        numbers = conn.execute(
            "SELECT id_number, phone, id_hash, id_masked FROM residents"
        ).fetchall()
    assert all(n is None and p is None for n, p, _, _ in numbers)
    assert all(h and len(h) == 64 and "*" in m for _, _, h, m in numbers)
    assert scan(c.north, c.passes[0]["token"]) == (Level.PASS, Reason.VALID_PASS)


def test_anti_passback_across_gates_after_one_exchange(c: Compound) -> None:
    token = c.passes[0]["token"]
    assert scan(c.north, token) == (Level.PASS, Reason.VALID_PASS)
    # before any exchange the south gate cannot know: it lets them in
    c.round()
    level, reason = scan(c.south, token)
    assert reason is Reason.ALREADY_INSIDE and level is not Level.PASS
    north = run_json(c.north, "exchange", "nodes", "--json")["node"]
    assert count(c.office, "SELECT count(*) FROM visits WHERE checkpoint_id = ?", north) == 1


def test_a_revocation_and_a_hold_stop_both_gates_after_one_exchange(c: Compound) -> None:
    revoked, held = c.passes[0], c.passes[1]
    assert revoked["household"] != held["household"] or revoked["serial"] != held["serial"]
    run(c.office, "passes", "revoke", revoked["serial"], "--reason", "lost card")
    until = (datetime.now() + timedelta(days=7)).strftime("%Y-%m-%d")
    run(
        c.office,
        "holds",
        "add",
        "--household",
        held["household"],
        "--until",
        until,
        "--reason",
        "close contact",
    )
    for home in (c.north, c.south):
        assert scan(home, revoked["token"], DirectionMode.OUT)[0] is Level.PASS  # not yet told
    c.round()
    for home in (c.north, c.south):
        assert scan(home, revoked["token"], DirectionMode.OUT) == (Level.DENY, Reason.REVOKED)
        assert scan(home, held["token"], DirectionMode.OUT) == (Level.DENY, Reason.HELD)


def test_a_visitor_registered_at_north_passes_south_without_retyping(c: Compound) -> None:
    number = make_id_number("110101", date(1990, 5, 6), 7)
    db = connect(c.north / "gatepass.db")
    try:
        household = db.execute("SELECT id FROM households LIMIT 1").fetchone()[0]
        me = db.execute("SELECT value FROM meta WHERE key = 'checkpoint_id'").fetchone()[0]
        visitor = ValidVisitor("访客甲", "13900001111", number, household, "探亲", "", "")
        visitor_id = add_visitor(db, visitor, now=utcnow(), checkpoint_id=me)
        code = issue_visitor_code(
            db, load_private_key(Home(c.north).gate_key, None), visitor_id, now=utcnow(), hours=24
        )
    finally:
        db.close()
    c.round()
    south = connect(c.south / "gatepass.db")
    try:
        check = check_token(south, load_keyring(south), code["token"], utcnow())
        assert check.status is TokenStatus.VALID  # north's visitor-code key is trusted here
        found = find_returning_visitor(south, id_number=number, today=date.today())
        assert found is not None and found["name"] == "访客甲"
        assert found["id_number"] is None and found["phone"] is None  # only the office holds them
        assert found["id_masked"].endswith(number[-4:])
    finally:
        south.close()
    level, reason = scan(c.south, code["token"])
    assert reason is Reason.VISITOR_CODE and level is not Level.DENY
    with raw_connect(c.office / "gatepass.db") as conn:
        row = conn.execute(
            "SELECT id_number, phone FROM visitors WHERE id = ?", [visitor_id]
        ).fetchone()
    assert row == (number, "13900001111")  # opened at the office, sealed on the way


def test_every_passage_reaches_the_office_once_twice_imported_and_out_of_order(c: Compound) -> None:
    first = c.bundle(c.north)  # nothing yet
    for p in c.passes[:3]:
        scan(c.north, p["token"], DirectionMode.AUTO)
    second = c.bundle(c.north)
    scan(c.north, c.passes[3]["token"], DirectionMode.AUTO)
    third = c.bundle(c.north)
    for path in (third, first, second, third, second):
        run(c.office, "exchange", "import", str(path))
    gate_id = run_json(c.north, "exchange", "nodes", "--json")["node"]
    assert count(c.office, "SELECT count(*) FROM visits WHERE checkpoint_id = ?", gate_id) == 4
    assert (
        count(c.office, "SELECT count(DISTINCT id) FROM visits WHERE checkpoint_id = ?", gate_id)
        == 4
    )
    assert count(c.office, "SELECT count(*) FROM change_sets WHERE applied = 0") == 0


def test_a_change_set_whose_predecessors_are_missing_waits_for_them(c: Compound) -> None:
    scan(c.north, c.passes[0]["token"])
    early = c.bundle(c.north)
    run(c.office, "exchange", "import", str(early))
    # the office now reports it holds north's rows; a later bundle carries only new ones
    scan(c.north, c.passes[1]["token"])
    late = c.bundle(c.north)
    run(c.office, "exchange", "import", str(late))
    assert count(c.office, "SELECT count(*) FROM visits") == 2


@pytest.mark.parametrize("damage", ["flip", "cut"])
def test_a_tampered_or_truncated_bundle_changes_nothing(c: Compound, damage: str) -> None:
    scan(c.north, c.passes[0]["token"])
    path = c.bundle(c.north)
    data = bytearray(path.read_bytes())
    if damage == "flip":
        data[len(data) // 2] ^= 0x40
    else:
        data = data[: len(data) - 100]
    path.write_bytes(bytes(data))
    kept = "SELECT count(*) FROM change_sets"
    before = (count(c.office, "SELECT count(*) FROM visits"), count(c.office, kept))
    result = run(c.office, "exchange", "import", str(path), ok=False)
    assert result.exit_code == 2
    assert "Nothing of it was imported" in result.output
    assert (count(c.office, "SELECT count(*) FROM visits"), count(c.office, kept)) == before


def test_a_bundle_from_another_compound_is_refused(c: Compound, tmp_path: Path) -> None:
    other = tmp_path / "elsewhere"
    make_checkpoint(other, residents=1, name="another office")
    _enrol(other, tmp_path / "stranger", tmp_path)
    path = c.bundle(tmp_path / "stranger")
    with pytest.raises(BundleRefused) as caught:
        _import(c.office, path)
    assert caught.value.reason is Refusal.OTHER_COMPOUND


def _import(home: Path, path: Path) -> None:
    db = connect(home / "gatepass.db")
    try:
        import_bundle(db, Home(home), path, now=utcnow())
    finally:
        db.close()


def test_a_removed_gate_is_distrusted_everywhere_after_the_next_exchange(c: Compound) -> None:
    scan(c.north, c.passes[0]["token"])
    stolen = c.bundle(c.north)
    run(c.office, "exchange", "remove", "north")
    with pytest.raises(BundleRefused) as caught:
        _import(c.office, stolen)
    assert caught.value.reason is Refusal.REMOVED_NODE
    out = c.office_out()
    assert set(out) == {"south"}  # nothing more is written for a removed gate
    run(c.south, "exchange", "import", str(out["south"]))
    with pytest.raises(BundleRefused) as caught:
        _import(c.south, c.bundle(c.north, "--for", "south"))
    assert caught.value.reason is Refusal.REMOVED_NODE
    assert (
        count(
            c.south, "SELECT count(*) FROM keys WHERE label LIKE '%north%' AND retired_at IS NULL"
        )
        == 0
    )


def test_a_wrong_enrolment_code_is_refused_and_leaves_no_home(c: Compound, tmp_path: Path) -> None:
    file = tmp_path / "east.enrol"
    run(c.office, "exchange", "enrol", "east", "--out", str(file))
    result = run(tmp_path / "east", "init", "--join", str(file), "--code", "AAAAA-AAAAA", ok=False)
    assert result.exit_code == 2 and "enrolment code" in result.output
    assert not (tmp_path / "east" / "gatepass.db").exists()


def test_freshness_is_shown_and_goes_amber_then_red(c: Compound) -> None:
    shown = run_json(c.north, "exchange", "nodes", "--json")
    assert shown["office_data"]["level"] == "fresh"
    with gate(c.north) as g:
        now = utcnow()
        assert g.office_data(now).level == "fresh"
        assert g.office_data(now + timedelta(hours=13)).level == "amber"
        assert g.office_data(now + timedelta(hours=49)).level == "red"
        decision = g.handle(Encounter(Source.CAMERA, c.passes[0]["token"]))
    assert decision is not None and decision.office_data is not None
    assert decision.office_data.level == "fresh"
    office = run_json(c.office, "exchange", "nodes", "--json")
    assert office["office_data"]["level"] == "none"
    assert {n["name"] for n in office["nodes"]} == {"north", "south"}


def test_the_office_relays_one_gates_passages_to_the_other_byte_for_byte(c: Compound) -> None:
    scan(c.north, c.passes[0]["token"])
    c.round()
    with (
        raw_connect(c.office / "gatepass.db") as office,
        raw_connect(c.south / "gatepass.db") as south,
    ):
        north_id = run_json(c.north, "exchange", "nodes", "--json")["node"]
        at_office = office.execute(
            "SELECT first, line FROM change_sets WHERE author = ?", [north_id]
        ).fetchall()
        at_south = south.execute(
            "SELECT first, line FROM change_sets WHERE author = ?", [north_id]
        ).fetchall()
    assert at_office and sorted(at_office) == sorted(at_south)
    assert count(c.south, "SELECT count(*) FROM visits WHERE checkpoint_id = ?", north_id) == 1


def test_writes_at_a_lone_checkpoint_fill_no_outbox(tmp_path: Path) -> None:
    make_checkpoint(tmp_path / "lone", residents=2)
    assert count(tmp_path / "lone", "SELECT count(*) FROM outbox") == 0
    db = connect(tmp_path / "lone" / "gatepass.db")
    try:
        with write(db):
            triggers = db.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'outbox%'"
            ).fetchone()[0]
    finally:
        db.close()
    assert triggers == 0


def test_the_gate_shows_masked_numbers_it_holds_instead_of_the_numbers(c: Compound) -> None:
    at_office = run_json(c.office, "residents", "list", "--json")
    at_gate = run_json(c.north, "residents", "list", "--json")
    assert [r["id_number"] for r in at_gate] == [r["id_number"] for r in at_office]
    assert [r["phone"] for r in at_gate] == [r["phone"] for r in at_office]
    assert all("*" in r["id_number"] for r in at_gate)


def test_the_offices_rules_reach_the_gates_and_stand_over_their_own(c: Compound) -> None:
    with gate(c.north) as g:
        assert g.rules.curfew_enabled is False
    run(c.office, "settings", "set", "curfew_enabled", "true")
    run(c.office, "settings", "set", "quota_outings", "3")
    c.round()
    with gate(c.north) as g:
        assert g.rules.curfew_enabled is True and g.rules.quota_outings == 3
    settings = c.north / "settings.toml"  # the gate's own settings are left as they were
    assert not settings.exists() or "curfew" not in settings.read_text(encoding="utf-8")


def test_one_exchange_through_a_folder_like_a_usb_stick(c: Compound, tmp_path: Path) -> None:
    stick = tmp_path / "stick"
    stick.mkdir()
    scan(c.north, c.passes[0]["token"])
    run(c.north, "exchange", "sync", str(stick))  # north's bundle for the office
    run(c.office, "passes", "revoke", c.passes[1]["serial"], "--reason", "lost")
    shown = run(c.office, "exchange", "sync", str(stick)).output  # takes it, writes both gates'
    assert "from north" in shown and "for south" in shown and "for north" in shown
    run(c.north, "exchange", "sync", str(stick))
    run(c.south, "exchange", "sync", str(stick))
    north_id = run_json(c.north, "exchange", "nodes", "--json")["node"]
    assert count(c.office, "SELECT count(*) FROM visits WHERE checkpoint_id = ?", north_id) == 1
    assert count(c.south, "SELECT count(*) FROM visits WHERE checkpoint_id = ?", north_id) == 1
    for home in (c.north, c.south):
        assert scan(home, c.passes[1]["token"], DirectionMode.OUT) == (Level.DENY, Reason.REVOKED)


def test_other_gates_passages_are_not_breaks_in_this_gates_chain(c: Compound) -> None:
    scan(c.north, c.passes[0]["token"])
    scan(c.south, c.passes[1]["token"])
    c.round()
    for home in (c.office, c.north, c.south):
        run(home, "visits", "verify")  # exit 0: nothing told
        with gate(home) as g:
            assert g.log_damage is None or not g.log_damage.damaged
    # a row claiming another gate that did not arrive by exchange is still told
    with raw_connect(c.south / "gatepass.db") as conn:
        conn.execute(
            "INSERT INTO visits (id, at, checkpoint_id, direction, subject_kind, level, reason) "
            "VALUES ('01a20000-0000-7000-8000-000000000001', '2026-11-30T08:00:00.000000+00:00', "
            "'01a20000-0000-7000-8000-0000000000ff', 'in', 'unknown', 'check', 'not_a_pass')"
        )
        conn.commit()
    assert run(c.south, "visits", "verify", ok=False).exit_code != 0


def test_gate_json_carries_the_office_data_age(c: Compound) -> None:
    from kiosk.cli.gate import decision_json

    with gate(c.south) as g:
        decision = g.handle(Encounter(Source.CAMERA, c.passes[2]["token"]))
    assert decision is not None
    shown = decision_json(decision)["office_data"]
    assert shown["level"] == "fresh" and shown["age_s"] >= 0 and shown["as_of"]


def test_retention_forgets_change_sets_every_gate_holds_but_not_what_one_lacks(c: Compound) -> None:
    from kiosk.store.retention import purge

    for p in c.passes[:3]:
        scan(c.north, p["token"], DirectionMode.AUTO)
    c.round()
    run(c.office, "passes", "revoke", c.passes[3]["serial"], "--reason", "lost")
    c.bundle(c.office, "--for", "north")  # frozen: north has not reported holding it yet
    c.round()  # south and north both report holding everything now ...
    run(c.office, "passes", "revoke", c.passes[2]["serial"], "--reason", "lost")
    out = c.office_out()  # ... but this change set only north will receive
    run(c.north, "exchange", "import", str(out["north"]))
    run(c.office, "exchange", "import", str(c.bundle(c.north)))
    kept = "SELECT count(*) FROM change_sets"
    before = count(c.office, kept)
    db = connect(c.office / "gatepass.db")
    try:
        purge(db, older_than_days=1, now=utcnow() + timedelta(days=3), gap_s=0)
    finally:
        db.close()
    after = count(c.office, kept)
    assert 0 < after < before
    # south still gets what it lacked, and the office goes on numbering where it was
    run(c.south, "exchange", "import", str(c.office_out()["south"]))
    assert scan(c.south, c.passes[2]["token"], DirectionMode.OUT) == (Level.DENY, Reason.REVOKED)
    assert count(c.office, "SELECT count(*) FROM outbox") <= 1  # frozen rows are not kept twice


def test_the_report_tells_who_was_let_in_twice_and_on_a_revoked_pass(c: Compound) -> None:
    token = c.passes[0]["token"]
    scan(c.north, token)  # in at north ...
    scan(c.south, token)  # ... and in at south before they exchanged: both let in
    run(c.office, "passes", "revoke", c.passes[1]["serial"], "--reason", "lost card")
    scan(c.south, c.passes[1]["token"], DirectionMode.OUT)  # south not told yet
    c.round()
    shown = run_json(c.office, "exchange", "report", "--json")
    assert [(t["first_gate"], t["second_gate"]) for t in shown["in_twice"]] == [("north", "south")]
    assert shown["in_twice"][0]["arrived_at"] is not None
    assert [(r["serial"], r["gate"], r["reason"]) for r in shown["on_revoked"]] == [
        (c.passes[1]["serial"], "south", "lost card")
    ]
    assert "north" in run(c.office, "exchange", "report").output


def test_a_gate_cannot_write_another_gates_passages(
    c: Compound,
) -> None:
    south = run_json(c.south, "exchange", "nodes", "--json")["node"]
    with raw_connect(c.north / "gatepass.db") as conn:  # a tampered gate laptop
        conn.execute(
            "INSERT INTO visits (id, at, checkpoint_id, direction, subject_kind, level, reason) "
            "VALUES ('01a20000-0000-7000-8000-0000000000aa', '2026-11-30T08:00:00.000000+00:00',"
            " ?, 'in', 'unknown', 'check', 'not_a_pass')",
            [south],
        )
        conn.commit()
    forged = c.bundle(c.north)
    with pytest.raises(BundleRefused) as caught:
        _import(c.office, forged)
    assert caught.value.reason is Refusal.NOT_ALLOWED
    assert count(c.office, "SELECT count(*) FROM visits WHERE checkpoint_id = ?", south) == 0


def test_a_gate_cannot_revive_a_residents_pass_as_a_visitor_code(c: Compound) -> None:
    serial = c.passes[0]["serial"]
    run(c.office, "passes", "revoke", serial, "--reason", "lost card")
    with raw_connect(c.north / "gatepass.db") as conn:
        row = conn.execute(
            "SELECT valid_from, valid_until, key_id, token, issued_at FROM passes WHERE serial = ?",
            [serial],
        ).fetchone()
        conn.execute("DELETE FROM passes WHERE serial = ?", [serial])
        conn.execute(
            "INSERT INTO visitors (id, name, created_at, checkpoint_id) VALUES "
            "('01a20000-0000-7000-8000-0000000000bb', 'x', '2026-11-30T08:00:00.000000+00:00', "
            "(SELECT value FROM meta WHERE key = 'checkpoint_id'))"
        )
        conn.execute(
            "INSERT INTO passes (serial, kind, visitor_id, valid_from, valid_until, key_id, token,"
            " status, issued_at) VALUES (?, 'visitor', '01a20000-0000-7000-8000-0000000000bb',"
            " ?, ?, ?, ?, 'active', ?)",
            [serial, *row],
        )
        conn.commit()
    with pytest.raises(BundleRefused) as caught:
        _import(c.office, c.bundle(c.north))
    assert caught.value.reason is Refusal.NOT_ALLOWED
    with raw_connect(c.office / "gatepass.db") as conn:
        kind, status = conn.execute(
            "SELECT kind, status FROM passes WHERE serial = ?", [serial]
        ).fetchone()
    assert kind != "visitor" and status == "revoked"


def test_a_gate_cannot_rewrite_another_gates_visitor(c: Compound) -> None:
    db = connect(c.south / "gatepass.db")
    try:
        me = db.execute("SELECT value FROM meta WHERE key = 'checkpoint_id'").fetchone()[0]
        household = db.execute("SELECT id FROM households LIMIT 1").fetchone()[0]
        visitor = ValidVisitor("访客乙", "13900002222", None, household, "送货", "", "")
        visitor_id = add_visitor(db, visitor, now=utcnow(), checkpoint_id=me)
    finally:
        db.close()
    c.round()
    north = run_json(c.north, "exchange", "nodes", "--json")["node"]
    with raw_connect(c.north / "gatepass.db") as conn:  # claims south's visitor as its own
        conn.execute(
            "UPDATE visitors SET name = '冒名', checkpoint_id = ? WHERE id = ?", [north, visitor_id]
        )
        conn.commit()
    with pytest.raises(BundleRefused) as caught:
        _import(c.office, c.bundle(c.north))
    assert caught.value.reason is Refusal.NOT_ALLOWED
    with raw_connect(c.office / "gatepass.db") as conn:
        assert conn.execute("SELECT name FROM visitors WHERE id = ?", [visitor_id]).fetchone() == (
            "访客乙",
        )


def test_a_gates_recent_list_is_its_own_passages(c: Compound) -> None:
    from kiosk.store.visits import list_visits

    scan(c.south, c.passes[0]["token"])
    c.round()
    scan(c.north, c.passes[1]["token"])
    db = connect(c.north / "gatepass.db")
    try:
        me = db.execute("SELECT value FROM meta WHERE key = 'checkpoint_id'").fetchone()[0]
        assert len(list_visits(db, limit=10)) == 2  # south's passage is here ...
        mine = list_visits(db, limit=10, checkpoint_id=me)  # ... but not in north's list
        assert [r["checkpoint_id"] for r in mine] == [me]
    finally:
        db.close()
