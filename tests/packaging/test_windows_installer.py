"""The Windows installer script (packaging/windows/gatepass.nsi) compiles: Debian's
NSIS builds the setup program from a folder standing in for the Windows build (the
build itself needs Windows: docs/install.md says what has not been tried)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(
    shutil.which("makensis") is None and not os.environ.get("CI"),
    reason="NSIS is not installed (Debian: apt-get install nsis; CI installs it)",
)
def test_the_installer_script_compiles(tmp_path: Path) -> None:
    folder = tmp_path / "gatepass"  # what PyInstaller makes on Windows, in miniature
    (folder / "_internal").mkdir(parents=True)
    for program in ("gatepass.exe", "gatepass-window.exe"):
        (folder / program).write_bytes(b"MZ")
    (folder / "_internal" / "base_library.zip").write_bytes(b"PK")
    script = tmp_path / "packaging"
    shutil.copytree(REPO / "packaging", script)  # the script's paths are relative to it
    done = subprocess.run(
        ["makensis", "-V2", "-DVERSION=0.1.0", f"-DSOURCE={folder}", "gatepass.nsi"],
        cwd=script / "windows",
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "warning" not in done.stdout.lower(), done.stdout
    setup = script / "windows" / "gatepass-0.1.0-windows-x86_64-setup.exe"
    assert setup.read_bytes()[:2] == b"MZ"
