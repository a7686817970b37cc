"""Backups of a checkpoint's home and their restore (kiosk.store.backup, docs/backup.md):
a snapshot taken while passages are written, a restore compared table by table and
file by file, refusals before anything is replaced, keep-N, nothing readable without
the key, the CLI."""

from __future__ import annotations

import hashlib
import json
import threading
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from kiosk.core.errors import KioskError
from kiosk.home import Home
from kiosk.store import db_key
from kiosk.store.anchors import anchor_now, check_log
from kiosk.store.backup import (
    DATABASE,
    MANIFEST,
    SEALED,
    BackupRefused,
    backup,
    backup_due,
    last_backup,
    ours,
    restore,
)
from kiosk.store.checkpoint import checkpoint_id
from kiosk.store.db import connect
from kiosk.store.driver import open_connection
from kiosk.store.visits import commit_visit
from tests.helpers import TEST_DB_KEY, make_checkpoint, passage_row, run, run_json

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def home(home_dir: Path) -> Home:
    make_checkpoint(home_dir, residents=4)
    run(home_dir, "passes", "issue", "--all")
    run(home_dir, "settings", "set", "retention_days", "40")
    h = Home(home_dir)
    db = connect(h.database)
    try:
        cid = checkpoint_id(db)
        rid = db.execute("SELECT id FROM residents LIMIT 1").fetchone()[0]
        for i in range(30):
            commit_visit(db, passage_row(cid, "resident", rid, None, "in" if i % 2 else "out"))
        assert anchor_now(h, db, cid)
    finally:
        db.close()
    return h


