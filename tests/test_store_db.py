from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kiosk.core.errors import EnvironmentFault, UserError
from kiosk.store.db import DatabaseTooNew, connect, write
from kiosk.store.driver import sqlite3
from kiosk.store.schema import MIGRATIONS, migrations, schema_status
from tests.helpers import raw_connect, run, run_json


def test_migrations_from_empty(tmp_path: Path) -> None:
    db = connect(tmp_path / "a.db", create=True)
    names = set(db.table_names())
    assert {
        "households",
        "residents",
        "passes",
        "visitors",
        "visits",
        "holds",
        "audit",
        "keys",
        "meta",
    } <= names
    assert migrations.pending(db) == []
    db.close()
    again = connect(tmp_path / "a.db")  # idempotent
    assert [m.name for m in migrations.applied(again)] == [
        "0001_initial",
        "0002_office_indexes",
        "0003_visit_corrections",
        "0004_visit_chain",
        "0005_exchange",
        "0006_invitations",
    ]
    again.close()


def test_office_indexes_come_to_an_existing_database_and_are_used(tmp_path: Path) -> None:
    """A checkpoint made before 0002 gets the office's indexes on its next open, with
    its rows intact; the Residents tab's default page walks the natural-order index."""
    from kiosk.store.register import add_resident, page_residents

    path = tmp_path / "old.db"
    db = connect(path, create=True)
    add_resident(db, building="10", unit="1", room="101", name="甲")
    add_resident(db, building="2", unit="1", room="101", name="乙")
    for index in ("households_natural", "passes_status_until", "passes_until", "holds_until"):
        db.execute(f"DROP INDEX {index}")
    db.execute("DELETE FROM _sqlite_migrations WHERE name = '0002_office_indexes'")
    db.conn.commit()
    db.close()

    db = connect(path)
    indexes = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert {"households_natural", "passes_status_until", "holds_until"} <= indexes
    names = [r["name"] for r in page_residents(db, limit=10)]
    assert names == ["乙", "甲"]  # building 2 before building 10
    db.close()


def test_pragmas_read_back(tmp_path: Path) -> None:
    db = connect(tmp_path / "a.db", create=True)
    c = db.conn
    assert c.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert c.execute("PRAGMA synchronous").fetchone()[0] == 2
    assert c.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert c.execute("PRAGMA busy_timeout").fetchone()[0] > 0
    db.close()


def test_missing_database_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="kiosk init"):
        connect(tmp_path / "nope.db")


def test_write_rolls_back_on_error(tmp_path: Path) -> None:
    db = connect(tmp_path / "a.db", create=True)
    with pytest.raises(RuntimeError), write(db):
        db["meta"].insert({"key": "k", "value": "v"})
        raise RuntimeError("boom")
    assert db["meta"].count == 0
    db.close()


