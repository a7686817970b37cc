from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from tests.helpers import make_checkpoint, raw_connect, run, run_json


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


# -- the admin PIN ------------------------------------------------------------------------


def audit(home: Path) -> list[tuple[str, str, dict]]:

    with raw_connect(home / "gatepass.db") as db:
        rows = db.execute("SELECT actor, action, detail FROM audit ORDER BY id").fetchall()
    return [(actor, action, json.loads(detail)) for actor, action, detail in rows]


def stored_hash(home: Path) -> str:
    """The admin PIN's hash, in the database (never in settings.toml)."""
    from kiosk.store.db import connect
    from kiosk.store.pin_lock import pin_hash

    db = connect(home / "gatepass.db")
    try:
        return pin_hash(db)
    finally:
        db.close()


def test_init_sets_the_admin_pin_from_the_option(home_dir: Path, monkeypatch) -> None:
    from kiosk.core.pin import verify_pin

    monkeypatch.delenv("KIOSK_ADMIN_PIN")
    run(home_dir, "init", "--pin", "9402")
    assert verify_pin("9402", stored_hash(home_dir))
    assert not verify_pin("1234", stored_hash(home_dir))  # no default PIN any more
    changed = [(a, d) for a, action, d in audit(home_dir) if action == "pin.change"]
    assert len(changed) == 1 and changed[0][0].startswith("cli:")
    assert changed[0][1] == {"via": "cli", "first": True}
    assert "scrypt" not in json.dumps(audit(home_dir))


def test_init_takes_the_pin_from_the_environment(home_dir: Path, monkeypatch) -> None:
    from kiosk.core.pin import verify_pin

    monkeypatch.setenv("KIOSK_ADMIN_PIN", "20240611")  # longer PINs are fine
    run(home_dir, "init", "--public-only")
    assert verify_pin("20240611", stored_hash(home_dir))


def test_init_asks_for_the_pin_twice_and_refuses_weak_ones(home_dir: Path, monkeypatch) -> None:
    from kiosk.core.pin import verify_pin

    monkeypatch.delenv("KIOSK_ADMIN_PIN")
    result = run(home_dir, "init", input="1234\n1111\n9402\n9403\n9402\n9402\n")
    assert "in order" in result.output and "repeated" in result.output
    assert "do not match" in result.output  # click's own words for two different PINs
    assert "9402" not in result.output  # hidden
    assert verify_pin("9402", stored_hash(home_dir))


@pytest.mark.parametrize("pin", ["1234", "0000", "12", "12ab"])
def test_init_refuses_a_weak_pin_and_makes_nothing(home_dir: Path, pin: str) -> None:
    result = run(home_dir, "init", "--pin", pin, ok=False)
    assert result.exit_code == 2
    assert "PIN" in result.stderr or "guess" in result.stderr
    assert not (home_dir / "gatepass.db").exists()


def test_init_without_any_pin_is_a_clear_error(home_dir: Path, monkeypatch) -> None:
    monkeypatch.delenv("KIOSK_ADMIN_PIN")
    result = run(home_dir, "init", input="", ok=False)
    assert result.exit_code == 2
    assert "--pin" in result.stderr and "KIOSK_ADMIN_PIN" in result.stderr
    assert not (home_dir / "gatepass.db").exists()


def test_settings_set_never_touches_the_pin(home_dir: Path) -> None:
    run(home_dir, "init")
    before = stored_hash(home_dir)
    for value in ("", "scrypt$16384$8$1$AA==$AA=="):
        result = run(home_dir, "settings", "set", "admin_pin_hash", value, ok=False)
        assert result.exit_code == 2
        assert "kiosk pin set" in result.stderr
    assert stored_hash(home_dir) == before
    shown = run_json(home_dir, "settings", "show", "--json")
    assert "admin_pin_hash" not in shown  # not a setting: it is in the database
    assert "scrypt" not in run(home_dir, "settings", "show").stdout


