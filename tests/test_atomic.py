"""kiosk.core.atomic.whole_file: a file appears whole or not at all. On a real full
disk: tests/test_full_disk.py."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from kiosk.core.atomic import whole_file
from kiosk.core.errors import EnvironmentFault


def test_the_file_appears_only_when_the_block_ends(tmp_path: Path) -> None:
    target = tmp_path / "report.pdf"
    with whole_file(target) as temp:
        assert temp.parent == tmp_path and temp.suffix == ".pdf"  # writers that go by it
        assert temp.name.startswith(".report.") and ".tmp" in temp.name
        temp.write_bytes(b"%PDF-1.4 ... %%EOF")
        assert not target.exists()
    assert target.read_bytes() == b"%PDF-1.4 ... %%EOF"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.pdf"]


def test_a_failed_block_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "visits.csv"
    target.write_text("yesterday\n")
    with pytest.raises(KeyError), whole_file(target) as temp:
        temp.write_text("half of to")
        raise KeyError("cancelled")
    assert target.read_text() == "yesterday\n"
    assert [p.name for p in tmp_path.iterdir()] == ["visits.csv"]


@pytest.mark.skipif(os.name != "posix", reason="file modes")
def test_modes_private_or_as_open_gives(tmp_path: Path) -> None:
    with whole_file(tmp_path / "issuer.key", private=True) as temp:
        temp.write_bytes(b"secret")
    assert stat.S_IMODE((tmp_path / "issuer.key").stat().st_mode) == 0o600
    with whole_file(tmp_path / "export.csv") as temp:
        temp.write_text("a\n")
    (tmp_path / "plain.csv").write_text("a\n")
    assert (tmp_path / "export.csv").stat().st_mode == (tmp_path / "plain.csv").stat().st_mode


def test_an_existing_file_is_not_replaced_when_asked(tmp_path: Path) -> None:
    target = tmp_path / "gate.key"
    target.write_bytes(b"the old key")
    with pytest.raises(FileExistsError), whole_file(target, replace=False) as temp:
        temp.write_bytes(b"a new key")
    assert target.read_bytes() == b"the old key"
    assert [p.name for p in tmp_path.iterdir()] == ["gate.key"]
    with whole_file(tmp_path / "new.key", replace=False) as temp:
        temp.write_bytes(b"a new key")
    assert (tmp_path / "new.key").read_bytes() == b"a new key"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gate.key", "new.key"]


def test_a_folder_that_is_not_there_is_the_machines_fault(tmp_path: Path) -> None:
    with (
        pytest.raises(EnvironmentFault, match="Cannot write"),
        whole_file(tmp_path / "gone" / "x.csv") as temp,
    ):
        temp.write_text("never")
