"""Field tests: the real program on a real X server, typed at with real key events.

A USB scanner is a keyboard: it presses Shift for every capital and for ``:``, leaves
2-40 ms between keys and ends with Enter. ``QTest.keyClicks`` sends no Shift press,
so only a real X server and ``xdotool`` meet the program as a guard's scanner does
(see shared/guide/FIELD.md). These tests start Xvfb on a display of its own choosing
(``-displayfd``), run ``kiosk run --windowed`` as a subprocess on it, type with
xdotool and read what was recorded from the checkpoint.

Without Xvfb or xdotool the tests are skipped on a developer's machine and fail in CI
(``CI`` set), where ``.ci/run`` installs both.

Fixtures and helpers for field tests:

* ``xserver``: the display (``":N"``) of an Xvfb started for the session, 1366x768.
* ``xdo``: an :class:`Xdo` bound to that display (``type`` at a person's pace,
  ``scan`` at a scanner's, ``key``, ``focus``, ``wait_window``, ``screenshot``).
* ``kiosk_app``: a factory ``kiosk_app(home, *, camera="97", lang="en", guard=...,
  args=(), probe=False)`` starting the real window (a :class:`KioskApp`; a guard
  signed in with ``--guard`` unless ``guard=None``), stopped at the end of the test.
  With ``probe=True`` the same window runs under ``tests/field/probe.py``, which can be
  asked what its widgets hold (:meth:`KioskApp.widgets`).
* ``field_checkpoint``: a checkpoint with residents in two households and passes.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import make_checkpoint, run, run_json

XVFB = shutil.which("Xvfb")
XDOTOOL = shutil.which("xdotool")
SCREEN = "1366x768x24"
WINDOW_TITLE = "Gatepass"
PROBE = Path(__file__).with_name("probe.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.field)
            item.add_marker(pytest.mark.slow)  # a real X server and processes


def _require_tools() -> None:
    missing = [name for name, path in (("Xvfb", XVFB), ("xdotool", XDOTOOL)) if not path]
    if not missing:
        return
    message = f"field tests need {' and '.join(missing)} (apt-get install xvfb xdotool)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@contextmanager
def virtual_screen(screen: str = SCREEN) -> Iterator[str]:
    """An Xvfb of our own, its display chosen by the server (no clash with another),
    stopped on leaving; yields the display (``":N"``). Also used by bench/."""
    assert XVFB is not None, "Xvfb is not installed (apt-get install xvfb)"
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(
        [XVFB, "-displayfd", str(write_fd), "-screen", "0", screen, "-nolisten", "tcp"],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        number = pipe.readline().strip()
    try:
        if not number:
            raise RuntimeError("Xvfb did not start")
        yield f":{number}"
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture(scope="session")
def xserver() -> Iterator[str]:
    """The session's X server (see :func:`virtual_screen`)."""
    _require_tools()
    with virtual_screen() as display:
        yield display


