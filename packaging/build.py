"""Build Gatepass with PyInstaller (packaging/gatepass.spec) and pack it: ``./dev build``.

    python packaging/build.py [--dist DIR] [--no-tarball] [--keep-work]

Builds from the locks, not from whatever the developer's venv holds: a venv of its own
(``WORK/venv``, made again when a lock changes) gets exactly ``requirements/kiosk.lock``
and ``requirements/build.lock`` (PyInstaller), hashes checked. Writes
``packaging/build_info.json`` (commit, date, platform: what ``gatepass --version`` and
the window's settings show; the spec puts it in the build only), runs PyInstaller into
``DIST/gatepass/``, leaves out what Gatepass never loads (:data:`TRIM`), then packs
``DIST/gatepass-VERSION-PLATFORM.tar.gz`` with the ``.desktop`` file, the icon and
``install.sh`` beside the programs. Prints sizes and times.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kiosk import __version__  # noqa: E402


def platform_tag() -> str:
    system = {"Linux": "linux", "Windows": "windows", "Darwin": "macos"}.get(
        platform.system(), platform.system().lower()
    )
    machine = {"AMD64": "x86_64", "x86_64": "x86_64", "aarch64": "arm64"}.get(
        platform.machine(), platform.machine().lower()
    )
    return f"{system}-{machine}"


def commit() -> str:
    try:
        done = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    dirty = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    return done.stdout.strip() + ("+changes" if dirty else "")


def size_of(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


# Left out of the folder after PyInstaller has collected it (docs/install.md measures
# each): Qt's translations of languages Gatepass does not ship (only qtbase's are loaded,
# kiosk.ui.qt_app), the Qt Quick virtual keyboard (the laptop has a keyboard; it brings
# no Chinese input), and the PDF image plugin (Gatepass writes PDFs, never shows them).
KEEP_QT_TRANSLATIONS = ("qtbase_zh_CN.qm", "qtbase_en.qm", "qt_zh_CN.qm", "qt_en.qm")
TRIM = (
    "PySide6/Qt/plugins/platforminputcontexts/libqtvirtualkeyboardplugin.so",
    "PySide6/Qt/lib/libQt6VirtualKeyboard.so.6",
    "PySide6/Qt/lib/libQt6VirtualKeyboardQml.so.6",
    "PySide6/Qt/plugins/imageformats/libqpdf.so",
    "PySide6/Qt/lib/libQt6Pdf.so.6",
)


def trim(folder: Path) -> int:
    """Remove what Gatepass never loads (:data:`TRIM`, other languages' Qt
    translations); the bytes removed."""
    internal = folder / "_internal"
    removed = 0
    victims = [internal / name for name in TRIM]
    translations = internal / "PySide6" / "Qt" / "translations"
    if translations.is_dir():
        victims += [p for p in translations.iterdir() if p.name not in KEEP_QT_TRANSLATIONS]
    for path in victims:
        if path.is_file():
            removed += path.stat().st_size
            path.unlink()
    return removed


LOCKS = (ROOT / "requirements" / "kiosk.lock", ROOT / "requirements" / "build.lock")


def build_venv(work: Path) -> Path:
    """The build's own Python with exactly the locked packages; its interpreter."""
    venv = work / "venv"
    python = venv / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in LOCKS)).hexdigest()
    stamp = venv / "locks.sha256"
    if python.exists() and stamp.exists() and stamp.read_text() == digest:
        return python
    if venv.exists():
        shutil.rmtree(venv)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    install = [str(python), "-m", "pip", "install", "-q", "--require-hashes", "--no-deps"]
    for lock in LOCKS:
        install += ["-r", str(lock)]
    subprocess.run(install, check=True)
    stamp.write_text(digest)
    print(f"made the build's venv from the locks in {time.perf_counter() - started:.0f} s")
    return python


