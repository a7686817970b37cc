"""`kiosk visitors list`: who was registered at the gate, masked."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import make_checkpoint, run, run_json


def test_visitors_list(tmp_path: Path) -> None:
    home = tmp_path / "gate"
    make_checkpoint(home)
    assert run_json(home, "visitors", "list", "--json") == []
    for name, phone in (("Zhao Liu", "13800139999"), ("Qian Qi", "13900001111")):
        run(home, "visitors", "register", "--name", name, "--phone", phone,
            "--destination", "3-2-501", "--temperature", "36.5")  # fmt: skip
    rows = run_json(home, "visitors", "list", "--json")
    assert [r["name"] for r in rows] == ["Qian Qi", "Zhao Liu"]  # the newest first
    assert rows[1]["phone"] == "138****9999"
    assert rows[1]["household"] == "3-2-501" and rows[1]["inside"] is True
    assert [
        r["name"] for r in run_json(home, "visitors", "list", "--search", "zhao", "--json")
    ] == ["Zhao Liu"]
    text = run(home, "visitors", "list", "--limit", "1").output
    assert "Qian Qi" in text and "Zhao Liu" not in text and "13900001111" not in text
