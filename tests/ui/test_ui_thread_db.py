"""The guard of every window test (``ui_thread_db`` in conftest): code of kiosk/ui that
uses the database on the Qt main thread is found; the test's own reads, and kiosk/ui
code on another thread, are not."""

from __future__ import annotations

import threading

import pytest
from conftest import UiThreadDb

from kiosk.demo import Demo
from kiosk.store.db import connect
from kiosk.ui.dialogs.registration import returning_prefill

pytestmark = pytest.mark.gui


@pytest.mark.ui_thread_db_allowed  # (it installs a guard of its own, to look into it)
def test_the_guard_finds_kiosk_ui_reading_on_the_ui_thread(
    demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    guard = UiThreadDb()
    guard.install(monkeypatch)
    db = connect(demo.home.database)  # the test's own connection and query: allowed
    try:
        visitor_id = db.execute("SELECT id FROM visitors LIMIT 1").fetchone()[0]
        assert guard.found == []

        def read_elsewhere() -> None:
            other = connect(demo.home.database)
            try:
                assert returning_prefill(other, visitor_id) is not None
            finally:
                other.close()

        thread = threading.Thread(target=read_elsewhere)
        thread.start()
        thread.join()
        assert guard.found == []  # kiosk/ui code, but not on the UI thread

        assert returning_prefill(db, visitor_id) is not None  # kiosk/ui code, UI thread
    finally:
        db.close()
    assert guard.found
    assert all("on the UI thread by kiosk/ui/dialogs/registration.py" in f for f in guard.found)
