"""The office's fixtures: an OfficeContext on a private copy of the demo checkpoint
(residents, passes, a revoked pass, a hold, a visitor), closed after each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytestqt.qtbot import QtBot

from kiosk.demo import Demo
from kiosk.settings import Settings
from kiosk.store.db import connect
from kiosk.ui.office.context import OfficeContext
from kiosk.ui.office.jobs import OfficeJobs


@pytest.fixture
def office(qtbot: QtBot, demo: Demo) -> Iterator[OfficeContext]:
    db = connect(demo.home.database)
    jobs = OfficeJobs(demo.home.database)
    ctx = OfficeContext(
        demo.home, Settings.load(demo.home.settings_file), db, jobs, actor="test-clerk"
    )
    yield ctx
    jobs.wait_idle()
    jobs.close()
    db.close()
