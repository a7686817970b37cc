"""Small helpers shared by tests: running the CLI in-process, making a checkpoint."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from kiosk.cli import cli
from kiosk.store.driver import sqlite3

TEST_PIN = "2580"  # the admin PIN 'kiosk init' sets in tests (KIOSK_ADMIN_PIN, conftest)
TEST_DB_KEY = bytes.fromhex("ab" * 32)  # every test checkpoint's key (KIOSK_DB_KEY, conftest)


def raw_connect(path: Path, isolation_level: str | None = "") -> sqlite3.Connection:
    """A bare connection to a test checkpoint's database (its key, none of Gatepass's
    settings), for tests that look at or damage the file behind Gatepass's back."""
    from kiosk.store.driver import is_plain, open_connection

    conn = open_connection(path, None if is_plain(path) else TEST_DB_KEY, timeout=5)
    conn.isolation_level = isolation_level
    return conn


def run(home: Path, *args: str, ok: bool = True, input: str | None = None) -> Result:
    """Run ``kiosk --home HOME ARGS...`` in-process; by default assert it succeeded."""
    result = CliRunner().invoke(
        cli, ["--home", str(home), *args], input=input, catch_exceptions=False
    )
    if ok:
        assert result.exit_code == 0, (result.exit_code, result.output)
    return result


def run_json(home: Path, *args: str) -> Any:
    return json.loads(run(home, *args).stdout)


def make_checkpoint(home: Path, residents: int = 3, name: str = "幸福里 2号门") -> list[str]:
    """An initialised checkpoint with ``residents`` residents in two households.

    Returns the resident ids.
    """
    from datetime import date

    from kiosk.core.identity import make_id_number

    run(home, "init", "--name", name)
    for i in range(residents):
        role = "staff" if i == residents - 1 and residents > 2 else "resident"
        run(
            home,
            "residents",
            "add",
            "--building",
            "3",
            "--unit",
            "2",
            "--room",
            "501" if i % 2 == 0 else "502",
            "--name",
            f"居民{i}",
            "--phone",
            f"1380013{i:04d}",
            "--id-number",
            make_id_number("110101", date(1980, 1, 1 + i), i + 1),
            "--role",
            role,
        )
    rows = run_json(home, "residents", "list", "--json")
    return [r["id"] for r in rows]


def write_register(path: Path, count: int) -> Path:
    """A register spreadsheet (CSV, the street office's columns) of ``count`` residents
    in households of up to 12 rooms; for ``kiosk residents import``."""
    from datetime import date

    from kiosk.core.identity import make_id_number

    rows = ["序号,楼号,单元,房号,姓名,手机号码,身份证号,身份"]
    for i in range(count):
        born = date(1960 + i % 40, 1 + i % 12, 1 + i % 28)
        id_number = make_id_number("110101", born, i % 999 + 1)
        rows.append(
            f"{i + 1},{1 + i // 60},{1 + (i // 12) % 5},{101 + i % 12},居民{i},"
            f"139{i:08d},{id_number},居民"
        )
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def passage_row(
    gate: str, kind: str, subject: str, household: str | None, direction: str
) -> dict[str, Any]:
    """A visit row as a gate records a manual pass of ``subject`` (a resident's or a
    visitor's id), for tests that write passages without deciding them."""
    from kiosk.core.clock import to_db, utcnow
    from kiosk.core.ids import uuid7

    return {
        "id": uuid7(),
        "at": to_db(utcnow()),
        "checkpoint_id": gate,
        "direction": direction,
        "subject_kind": kind,
        "resident_id": subject if kind != "visitor" else None,
        "visitor_id": subject if kind == "visitor" else None,
        "household_id": household,
        "pass_serial": None,
        "level": "pass",
        "reason": "ok",
        "reasons": "[]",
        "temperature": None,
        "guard": "",
        "plate": "",
        "source": "manual",
        "note": "",
        "corrects": None,
    }
