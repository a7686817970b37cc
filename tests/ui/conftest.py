"""Fixtures for the window tests: a demo checkpoint (its video rendered once per
session, copied per test), the real window on it, the office's context on it, and a
check that no thread is left running.

(One conftest for tests/ui and tests/ui/office: test modules import helpers from
``conftest``, and two conftest modules would shadow each other.)"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from pytestqt.qtbot import QtBot
from sqlite_utils import Database

from kiosk.core.errors import EnvironmentFault
from kiosk.demo import Demo, build_demo
from kiosk.home import Home
from kiosk.settings import Settings
from kiosk.store.db import connect
from kiosk.ui.main_window import MainWindow
from kiosk.ui.office.context import OfficeContext
from kiosk.ui.worker import GateService
from kiosk.vision.health import HealthPolicy
from kiosk.vision.sources import Frame

pytestmark = pytest.mark.gui


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


class FakeCamera:
    """A live camera (FrameSource protocol) that goes away for ``outage`` seconds.

    Frames are noise (a live sensor; never "frozen"), about 20 per second. During the
    outage ``read()`` returns None and ``open()`` fails, like an unplugged webcam.
    """

    is_live = True
    ended = False

    def __init__(self, outage: tuple[float, float] | None = None) -> None:
        self.outage = outage
        self.started = time.monotonic()
        self.index = 0
        self.opened = 0
        self.rng = np.random.default_rng(1)

    def _out(self) -> bool:
        if self.outage is None:
            return False
        elapsed = time.monotonic() - self.started
        return self.outage[0] <= elapsed < self.outage[1]

    def open(self) -> None:
        if self._out():
            raise EnvironmentFault("camera unplugged")
        self.opened += 1

    def read(self) -> Frame | None:
        time.sleep(0.05)
        if self._out():
            return None
        self.index += 1
        image = self.rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)
        return Frame(image, time.monotonic(), self.index)

    def release(self) -> None:
        pass

    def describe(self) -> str:
        return "fake camera"


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
