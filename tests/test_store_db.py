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
    assert [m.name for m in migrations.applied(again)] == ["0001_initial"]
    again.close()


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
