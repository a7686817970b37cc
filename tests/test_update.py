"""Updating Gatepass over an older one: the home is kept and migrated, and the older
program then refuses the migrated database rather than damage it. The older program is
the project's own past: a commit before the last migration, run from its source in
this venv (its dependencies are the same), as a laptop runs the version it had."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from io import BytesIO
from pathlib import Path

import pytest

from kiosk.store.schema import MIGRATIONS
from tests.helpers import raw_connect

REPO = Path(__file__).resolve().parent.parent
OLDER = "f746d5a"  # the hub's release: before 0006_invitations
NEW_MIGRATION = "0006_invitations"

pytestmark = pytest.mark.slow  # several processes


@pytest.fixture(scope="module")
def older_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The older release's source tree, from git (a clone holds the history)."""
    try:
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", OLDER, "kiosk"],
            capture_output=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"no git history here: {exc}")
    folder = tmp_path_factory.mktemp("older")
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder


def kiosk(source: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(source), "KIOSK_LANG": "en"}
    return subprocess.run(
        [sys.executable, "-m", "kiosk", "--home", str(home), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=source,
    )


def applied(home: Path) -> set[str]:
    """The migrations the file records, read without migrating it (Gatepass's own
    connect() would bring it up to date)."""
    conn = raw_connect(home / "gatepass.db")
    try:
        return {r[0] for r in conn.execute("SELECT name FROM _sqlite_migrations")}
    finally:
        conn.close()


def test_a_newer_version_migrates_the_home_and_the_older_one_refuses_it(
    older_source: Path, tmp_path: Path
) -> None:
    assert NEW_MIGRATION in MIGRATIONS
    home = tmp_path / "home"
    made = kiosk(
        older_source,
        home,
        "init",
        "--name",
        "老版本门岗",
        "--unlock-card",
        str(tmp_path / "card.pdf"),
    )
    assert made.returncode == 0, made.stderr
    for args in (
        (
            "residents",
            "add",
            "--building",
            "1",
            "--unit",
            "1",
            "--room",
            "101",
            "--name",
            "张三",
            "--phone",
            "13800138000",
        ),
        ("passes", "issue", "--all"),
    ):
        done = kiosk(older_source, home, *args)
        assert done.returncode == 0, done.stderr
    assert NEW_MIGRATION not in applied(home)
    passes_before = json.loads(kiosk(older_source, home, "passes", "list", "--json").stdout)

    # the newer program on the same home: migrated, nothing lost, the log whole
    now = kiosk(REPO, home, "passes", "list", "--json")
    assert now.returncode == 0, now.stderr
    assert NEW_MIGRATION in applied(home)
    assert json.loads(now.stdout) == passes_before
    token = passes_before[0]["token"]
    assert kiosk(REPO, home, "verify", token).returncode == 0
    checked = kiosk(REPO, home, "visits", "verify")
    assert checked.returncode == 0, checked.stderr

    # the older program again: refused with a clear message, the file left alone
    before = (home / "gatepass.db").read_bytes()
    refused = kiosk(older_source, home, "passes", "list")
    assert refused.returncode == 3
    assert "newer version of Gatepass" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert (home / "gatepass.db").read_bytes() == before
