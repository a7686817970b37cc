"""An installed Gatepass speaks Chinese, has its sounds and its style: the wheel is
built from a copy of the source, installed into a fresh venv, and run from elsewhere.

The venv sees the shared dependencies (PySide6, OpenCV, ...) through a ``.pth`` line
naming this interpreter's site-packages (no downloads), but ``kiosk`` itself only from
the wheel: the check runs from an empty folder, without PYTHONPATH, and asserts where
``kiosk`` was imported from. (A ``.pth`` line adds a folder; the editable install's
own ``.pth`` hook in that folder does not run.)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
SOURCE = ("pyproject.toml", "README.md", "kiosk")

# Run inside the installed venv: the package's own loaders, each reporting what it got.
PROBE = """
import json, sys, wave
from contextlib import ExitStack
import kiosk
from kiosk.core.i18n import set_language, translations, trc
from kiosk.core.rules import Level
from kiosk.ui.sounds import sound_file
from kiosk.ui.theme import style_sheet

with ExitStack() as files:
    tone = sound_file(Level.PASS, files)
    with wave.open(str(tone)) as w:
        frames = w.getnframes()
set_language("zh_CN")
print(json.dumps({
    "kiosk": kiosk.__file__,
    "prefix": sys.prefix,
    "catalogue": type(translations("zh_CN")).__name__,
    "reason": trc("visit purpose", "Reason"),
    "day": style_sheet("day"),
    "night": style_sheet("night"),
    "tone_frames": frames,
}))
"""


def copy_source(root: Path, to: Path) -> Path:
    """The files a wheel is built from, and nothing left over from earlier builds."""
    to.mkdir(parents=True)
    for name in SOURCE:
        src = root / name
        if src.is_dir():
            shutil.copytree(src, to / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, to / name)
    return to


def build_wheel(source: Path, out: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "-q", "-w", str(out)],
        check=True,
        timeout=600,
    )
    (wheel,) = out.glob("*.whl")
    return wheel


def install(wheel: Path, venv: Path) -> Path:
    """A fresh venv with ``wheel`` installed and the shared dependencies visible."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    shared = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    Path(site, "shared-dependencies.pth").write_text("\n".join(sorted(shared)) + "\n")
    pip = [sys.executable, "-m", "pip", "--python", str(python)]
    subprocess.run([*pip, "install", "-q", "--no-deps", "--no-index", str(wheel)], check=True)
    return python


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "KIOSK_LANG")}
    env["QT_QPA_PLATFORM"] = "offscreen"
    return env


def test_the_installed_wheel_speaks_chinese_sounds_and_is_styled(tmp_path: Path) -> None:
    source = copy_source(REPO, tmp_path / "src")
    wheel = build_wheel(source, tmp_path / "dist")

    # Every file of the package that is not Python is package data the wheel carries.
    shipped = set(zipfile.ZipFile(wheel).namelist())
    data = {
        p.relative_to(source).as_posix()
        for p in (source / "kiosk").rglob("*")
        if p.is_file() and p.suffix not in (".py", ".pyc")
    }
    assert data - shipped == set(), "package data left out of the wheel"
    assert any(name.startswith("kiosk/resources/translations/") for name in data)

    python = install(wheel, tmp_path / "venv")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    kiosk = python.parent / ("kiosk.exe" if os.name == "nt" else "kiosk")
    said = subprocess.run(
        [str(kiosk), "--lang", "zh_CN", "--home", str(tmp_path / "home"), "passes", "list"],
        cwd=elsewhere,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert said.returncode == 2, said.stderr
    assert "没有卡口数据" in said.stderr  # the installed catalogue, not English

    probe = subprocess.run(
        [str(python), "-c", PROBE],
        cwd=elsewhere,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert probe.returncode == 0, probe.stderr
    got = json.loads(probe.stdout)
    assert Path(got["kiosk"]).resolve().is_relative_to(Path(got["prefix"]).resolve())
    assert got["catalogue"] == "GNUTranslations"  # the installed gatepass.mo
    assert got["reason"] == "事由"  # with its contexts
    for theme in ("day", "night"):
        expected = (REPO / "kiosk" / "resources" / "styles" / f"{theme}.qss").read_text("utf-8")
        assert got[theme] == expected != ""
    assert got["tone_frames"] > 0