def test_write_is_immediate_so_a_second_writer_waits(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    first = connect(path, create=True)
    second = connect(path)
    second.conn.execute("PRAGMA busy_timeout=50")
    with write(first):
        first["meta"].insert({"key": "k", "value": "v"})
        with pytest.raises(EnvironmentFault, match="busy"), write(second):
            pass
    first.close()
    second.close()


def test_visits_are_append_only(tmp_path: Path) -> None:
    db = connect(tmp_path / "a.db", create=True)
    with write(db):
        db["visits"].insert(
            {
                "id": "v1",
                "at": "2026-01-01T00:00:00+00:00",
                "checkpoint_id": "c",
                "direction": "in",
                "subject_kind": "unknown",
                "level": "check",
                "reason": "x",
            }
        )
    with pytest.raises(sqlite3.IntegrityError, match="append-only"), write(db):
        db.execute("UPDATE visits SET reason='y'")
    db.close()


def test_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(EnvironmentFault, match="damaged"):
        connect(path)


def _add_future_migration(path: Path, name: str = "0999_from_the_future") -> None:
    """What a newer Gatepass leaves: a migration row this code has no migration for."""
    conn = raw_connect(path)
    with conn:
        conn.execute(
            "INSERT INTO _sqlite_migrations (migration_set, name, applied_at) VALUES (?, ?, ?)",
            ["gatepass", name, "2031-05-04 03:02:01.000000+00:00"],
        )
    conn.close()


def test_a_database_from_a_newer_gatepass_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    connect(path, create=True).close()
    _add_future_migration(path)
    with pytest.raises(DatabaseTooNew, match="newer version of Gatepass") as refused:
        connect(path)
    assert "0999_from_the_future" in str(refused.value)
    assert isinstance(refused.value, EnvironmentFault) and refused.value.exit_code == 3
    looked = connect(path, migrate=False)  # looked at, never changed
    status = schema_status(looked)
    looked.close()
    assert status.unknown == ("0999_from_the_future",)
    assert [m.name for m in status.applied if m.known] == MIGRATIONS and status.pending == ()


def test_schema_status_lists_pending_migrations_without_applying_them(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    db = connect(path, create=True)
    db.execute("DROP INDEX visits_corrects")  # as if made before 0003
    db.execute("DELETE FROM _sqlite_migrations WHERE name = '0003_visit_corrections'")
    db.conn.commit()
    db.close()
    db = connect(path, migrate=False)
    assert schema_status(db).pending == ("0003_visit_corrections",)
    assert schema_status(db).pending == ("0003_visit_corrections",)  # it changes nothing
    db.close()
    connect(path).close()  # a normal open applies it
    db = connect(path, migrate=False)
    assert schema_status(db).pending == () and schema_status(db).unknown == ()
    db.close()


def test_kiosk_db_status(home_dir: Path) -> None:
    run(home_dir, "init")
    shown = run_json(home_dir, "db", "status", "--json")
    assert [m["name"] for m in shown["applied"]] == MIGRATIONS
    assert all(m["known"] and m["applied_at"].endswith("+00:00") for m in shown["applied"])
    assert shown["pending"] == [] and shown["unknown"] == []
    assert "Up to date." in run(home_dir, "db", "status").stdout

    _add_future_migration(home_dir / "gatepass.db")
    text = run(home_dir, "db", "status", ok=False)
    assert text.exit_code == 1  # the answer is no: this Gatepass will not open it
    assert "0999_from_the_future" in text.stdout and "newer Gatepass" in text.stdout
    shown = run_json_any(home_dir, "db", "status", "--json")
    assert shown["unknown"] == ["0999_from_the_future"]
    assert shown["applied"][-1]["applied_at"] == "2031-05-04T03:02:01+00:00"
    refused = run(home_dir, "passes", "list", ok=False)
    assert refused.exit_code == 3 and "newer version of Gatepass" in refused.stderr


def run_json_any(home: Path, *args: str) -> Any:
    """The JSON a command printed, whatever its exit code."""
    return json.loads(run(home, *args, ok=False).stdout)


def test_connect_refuses_an_empty_file_and_only_create_makes_one(tmp_path: Path) -> None:
    from kiosk.store.db import NotACheckpoint

    path = tmp_path / "gatepass.db"
    path.write_bytes(b"")
    for migrate in (True, False):
        with pytest.raises(NotACheckpoint, match="is empty"):
            connect(path, migrate=migrate)
    assert path.stat().st_size == 0
    assert not (tmp_path / "gatepass.db-wal").exists()
    connect(path, create=True).close()  # init, on purpose
    connect(path).close()


def test_connect_refuses_a_database_without_the_gatepass_schema(tmp_path: Path) -> None:
    from kiosk.store.db import NotACheckpoint

    path = tmp_path / "other.db"
    other = raw_connect(path)
    other.execute("CREATE TABLE notes (text TEXT)")
    other.commit()
    other.close()
    with pytest.raises(NotACheckpoint, match="not a Gatepass database"):
        connect(path)
    with raw_connect(path) as again:
        assert [r[0] for r in again.execute("SELECT name FROM sqlite_master")] == ["notes"]


def _sqlite_error(code: int) -> sqlite3.OperationalError:
    exc = sqlite3.OperationalError("disk I/O error")
    exc.sqlite_errorcode = code  # type: ignore[attr-defined]
    return exc


SQLITE_FULL, SQLITE_IOERR_SHMSIZE, SQLITE_IOERR_WRITE, SQLITE_CANTOPEN = 13, 4874, 778, 14


def test_sqlite_full_says_disk_full() -> None:
    from kiosk.store.db import environment_fault

    fault = environment_fault(_sqlite_error(SQLITE_FULL))
    assert isinstance(fault, EnvironmentFault)
    assert "disk is full" in str(fault)


@pytest.mark.parametrize("code", [SQLITE_IOERR_SHMSIZE, SQLITE_IOERR_WRITE, SQLITE_CANTOPEN])
def test_an_io_error_on_a_full_disk_says_disk_full(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    """On a full disk SQLite fails first growing its -shm index (SQLITE_IOERR_SHMSIZE,
    seen on a full tmpfs), not with SQLITE_FULL: the free space decides what is said."""
    import shutil

    from kiosk.core import atomic  # where the free space is looked at
    from kiosk.store import db as store_db

    path = tmp_path / "gatepass.db"
    free = {"bytes": 10 << 30}
    real = shutil.disk_usage

    def usage(where: Any) -> Any:
        assert Path(where) == tmp_path
        return real(where)._replace(free=free["bytes"])

    monkeypatch.setattr(atomic.shutil, "disk_usage", usage)
    roomy = store_db.environment_fault(_sqlite_error(code), path)
    assert roomy is not None and "disk error or read-only" in str(roomy)
    free["bytes"] = 4096
    full = store_db.environment_fault(_sqlite_error(code), path)
    assert full is not None and "disk is full" in str(full)
    no_path = store_db.environment_fault(_sqlite_error(code))
    assert no_path is not None and "disk error or read-only" in str(no_path)


def test_a_write_on_a_full_disk_says_disk_full(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """write() finds the database's file from its connection to tell a full disk."""
    import shutil

    from kiosk.core import atomic  # where the free space is looked at

    db = connect(tmp_path / "a.db", create=True)
    real = shutil.disk_usage
    monkeypatch.setattr(atomic.shutil, "disk_usage", lambda p: real(p)._replace(free=0))
    try:
        with pytest.raises(EnvironmentFault, match="disk is full"), write(db):
            raise _sqlite_error(SQLITE_IOERR_SHMSIZE)
    finally:
        db.close()