def tables(database: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows (all tables in sqlite_master), in rowid or key order."""
    conn = open_connection(database, TEST_DB_KEY, timeout=5)
    try:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        out = {}
        for name in names:
            rows = conn.execute(f'SELECT * FROM "{name}"').fetchall()
            out[name] = sorted(rows, key=repr)
        return out
    finally:
        conn.close()


def files_of(home: Home) -> dict[str, bytes]:
    found = {p.relative_to(home.root).as_posix(): p.read_bytes() for p in home.keys_dir.iterdir()}
    found["visits.anchors"] = home.anchors.read_bytes()
    found["settings.toml"] = home.settings_file.read_bytes()
    return found


def full_check(home: Home):
    db = connect(home.database)
    try:
        return check_log(db, home, checkpoint_id(db), full=True)
    finally:
        db.close()


def test_a_restore_into_a_fresh_home_is_the_home_table_by_table(home: Home, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    before = tables(home.database)
    before_files = files_of(home)
    done = backup(home, out, T0)
    assert done.path.parent == out and done.path.name.endswith("-20260301T080000Z.zip")
    fresh = Home(tmp_path / "fresh")
    result = restore(done.path, fresh)
    assert result.replaced_to is None
    after = tables(fresh.database)
    assert set(after) == set(before) and len(after) > 10
    audit_restore = [r for r in after["audit"] if "backup.restore" in r]
    assert len(audit_restore) == 1
    after["audit"] = [r for r in after["audit"] if r not in audit_restore]
    for name in before:
        assert after[name] == before[name], name
    assert before["visits"] and before["residents"]
    assert files_of(fresh) == before_files
    check = full_check(fresh)
    assert not check.damaged and check.rows >= 30 and check.anchor is not None
    # the source recorded the backup, the restored home does not know of it
    db = connect(home.database)
    try:
        assert last_backup(db) == T0
        assert not backup_due(db, T0 + timedelta(hours=23))
        assert backup_due(db, T0 + timedelta(hours=24))
        actions = [r[0] for r in db.execute("SELECT action FROM audit")]
        assert "backup.write" in actions
    finally:
        db.close()


def test_a_backup_taken_while_a_gate_writes_is_consistent(home: Home, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    stop = threading.Event()
    written = []
    errors: list[BaseException] = []

    def gate() -> None:
        db = connect(home.database)
        try:
            cid = checkpoint_id(db)
            rid = db.execute("SELECT id FROM residents LIMIT 1").fetchone()[0]
            while not stop.is_set():
                row = passage_row(cid, "resident", rid, None, "in")
                commit_visit(db, row)
                written.append(row["id"])
                if len(written) % 7 == 0:
                    anchor_now(home, db, cid)
                stop.wait(0.002)  # a gate's pace: the backup's own write gets the lock too
        except BaseException as exc:  # shown by the assert below
            errors.append(exc)
        finally:
            db.close()

    thread = threading.Thread(target=gate)
    thread.start()
    try:
        while len(written) < 20:
            threading.Event().wait(0.01)
        made = [backup(home, out, T0 + timedelta(seconds=i)) for i in range(3)]
        during = len(written)
    finally:
        stop.set()
        thread.join()
    assert not errors
    assert during > 20
    for i, done in enumerate(made):
        fresh = Home(tmp_path / f"fresh{i}")
        restore(done.path, fresh)
        check = full_check(fresh)
        assert not check.damaged, check.messages()
        ids = [r[0] for r in tables(fresh.database)["visits"]]
        got = set(ids) & set(written)
        assert got and got == set(written[: len(got)])  # a prefix: nothing torn


def _flip(path: Path, member: str, at: float = 0.5) -> None:
    """Change one byte in the middle of ``member``'s stored data."""
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(member)
    data = bytearray(path.read_bytes())
    name_len = int.from_bytes(data[info.header_offset + 26 : info.header_offset + 28], "little")
    extra_len = int.from_bytes(data[info.header_offset + 28 : info.header_offset + 30], "little")
    start = info.header_offset + 30 + name_len + extra_len
    offset = start + int(info.compress_size * at)
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def _rewrite(
    path: Path, change: Callable[[Path], None], tmp: Path, compression: int = zipfile.ZIP_STORED
) -> None:
    """Change the backup's database with ``change`` and write the zip again with a CRC
    that fits (what someone who edits the file on purpose does), the manifest as it
    was unless ``change`` left a new one."""
    work = tmp / "rewrite"
    work.mkdir()
    with zipfile.ZipFile(path) as zf:
        zf.extractall(work)
    change(work)
    path.unlink()
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name in (MANIFEST, DATABASE, SEALED):
            zf.write(work / name, name)


def _rehash(work: Path) -> None:
    manifest = json.loads((work / MANIFEST).read_text())
    for name in (DATABASE, SEALED):
        manifest["members"][name]["sha256"] = hashlib.sha256((work / name).read_bytes()).hexdigest()
    (work / MANIFEST).write_text(json.dumps(manifest))


def _snapshot_of_dir(root: Path) -> dict[str, bytes]:
    """Every file of a home but its logs (this process's log handler writes on)."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and p.relative_to(root).parts[0] != "logs"
    }


@pytest.mark.parametrize(
    "how",
    ["db-byte", "sealed-byte", "db-edited", "manifest-member", "manifest-time", "compressed"],
)
def test_a_changed_backup_is_refused_before_anything_is_replaced(
    home: Home, tmp_path: Path, how: str
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    done = backup(home, out, T0)
    if how == "db-byte":
        _flip(done.path, DATABASE)
    elif how == "sealed-byte":
        _flip(done.path, SEALED)
    elif how == "db-edited":  # one byte changed, the zip's CRC made to fit it

        def edit(work: Path) -> None:
            data = bytearray((work / DATABASE).read_bytes())
            data[len(data) // 2] ^= 0x01
            (work / DATABASE).write_bytes(bytes(data))

        _rewrite(done.path, edit, tmp_path)
    elif how == "compressed":  # members deflated (what a zip bomb needs): same bytes inside
        _rewrite(done.path, lambda work: None, tmp_path, zipfile.ZIP_DEFLATED)
    elif how == "manifest-time":  # the plain manifest says another day

        def redate(work: Path) -> None:
            manifest = json.loads((work / MANIFEST).read_text())
            manifest["created"] = "2026-03-02T08:00:00+00:00"
            (work / MANIFEST).write_text(json.dumps(manifest))

        _rewrite(done.path, redate, tmp_path)
    else:  # a member more than the manifest lists

        def extra(work: Path) -> None:
            manifest = json.loads((work / MANIFEST).read_text())
            manifest["members"]["keys/extra"] = manifest["members"][SEALED]
            (work / MANIFEST).write_text(json.dumps(manifest))

        _rewrite(done.path, extra, tmp_path)
    other = Home(tmp_path / "other")
    make_checkpoint(other.root, residents=1, name="other")
    kept = _snapshot_of_dir(other.root)
    with pytest.raises(BackupRefused, match="Nothing was changed"):
        restore(done.path, other, replace=True)
    assert _snapshot_of_dir(other.root).keys() >= kept.keys()
    assert {k: v for k, v in _snapshot_of_dir(other.root).items() if k in kept} == kept
    assert not list(tmp_path.glob("other.replaced-*"))
    assert not list(tmp_path.glob(".other.restoring-*"))


def test_a_backup_from_a_newer_gatepass_is_refused(home: Home, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    done = backup(home, out, T0)

    def newer(work: Path) -> None:
        conn = open_connection(work / DATABASE, TEST_DB_KEY, timeout=5)
        conn.execute(
            "INSERT INTO _sqlite_migrations(migration_set, name, applied_at) "
            "VALUES ('gatepass', '9999_from_the_future', '2030-01-01')"
        )
        conn.commit()
        conn.close()
        _rehash(work)

    _rewrite(done.path, newer, tmp_path)
    fresh = Home(tmp_path / "fresh")
    with pytest.raises(BackupRefused, match=r"newer version of Gatepass.*9999_from_the_future"):
        restore(done.path, fresh)
    assert not fresh.root.exists()


def test_a_home_holding_a_checkpoint_is_replaced_only_when_asked_and_kept_aside(
    home: Home, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    done = backup(home, out, T0)
    other = Home(tmp_path / "other")
    make_checkpoint(other.root, residents=1, name="other")
    kept = _snapshot_of_dir(other.root)
    with pytest.raises(KioskError, match="--replace"):
        restore(done.path, other)
    assert _snapshot_of_dir(other.root) == kept
    result = restore(done.path, other, replace=True, now=T0)
    assert result.replaced_to == tmp_path / "other.replaced-20260301T080000Z"
    assert _snapshot_of_dir(result.replaced_to) == kept
    assert tables(other.database)["residents"] == tables(home.database)["residents"]
    # check-only changes nothing
    again = _snapshot_of_dir(other.root)
    assert restore(done.path, other, check_only=True).checked_only
    assert _snapshot_of_dir(other.root) == again


def test_keep_n_removes_only_this_checkpoints_oldest(home: Home, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    foreign = [
        out / "notes.txt",
        out / "gatepass-backup-0190aaaa-another-checkpoint-20200101T000000Z.zip",
        out / "gatepass-backup-garbage.zip",
        out / "my-gatepass-backup-x-20200101T000000Z.zip",
    ]
    for path in foreign:
        path.write_text("not ours")
    made = [backup(home, out, T0 + timedelta(days=i), keep=2).path for i in range(4)]
    db = connect(home.database)
    try:
        cid = checkpoint_id(db)
    finally:
        db.close()
    assert ours(out, cid) == made[2:]
    assert all(p.read_text() == "not ours" for p in foreign)
    # a clock set back: the one just written (the oldest by name) is never removed
    back = backup(home, out, T0 - timedelta(days=9), keep=1)
    assert back.path.exists() and made[3].exists() and not made[2].exists()
    assert back.removed == (made[2],)


def test_a_backup_reads_as_nothing_without_the_key(
    home: Home, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    done = backup(home, out, T0)
    data = done.path.read_bytes()
    db = connect(home.database)
    try:
        name, phone, id_number = db.execute(
            "SELECT name, phone, id_number FROM residents LIMIT 1"
        ).fetchone()
    finally:
        db.close()
    for secret in (name, phone, id_number, "居民", "幸福里"):
        assert secret.encode() not in data, secret
    assert b"SQLite format 3" not in data
    assert b"PRIVATE KEY" not in data and home.gate_key.read_bytes() not in data
    with zipfile.ZipFile(done.path) as zf:
        manifest = json.loads(zf.read(MANIFEST))
    assert set(manifest) == {
        "format",
        "version",
        "gatepass",
        "checkpoint_id",
        "created",
        "migrations",
        "members",
    }
    # another key (another checkpoint's card) opens nothing and restores nothing
    monkeypatch.setenv("KIOSK_DB_KEY", "cd" * 32)
    fresh = Home(tmp_path / "fresh")
    with pytest.raises(BackupRefused, match="No key on this computer opens the backup"):
        restore(done.path, fresh)
    assert not fresh.root.exists()
    db_key.forget(fresh.database)


def test_a_missing_folder_is_not_made(home: Home, tmp_path: Path) -> None:
    with pytest.raises(KioskError, match="is not there"):
        backup(home, tmp_path / "drive-not-plugged-in", T0)
    assert not (tmp_path / "drive-not-plugged-in").exists()


def test_the_commands_back_up_and_restore(home: Home, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    failed = run(home.root, "backup", ok=False)
    assert failed.exit_code != 0 and "backup_folder" in failed.output
    run(home.root, "settings", "set", "backup_folder", str(out))
    run(home.root, "settings", "set", "backup_keep", "3")
    found = run_json(home.root, "backup", "--json")
    path = Path(found["path"])
    assert path.parent == out and found["size"] == path.stat().st_size
    assert "Backup written" in run(home.root, "backup", "--to", str(out)).output
    fresh = tmp_path / "fresh"
    checked = run(home.root, "restore", str(path), "--home", str(fresh), "--check-only")
    assert "is whole" in checked.output and not (fresh / "gatepass.db").exists()
    done = run(home.root, "restore", str(path), "--home", str(fresh))
    assert "restored into" in done.output
    assert run_json(fresh, "residents", "list", "--json") == run_json(
        home.root, "residents", "list", "--json"
    )
    refused = run(fresh, "restore", str(path), ok=False)
    assert refused.exit_code != 0 and "--replace" in refused.output
    replaced = run(fresh, "restore", str(path), "--replace")
    assert "kept aside" in replaced.output
    assert len(list(tmp_path.glob("fresh.replaced-*"))) == 1
    status = run(fresh, "db", "status")
    assert "Visit log: whole" in status.output
    db = connect(fresh / "gatepass.db")
    try:
        actions = [r[0] for r in db.execute("SELECT action FROM audit")]
    finally:
        db.close()
    assert "backup.restore" in actions


def test_a_home_in_use_is_not_replaced(home: Home, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    done = backup(home, out, T0)
    before = _snapshot_of_dir(home.root)
    gate = connect(home.database)  # a running gate's connection, idle
    try:
        with pytest.raises(KioskError, match="Another program has the checkpoint open"):
            restore(done.path, home, replace=True)
    finally:
        gate.close()
    assert _snapshot_of_dir(home.root) == before
    assert not list(tmp_path.glob("home.replaced-*"))
    assert restore(done.path, home, replace=True).replaced_to is not None


def test_restore_into_the_commands_own_new_home(home: Home, tmp_path: Path) -> None:
    """``kiosk --home NEW restore FILE`` into a folder made beforehand (with the logs a
    command wrote, and a file of someone's): the backup fills it; what was there stays."""
    out = tmp_path / "out"
    out.mkdir()
    path = Path(run_json(home.root, "backup", "--to", str(out), "--json")["path"])
    new = tmp_path / "new"
    (new / "logs").mkdir(parents=True)
    (new / "logs" / "kiosk.log.1").write_text("an older log")
    (new / "readme.txt").write_text("someone's note")
    run(new, "restore", str(path))
    assert (new / "logs" / "kiosk.log.1").read_text() == "an older log"
    assert (new / "readme.txt").read_text() == "someone's note"
    assert (new / "keys" / "gate.key").read_bytes() == home.gate_key.read_bytes()
    assert run_json(new, "residents", "list", "--json") == run_json(
        home.root, "residents", "list", "--json"
    )
    assert not full_check(Home(new)).damaged
    assert not list(tmp_path.glob(".new.restoring-*"))


def test_a_database_not_encrypted_is_not_backed_up(
    home: Home, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.test_encryption import decrypted_copy

    monkeypatch.delenv("KIOSK_DB_KEY")
    decrypted_copy(home.root)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(KioskError, match="not encrypted: run 'kiosk db encrypt'"):
        backup(home, out, T0)
    assert not list(out.iterdir())