def build(dist: Path, work: Path, *, trimmed: bool = True, own_venv: bool = True) -> Path:
    info = {
        "commit": commit(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "platform": platform_tag(),
    }
    (ROOT / "packaging" / "build_info.json").write_text(json.dumps(info), encoding="utf-8")
    python = build_venv(work) if own_venv else Path(sys.executable)
    started = time.perf_counter()
    env = {**os.environ, "KIOSK_BUILD_TRIM": "1" if trimmed else "0"}
    env.pop("PYTHONPATH", None)  # the spec puts the repository first itself
    subprocess.run(
        [
            str(python),
            "-m",
            "PyInstaller",
            "--noconfirm",
            "--log-level",
            "WARN",
            "--distpath",
            str(dist),
            "--workpath",
            str(work),
            str(ROOT / "packaging" / "gatepass.spec"),
        ],
        check=True,
        cwd=ROOT,
        env=env,
    )
    folder = dist / "gatepass"
    took = time.perf_counter() - started
    print(f"built {folder} in {took:.0f} s: {size_of(folder) / 1e6:.1f} MB")
    if trimmed:
        removed = trim(folder)
        print(f"trimmed {removed / 1e6:.1f} MB: {size_of(folder) / 1e6:.1f} MB")
    return folder


def pack(folder: Path) -> Path:
    """The tarball: ``gatepass/`` with the programs, the ``.desktop`` file, the icon and
    the install script for a user's menu (packaging/linux/)."""
    linux = ROOT / "packaging" / "linux"
    for name in ("gatepass.desktop", "install.sh", "README.txt"):
        shutil.copy2(linux / name, folder / name)
    shutil.copy2(ROOT / "packaging" / "icons" / "gatepass.png", folder / "gatepass.png")
    out = folder.parent / f"gatepass-{__version__}-{platform_tag()}.tar.gz"
    with tarfile.open(out, "w:gz", compresslevel=6) as tar:
        tar.add(folder, arcname="gatepass")
    print(f"packed {out}: {out.stat().st_size / 1e6:.0f} MB")
    return out


# What the build takes from the system, not from its folder (the libraries every
# desktop has: measured with readelf over the folder's libraries, docs/install.md), as
# Debian packages; GTK and speech-dispatcher only for optional plugins.
DEB_DEPENDS = (
    "libc6 (>= 2.36), libegl1, libgl1, libdrm2, libxcb1, "
    "libwayland-client0, libwayland-cursor0, libwayland-egl1"
)
DEB_RECOMMENDS = "libgtk-3-0, libspeechd2, fonts-wqy-microhei"


def deb(folder: Path) -> Path:
    """A Debian package (Debian, Ubuntu, Deepin, UOS, Kylin): the folder in
    ``/opt/gatepass``, ``gatepass`` and ``gatepass-window`` on the PATH, the menu entry
    and icon. The checkpoint's data stays in each user's data folder: installing a
    newer package over an older one, or removing it, never touches it."""
    stage = folder.parent / "deb-root"
    if stage.exists():
        shutil.rmtree(stage)
    opt = stage / "opt" / "gatepass"
    shutil.copytree(folder, opt, symlinks=True)
    for name in ("install.sh", "gatepass.desktop"):
        (opt / name).unlink(missing_ok=True)  # the package puts these in the system's places
    desktop = (ROOT / "packaging" / "linux" / "gatepass.desktop").read_text(encoding="utf-8")
    apps = stage / "usr" / "share" / "applications"
    apps.mkdir(parents=True)
    (apps / "gatepass.desktop").write_text(
        desktop.replace("@FOLDER@/gatepass-window", "/usr/bin/gatepass-window").replace(
            "@FOLDER@/gatepass.png", "gatepass"
        ),
        encoding="utf-8",
    )
    icons = stage / "usr" / "share" / "icons" / "hicolor" / "256x256" / "apps"
    icons.mkdir(parents=True)
    shutil.copy2(ROOT / "packaging" / "icons" / "gatepass.png", icons / "gatepass.png")
    bin_dir = stage / "usr" / "bin"
    bin_dir.mkdir(parents=True)
    for program in ("gatepass", "gatepass-window"):
        (bin_dir / program).symlink_to(f"/opt/gatepass/{program}")
    control = stage / "DEBIAN"
    control.mkdir()
    arch = {"x86_64": "amd64", "arm64": "arm64"}[platform_tag().split("-", 1)[1]]
    installed_kb = size_of(stage) // 1024
    (control / "control").write_text(
        f"Package: gatepass\nVersion: {__version__}\nArchitecture: {arch}\n"
        "Maintainer: Gatepass <gatepass@localhost>\n"
        f"Installed-Size: {installed_kb}\nDepends: {DEB_DEPENDS}\n"
        f"Recommends: {DEB_RECOMMENDS}\nSection: misc\nPriority: optional\n"
        "Description: Gatepass gate kiosk for residential compounds\n"
        " Checks QR passes at a compound's gate with a webcam, registers visitors and\n"
        " keeps the record of passages, offline first (one-folder build).\n",
        encoding="utf-8",
    )
    out = folder.parent / f"gatepass_{__version__}_{arch}.deb"
    started = time.perf_counter()
    subprocess.run(
        ["dpkg-deb", "--root-owner-group", "-Zgzip", "-z6", "--build", str(stage), str(out)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    shutil.rmtree(stage)
    took = time.perf_counter() - started
    print(f"packed {out} in {took:.0f} s: {out.stat().st_size / 1e6:.0f} MB")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, default=ROOT / "dist")
    parser.add_argument("--work", type=Path, default=ROOT / "build")
    parser.add_argument("--no-tarball", action="store_true")
    parser.add_argument(
        "--no-venv",
        action="store_true",
        help="Build with this Python as it is (CI's Windows job installs windows.lock first).",
    )
    parser.add_argument("--deb", action="store_true", help="Also a Debian package (dpkg-deb).")
    parser.add_argument(
        "--no-trim", action="store_true", help="Keep all PyInstaller collects (to measure)."
    )
    args = parser.parse_args()
    folder = build(
        args.dist.resolve(),
        args.work.resolve(),
        trimmed=not args.no_trim,
        own_venv=not args.no_venv,
    )
    if not args.no_tarball and platform.system() == "Linux":
        pack(folder)
    if args.deb:
        deb(folder)


if __name__ == "__main__":
    main()
