"""Every ``kiosk`` command that makes a Qt application, run as the real program.

Each must end with exit code 0 and write nothing to stderr but its own messages: with
PySide6 6.12.0, ``kiosk passes cards`` died at exit ("Fatal Python error: none_dealloc",
134) after writing the PDF. In-process tests (CliRunner) share pytest's Qt application
and never reach the interpreter's exit, so only a subprocess shows such a fault.
The windows (``run``, ``office``) are ended by SIGTERM, as when the laptop shuts down.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import run, run_json, write_register

pytestmark = pytest.mark.slow

# Known, harmless lines Qt Multimedia prints on a machine without sound (ENVIRONMENT.md).
HARMLESS = ("qt.multimedia.symbolsresolver: Couldn't resolve", "PulseAudioService: ")


def _env() -> dict[str, str]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    env.pop("KIOSK_LANG", None)
    return env


def _kiosk(home: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "kiosk", "--home", str(home), "--lang", "en", *args]


def _own_stderr(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith(HARMLESS)]


def _handles_sigterm(pid: int) -> bool:
    """Whether the process has its SIGTERM handler installed (Linux: /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) & (1 << (signal.SIGTERM - 1)))
    return False


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """60 residents with passes (more than seven pages of cards) and their QR images."""
    tmp = tmp_path_factory.mktemp("qt-cli")
    home = tmp / "gate"
    run(home, "init", "--name", "幸福里 2号门")
    run(home, "residents", "import", str(write_register(tmp / "register.csv", 60)))
    run(home, "passes", "issue", "--all", "--days", "30")
    codes = tmp / "codes"
    run(home, "passes", "export", "--out", str(codes))
    return home, codes


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("passes", "cards", "--out", "{tmp}/cards.pdf"), "card(s) on 8 page(s)"),
        (("report", "daily", "--out", "{tmp}/daily.pdf"), "Wrote the report"),
    ],
    ids=["passes-cards", "report-daily"],
)
def test_pdf_commands_exit_0_with_a_quiet_stderr(
    checkpoint: tuple[Path, Path], tmp_path: Path, args: tuple[str, ...], said: str
) -> None:
    home, _ = checkpoint
    argv = _kiosk(home, *(a.format(tmp=tmp_path) for a in args))
    done = subprocess.run(argv, env=_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert _own_stderr(done.stderr) == []
    assert said in done.stdout
    assert (tmp_path / Path(args[-1]).name).stat().st_size > 1000


def _stop_with_sigterm(
    proc: subprocess.Popen[str], ready: float, *, until: object = None
) -> tuple[int, str]:
    deadline = time.monotonic() + ready
    while time.monotonic() < deadline and proc.poll() is None:
        if _handles_sigterm(proc.pid) and (until is None or until()):  # type: ignore[operator]
            break
        time.sleep(0.2)
    assert proc.poll() is None, proc.communicate()[1]
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    return proc.returncode, err


def test_the_gate_window_ends_on_sigterm_with_exit_0(checkpoint: tuple[Path, Path]) -> None:
    home, codes = checkpoint
    before = len(run_json(home, "visits", "list", "--json"))
    proc = subprocess.Popen(
        _kiosk(home, "run", "--windowed", "--camera", str(codes)),
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    code, err = _stop_with_sigterm(
        proc, 60, until=lambda: len(run_json(home, "visits", "list", "--json")) > before
    )
    assert code == 0, err
    assert _own_stderr(err) == []
    assert len(run_json(home, "visits", "list", "--json")) > before


def test_the_office_ends_on_sigterm_with_exit_0(checkpoint: tuple[Path, Path]) -> None:
    """SIGTERM while the office asks for the PIN: the dialog ends, the program too."""
    home, _ = checkpoint
    proc = subprocess.Popen(
        _kiosk(home, "office"),
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    code, err = _stop_with_sigterm(proc, 60)
    assert code == 0, err
    assert _own_stderr(err) == []


def test_the_demo_window_ends_on_sigterm_with_exit_0(tmp_path: Path) -> None:
    """``kiosk demo`` on a demo checkpoint already made in ``--home`` (it is reused)."""
    from kiosk.demo import build_demo
    from kiosk.home import Home

    home = tmp_path / "demo"
    build_demo(Home(home))
    proc = subprocess.Popen(
        _kiosk(home, "demo"),
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    code, err = _stop_with_sigterm(
        proc, 90, until=lambda: len(run_json(home, "visits", "list", "--json")) > 0
    )
    assert code == 0, err
    own = _own_stderr(err)
    assert own == [f"Making the demo checkpoint in {home} ...", "The demo's admin PIN is 1234."]
    assert run_json(home, "visits", "list", "--json")
