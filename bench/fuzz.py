"""Coverage-guided fuzzing of Gatepass's input readers with atheris (issue 12).

    python bench/fuzz.py --target pass --seconds 300 [--work DIR] [--timeout 10] [--rss-mb 2048]
    python bench/fuzz.py --list

Targets (tests/fuzz_targets.py): ``pass`` (the token parser and ``check_token`` on a
real checkpoint), ``register_csv``, ``register_xlsx`` (``read_register`` on the bytes as
a file), ``settings`` (``Settings.load`` of the bytes as settings.toml, saved and loaded
again), ``bundle`` (``read_bundle`` of the exchange bundle, on the bytes as a file, or
as the body, header or change sets of a bundle a trusted gate signed).

The working corpus (``--work``, default ``/tmp/gatepass-fuzz/<target>``) starts from the
target's seeds (real passes of a fresh checkpoint, register files as the street office
sends them, a real settings.toml) and ``tests/data/fuzz/<target>/``, and grows between
runs. Gatepass's modules, ``tomllib``, ``zipfile`` and ``csv`` are instrumented.

A run ends after ``--seconds``, or at the first crash: an exception other than the
target's typed errors, a broken contract, an input over ``--timeout`` seconds or over
``--rss-mb`` MB. The input is saved as ``crash-<sha1>`` in ``tests/data/fuzz/<target>/``
(fix the code, keep the file: tests/test_fuzz.py replays it). Prints executions,
executions a second, corpus size and crashes.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# tests.fuzz_targets.NAMES: not imported here, so that the worker imports Gatepass only
# inside the instrumentation
NAMES = ("pass", "register_csv", "register_xlsx", "settings", "bundle")


def worker(name: str, work: Path, seconds: int, timeout: int, rss_mb: int) -> None:
    """Runs in the child: instrument, seed, fuzz (libFuzzer exits the process)."""
    import hashlib

    import atheris

    os.environ.setdefault("KIOSK_LANG", "en")
    os.environ.setdefault("KIOSK_ADMIN_PIN", "2580")  # what 'kiosk init' sets, as in tests
    with atheris.instrument_imports(include=["kiosk", "tomllib", "zipfile", "csv"]):
        import kiosk.cli  # noqa: F401 - everything the targets reach, instrumented
        from tests import fuzz_targets

    target = fuzz_targets.make_target(name, Path(tempfile.mkdtemp(prefix="gatepass-fuzz-")))
    work.mkdir(parents=True, exist_ok=True)
    for seed in target.seeds() + [p.read_bytes() for p in fuzz_targets.corpus(name)]:
        (work / hashlib.sha1(seed).hexdigest()).write_bytes(seed)
    crashes = fuzz_targets.CORPUS / name
    crashes.mkdir(parents=True, exist_ok=True)
    words = work.parent / f"{name}.dict"  # libFuzzer's dictionary: "\xNN" escapes
    words.write_text("".join('"' + "".join(f"\\x{b:02x}" for b in w) + '"\n' for w in target.words))
    atheris.Setup(
        [
            sys.argv[0],
            str(work),
            f"-max_total_time={seconds}",
            f"-timeout={timeout}",
            f"-rss_limit_mb={rss_mb}",
            "-max_len=65536",
            "-print_final_stats=1",
            *([f"-dict={words}"] if target.words else []),
            f"-artifact_prefix={crashes}/",
        ],
        target.one,
    )
    atheris.Fuzz()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", choices=NAMES)
    parser.add_argument("--seconds", type=int, default=300)
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--timeout", type=int, default=10, help="seconds one input may take")
    parser.add_argument("--rss-mb", type=int, default=2048, help="memory the process may use")
    parser.add_argument("--list", action="store_true")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.list:
        print("\n".join(NAMES))
        return 0
    if args.target is None:
        parser.error("--target is required")
    work = args.work or Path(tempfile.gettempdir()) / "gatepass-fuzz" / args.target
    if args.worker:
        worker(args.target, work, args.seconds, args.timeout, args.rss_mb)
        return 0
    crashes = ROOT / "tests" / "data" / "fuzz" / args.target
    before = set(crashes.glob("*")) if crashes.is_dir() else set()
    command = [sys.executable, __file__, "--worker", "--target", args.target]
    command += ["--seconds", str(args.seconds), "--work", str(work)]
    command += ["--timeout", str(args.timeout), "--rss-mb", str(args.rss_mb)]
    started = time.monotonic()
    proc = subprocess.run(command, stderr=subprocess.PIPE, text=True, errors="replace")
    took = time.monotonic() - started
    log = proc.stderr
    (work.parent / f"{args.target}.log").write_text(log)
    execs = re.findall(r"stat::number_of_executed_units:\s*(\d+)", log)
    runs = int(execs[-1]) if execs else 0
    cov = re.findall(r"cov: (\d+) ft: (\d+)", log)
    new = sorted(set(crashes.glob("*")) - before) if crashes.is_dir() else []
    print(f"target      {args.target}")
    print(f"seconds     {took:.0f}")
    print(f"execs       {runs} ({runs / took:.0f}/s)")
    print(f"corpus      {sum(1 for p in work.iterdir() if p.is_file())} inputs in {work}")
    if cov:
        print(f"coverage    {cov[-1][0]} edges, {cov[-1][1]} features")
    print(f"crashes     {len(new)}")
    for path in new:
        print(f"    {path.relative_to(ROOT)}")
    if new:
        tail = log[log.rfind("=== Uncaught") :] if "=== Uncaught" in log else log[-3000:]
        print(tail[:3000])
    return 1 if new else 0


if __name__ == "__main__":
    sys.exit(main())
