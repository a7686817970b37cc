from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from tests.helpers import make_checkpoint, run, run_json


def test_init_makes_home_db_and_private_key(home_dir: Path) -> None:
    out = run(home_dir, "init", "--name", "北门").stdout
    assert "Checkpoint created" in out
    assert (home_dir / "gatepass.db").exists()
    key = home_dir / "keys" / "issuer.key"
    assert key.exists()
    if os.name == "posix":
        assert stat.S_IMODE(key.stat().st_mode) == 0o600


def test_init_twice_is_a_clear_error(home_dir: Path) -> None:
    run(home_dir, "init")
    result = run(home_dir, "init", ok=False)
    assert result.exit_code == 2
    assert "already exists" in result.stderr
    assert "Traceback" not in result.output


def test_command_without_checkpoint_says_init(home_dir: Path) -> None:
    result = run(home_dir, "passes", "list", ok=False)
    assert result.exit_code == 2
    assert "kiosk init" in result.stderr


def test_home_from_environment(home_dir: Path) -> None:
    from click.testing import CliRunner

    from kiosk.cli import cli

    result = CliRunner().invoke(cli, ["init"], env={"KIOSK_HOME": str(home_dir)})
    assert result.exit_code == 0, result.output
    assert (home_dir / "gatepass.db").exists()


def test_passphrase_protected_key(home_dir: Path, monkeypatch) -> None:
    monkeypatch.setenv("KIOSK_KEY_PASSPHRASE", "long secret words")
    run(home_dir, "init", "--passphrase")
    assert b"ENCRYPTED" in (home_dir / "keys" / "issuer.key").read_bytes()
    run(home_dir, "residents", "add", "--building", "1", "--room", "101", "--name", "王五")
    run(home_dir, "passes", "issue", "--all")
    monkeypatch.setenv("KIOSK_KEY_PASSPHRASE", "wrong")
    result = run(home_dir, "passes", "issue", "--all", "--reissue", ok=False)
    assert result.exit_code == 2
    assert "passphrase" in result.stderr.lower()


def test_public_only_gate_verifies_office_passes(tmp_path: Path) -> None:
    office, gate = tmp_path / "office", tmp_path / "gate"
    make_checkpoint(office)
    run(office, "passes", "issue", "--all")
    token = run_json(office, "passes", "list", "--json")[0]["token"]
    bundle = tmp_path / "keys.json"
    run(office, "keys", "export-public", "--out", str(bundle))
    assert json.loads(bundle.read_text())["format"] == "gatepass-public-keys"

    run(gate, "init", "--public-only")
    assert not (gate / "keys" / "issuer.key").exists()
    unknown = run(gate, "verify", token, "--json", ok=False)
    assert unknown.exit_code == 1
    assert json.loads(unknown.stdout)["status"] == "unknown_key"
    run(gate, "keys", "import-public", str(bundle))
    assert "0 key(s) added, 2 already" in run(gate, "keys", "import-public", str(bundle)).stdout
    assert run_json(gate, "verify", token, "--json")["status"] == "valid"
    # a public-only gate cannot mint passes
    refused = run(gate, "passes", "issue", "--all", ok=False)
    assert refused.exit_code == 2
    assert "no issuer key" in refused.stderr


def test_import_public_junk_file(home_dir: Path, tmp_path: Path) -> None:
    run(home_dir, "init")
    junk = tmp_path / "junk.json"
    junk.write_text("{not json")
    result = run(home_dir, "keys", "import-public", str(junk), ok=False)
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    missing = run(home_dir, "keys", "import-public", str(tmp_path / "nope.json"), ok=False)
    assert missing.exit_code == 2


def test_a_bug_is_logged_with_its_traceback_and_shown_in_one_line(
    home_dir: Path, monkeypatch
) -> None:
    import kiosk.cli.passes

    run(home_dir, "init")

    def broken(*_a, **_k):
        raise RuntimeError("boom inside")

    monkeypatch.setattr(kiosk.cli.passes, "list_passes", broken)
    result = run(home_dir, "passes", "list", ok=False)
    assert result.exit_code == 70
    assert "our fault" in result.stderr
    assert "Traceback" not in result.output
    log = (home_dir / "logs" / "kiosk.log").read_text(encoding="utf-8")
    assert "Traceback" in log and "boom inside" in log


def test_messages_in_chinese(home_dir: Path) -> None:
    result = run(home_dir, "--lang", "zh_CN", "passes", "list", ok=False)
    assert result.exit_code == 2
    assert "没有卡口数据" in result.stderr