def test_settings_set_is_audited_with_who_and_old_and_new(home_dir: Path) -> None:
    import getpass

    run(home_dir, "init")
    run(home_dir, "settings", "set", "fever_threshold", "37.5")
    run(home_dir, "settings", "set", "fever_threshold", "37.5")  # unchanged: no row
    rows = [(a, d) for a, action, d in audit(home_dir) if action == "settings.set"]
    assert rows == [
        (
            f"cli:{getpass.getuser()}",
            {"name": "fever_threshold", "old": 37.3, "new": 37.5, "via": "cli"},
        )
    ]


def test_settings_set_needs_a_checkpoint(home_dir: Path) -> None:
    result = run(home_dir, "settings", "set", "fever_threshold", "37.5", ok=False)
    assert result.exit_code == 2 and "kiosk init" in result.stderr


def test_pin_set_behind_the_current_pin(home_dir: Path) -> None:
    from kiosk.core.pin import verify_pin
    from tests.helpers import TEST_PIN

    run(home_dir, "init")
    wrong = run(home_dir, "pin", "set", "--pin", "9402", input="1357\n", ok=False)
    assert wrong.exit_code == 2 and "Wrong PIN" in wrong.stderr
    assert verify_pin(TEST_PIN, stored_hash(home_dir))
    run(home_dir, "pin", "set", "--pin", "9402", input=f"{TEST_PIN}\n")
    assert verify_pin("9402", stored_hash(home_dir))
    weak = run(home_dir, "pin", "set", "--pin", "4444", input="9402\n", ok=False)
    assert weak.exit_code == 2 and "Too easy" in weak.stderr
    changes = [d for _a, action, d in audit(home_dir) if action == "pin.change"]
    assert changes == [{"via": "cli", "first": True}, {"via": "cli", "first": False}]


def test_pin_set_with_the_issuer_key_when_forgotten(tmp_path: Path) -> None:
    from kiosk.core.pin import verify_pin

    office, gate = tmp_path / "office", tmp_path / "gate"
    run(office, "init")
    run(office, "pin", "set", "--issuer-key", "--pin", "9402")  # no current PIN asked
    assert verify_pin("9402", stored_hash(office))
    assert audit(office)[-1][2] == {"via": "cli, issuer key", "first": False}
    run(gate, "init", "--public-only")
    refused = run(gate, "pin", "set", "--issuer-key", "--pin", "9402", ok=False)
    assert refused.exit_code == 2 and "no issuer key" in refused.stderr


def test_pin_set_on_a_checkpoint_without_a_pin(home_dir: Path) -> None:
    """Made before init asked for one: nothing to check, the first PIN is set."""
    from kiosk.core.pin import verify_pin
    from kiosk.store.db import connect

    run(home_dir, "init")
    db = connect(home_dir / "gatepass.db")
    db.execute("DELETE FROM meta WHERE key = 'admin_pin_hash'")
    db.conn.commit()
    db.close()
    run(home_dir, "pin", "set", "--pin", "9402")
    assert verify_pin("9402", stored_hash(home_dir))


def test_the_pin_hash_is_never_in_settings_toml(home_dir: Path) -> None:
    """init and pin set keep the hash in the database (encrypted with it), not in the
    settings file anyone on the computer may read."""
    from kiosk.core.pin import verify_pin
    from tests.helpers import TEST_PIN

    run(home_dir, "init")
    settings_file = home_dir / "settings.toml"
    assert not settings_file.exists() or "scrypt" not in settings_file.read_text()
    assert verify_pin(TEST_PIN, stored_hash(home_dir))
    run(home_dir, "settings", "set", "fever_threshold", "37.5")
    run(home_dir, "pin", "set", "--pin", "9402", input=f"{TEST_PIN}\n")
    text = settings_file.read_text()
    assert "fever_threshold" in text and "scrypt" not in text and "admin_pin" not in text
    assert verify_pin("9402", stored_hash(home_dir))


