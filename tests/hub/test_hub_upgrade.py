"""A compound that exchanged by stick moves to the hub: the office relays a gate's change
sets the hub does not know the gate of yet."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from kiosk.core.clock import utcnow
from kiosk.core.identity import make_id_number
from kiosk.store.db import connect
from kiosk.store.visitors import ValidVisitor, add_visitor
from tests.helpers import run
from tests.hub.compound import COMMUNITY, HUB_CODE, code_in, make_homes


@pytest.mark.slow
def test_an_office_relaying_a_gate_the_hub_does_not_know_yet_pushes_all(
    start_hub, hub_dsn: str, tmp_path: Path
) -> None:
    hub = start_hub()
    office, north, _south, _passes = make_homes(tmp_path)
    db = connect(north / "gatepass.db")
    try:
        household = db.execute("SELECT id FROM households LIMIT 1").fetchone()[0]
        me = db.execute("SELECT value FROM meta WHERE key = 'checkpoint_id'").fetchone()[0]
        number = make_id_number("110101", date(1990, 5, 6), 7)
        visitor = ValidVisitor("访客甲", "13900001111", number, household, "探亲", "", "")
        add_visitor(db, visitor, now=utcnow(), checkpoint_id=me)
    finally:
        db.close()
    stick = tmp_path / "stick"
    stick.mkdir()
    for home in (north, office):  # the office holds north's change set; south lacks it
        run(home, "exchange", "sync", str(stick))
    shown = run(
        office,
        "hub",
        "enrol-office",
        "--db",
        hub_dsn,
        "--community",
        COMMUNITY,
        "--compound",
        "幸福里",
    ).output
    run(office, "hub", "join", hub.url, "--code", code_in(shown, HUB_CODE))
    synced = run(office, "sync", "now", "--json")
    assert '"ok": true' in synced.output
    again = run(office, "sync", "now", "--json")
    assert '"ok": true' in again.output
