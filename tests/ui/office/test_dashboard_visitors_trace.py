"""The office's Today dashboard, Visitors and Contact tracing tabs on a real checkpoint
(the demo's, a private copy) with visits logged through the gate service."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from PySide6.QtCore import QDate, QDateTime, Qt, QTime
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot
from sqlite_utils import Database

from kiosk.core.rules import DirectionMode, Encounter, Source
from kiosk.demo import Demo
from kiosk.gate import Gate
from kiosk.store.checkpoint import checkpoint_id
from kiosk.store.stats import dashboard_figures
from kiosk.store.visitors import list_visitors, order_sql
from kiosk.store.visits import occupancy, resident_holder, visitor_holder
from kiosk.ui.office.context import OfficeContext
from kiosk.ui.office.dashboard_tab import DashboardTab
from kiosk.ui.office.trace_tab import TraceTab
from kiosk.ui.office.visitors_tab import OVERSTAY_BACKGROUND, VisitorsTab
from tests.fakes import FakeClock

# Tomorrow (local): inside the demo passes' 30 days whatever the hour the tests run.
DAY = date.today() + timedelta(days=1)


def at(hour: int, minute: int = 0) -> datetime:
    return datetime.combine(DAY, time(hour, minute)).astimezone()


def _log(gate: Gate, clock: FakeClock, when: datetime, mode: DirectionMode, *args: Any, **kw: Any):
    clock.now = when
    gate.mode = mode
    decision = gate.handle(*args, **kw)
    assert decision is not None
    return decision


@pytest.fixture
def day_of_visits(office: OfficeContext, demo: Demo) -> dict[str, Any]:
    """A day at the demo gate; the office's clock stands at 15:00 that day."""
    clock = FakeClock(at(8))
    IN, OUT = DirectionMode.IN, DirectionMode.OUT
    with Gate(office.home, clock=clock, monotonic=clock.monotonic) as gate:
        visitor_id = gate.db.execute("SELECT id FROM visitors").fetchone()[0]
        other = gate.db.execute("SELECT id FROM residents WHERE name = '赵敏'").fetchone()[0]
        valid = Encounter(Source.CAMERA, demo.tokens["valid"])
        d = [
            _log(gate, clock, at(8, 5), IN, valid),
            _log(
                gate,
                clock,
                at(9),
                IN,
                Encounter(Source.REGISTER, None, temperature=36.5),
                holder=visitor_holder(gate.db, visitor_id),
            ),
            _log(gate, clock, at(10, 15), IN, Encounter(Source.CAMERA, demo.tokens["revoked"])),
            _log(gate, clock, at(10, 20), OUT, Encounter(Source.CAMERA, demo.tokens["held"])),
            _log(gate, clock, at(11, 40), OUT, valid),
            _log(
                gate,
                clock,
                at(12, 30),
                IN,
                Encounter(Source.CAMERA, demo.tokens["valid"], temperature=38.6),
            ),
            _log(
                gate,
                clock,
                at(13, 10),
                IN,
                Encounter(Source.MANUAL, None, note="phone flat"),
                holder=resident_holder(gate.db, other),
            ),
        ]
    assert [x.verdict.reason.value for x in d] == [
        "valid_pass",
        "visitor_admitted",
        "revoked",
        "held",
        "valid_pass",
        "fever",
        "manual_pass",
    ]
    office.now = lambda: at(15)
    return {"visitor_id": visitor_id, "zhang": d[0].verdict.holder.id}  # type: ignore[union-attr]


