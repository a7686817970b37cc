"""The built program, not the source: PyInstaller's one-folder build (packaging/), packed
as the tarball a community worker downloads, unpacked into a folder of its own and run
with no Python, no PYTHONPATH and no repository: its version, the demo to the end with
the expected verdicts, a pass verified, and the window offscreen for a few seconds."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

from kiosk import __version__
from tests.helpers import TEST_DB_KEY

REPO = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.slow,  # the build takes minutes
    pytest.mark.skipif(
        importlib.util.find_spec("PyInstaller") is None and not os.environ.get("CI"),
        reason="PyInstaller is not installed (./dev build installs it; CI always builds)",
    ),
]


@pytest.fixture(scope="module")
def unpacked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tarball ./dev build makes, unpacked where the repository is not."""
    dist = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        [
            sys.executable,
            str(REPO / "packaging" / "build.py"),
            "--dist",
            str(dist),
            "--work",
            str(tmp_path_factory.mktemp("work")),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    print(done.stdout)
    (tarball,) = dist.glob(f"gatepass-{__version__}-*.tar.gz")
    place = tmp_path_factory.mktemp("unpacked")
    with tarfile.open(tarball) as tar:
        tar.extractall(place, filter="tar")
    return place / "gatepass"


def environment(home_root: Path) -> dict[str, str]:
    """A laptop's environment: no Python paths, the tests' database key, English."""
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    return {
        **keep,
        "HOME": str(home_root),
        "KIOSK_DB_KEY": TEST_DB_KEY.hex(),
        "KIOSK_LANG": "en",
        "QT_QPA_PLATFORM": "offscreen",
    }


def gatepass(
    folder: Path, cwd: Path, *args: str, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(folder / "gatepass"), *args],
        cwd=cwd,
        env=environment(cwd),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_the_folder_holds_the_programs_and_the_desktop_entry(unpacked: Path) -> None:
    for name in ("gatepass", "gatepass-window", "gatepass.desktop", "install.sh", "gatepass.png"):
        assert (unpacked / name).exists(), name
    assert os.access(unpacked / "gatepass-window", os.X_OK)
    assert not list(unpacked.rglob("libQt6WebEngine*")), "Qt's WebEngine is never used"
    translations = unpacked / "_internal" / "PySide6" / "Qt" / "translations"
    assert {p.name for p in translations.iterdir()} <= {
        "qtbase_zh_CN.qm",
        "qtbase_en.qm",
        "qt_zh_CN.qm",
        "qt_en.qm",
    }
    assert list((unpacked / "_internal" / "kiosk" / "resources" / "fonts").iterdir())


def test_version_names_the_build(unpacked: Path, tmp_path: Path) -> None:
    done = gatepass(unpacked, tmp_path, "--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"kiosk {__version__} (build ")
    assert "linux" in done.stdout


def test_the_demo_runs_to_the_end_and_a_pass_verifies(unpacked: Path, tmp_path: Path) -> None:
    home = tmp_path / "demo"
    done = gatepass(unpacked, tmp_path, "--home", str(home), "demo", "--headless", "--json")
    assert done.returncode == 0, done.stderr
    lines = [json.loads(x) for x in done.stdout.splitlines() if x.startswith("{")]
    assert [(d["level"], d["reason"]) for d in lines] == [
        ("pass", "valid_pass"),
        ("check", "visitor_code"),
        ("deny", "revoked"),
        ("check", "not_a_pass"),
        ("check", "held_returning"),
    ]
    passes = json.loads(
        gatepass(unpacked, tmp_path, "--home", str(home), "passes", "list", "--json").stdout
    )
    active = next(p for p in passes if p["status"] == "active" and p.get("token"))
    verified = gatepass(
        unpacked, tmp_path, "--home", str(home), "verify", active["token"], "--json"
    )
    assert verified.returncode == 0, verified.stderr
    assert json.loads(verified.stdout)["status"] == "valid"
    revoked = next(p for p in passes if p["status"] == "revoked" and p.get("token"))
    refused = gatepass(unpacked, tmp_path, "--home", str(home), "verify", revoked["token"])
    assert refused.returncode == 1

    # the window, offscreen, on the demo's camera, until the laptop shuts down (SIGTERM)
    window = subprocess.Popen(
        [
            str(unpacked / "gatepass"),
            "--home",
            str(home),
            "run",
            "--windowed",
            "--guard",
            "李明",
            "--camera",
            str(home / "demo-camera.avi"),
        ],
        cwd=tmp_path,
        env=environment(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(8)
        assert window.poll() is None, window.communicate()[1]
        window.send_signal(signal.SIGTERM)
        _out, err = window.communicate(timeout=60)
    finally:
        if window.poll() is None:
            window.kill()
    assert window.returncode == 0, err
    logged = (home / "logs" / "gate.log").read_text(encoding="utf-8")
    assert "Traceback" not in logged


def test_the_built_program_checks_itself(unpacked: Path, tmp_path: Path) -> None:
    """kiosk doctor, run by the built program on a home it set up: the default decoder
    (zxing-cpp, imported by name) and a Chinese font are inside the folder."""
    home = tmp_path / "home"
    env = {**environment(tmp_path), "KIOSK_ADMIN_PIN": "2580"}
    made = subprocess.run(
        [str(unpacked / "gatepass"), "--home", str(home), "init", "--name", "南门"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert made.returncode == 0, made.stderr
    done = gatepass(
        unpacked, tmp_path, "--home", str(home), "doctor", "--json", "--no-camera", "--offline"
    )
    found = {f["check"]: f for f in json.loads(done.stdout)["findings"]}
    assert found["decoder"]["status"] == "ok" and "zxing" in found["decoder"]["message"]
    for check in ("database", "keys", "disk", "clock", "fonts"):
        assert found[check]["status"] == "ok", found[check]
    window = subprocess.run(
        [str(unpacked / "gatepass-window"), "--version"],
        cwd=tmp_path,
        env=environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert window.returncode == 0 and __version__ in window.stdout
