"""A checkpoint in no compound yet joins the hub as the office of a new compound."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import make_checkpoint, run
from tests.hub.compound import COMMUNITY, HUB_CODE, code_in


@pytest.mark.slow
def test_a_lone_office_founds_its_compound_with_its_issuer_key(
    start_hub, hub_dsn: str, tmp_path: Path
) -> None:
    hub = start_hub()
    office = tmp_path / "office"
    make_checkpoint(office, residents=2, name="office")
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
    # a wrong code, then a hub out of reach, leave it a lone checkpoint (it founds its
    # compound only once the hub has accepted it)
    wrong = run(office, "hub", "join", hub.url, "--code", "AAAAA-AAAAA-AAAAA", ok=False)
    assert wrong.exit_code != 0 and "code" in wrong.output
    away = run(office, "hub", "join", "https://127.0.0.1:9", "--code", "AAAAA", ok=False)
    assert away.exit_code != 0
    assert _lone(office)
    run(office, "hub", "join", hub.url, "--code", code_in(shown, HUB_CODE))
    assert not _lone(office)
    # the hub holds the key that signs the office's requests and change sets
    synced = run(office, "sync", "now", "--json")
    assert '"ok": true' in synced.output


def _lone(home: Path) -> bool:
    from kiosk.store.db import connect
    from kiosk.store.exchange import compound

    db = connect(home / "gatepass.db")
    try:
        return compound(db) is None
    finally:
        db.close()