def test_dashboard_figures_and_chart_match_the_log(
    qtbot: QtBot, office: OfficeContext, day_of_visits: dict[str, Any]
) -> None:
    tab = DashboardTab(office)
    qtbot.addWidget(tab)
    assert tab.selected_day() == DAY
    with qtbot.waitSignal(tab.loaded, timeout=10_000):
        tab.show()  # the first showing loads
    office.wait_idle()
    shown = {key: tile.value.text() for key, tile in tab.tiles.items()}
    assert shown == {
        "passed_in": "3",
        "passed_out": "1",
        "residents": "3",
        "visitors": "1",
        "checks": "0",
        "denials": "3",
        "fevers": "1",
        "inside_residents": "1",
        "inside_visitors": "1",
    }
    assert "1" in tab.tiles["inside_visitors"].note.text()  # one overstaying visitor
    hourly_in = [int(tab.bars_in.at(h)) for h in range(24)]
    hourly_out = [int(tab.bars_out.at(h)) for h in range(24)]
    assert hourly_in == [1 if h in (8, 9, 13) else 0 for h in range(24)]
    assert hourly_out == [1 if h == 11 else 0 for h in range(24)]
    assert tab.hours.categories()[0] == "00" and tab.counts.max() >= 1
    reasons = {
        tab.reasons.item(r, 0).text(): tab.reasons.item(r, 1).text()
        for r in range(tab.reasons.rowCount())
    }
    assert reasons == {"Revoked pass": "1", "Home quarantine": "1", "Fever": "1"}
    notable = [tab.notable.item(r, 1).text() for r in range(tab.notable.rowCount())]
    assert notable == ["Revoked pass", "Home quarantine", "Fever"]
    assert tab.notable.item(2, 4).text() == "38.6"
    assert tab.timer.isActive()  # auto-refresh while shown

    # A change elsewhere in the office reloads the figures.
    with qtbot.waitSignal(tab.loaded, timeout=10_000):
        office.changed("visits")
    # Another day: nothing happened then.
    with qtbot.waitSignal(tab.loaded, timeout=10_000):
        tab.day.setDate(QDate(DAY - timedelta(days=3)))
    assert tab.tiles["passed_in"].value.text() == "0"
    assert tab.reasons.rowCount() == 0
    tab.hide()
    assert not tab.timer.isActive()


def test_dashboard_figures_in_the_store(db: Database, day_of_visits: Any) -> None:
    figures = dashboard_figures(db, DAY, now=at(15), overstay=timedelta(hours=4))
    assert (figures.fevers, figures.inside_residents, figures.inside_visitors) == (1, 1, 1)
    assert figures.overstaying == 1
    later = dashboard_figures(db, DAY, now=at(10), overstay=timedelta(hours=4))
    assert later.overstaying == 0  # at 10:00 the visitor had been inside an hour
    # The same people as the gate's occupancy list, counted without loading them.
    state = occupancy(db, checkpoint_id(db), now=at(15))
    kinds = [r["kind"] for r in state.inside]
    assert (kinds.count("visitor"), len(kinds) - kinds.count("visitor")) == (1, 1)
    assert len(state.visitors_overstaying) == figures.overstaying


def test_visitors_tab_flags_an_overstay_and_lists_visits(
    qtbot: QtBot, office: OfficeContext, day_of_visits: dict[str, Any]
) -> None:
    tab = VisitorsTab(office)
    qtbot.addWidget(tab)
    tab.show()
    assert office.wait_idle()
    model = tab.model
    assert model.rowCount() == 1
    row = model.row_at(0)
    assert row["name"] == "周敏" and row["inside"] and row["overstay"]
    texts = [model.index(0, c).data() for c in range(model.columnCount())]
    assert "*" in texts[1]  # phone masked
    assert texts[3]  # host household shown
    assert texts[8] == "Yes"
    assert texts[9] == "6.0 h inside"
    brush = model.index(0, 0).data(Qt.ItemDataRole.BackgroundRole)
    assert brush.color().name() == OVERSTAY_BACKGROUND

    office.set_unmasked(True, reason="test")
    assert office.wait_idle()
    assert model.index(0, 1).data() == "13712345678"
    office.set_unmasked(False)

    tab.overstays_only.setChecked(True)
    assert office.wait_idle()
    assert model.rowCount() == 1
    model.sort(9, Qt.SortOrder.DescendingOrder)  # by overstay
    assert office.wait_idle()
    assert model.rowCount() == 1 and model.row_at(0)["overstay"]
    office.now = lambda: at(12)  # three hours inside: not yet overstaying
    tab.model.reload()
    assert office.wait_idle()
    assert model.rowCount() == 0
    tab.overstays_only.setChecked(False)
    assert office.wait_idle()
    assert model.rowCount() == 1 and not model.row_at(0)["overstay"]
    assert model.index(0, 0).data(Qt.ItemDataRole.BackgroundRole) is None

    tab.table.activated.emit(model.row_at(0))
    assert office.wait_idle()
    dialog = tab.visits_dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.table.rowCount() == 1
    assert dialog.table.item(0, 1).text() == "In"
    assert dialog.table.item(0, 4).text() == "36.5"
    dialog.close()


