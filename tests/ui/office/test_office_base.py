"""The office's base parts: its database workers and the paged, sortable query table."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from sqlite_utils import Database

from kiosk.core.errors import UserError
from kiosk.store.driver import sqlite3
from kiosk.store.register import add_resident
from kiosk.ui.office.context import OfficeContext
from kiosk.ui.office.table import Column, Query, QueryModel, SearchTable
from kiosk.ui.ops import DbWorker, QueryOp


def test_jobs_run_in_order_off_the_ui_thread_and_report_back(office: OfficeContext) -> None:
    import threading

    seen: list[Any] = []
    ui = threading.get_ident()

    def job(n: int) -> Any:
        def run(db: Database) -> Any:
            assert threading.get_ident() != ui
            return n, db.execute("SELECT count(*) FROM residents").fetchone()[0]

        return run

    for n in range(5):
        QueryOp(office.jobs, parent=None, op=job(n), success=seen.append).run_in_background()
    assert office.jobs.wait_idle()
    assert [n for n, _ in seen] == [0, 1, 2, 3, 4]
    assert all(count > 0 for _, count in seen)


def test_job_errors_reach_the_clerk_in_words(office: OfficeContext) -> None:
    errors: list[str] = []

    def refused(db: Database) -> None:
        raise UserError("That ID number already belongs to someone.")

    def locked(db: Database) -> None:
        exc = sqlite3.OperationalError("database is locked")
        exc.sqlite_errorcode = 5  # type: ignore[attr-defined]
        raise exc

    def bug(db: Database) -> None:
        raise ZeroDivisionError

    for job in (refused, locked, bug):
        QueryOp(office.jobs, parent=None, op=job).failure(errors.append).run_in_background()
    assert office.jobs.wait_idle()
    assert errors[0] == "That ID number already belongs to someone."
    assert "busy" in errors[1]
    assert "ZeroDivisionError" in errors[2] and "log" in errors[2]


def _residents(search: str, order: str, limit: int, offset: int) -> Query:
    def query(db: Database) -> list[dict[str, Any]]:
        return [
            dict(r)
            for r in db.query(
                f"SELECT id, name FROM residents WHERE name LIKE ? ORDER BY {order} "
                "LIMIT ? OFFSET ?",
                [f"%{search}%", limit, offset],
            )
        ]

    return query


def test_table_pages_sorts_and_searches(qtbot: QtBot, office: OfficeContext, db: Database) -> None:
    for i in range(450):
        add_resident(db, building="9", unit="1", room=f"{100 + i}", name=f"测试{i:03d}")
    model = QueryModel(
        [Column("Name", lambda r: r["name"], sort_sql="name")],
        _residents,
        worker=office.reader,
        default_order="id",
        page=200,
    )
    table = SearchTable(model, placeholder="search")
    qtbot.addWidget(table)
    assert office.wait_idle()
    assert model.loaded == 200 and model.canFetchMore()
    model.fetchMore()
    assert office.wait_idle()
    model.fetchMore()
    assert office.wait_idle()
    assert model.loaded > 450 and not model.canFetchMore()

    model.sort(0, Qt.SortOrder.DescendingOrder)
    assert office.wait_idle()
    names = [model.row_at(i)["name"] for i in range(model.rowCount())]
    assert names == sorted(names, reverse=True)
    assert model.loaded == model.rowCount() > 450  # a reload keeps what was loaded

    table.search.setText("测试12")
    qtbot.waitUntil(lambda: model.rowCount() == 10)  # 测试120..129
    assert "10" in table.count.text()


def test_table_reads_on_a_reader_thread_and_keeps_only_the_latest_answer(
    qtbot: QtBot, office: OfficeContext, db: Database
) -> None:
    """In the office window the tables read on a thread of their own: the UI thread
    never runs the query; a search typed over a slow sort shows the search's rows,
    not the sort's that came back later; a failing query is shown, not raised."""
    import threading

    for i in range(30):
        add_resident(db, building="9", unit="1", room=f"{100 + i}", name=f"测试{i:03d}")
    ui = threading.get_ident()
    threads: list[int] = []

    def prepare(search: str, order: str, limit: int, offset: int) -> Query:
        inner = _residents(search, order, limit, offset)

        def query(db: Database) -> list[dict[str, Any]]:
            threads.append(threading.get_ident())
            if search == "":
                threading.Event().wait(0.3)  # the slow one
            return inner(db)

        return query

    reader = DbWorker(office.home.database, name="kiosk-office-test-reader")
    try:
        model = QueryModel(
            [Column("Name", lambda r: r["name"], sort_sql="name")],
            prepare,
            worker=reader,
            default_order="id",
        )
        table = SearchTable(model, placeholder="search")  # starts the first (slow) load
        qtbot.addWidget(table)
        assert model.loading and model.rowCount() == 0  # the UI thread did not wait
        model.set_search("测试02")
        after: list[int] = []
        model.when_loaded(lambda: after.append(model.rowCount()))  # e.g. select what was made
        with qtbot.waitSignal(model.loaded_rows, timeout=5000):
            pass
        assert after == [10]
        qtbot.waitUntil(lambda: not reader.busy)
        assert {model.row_at(i)["name"] for i in range(model.rowCount())} == {
            f"测试02{i}" for i in range(10)
        }
        assert ui not in threads

        # A reload that arrives later clears the selection: the tab hears of it, so
        # buttons that act on the selected row are not left enabled.
        table.view.selectRow(0)
        assert table.selected() is not None
        heard: list[bool] = []
        table.selectionChanged.connect(lambda: heard.append(table.selected() is None))
        model.reload()
        qtbot.waitUntil(lambda: bool(heard) and not model.loading)
        assert heard[-1] is True

        def broken(search: str, order: str, limit: int, offset: int) -> Query:
            def query(db: Database) -> list[dict[str, Any]]:
                raise UserError("The register is being imported; try again in a moment.")

            return query

        model._prepare = broken
        model.reload()
        qtbot.waitUntil(lambda: "imported" in table.count.text())
        assert not model.loading
    finally:
        reader.close()
