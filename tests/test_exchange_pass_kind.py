"""A pass row crosses the exchange with its own kind (resident, staff): the change-set
row's ``kind`` ("pass") names the kind of row and must not overwrite it."""

from __future__ import annotations

import re
from pathlib import Path

from tests.helpers import make_checkpoint, raw_connect, run


def pass_kinds(home: Path) -> dict[str, tuple[str, str]]:
    conn = raw_connect(home / "gatepass.db")
    try:
        rows = conn.execute("SELECT serial, kind, status FROM passes").fetchall()
    finally:
        conn.close()
    return {serial: (kind, status) for serial, kind, status in rows}


def test_passes_reach_a_gate_with_their_kind(tmp_path: Path) -> None:
    office, north = tmp_path / "office", tmp_path / "north"
    make_checkpoint(office, residents=3, name="office")  # the third is staff
    run(office, "passes", "issue", "--all")
    enrolled = run(office, "exchange", "enrol", "north", "--out", str(tmp_path / "n.enrol"))
    code = re.search(r"([0-9A-Z]{5}-[0-9A-Z]{5})", enrolled.output)
    assert code is not None
    run(north, "init", "--join", str(tmp_path / "n.enrol"), "--code", code.group(1))
    at_office = pass_kinds(office)
    assert {kind for kind, _ in at_office.values()} == {"resident", "staff"}
    assert pass_kinds(north) == at_office
    # a later change (a revocation) arrives in a bundle and keeps the kind too
    run(north, "exchange", "export", "--out", str(tmp_path / "n1.gpbundle"))
    run(office, "exchange", "import", str(tmp_path / "n1.gpbundle"))
    serial = next(s for s, (kind, _) in at_office.items() if kind == "staff")
    run(office, "passes", "revoke", serial, "--reason", "遗失")
    run(office, "exchange", "export", "--for", "north", "--out", str(tmp_path / "o1.gpbundle"))
    run(north, "exchange", "import", str(tmp_path / "o1.gpbundle"))
    assert pass_kinds(north)[serial] == ("staff", "revoked")
    assert pass_kinds(north) == pass_kinds(office)
