from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from kiosk.core.errors import EnvironmentFault, UserError
from kiosk.store.db import DatabaseTooNew, connect, write
from kiosk.store.schema import MIGRATIONS, migrations, schema_status
from tests.helpers import run, run_json


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
    conn = sqlite3.connect(path)
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
