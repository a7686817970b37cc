"""A damaged database file (issue 12): refused at start with the way out, exit 3,
nothing written; a damaged row read later is the machine's fault too, never exit 70."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import pytest

from kiosk.core.errors import EnvironmentFault
from kiosk.store.db import DatabaseDamaged, connect, environment_fault
from kiosk.store.driver import sqlite3
from tests.helpers import make_checkpoint, raw_connect, run, write_register
from tests.sqlcipher_pages import PAGE, database_pages

PAGE_TYPES = {2, 5, 10, 13}  # b-tree pages: interior/leaf, index/table


def damage_middle(path: Path, seed: int = 12) -> None:
    """64 random bytes over the start of the b-tree page nearest the middle of the
    file (the database closed, its WAL folded in; the page found by decrypting it)."""
    pages = database_pages(path)
    size, data = PAGE, path.read_bytes()
    count = len(data) // size
    middle = count // 2
    for page in sorted(range(1, count), key=lambda p: abs(p - middle)):
        if pages[page][0] in PAGE_TYPES:
            break
    else:
        raise AssertionError("no b-tree page")
    noise = random.Random(seed).randbytes(64)
    path.write_bytes(data[: page * size] + noise + data[page * size + 64 :])


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def damaged_home(home_dir: Path) -> Path:
    make_checkpoint(home_dir)
    run(home_dir, "residents", "import", str(write_register(home_dir / "register.csv", 300)))
    run(home_dir, "passes", "issue", "--all")
    damage_middle(home_dir / "gatepass.db")
    return home_dir


def _refused(result: object) -> None:
    assert result.exit_code == 3, result.output
    err = result.stderr
    assert "is damaged" in err and "last copy" in err and "kiosk db status" in err
    assert "our fault" not in err


def test_the_check_finds_the_damage_and_a_whole_file_passes(damaged_home: Path) -> None:
    with pytest.raises(DatabaseDamaged, match="kiosk db status") as refused:
        connect(damaged_home / "gatepass.db", check=True)
    assert refused.value.exit_code == 3 and isinstance(refused.value, EnvironmentFault)
    whole = damaged_home / "whole.db"
    connect(whole, create=True).close()
    connect(whole, check=True).close()


def test_commands_refuse_a_damaged_file_and_write_nothing(damaged_home: Path) -> None:
    db = damaged_home / "gatepass.db"
    before = digest(db)
    for args in (("visits", "list"), ("purge",), ("residents", "list"), ("db", "status")):
        _refused(run(damaged_home, *args, ok=False))
    video = damaged_home / "none.mp4"  # the gate refuses before it opens its source
    _refused(run(damaged_home, "gate", "--source", str(video), ok=False))
    assert digest(db) == before


def test_the_gate_and_the_office_refuse_a_damaged_file(damaged_home: Path) -> None:
    from kiosk.gate import Gate
    from kiosk.home import Home
    from kiosk.settings import Settings
    from kiosk.ui.app import run_office

    home = Home.resolve(str(damaged_home))
    before = digest(home.database)
    with pytest.raises(DatabaseDamaged):
        Gate.from_settings(home, Settings.load(home.settings_file))
    with pytest.raises(DatabaseDamaged):
        run_office(home)
    assert digest(home.database) == before


def test_a_row_that_is_not_utf8_is_the_machines_fault(home_dir: Path) -> None:
    """Bytes damaged inside a name (the page itself still well formed): the check
    passes, reading the row says the file is damaged (exit 3), not our bug (70)."""
    make_checkpoint(home_dir, residents=3)
    conn = raw_connect(home_dir / "gatepass.db")
    conn.execute("UPDATE residents SET name = CAST(x'ff41fe' AS TEXT)")
    conn.commit()
    conn.close()
    result = run(home_dir, "residents", "list", ok=False)
    assert result.exit_code == 3 and "is damaged" in result.stderr, result.output
    with pytest.raises(sqlite3.OperationalError) as raised:
        raw_connect(home_dir / "gatepass.db").execute("SELECT name FROM residents").fetchall()
    assert isinstance(environment_fault(raised.value), DatabaseDamaged)
    undecodable = UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")
    assert isinstance(environment_fault(undecodable), DatabaseDamaged)
