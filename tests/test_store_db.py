from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from kiosk.core.errors import EnvironmentFault, UserError
from kiosk.store.db import connect, write
from kiosk.store.schema import migrations


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
