"""Fixtures for the window tests: a demo checkpoint (its video rendered once per
session, copied per test), the real window on it, the office's context on it, a
check that no thread is left running, and one that no code of kiosk/ui opens or
queries a database on the Qt main thread (``ui_thread_db``).

(One conftest for tests/ui and tests/ui/office: test modules import helpers from
``conftest``, and two conftest modules would shadow each other.)"""

from __future__ import annotations

import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot
from sqlite_utils import Database

import kiosk.ui
from kiosk.demo import Demo, build_demo
from kiosk.home import Home
from kiosk.settings import Settings
from kiosk.store.db import connect
from kiosk.store.driver import sqlite3
from kiosk.ui.main_window import MainWindow
from kiosk.ui.office.context import OfficeContext
from kiosk.ui.ops import DbWorker
from kiosk.ui.worker import GateService
from kiosk.vision.health import HealthPolicy

pytestmark = pytest.mark.gui

ALLOW_MARK = "ui_thread_db_allowed"
KIOSK_UI = str(Path(kiosk.ui.__file__).resolve().parent) + "/"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{ALLOW_MARK}: the guard against database use on the Qt main thread is off "
        "(only for the tests that look into the guard itself)",
    )


class UiThreadDb:
    """Records every SQLite connection opened, and every statement run, on the Qt main
    thread by code under kiosk/ui (found on the caller's stack). A test's own set-up
    (seeding rows, reading what the window wrote) is not kiosk/ui code and may."""

    def __init__(self) -> None:
        self.found: list[str] = []
        self._connect = sqlite3.connect

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        real = self._connect

        def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
            self.check("a connection opened")
            conn = real(*args, **kwargs)
            conn.set_trace_callback(lambda sql: self.check(f"{sql.strip()[:70]!r} run"))
            return conn

        monkeypatch.setattr(sqlite3, "connect", connect)  # kiosk.store.driver calls it so

    def check(self, what: str) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        frame = sys._getframe(1)
        while frame is not None:
            path = frame.f_code.co_filename
            if path.startswith(KIOSK_UI):
                where = f"kiosk/ui/{path.removeprefix(KIOSK_UI)}:{frame.f_lineno}"
                self.found.append(f"{what} on the UI thread by {where} ({frame.f_code.co_name})")
                return
            frame = frame.f_back


@pytest.fixture(autouse=True)
def ui_thread_db(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[UiThreadDb | None]:
    """Fails a test in which code of kiosk/ui opened or queried a database on the Qt
    main thread (docs/architecture.md, "Threads": reads go through kiosk.ui.ops,
    writes to the gate's worker). Opt out with ``@pytest.mark.ui_thread_db_allowed``."""
    if request.node.get_closest_marker(ALLOW_MARK) is not None:
        yield None
        return
    guard = UiThreadDb()
    guard.install(monkeypatch)
    yield guard
    found = list(dict.fromkeys(guard.found))
    assert not found, "database work on the UI thread:\n" + "\n".join(found[:10])


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """The demo checkpoint and video, made once (rendering the video takes seconds)."""
    return build_demo(Home(tmp_path_factory.mktemp("demo") / "home"))


@pytest.fixture
def demo(demo_template: Demo, tmp_path: Path) -> Demo:
    """A private copy of the demo checkpoint: each test gets an empty visit log."""
    root = tmp_path / "home"
    shutil.copytree(demo_template.home.root, root)
    home = Home(root)
    return Demo(home, root / demo_template.video.name, dict(demo_template.tokens))


@pytest.fixture(autouse=True)
def no_threads_left() -> Iterator[None]:
    """Fails a test that leaves the gate's QThread or the scan loop's threads running."""
    yield
    running = [s for s in list(GateService.instances) if s.thread.isRunning()]
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        scan = [t.name for t in threading.enumerate() if t.name.startswith("kiosk-")]
        if not scan:
            break
        time.sleep(0.05)
    assert not running, "a gate QThread is still running"
    assert not scan, f"scan loop threads still running: {scan}"


FAST_HEALTH = HealthPolicy(
    frozen_after=3.0, failed_reads=3, retry_read_after=0.05, backoff_start=0.2, backoff_max=0.4
)

WindowFactory = Callable[..., MainWindow]


@pytest.fixture
def make_window(qtbot: QtBot, demo: Demo) -> Iterator[WindowFactory]:
    """Builds, shows and starts the real window on the demo checkpoint; closes it after."""
    made: list[MainWindow] = []

    def make(**kwargs: object) -> MainWindow:
        kwargs.setdefault("camera", str(demo.video))
        kwargs.setdefault("demo", True)
        kwargs.setdefault("theme", "day")
        window = MainWindow(demo.home, Settings.load(demo.home.settings_file), **kwargs)  # type: ignore[arg-type]
        qtbot.addWidget(window)
        window.resize(1366, 768)
        window.show()
        window.start()
        made.append(window)
        return window

    yield make
    for window in made:
        window.close()
        assert window.service.stop(), "the gate thread did not stop"


ReaderFactory = Callable[[Path], DbWorker]


@pytest.fixture
def make_reader(qtbot: QtBot) -> Iterator[ReaderFactory]:
    """Readers (kiosk.ui.ops.DbWorker) on a database, as the window gives its dialogs;
    closed after the test."""
    made: list[DbWorker] = []

    def make(database: Path) -> DbWorker:
        made.append(DbWorker(database, name="kiosk-test-reader"))
        return made[-1]

    yield make
    for worker in made:
        worker.wait_idle()
        worker.close()


@pytest.fixture
def reader(make_reader: ReaderFactory, demo: Demo) -> DbWorker:
    """A reader on the demo checkpoint."""
    return make_reader(demo.home.database)


@pytest.fixture
def window(make_window: WindowFactory) -> MainWindow:
    """The window on the demo video (looping), as ``kiosk demo`` runs it."""
    return make_window()


@pytest.fixture
def office(qtbot: QtBot, demo: Demo) -> Iterator[OfficeContext]:
    """The office's context on a private copy of the demo checkpoint (residents, passes,
    a revoked pass, a hold, a visitor); its two workers ended after."""
    ctx = OfficeContext.open(demo.home, Settings.load(demo.home.settings_file), actor="test-clerk")
    yield ctx
    ctx.close()


@pytest.fixture
def db(demo: Demo) -> Iterator[Database]:
    """The test's own connection to the demo checkpoint, to set up and check what the
    office did (the office itself reads and writes only through its workers)."""
    db = connect(demo.home.database)
    yield db
    db.close()