def test_an_older_home_moves_its_pin_hash_into_the_database(home_dir: Path) -> None:
    """A home an older Gatepass made has the hash in settings.toml: the first command
    moves it into the database (audited), out of the file; a copy put back into the
    file later is ignored and dropped."""
    from kiosk.core.pin import hash_pin, verify_pin
    from kiosk.store.db import connect

    run(home_dir, "init")
    db = connect(home_dir / "gatepass.db")
    db.execute("DELETE FROM meta WHERE key = 'admin_pin_hash'")  # as an older Gatepass
    db.conn.commit()
    db.close()
    settings_file = home_dir / "settings.toml"
    old = hash_pin("9402")
    settings_file.write_text(f'fever_threshold = 37.6\nadmin_pin_hash = "{old}"\n')
    run(home_dir, "keys", "list")  # any command that opens the checkpoint
    assert "admin_pin_hash" not in settings_file.read_text()
    assert "fever_threshold = 37.6" in settings_file.read_text()  # the rest kept
    assert verify_pin("9402", stored_hash(home_dir))
    moved = [(a, d) for a, action, d in audit(home_dir) if action == "pin.moved"]
    assert len(moved) == 1 and moved[0][1] == {"from": "settings.toml", "set": True}
    # The database rules now: a hash put (back) into the file does not override it.
    settings_file.write_text(f'admin_pin_hash = "{hash_pin("1357")}"\n')
    run(home_dir, "pin", "set", "--pin", "2468", input="1357\n", ok=False)
    assert verify_pin("9402", stored_hash(home_dir))
    assert "admin_pin_hash" not in settings_file.read_text()
    run(home_dir, "pin", "set", "--pin", "2468", input="9402\n")
    assert verify_pin("2468", stored_hash(home_dir))
    assert len([1 for _a, action, _d in audit(home_dir) if action == "pin.moved"]) == 1


def _modes(home: Path) -> dict[str, int]:
    """The permission bits of the home, its folders and every file in them."""
    found = {".": stat.S_IMODE(home.stat().st_mode)}
    for path in home.rglob("*"):
        found[path.relative_to(home).as_posix()] = stat.S_IMODE(path.stat().st_mode)
    return found


@pytest.mark.skipif(os.name != "posix", reason="modes are POSIX; Windows keeps the home's ACL")
def test_the_home_is_its_owners_only(home_dir: Path) -> None:
    old = os.umask(0o022)
    try:
        run(home_dir, "init", "--name", "北门")
        run(home_dir, "settings", "set", "fever_threshold", "37.5")
        run(home_dir, "passes", "list")  # a second start: the log files exist now
    finally:
        os.umask(old)
    modes = _modes(home_dir)
    assert {"gatepass.db", "settings.toml", "keys/issuer.key", "logs/kiosk.log"} <= set(modes)
    for name, mode in modes.items():
        want = 0o700 if (home_dir / name).is_dir() else 0o600
        assert mode == want, (name, oct(mode))