def test_visitor_list_sorts_only_by_known_keys(db: Database) -> None:
    assert order_sql("overstay DESC, created_at DESC, id DESC").startswith("overstay DESC")
    for bad in ("name; DROP TABLE visits", "phone ASC", "name SIDEWAYS", "last_in", ""):
        with pytest.raises(ValueError):
            list_visitors(db, now=at(15), overstay=timedelta(hours=4), order_by=bad)


def _qdatetime(moment: datetime) -> QDateTime:
    return QDateTime(
        QDate(moment.year, moment.month, moment.day), QTime(moment.hour, moment.minute)
    )


def test_trace_between_two_times_and_save_masked_xlsx(
    qtbot: QtBot, office: OfficeContext, day_of_visits: Any, tmp_path: Path
) -> None:
    out = tmp_path / "trace.xlsx"
    asked: list[str] = []

    def choose(_parent: QWidget, suggested: str) -> Path:
        asked.append(suggested)
        return out

    tab = TraceTab(office, choose_file=choose)
    qtbot.addWidget(tab)
    tab.show()
    tab.start.setDateTime(_qdatetime(at(8)))
    tab.end.setDateTime(_qdatetime(at(10, 18)))
    with qtbot.waitSignal(tab.finished, timeout=10_000) as found:
        tab.find_button.click()
    assert found.args == [3]
    names = [tab.cell(r, 4) for r in range(tab.model.rowCount())]
    assert names == ["张伟", "周敏", "刘洋"]
    assert tab.count.text() == "3 passages"
    assert all("*" in tab.cell(r, 7) for r in (0, 2))  # residents' IDs masked

    with qtbot.waitSignal(tab.saved, timeout=10_000):
        tab.save_button.click()
    assert asked and asked[0].endswith(".xlsx")
    book = load_workbook(out, read_only=True)
    rows = list(book.active.iter_rows(values_only=True))
    book.close()
    assert rows[0][:5] == ("Time", "Direction", "Verdict", "Kind", "Name")
    assert [r[4] for r in rows[1:]] == ["张伟", "周敏", "刘洋"]
    ids = [r[7] for r in rows[1:] if r[7]]
    assert ids and all("*" in i for i in ids)
    phones = [r[6] for r in rows[1:] if r[6]]
    assert phones and all("*" in p for p in phones)

    office.set_unmasked(True, reason="test")  # shown in full once unmasking is granted
    assert "*" not in tab.cell(0, 7)
    office.set_unmasked(False)


def test_trace_near_a_person(
    qtbot: QtBot, office: OfficeContext, day_of_visits: dict[str, Any]
) -> None:
    tab = TraceTab(office, choose_file=lambda _p, _s: None)
    qtbot.addWidget(tab)
    tab.show()
    tab.near_mode.setChecked(True)
    assert tab.pages.currentIndex() == 1
    with qtbot.waitSignal(tab.failed, timeout=5_000):
        tab.find_button.click()  # nobody picked yet
    tab.subject_search.setText("周敏")
    with qtbot.waitSignal(tab.subjectsListed, timeout=5_000):
        tab.search_subjects()
    assert tab.subjects.count() == 1 and tab.subject_id() == day_of_visits["visitor_id"]
    tab.minutes.setValue(60)
    with qtbot.waitSignal(tab.finished, timeout=10_000) as found:
        tab.find_button.click()
    assert found.args == [1]  # 张伟 at 08:05; the stops at 10:15 are 75 minutes away
    assert tab.cell(0, 4) == "张伟"
    assert tab.cell(0, 8).endswith("09:00:00")  # near the visitor's passage

    # A resident found by household: 张伟's contacts within 60 minutes.
    tab.subject_search.setText("张伟")
    with qtbot.waitSignal(tab.subjectsListed, timeout=5_000):
        tab.search_subjects()
    rows = [tab.subjects.item(i).text() for i in range(tab.subjects.count())]
    pick = next(i for i, text in enumerate(rows) if text.startswith("张伟"))
    tab.subjects.setCurrentRow(pick)
    assert tab.subject_id() == day_of_visits["zhang"]
    with qtbot.waitSignal(tab.finished, timeout=10_000):
        tab.find_button.click()
    names = {tab.cell(r, 4) for r in range(tab.model.rowCount())}
    assert names == {"周敏", "赵敏"}  # 09:00; 13:10 near his 12:30 stop
    # Saving cancelled: nothing happens.
    tab.save_button.click()
    assert office.wait_idle()
