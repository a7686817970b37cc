"""A real PostgreSQL and real hub processes for the hub's tests (docs/hub.md, "Tests").

The server: ``GATEPASS_TEST_PG`` (a libpq DSN of a role that may create databases)
when set (``.ci/run`` sets it), else a throwaway cluster made here with the local
``initdb`` and ``pg_ctl``. With neither, the tests skip with a loud reason, except in
CI (``CI`` set), where they fail. Each test gets a database of its own, copied from a
migrated template (``CREATE DATABASE ... TEMPLATE``: fast).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from kiosk.hub import identity, schema
from tests.hub.compound import HubCompound, Hubs, enrol_with_hub, make_homes
from tests.hub.processes import HubProcess, free_port, with_db


def _pg_tool(name: str) -> str | None:
    """A PostgreSQL program on PATH, or in Debian's versioned folder (not on PATH)."""
    found = shutil.which(name)
    if found:
        return found
    for folder in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (folder / name).exists():
            return str(folder / name)
    return None


def _throwaway_cluster() -> Iterator[str] | None:
    initdb, pg_ctl = _pg_tool("initdb"), _pg_tool("pg_ctl")
    if initdb is None or pg_ctl is None:
        return None
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root: run the cluster as the postgres user
        if shutil.which("runuser") is None:
            return None
        as_user = ["runuser", "-u", "postgres", "--"]

    def cluster() -> Iterator[str]:
        folder = Path(tempfile.mkdtemp(prefix="gatepass-pg-"))
        if as_user:
            shutil.chown(folder, "postgres")
        data, port = folder / "data", free_port()
        subprocess.run(
            [*as_user, initdb, "-D", str(data), "-A", "trust", "-U", "postgres"],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [
                *as_user,
                pg_ctl,
                "-D",
                str(data),
                "-l",
                str(folder / "log"),
                "-w",
                "-o",
                f"-p {port} -k {folder} -c listen_addresses=127.0.0.1",
                "start",
            ],
            check=True,
            capture_output=True,
        )
        try:
            yield f"host=127.0.0.1 port={port} user=postgres dbname=postgres"
        finally:
            subprocess.run(
                [*as_user, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True
            )
            shutil.rmtree(folder, ignore_errors=True)

    return cluster()


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[str]:
    """A DSN of a PostgreSQL role that may create databases."""
    dsn = os.environ.get("GATEPASS_TEST_PG")
    if dsn:
        yield dsn
        return
    made = _throwaway_cluster()
    if made is None:
        reason = (
            "NO POSTGRESQL: set GATEPASS_TEST_PG to a DSN, or install PostgreSQL's initdb "
            "and pg_ctl; the hub's tests did not run"
        )
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    yield from made


@pytest.fixture(scope="session")
def pg_template(pg_admin: str) -> Iterator[str]:
    """A database migrated with the hub's schema and identity, copied for each test."""
    name = f"gp_template_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    with psycopg.connect(with_db(pg_admin, name), autocommit=True) as conn:
        schema.migrate(conn)
        identity.create(conn, ["localhost", "127.0.0.1"])
    yield name
    with psycopg.connect(pg_admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def hub_dsn(pg_admin: str, pg_template: str) -> Iterator[str]:
    """A hub database of this test's own."""
    name = f"gp_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE {pg_template}")
    yield with_db(pg_admin, name)
    with psycopg.connect(pg_admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def shared_hub_dsn(pg_admin: str, pg_template: str) -> Iterator[str]:
    """One hub database for the tests that keep to compounds of their own (seeded):
    making a database per test costs a second or two."""
    name = f"gp_shared_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE {pg_template}")
    yield with_db(pg_admin, name)
    with psycopg.connect(pg_admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def start_hub(hub_dsn: str, tmp_path: Path) -> Iterator:
    """Start hub processes on this test's database: ``start_hub()`` -> HubProcess."""
    started: list[HubProcess] = []

    def start(*extra: str, port: int | None = None) -> HubProcess:
        hub = HubProcess(
            hub_dsn, port or free_port(), tmp_path / f"hub{len(started)}.log", extra=extra
        )
        started.append(hub)
        return hub.start()

    yield start
    for hub in started:
        hub.stop()


@pytest.fixture(scope="session")
def template(
    pg_admin: str, pg_template: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Path, str, int, list[dict]]]:
    """Homes enrolled with a hub, and that hub's database (no process left on it)."""
    root = tmp_path_factory.mktemp("hubcompound")
    name = f"gp_mod_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE {pg_template}")
    dsn, port = with_db(pg_admin, name), free_port()
    hub = HubProcess(dsn, port, root / "hub.log").start()
    try:
        office, north, south, passes = make_homes(root)
        enrol_with_hub(dsn, hub.url, office, [north, south])
        HubCompound(root, office, north, south, passes).round()
    finally:
        hub.stop()
    yield root, name, port, passes
    with psycopg.connect(pg_admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def hc(
    template: tuple[Path, str, int, list[dict]], pg_admin: str, tmp_path: Path
) -> Iterator[tuple[HubCompound, Hubs]]:
    root, name, port, passes = template
    for home in ("office", "north", "south"):
        shutil.copytree(root / home, tmp_path / home)
    mine = f"gp_t_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {mine} TEMPLATE {name}")
    hubs = Hubs(with_db(pg_admin, mine), port, tmp_path)
    hubs.start()
    c = HubCompound(tmp_path, tmp_path / "office", tmp_path / "north", tmp_path / "south", passes)
    try:
        yield c, hubs
    finally:
        hubs.stop()
        with psycopg.connect(pg_admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {mine} WITH (FORCE)")
