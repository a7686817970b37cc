"""A completely full disk (issue 12): the real ``kiosk`` commands say "disk full" and
leave no stray files: no half an export, PDF, settings file or key, no temporary file,
no half a home after ``kiosk init`` (kiosk.core.atomic.whole_file,
kiosk.home.Home.kept_only_if_whole).

On a real full file system: a small tmpfs mounted for the module (root only; skipped
when not root or the mount fails), filled with one file so that about half of what the
command writes fits, or nothing at all.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from tests.killnine import make_lane, start_gate

pytestmark = pytest.mark.slow

FULL = "The disk is full"
FILLER = "filler"


@pytest.fixture(scope="module")
def disk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    where = tmp_path_factory.mktemp("tmpfs")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(where)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {mounted.stderr.decode(errors='replace')}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


@pytest.fixture
def empty_disk(disk: Path) -> Path:
    for path in disk.iterdir():
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
    return disk


def fill(disk: Path, leave: int) -> None:
    """Fill ``disk`` with one file so that about ``leave`` bytes stay free."""
    free = shutil.disk_usage(disk).free
    fd = os.open(disk / FILLER, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        os.posix_fallocate(fd, 0, max(1, free - leave))
    finally:
        os.close(fd)
    assert shutil.disk_usage(disk).free <= leave + 4096


def kiosk(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KIOSK_LANG": "en", "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run(
        [sys.executable, "-m", "kiosk", "--home", str(home), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def tree(root: Path) -> dict[str, bytes | None]:
    """Every file (with its bytes; not the filler's) and folder under ``root``."""
    return {
        str(p.relative_to(root)): p.read_bytes() if p.is_file() and p.name != FILLER else None
        for p in sorted(root.rglob("*"))
    }


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A checkpoint with passes and 120 passages (from a real ``kiosk gate``), on the
    ordinary disk."""
    lane = make_lane(tmp_path_factory.mktemp("full"))
    for _ in range(2):
        proc = start_gate(lane)
        _out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    return lane.home


TODAY = date.today().isoformat()
EXPORTS = {
    "visits.xlsx": ["visits", "export", "--from", TODAY, "--to", TODAY, "--format", "xlsx"],
    "visits.csv": ["visits", "export", "--from", TODAY, "--to", TODAY, "--format", "csv"],
    "trace.xlsx": ["trace", "--from", TODAY, "--to", TODAY, "--format", "xlsx"],
    "daily.pdf": ["report", "daily", "--date", TODAY],
    "cards.pdf": ["passes", "cards"],
    "keys.json": ["keys", "export-public"],
}


@pytest.fixture(scope="module")
def sizes(home: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, int]:
    """How big each file is, written to the ordinary disk."""
    out = tmp_path_factory.mktemp("sizes")
    found = {}
    for name, command in EXPORTS.items():
        done = kiosk(home, *command, "--out", str(out / name))
        assert done.returncode == 0, done.stderr
        found[name] = (out / name).stat().st_size
    return found


# Nothing fits (0), or about half of it (2): for the files of more than 3 pages of the
# tmpfs (the key bundle and these workbooks of 120 rows are smaller).
SMALL = ("keys.json", "trace.xlsx", "visits.xlsx")
CASES = [
    (name, share) for name in sorted(EXPORTS) for share in (0, 2) if share == 0 or name not in SMALL
]


@pytest.mark.parametrize(("name", "share"), CASES)
def test_a_file_written_to_a_full_disk_is_not_left_half_written(
    home: Path, sizes: dict[str, int], empty_disk: Path, name: str, share: int
) -> None:
    command = EXPORTS[name]
    size = sizes[name]
    assert not share or size > 3 * 4096  # half of it is more than a page of the tmpfs
    old = empty_disk / name
    old.write_bytes(b"the export of yesterday\n")  # a file by that name stays as it was
    fill(empty_disk, size // share if share else 0)
    before = tree(empty_disk)

    failed = kiosk(home, *command, "--out", str(old))

    assert failed.returncode == 3, (failed.returncode, failed.stderr)
    assert FULL in failed.stderr
    assert tree(empty_disk) == before


def test_passes_export_to_a_full_disk_leaves_no_images(
    home: Path, empty_disk: Path, tmp_path: Path
) -> None:
    done = kiosk(home, "passes", "export", "--out", str(tmp_path / "qr"))
    assert done.returncode == 0, done.stderr
    size = sum(p.stat().st_size for p in (tmp_path / "qr").iterdir())
    (empty_disk / "qr").mkdir()
    fill(empty_disk, size // 2)
    before = tree(empty_disk)

    failed = kiosk(home, "passes", "export", "--out", str(empty_disk / "qr"))

    assert failed.returncode == 3, failed.stderr
    assert FULL in failed.stderr
    assert tree(empty_disk) == before


@pytest.mark.parametrize("leave", [0, 32 * 1024, 320 * 1024])
def test_init_on_a_full_disk_leaves_no_half_a_home(empty_disk: Path, leave: int) -> None:
    fill(empty_disk, leave)
    failed = kiosk(empty_disk / "home", "init", "--name", "幸福里")
    assert failed.returncode == 3, failed.stderr
    assert FULL in failed.stderr
    assert tree(empty_disk) == {FILLER: None}

    (empty_disk / FILLER).unlink()  # space freed: init simply works
    again = kiosk(empty_disk / "home", "init", "--name", "幸福里")
    assert again.returncode == 0, again.stderr


def test_settings_saved_on_a_full_disk_stay_as_they_were(empty_disk: Path) -> None:
    """Settings.save itself on the full disk (the CLI's ``settings set`` meets the full
    disk first in the database, which says so and writes nothing)."""
    from kiosk.core.errors import EnvironmentFault
    from kiosk.settings import Settings

    path = empty_disk / "settings.toml"
    Settings.load(path).updated({"retention_days": 20})[0].save()
    fill(empty_disk, 0)
    before = tree(empty_disk)
    changed, _ = Settings.load(path).updated({"retention_days": 30, "camera": "1"})

    with pytest.raises(EnvironmentFault, match=FULL):
        changed.save()

    assert tree(empty_disk) == before
    assert Settings.load(path).retention_days == 20


def test_a_command_on_a_full_home_says_so_in_one_line(home: Path, empty_disk: Path) -> None:
    """The home itself on the full disk: the database says "disk full" first; the log
    file that cannot be written adds no traceback of its own."""
    copy = empty_disk / "home"
    shutil.copytree(home, copy)
    (copy / "logs" / "kiosk.log").write_text("")  # just rolled over: a line needs a new page
    fill(empty_disk, 0)
    before = tree(copy)

    failed = kiosk(copy, "settings", "set", "retention_days", "20")

    assert failed.returncode == 3, failed.stderr
    assert failed.stderr.splitlines() == [
        f"error: {FULL}. Free some space, then try again; nothing was saved."
    ]
    after = tree(copy)
    assert after.get("settings.toml") == before.get("settings.toml")
    assert not [p for p in after if p not in before and not p.startswith("gatepass.db-")]
