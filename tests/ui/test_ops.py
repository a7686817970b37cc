"""kiosk.ui.ops: ops run off the UI thread and answer on it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QPushButton, QWidget
from pytestqt.qtbot import QtBot
from sqlite_utils import Database

from kiosk.core.errors import UserError
from kiosk.core.i18n import language, set_language
from kiosk.core.progress import Progress
from kiosk.store.db import connect, write
from kiosk.ui.ops import DbWorker, LongOp, QueryOp

pytestmark = pytest.mark.gui


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "t.db"
    db = connect(path, create=True)
    db["items"].insert_all([{"n": n} for n in range(10)])
    db.close()
    return path


@pytest.fixture
def worker(database: Path, qtbot: QtBot) -> Iterator[DbWorker]:
    worker = DbWorker(database, name="kiosk-test-ops")
    yield worker
    worker.close()


def test_op_runs_off_the_ui_thread_and_answers_on_it(worker: DbWorker, qtbot: QtBot) -> None:
    seen: dict[str, Any] = {}

    def op(db: Database) -> int:
        seen["op_thread"] = threading.current_thread().name
        return int(db.execute("SELECT count(*) FROM items").fetchone()[0])

    def success(count: int) -> None:
        seen["count"] = count
        seen["success_thread"] = threading.current_thread()

    QueryOp(worker, parent=None, op=op, success=success).run_in_background()
    assert worker.wait_idle()
    assert seen["op_thread"] == "kiosk-test-ops"
    assert seen["count"] == 10
    assert seen["success_thread"] is threading.main_thread()


def test_a_failure_reaches_failure_in_the_readers_language(
    worker: DbWorker, qtbot: QtBot, caplog: pytest.LogCaptureFixture
) -> None:
    messages: list[str] = []

    def refuse(db: Database) -> None:
        raise UserError("No such pass")

    def bug(db: Database) -> None:
        raise ZeroDivisionError

    QueryOp(worker, parent=None, op=refuse).failure(messages.append).run_in_background()
    before = language()
    set_language("zh_CN")
    try:
        QueryOp(worker, parent=None, op=bug).failure(messages.append).run_in_background()
        assert worker.wait_idle()
    finally:
        set_language(before)
    assert messages[0] == "No such pass"
    assert "ZeroDivisionError" in messages[1] and "出错" in messages[1]
    assert any(r.exc_info for r in caplog.records), "a bug's traceback goes to the log"


def test_a_deleted_parent_is_not_called_back(worker: DbWorker, qtbot: QtBot) -> None:
    gate = threading.Event()
    parent = QWidget()
    called: list[object] = []

    def slow(db: Database) -> int:
        gate.wait(5)
        return 1

    QueryOp(worker, parent=parent, op=slow, success=called.append).run_in_background()
    parent.deleteLater()
    qtbot.wait(10)  # the deferred delete runs
    gate.set()
    assert worker.wait_idle()
    assert called == []


def test_newest_skips_ops_superseded_while_waiting(worker: DbWorker, qtbot: QtBot) -> None:
    hold, started = threading.Event(), threading.Event()
    ran: list[str] = []
    answered: list[str] = []

    def search(text: str) -> Any:
        def op(db: Database) -> str:
            if text == "a":
                started.set()
                hold.wait(5)  # the first search is slow: the others queue behind it
            ran.append(text)
            return text

        return op

    for text in ("a", "ab", "abc", "abcd"):
        if text == "ab":
            assert started.wait(5)
        QueryOp(worker, parent=None, op=search(text), success=answered.append).newest(
            "search"
        ).run_in_background()
    hold.set()
    assert worker.wait_idle()
    assert ran == ["a", "abcd"]
    assert answered == ["a", "abcd"]


def test_long_op_reports_progress_and_stops_when_cancelled(
    worker: DbWorker, qtbot: QtBot, database: Path
) -> None:
    parent = QWidget()
    qtbot.addWidget(parent)
    started = threading.Event()
    go_on = threading.Event()
    outcome: list[str] = []

    def job(db: Database, progress: Progress) -> int:
        done = 0
        for batch in range(1000):
            with write(db):
                db["items"].insert({"n": 100 + batch})
            done += 1
            progress.update(done, 1000, f"batch {batch}")
            started.set()
            go_on.wait(5)
        return done

    op = LongOp(worker, parent=parent, label="Copying", op=job, success=outcome.append)
    op.cancelled(lambda: outcome.append("cancelled")).failure(outcome.append)
    op.run_in_background()
    assert started.wait(5)
    qtbot.waitUntil(lambda: op.strip is not None and op.strip.maximum() == 1000)
    assert op.strip is not None
    cancel = op.strip.findChild(QPushButton)
    assert cancel is not None and cancel.text() == "Cancel"
    cancel.click()
    go_on.set()
    assert worker.wait_idle()
    assert outcome == ["cancelled"]
    count = connect(database).execute("SELECT count(*) FROM items").fetchone()[0]
    assert 10 < count < 10 + 1000, "the batches committed before Cancel stay; no more"


def test_close_ends_the_thread_after_the_queued_ops(database: Path, qtbot: QtBot) -> None:
    worker = DbWorker(database, name="kiosk-test-close")
    done: list[int] = []
    for n in range(3):
        QueryOp(worker, parent=None, op=lambda db, n=n: n, success=done.append).run_in_background()
    worker.close()
    worker.wait_idle()
    assert done == [0, 1, 2]
    assert not any(t.name == "kiosk-test-close" for t in threading.enumerate())
    with pytest.raises(RuntimeError):
        QueryOp(worker, parent=None, op=lambda db: 1).run_in_background()