@dataclass
class Xdo:
    """xdotool on one display: real key events, as a keyboard or scanner sends them."""

    display: str

    def __call__(self, *args: str, check: bool = True) -> str:
        assert XDOTOOL is not None
        done = subprocess.run(
            [XDOTOOL, *args],
            env={**os.environ, "DISPLAY": self.display},
            capture_output=True,
            text=True,
            timeout=60,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"xdotool {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout

    def type(self, text: str, *, delay_ms: int = 240) -> None:
        """Type ``text`` into the focused window as a person does (Shift for capitals
        and ``:``). xdotool's ``--delay`` runs from one key's press to the next one's
        and is split between press and release: the keys are ``delay_ms / 2`` apart
        (120 ms by default, a brisk typist). Much faster, eight characters and Enter or
        Tab are a handheld scanner's burst and are taken as a scan, by design: type
        codes with :meth:`scan`."""
        self("type", "--delay", str(delay_ms), "--", text)

    def key(self, *keys: str, delay_ms: int = 12) -> None:
        """Press keys by X name: ``Return``, ``Tab``, ``F5``, ``Down``, ``ctrl+a``..."""
        self("key", "--delay", str(delay_ms), *keys)

    def scan(self, text: str, *, gap_ms: float = 4, terminator: str = "Return") -> None:
        """What a USB scanner types: ``text`` with ``gap_ms`` between characters (Shift
        pressed for capitals and ``:``) and then ``terminator`` (an X key name, or ""
        for none) after the same gap, in one xdotool run (a second run would put its
        start-up time before the terminator).

        xdotool's ``--delay`` is the time from one key's press to the next one's,
        split between the press and the release: it is twice ``gap_ms`` here."""
        delay = str(max(1, round(gap_ms * 2)))
        args = ["type", "--delay", delay, "--args", "1", text]
        if terminator:
            args += ["key", "--delay", delay, terminator]
        self(*args)

    def windows(self, name: str) -> list[str]:
        out = self("search", "--onlyvisible", "--name", name, check=False)
        return out.split()

    def wait_window(self, name: str, *, timeout: float = 30.0) -> str:
        """The id of the first visible window whose title matches ``name``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.windows(name)
            if found:
                return found[-1]
            time.sleep(0.2)
        raise AssertionError(f"no window named {name!r} within {timeout} s")

    def focus(self, window: str) -> None:
        """Give ``window`` the keyboard (no window manager runs under a bare Xvfb)."""
        self("windowfocus", "--sync", window)

    def screenshot(self, path: Path) -> Path | None:
        """The whole screen as PNG (ImageMagick's ``import``); None without it."""
        importer = shutil.which("import")
        if importer is None:
            return None
        subprocess.run(
            [importer, "-window", "root", str(path)],
            env={**os.environ, "DISPLAY": self.display},
            check=True,
            timeout=60,
        )
        return path


@pytest.fixture
def xdo(xserver: str) -> Xdo:
    return Xdo(xserver)


def kiosk_env(display: str) -> dict[str, str]:
    """The environment of a Gatepass started on ``display`` (the real xcb platform)."""
    env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb"}
    env.pop("KIOSK_LANG", None)
    return env


@dataclass
class KioskApp:
    """``kiosk run --windowed`` as a subprocess on the test's X server."""

    home: Path
    xdo: Xdo
    proc: subprocess.Popen[bytes]
    log: Path
    window: str = ""

    def wait_ready(self, *, timeout: float = 120.0) -> str:
        """Wait for the gate window, give it the keyboard and let the gate start. When
        it does not come, the failure says what the program was doing: whether it still
        runs, the windows it shows, its stderr and the end of its log."""
        try:
            self.window = self.xdo.wait_window(WINDOW_TITLE, timeout=timeout)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{self.diagnosis()}") from None
        self.focus()
        return self.window

    def diagnosis(self) -> str:
        shown = [
            self.xdo("getwindowname", window, check=False).strip()
            for window in self.xdo.windows(".")
        ]
        log = self.home / "logs" / "gate.log"
        tail = log.read_text(encoding="utf-8", errors="replace")[-3000:] if log.exists() else ""
        return (
            f"running: {self.alive()}; windows shown: {shown}\n"
            f"stderr:\n{self.stderr()}\nlog (end):\n{tail}"
        )

    def focus(self) -> None:
        self.xdo.focus(self.window)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stderr(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def visits(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = run_json(self.home, "visits", "list", "--json")
        return rows

    def wait_visits(self, count: int, *, timeout: float = 20.0) -> list[dict[str, Any]]:
        """The visit log once it holds at least ``count`` rows (newest first)."""
        deadline = time.monotonic() + timeout
        rows = self.visits()
        while len(rows) < count and time.monotonic() < deadline:
            assert self.alive(), self.stderr()
            time.sleep(0.2)
            rows = self.visits()
        return rows

    def widgets(self, *, timeout: float = 20.0) -> dict[str, Any]:
        """What the window's widgets hold now (only with ``probe=True``): see
        tests/field/probe.py for the fields."""
        request = self.home / "probe-request"
        answer = self.home / "probe-answer.json"
        answer.unlink(missing_ok=True)
        request.write_text("dump", encoding="utf-8")
        answered = wait_for(answer.exists, timeout=timeout)
        assert answered, f"no answer from the probe\n{self.stderr()}"
        found: dict[str, Any] = json.loads(answer.read_text(encoding="utf-8"))
        return found

    def stop(self, timeout: float = 15.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
        return int(self.proc.returncode)


KioskAppFactory = Callable[..., KioskApp]


@pytest.fixture
def kiosk_app(xdo: Xdo, tmp_path: Path) -> Iterator[KioskAppFactory]:
    started: list[KioskApp] = []

    def start(
        home: Path,
        *,
        camera: str = "97",
        lang: str = "en",
        guard: str | None = "Field Guard",
        args: Sequence[str] = (),
        probe: bool = False,
    ) -> KioskApp:
        """``guard``: signed in at start (``--guard``); None: the sign-in dialog opens."""
        log = tmp_path / f"kiosk-{len(started)}.log"
        program = [str(PROBE)] if probe else ["-m", "kiosk"]
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    *program,
                    "--home",
                    str(home),
                    "--lang",
                    lang,
                    "run",
                    "--windowed",
                    "--camera",
                    camera,
                    *(("--guard", guard) if guard is not None else ()),
                    *args,
                ],
                env=kiosk_env(xdo.display),
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        app = KioskApp(home, xdo, proc, log)
        started.append(app)
        return app

    yield start
    for app in started:
        app.stop()


@dataclass
class FieldCheckpoint:
    home: Path
    residents: list[str]
    passes: list[dict[str, Any]]

    def token(self, index: int = 0) -> str:
        return str(self.passes[index]["token"])


@pytest.fixture
def field_checkpoint(tmp_path: Path) -> FieldCheckpoint:
    """Four residents in two households (3-2-501, 3-2-502), each with a pass."""
    home = tmp_path / "gate"
    residents = make_checkpoint(home, residents=4)
    run(home, "passes", "issue", "--all", "--days", "30")
    passes = run_json(home, "passes", "list", "--json")
    return FieldCheckpoint(home, residents, sorted(passes, key=lambda p: p["holder"]))


def wait_for(predicate: Callable[[], bool], *, timeout: float = 20.0) -> bool:
    """Poll ``predicate`` until it holds (True) or ``timeout`` passes (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def dump(rows: object) -> str:
    return json.dumps(rows, ensure_ascii=False, indent=1)