@pytest.mark.skipif(os.name != "posix", reason="modes are POSIX; Windows keeps the home's ACL")
def test_a_home_left_readable_is_tightened_when_opened(home_dir: Path) -> None:
    run(home_dir, "init", "--name", "北门")
    run(home_dir, "settings", "set", "fever_threshold", "37.5")
    for path in [home_dir, *home_dir.rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    run(home_dir, "passes", "list")
    for name, mode in _modes(home_dir).items():
        want = 0o700 if (home_dir / name).is_dir() else 0o600
        assert mode == want, (name, oct(mode))


def test_an_empty_database_file_is_refused_not_recreated(home_dir: Path) -> None:
    """A 0-byte gatepass.db (a failed copy, a truncated disk) is not silently made an
    empty checkpoint: the command says so and how to get out, and the file stays empty."""
    run(home_dir, "init", "--name", "北门")
    (home_dir / "gatepass.db").write_bytes(b"")
    for name in ("gatepass.db-wal", "gatepass.db-shm"):
        (home_dir / name).unlink(missing_ok=True)
    for args in (("passes", "list"), ("db", "status")):
        result = run(home_dir, *args, ok=False)
        assert result.exit_code == 3, (args, result.output)
        assert "is empty" in result.stderr and "kiosk init" in result.stderr
        assert "Traceback" not in result.output
    assert (home_dir / "gatepass.db").stat().st_size == 0


def test_a_database_of_another_program_is_refused_and_left_alone(home_dir: Path) -> None:

    home_dir.mkdir()
    other = raw_connect(home_dir / "gatepass.db")
    other.execute("CREATE TABLE notes (text TEXT)")
    other.commit()
    other.close()
    result = run(home_dir, "passes", "list", ok=False)
    assert result.exit_code == 3
    assert "not a Gatepass database" in result.stderr
    again = raw_connect(home_dir / "gatepass.db")
    tables = [r[0] for r in again.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    again.close()
    assert tables == ["notes"]


def test_five_wrong_pins_lock_on_disk_across_runs_until_lock_s(home_dir: Path) -> None:
    import subprocess
    import sys
    from datetime import timedelta

    from kiosk.core.clock import utcnow
    from kiosk.core.pin import verify_pin
    from kiosk.store.db import connect
    from kiosk.store.pin_lock import LOCK_S, MAX_TRIES, pin_locked_for
    from tests.helpers import TEST_PIN

    run(home_dir, "init")
    for _ in range(MAX_TRIES - 1):
        wrong = run(home_dir, "pin", "set", "--pin", "9402", input="1357\n", ok=False)
        assert wrong.exit_code == 2 and "Wrong PIN" in wrong.stderr
    fifth = run(home_dir, "pin", "set", "--pin", "9402", input="1357\n", ok=False)
    assert fifth.exit_code == 2 and "Locked for 60 s" in fifth.stderr
    # the right PIN, in another command and in a new process: still locked
    right = run(home_dir, "pin", "set", "--pin", "9402", input=f"{TEST_PIN}\n", ok=False)
    assert right.exit_code == 2 and "Too many wrong PINs" in right.stderr
    process = subprocess.run(
        [sys.executable, "-m", "kiosk", "--home", str(home_dir), "pin", "set", "--pin", "9402"],
        input=f"{TEST_PIN}\n",
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "KIOSK_LANG": "en"},
    )
    assert process.returncode == 2 and "Too many wrong PINs" in process.stderr
    assert verify_pin(TEST_PIN, stored_hash(home_dir))
    locks = [d for _a, action, d in audit(home_dir) if action == "pin.lock"]
    assert locks == [{"via": "cli", "tries": MAX_TRIES, "seconds": LOCK_S}]
    db = connect(home_dir / "gatepass.db")
    try:
        assert 0 < pin_locked_for(db) <= LOCK_S
        assert pin_locked_for(db, utcnow() + timedelta(seconds=LOCK_S + 1)) == 0
    finally:
        db.close()


def test_pin_lock_opens_after_lock_s_and_a_clock_moved_back_does_not_stretch_it(
    home_dir: Path,
) -> None:
    from datetime import UTC, datetime, timedelta

    from kiosk.store.db import connect
    from kiosk.store.pin_lock import LOCK_S, MAX_TRIES, pin_failed, pin_locked_for, pin_succeeded

    run(home_dir, "init")
    db = connect(home_dir / "gatepass.db")
    try:
        t0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
        assert [pin_failed(db, "t", "test", t0) for _ in range(MAX_TRIES)][-1] == LOCK_S
        assert pin_locked_for(db, t0 + timedelta(seconds=LOCK_S - 1)) == 1
        assert pin_locked_for(db, t0 + timedelta(seconds=LOCK_S)) == 0
        # the count started again with the lock: four more wrong tries do not lock
        after = t0 + timedelta(seconds=LOCK_S)
        assert [pin_failed(db, "t", "test", after) for _ in range(MAX_TRIES - 1)] == [0.0] * 4
        pin_succeeded(db)  # a right PIN: the count starts again
        assert pin_failed(db, "t", "test", after) == 0.0
        pin_succeeded(db)
        # locked, then the clock is put back a day: locked for LOCK_S from then, no more
        for _ in range(MAX_TRIES):
            pin_failed(db, "t", "test", t0)
        back = t0 - timedelta(days=1)
        assert pin_locked_for(db, back) == LOCK_S
        assert pin_locked_for(db, back + timedelta(seconds=LOCK_S)) == 0
    finally:
        db.close()
