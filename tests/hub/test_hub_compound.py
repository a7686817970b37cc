"""Issue 13's compound over HTTP (issue 14): an office and two gates, each its own home,
syncing through two real hub processes on one real PostgreSQL database; the gates
decide alone, and what must travel reaches everyone once."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta

import psycopg
import pytest

from kiosk.core.rules import DirectionMode, Level, Reason
from tests.helpers import raw_connect, run, run_json
from tests.hub.compound import HubCompound, Hubs, node_id, point_at
from tests.hub.processes import free_port
from tests.test_exchange import count, scan

pytestmark = pytest.mark.slow


def test_the_compound_over_two_hub_processes(hc: tuple[HubCompound, Hubs]) -> None:
    c, hubs = hc
    point_at(c.south, hubs.start(free_port()))  # south talks to the second process
    token, revoked, held = c.passes[0]["token"], c.passes[2], c.passes[1]
    # anti-passback across gates: in at north, then at south once north has synced
    assert scan(c.north, token) == (Level.PASS, Reason.VALID_PASS)
    c.sync(c.north)
    c.sync(c.south)
    level, reason = scan(c.south, token)
    assert reason is Reason.ALREADY_INSIDE and level is not Level.PASS
    # a revocation and a hold at the office stop both gates after one sync each
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
    c.sync(c.office)
    for home in (c.north, c.south):
        c.sync(home)
        assert scan(home, revoked["token"], DirectionMode.OUT) == (Level.DENY, Reason.REVOKED)
        assert scan(home, held["token"], DirectionMode.OUT) == (Level.DENY, Reason.HELD)
    c.round()
    # every passage reached the office exactly once, and the hub's passages table
    north, south = node_id(c.north), node_id(c.south)
    at_north = count(c.north, "SELECT count(*) FROM visits WHERE checkpoint_id = ?", north)
    at_south = count(c.south, "SELECT count(*) FROM visits WHERE checkpoint_id = ?", south)
    assert at_north == 3 and at_south == 3
    for gate, n in ((north, at_north), (south, at_south)):
        assert count(c.office, "SELECT count(*) FROM visits WHERE checkpoint_id = ?", gate) == n
        with psycopg.connect(hubs.dsn) as conn:
            row = conn.execute(
                "SELECT count(*), count(DISTINCT id) FROM passages WHERE checkpoint = %s",
                [uuid.UUID(gate)],
            ).fetchone()
        assert row == (n, n)
        with psycopg.connect(hubs.dsn) as conn:  # residents' passages name the resident
            named = conn.execute(
                "SELECT count(*) FROM passages WHERE checkpoint = %s AND resident_id IS NOT NULL",
                [uuid.UUID(gate)],
            ).fetchone()
        assert named == (n,)
    # a second round changes nothing anywhere
    c.round()
    assert count(c.office, "SELECT count(*) FROM visits WHERE checkpoint_id = ?", north) == 3
    # the gates see each other's passages; their own recent list stays their own
    assert count(c.north, "SELECT count(*) FROM visits WHERE checkpoint_id = ?", south) == 3


def test_sync_status_and_office_data_freshness_fed_by_the_hub(
    hc: tuple[HubCompound, Hubs],
) -> None:
    c, _ = hc
    status = run_json(c.north, "sync", "status", "--json")
    assert status["joined"] and status["error"] is None and status["waiting_rows"] == 0
    assert status["skew_warning"] is None
    scan(c.north, c.passes[0]["token"])
    assert run_json(c.north, "sync", "status", "--json")["waiting_rows"] == 1
    c.sync(c.north)
    assert run_json(c.north, "sync", "status", "--json")["waiting_rows"] == 0
    nodes = run_json(c.north, "exchange", "nodes", "--json")
    assert nodes["office_data"]["level"] == "fresh"


def test_a_removed_gate_is_refused_at_once_with_its_reason(hc: tuple[HubCompound, Hubs]) -> None:
    c, _ = hc
    run(c.office, "exchange", "remove", "south", input="y\n")
    c.sync(c.office)  # the office's node row with removed_at reaches the hub
    result = run(c.south, "sync", "now", "--json", ok=False)
    assert result.exit_code != 0
    answer = json.loads(result.stdout.splitlines()[0])
    assert answer == {"ok": False, "reason": "removed", "error": answer["error"]}
    assert "removed" in answer["error"]
    status = run_json(c.south, "sync", "status", "--json")
    assert status["reason"] == "removed"
    # and the north gate is still served
    assert c.sync(c.north)["ok"]


def test_a_hub_that_is_away_leaves_the_gate_working_and_nothing_lost(
    hc: tuple[HubCompound, Hubs],
) -> None:
    c, hubs = hc
    hubs.stop()
    assert scan(c.north, c.passes[0]["token"]) == (Level.PASS, Reason.VALID_PASS)
    result = run(c.north, "sync", "now", "--json", ok=False)
    assert json.loads(result.stdout.splitlines()[0])["reason"] == "unavailable"
    assert run_json(c.north, "sync", "status", "--json")["waiting_rows"] == 1
    hubs.start()
    c.sync(c.north)
    c.sync(c.office)
    north = node_id(c.north)
    assert count(c.office, "SELECT count(*) FROM visits WHERE checkpoint_id = ?", north) == 1


def test_the_office_data_reaches_a_gate_only_through_its_own_compound(
    hc: tuple[HubCompound, Hubs],
) -> None:
    """The hub holds no plain ID numbers or phones: the office's residents arrive as
    keyed hashes and masked forms, as in a bundle."""
    c, hubs = hc
    with psycopg.connect(hubs.dsn) as conn:
        lines = b"".join(bytes(r[0]) for r in conn.execute("SELECT line FROM change_sets"))
    with raw_connect(c.office / "gatepass.db") as db:
        numbers = [r[0] for r in db.execute("SELECT id_number FROM residents")]
        phones = [r[0] for r in db.execute("SELECT phone FROM residents")]
    assert numbers and phones
    for secret in numbers + phones:
        assert secret.encode() not in lines
