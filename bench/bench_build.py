"""The built program's start-up (issue 16): from starting the process to the first
camera frame shown in the gate window, for the PyInstaller build and for the source
(``python -m kiosk``) in turn, on the same demo checkpoint; and ``--version``.

    python bench/bench_build.py --build dist/gatepass [--rounds 5]

Offscreen (QT_QPA_PLATFORM=offscreen), the demo's video as the camera. A start is timed
from ``Popen`` to the line "first camera frame shown" in the window's log (polled every
10 ms), then the window is closed with SIGTERM. The first round of each is the coldest
with ``--cold`` (root only): before each start the page cache is dropped
(``/proc/sys/vm/drop_caches``), as after the laptop is switched on; without it, the first
round is as cold as the cache allows and later rounds are warm. Ratios build/source in
one run: the machine is noisy.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KEY = "be" * 32


def env(home_root: Path, *, source: bool) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    base.update(HOME=str(home_root), KIOSK_DB_KEY=KEY, KIOSK_LANG="en", QT_QPA_PLATFORM="offscreen")
    if source:
        base["PYTHONPATH"] = str(ROOT)
    return base


def drop_caches() -> None:
    os.sync()
    Path("/proc/sys/vm/drop_caches").write_text("3\n")


def start(command: list[str], home: Path, *, source: bool, cold: bool = False) -> float:
    """Seconds from starting ``command`` (the window) to its first frame shown."""
    if cold:
        drop_caches()
    log = home / "logs" / "gate.log"
    before = log.stat().st_size if log.exists() else 0
    started = time.perf_counter()
    window = subprocess.Popen(
        [
            *command,
            "--home",
            str(home),
            "run",
            "--windowed",
            "--guard",
            "李明",
            "--camera",
            str(home / "demo-camera.avi"),
        ],
        env=env(home.parent, source=source),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        while time.perf_counter() - started < 60:
            if log.exists() and b"first camera frame shown" in log.read_bytes()[before:]:
                return time.perf_counter() - started
            if window.poll() is not None:
                raise SystemExit(f"the window ended: {window.stderr.read().decode()[-2000:]}")
            time.sleep(0.01)
        raise SystemExit("no frame within 60 s")
    finally:
        window.send_signal(signal.SIGTERM)
        window.wait(60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", type=Path, default=ROOT / "dist" / "gatepass")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--cold", action="store_true", help="Drop the page cache before each start."
    )
    args = parser.parse_args()
    built = [str(args.build.resolve() / "gatepass")]
    source = [sys.executable, "-m", "kiosk"]
    with tempfile.TemporaryDirectory(prefix="gatepass-bench-build-") as tmp:
        home = Path(tmp) / "demo"
        made = subprocess.run(
            [*built, "--home", str(home), "demo", "--headless"],
            env=env(Path(tmp), source=False),
            capture_output=True,
            timeout=600,
        )
        if made.returncode != 0:
            raise SystemExit(made.stderr.decode()[-2000:])
        t0 = time.perf_counter()
        subprocess.run(
            [*built, "--version"], env=env(Path(tmp), source=False), check=True, capture_output=True
        )
        version_s = time.perf_counter() - t0
        print(f"gatepass --version: {version_s:.2f} s", flush=True)
        times: dict[str, list[float]] = {"build": [], "source": []}
        for _ in range(args.rounds):  # in turn, so drift hits both alike
            times["build"].append(start(built, home, source=False, cold=args.cold))
            times["source"].append(start(source, home, source=True, cold=args.cold))
    size = sum(
        p.stat().st_size for p in args.build.rglob("*") if p.is_file() and not p.is_symlink()
    )
    print(f"build folder: {size / 1e6:.1f} MB; gatepass --version: {version_s:.2f} s")
    for name, found in times.items():
        print(
            f"{name:6}: first {found[0]:.2f} s, median {statistics.median(found):.2f} s, "
            f"max {max(found):.2f} s over {len(found)} starts"
        )
    ratio = statistics.median(times["build"]) / statistics.median(times["source"])
    print(f"build/source (median): {ratio:.2f}")


if __name__ == "__main__":
    main()
