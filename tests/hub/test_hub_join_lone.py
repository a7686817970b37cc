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
    run(office, "hub", "join", hub.url, "--code", code_in(shown, HUB_CODE))
    # the hub holds the key that signs the office's requests and change sets
    synced = run(office, "sync", "now", "--json")
    assert '"ok": true' in synced.output
