"""The office never touches the database on the UI thread, and its long jobs (export,
register import, printing cards, issuing passes, the purge) report progress and stop
when the clerk presses Cancel, keeping what they committed before."""

from __future__ import annotations

import ast
import sys
import threading
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton, QWizard
from pytestqt.qtbot import QtBot
from sqlite_utils import Database

import kiosk.store.db
import kiosk.ui.ops
from kiosk.core.clock import to_db, utcnow
from kiosk.core.identity import make_id_number
from kiosk.core.keys import load_private_key
from kiosk.core.progress import Cancelled, Progress, Step
from kiosk.demo import Demo
from kiosk.settings import Settings
from kiosk.store import retention
from kiosk.store.files import register_import
from kiosk.store.files import visit_export as export
from kiosk.store.passes import issue_passes
from kiosk.store.register import add_resident
from kiosk.ui.office import files
from kiosk.ui.office.context import OfficeContext
from kiosk.ui.office.import_wizard import ImportWizard
from kiosk.ui.office.passes_tab import PassesTab
from kiosk.ui.office.records_tab import RecordsTab
from kiosk.ui.office.residents_tab import ResidentsTab
from kiosk.ui.ops import LongOp, ProgressStrip

OFFICE_UI = Path(kiosk.ui.ops.__file__).resolve().parent / "office"


class Steps:
    """The steps a long op's progress dialog showed; with ``cancel_after``, the dialog's
    Cancel is clicked once a step with at least that much done (and ``label``, if
    given) has been shown."""

    def __init__(
        self,
        monkeypatch: pytest.MonkeyPatch,
        cancel_after: int | None = None,
        label: str | None = None,
    ):
        self.seen: list[Step] = []
        self.threads: set[str] = set()
        self.switch_intervals: set[float] = set()
        self.cancelled = False
        shown = ProgressStrip.show_step

        def show_step(dialog: ProgressStrip, progress: Progress, step: Step) -> None:
            self.seen.append(step)
            self.threads.add(threading.current_thread().name)
            self.switch_intervals.add(sys.getswitchinterval())
            shown(dialog, progress, step)
            due = cancel_after is not None and step.done >= cancel_after
            if due and label in (None, step.label) and not self.cancelled:
                self.cancelled = True
                button = dialog.findChild(QPushButton)
                assert button is not None and button.text() == "Cancel"
                button.click()

        monkeypatch.setattr(ProgressStrip, "show_step", show_step)


# ------------------------------------------------------------------ the UI thread


def test_the_office_modules_open_no_connection_of_their_own() -> None:
    for path in OFFICE_UI.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                names = {alias.name for alias in node.names}
                assert not (node.module == "kiosk.store.db" and "connect" in names), path
            if isinstance(node, ast.Import):
                assert "sqlite3" not in {alias.name for alias in node.names}, path


def test_the_office_window_never_queries_on_the_ui_thread(
    qtbot: QtBot, demo: Demo, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Every connection the office opens is traced: each statement records the thread
    it ran on. Going through every tab, searching, opening a resident and exporting,
    none runs on the UI thread, and none is opened there."""
    from kiosk.ui.office.window import OfficeWindow

    opened_on: list[str] = []
    ran_on: list[str] = []
    real = kiosk.store.db.connect

    def traced(path: Path, *, create: bool = False) -> sqlite_utils.Database:
        opened_on.append(threading.current_thread().name)
        db = real(path, create=create)
        db.conn.set_trace_callback(lambda _sql: ran_on.append(threading.current_thread().name))
        return db

    monkeypatch.setattr(kiosk.store.db, "connect", traced)
    monkeypatch.setattr(kiosk.ui.ops, "connect", traced)
    monkeypatch.setattr(files, "ask_save_path", lambda *_a: tmp_path / "visits.csv")
    window = OfficeWindow(demo.home, Settings.load(demo.home.settings_file))
    qtbot.addWidget(window)
    window.resize(1366, 768)
    window.show()
    for index in range(window.tabs.count()):
        window.tabs.setCurrentIndex(index)
        assert window.wait_idle()
    window.residents.table.search.setText("张")
    window.residents.table.search.returnPressed.emit()
    window.passes.table.view.sortByColumn(1, Qt.SortOrder.DescendingOrder)
    window.trace.near_mode.setChecked(True)
    window.trace.subject_search.setText("张伟")
    window.trace.search_subjects()
    assert window.wait_idle()
    row = window.residents.table.model.row_at(0)
    window.open_resident(str(row["id"]))
    window.records.export_format.setCurrentIndex(window.records.export_format.findData("csv"))
    window.records.export()
    window._refresh()
    assert window.wait_idle()
    assert "Gatepass office: " in window.windowTitle()  # the checkpoint's name, read
    assert (tmp_path / "visits.csv").exists()
    window.close()

    main = threading.main_thread().name
    assert opened_on and main not in opened_on
    assert len(ran_on) > 20 and main not in ran_on
    # (and the hub sync's own, which looks whether this checkpoint has a hub)
    assert set(ran_on) - {"kiosk-hub-sync"} == {"kiosk-office", "kiosk-office-reader"}


def test_closing_the_office_stops_its_long_jobs(qtbot: QtBot, demo: Demo) -> None:
    """Closing the window cancels a long job under way (after its current batch)
    instead of waiting for it: a print of 100,000 cards takes minutes."""
    from kiosk.ui.office.window import OfficeWindow

    window = OfficeWindow(demo.home, Settings.load(demo.home.settings_file))
    qtbot.addWidget(window)
    window.show()
    stopped: list[bool] = []

    def job(_db: Database, progress: Progress) -> None:
        try:
            for n in range(1000):
                progress.update(n, 1000)
                threading.Event().wait(0.01)  # ten seconds in all
        except Cancelled:
            stopped.append(True)
            raise

    LongOp(window.ctx.jobs, parent=window.passes, label="Printing", op=job).run_in_background()
    qtbot.wait(200)
    began = time.monotonic()
    window.close()
    assert time.monotonic() - began < 5 and stopped == [True]


# ------------------------------------------------------------------ export


def _visits(db: Database, count: int, *, start: datetime | None = None, tag: str = "bulk") -> None:
    """``count`` visits a second apart from ``start`` (this morning): a visitor."""
    start = start or datetime.now().astimezone().replace(hour=0, minute=1)
    checkpoint = db.execute("SELECT value FROM meta WHERE key = 'checkpoint_id'").fetchone()[0]
    with kiosk.store.db.write(db):
        db.conn.executemany(
            "INSERT INTO visits (id, at, direction, level, reason, subject_kind, guard, "
            "checkpoint_id) VALUES (?, ?, 'in', 'pass', 'visitor_admitted', 'visitor', "
            "'test', ?)",
            [
                (f"{tag}-{n:06d}", to_db(start + timedelta(seconds=n)), checkpoint)
                for n in range(count)
            ],
        )


def _export(qtbot: QtBot, office: OfficeContext, out: Path, monkeypatch: Any) -> RecordsTab:
    monkeypatch.setattr(files, "ask_save_path", lambda *_a: out)
    tab = RecordsTab(office)
    qtbot.addWidget(tab)
    tab.export_format.setCurrentIndex(tab.export_format.findData("csv"))
    tab.export_button.click()
    assert office.wait_idle(30)
    return tab


def test_export_reports_progress_and_a_cancelled_export_leaves_no_file(
    qtbot: QtBot,
    office: OfficeContext,
    db: Database,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _visits(db, 3000)
    monkeypatch.setattr(export, "PROGRESS_EVERY", 100)
    steps = Steps(monkeypatch)
    out = tmp_path / "all.csv"
    tab = _export(qtbot, office, out, monkeypatch)
    assert "Wrote 3000 visits" in tab.export_status.text()
    assert out.exists() and tab.export_button.isEnabled()
    assert steps.seen and all(s.total == 3000 for s in steps.seen)
    assert steps.threads == {threading.main_thread().name}  # shown on the UI thread

    slow = export.export_rows

    def paced(*args: Any, **kwargs: Any) -> Any:
        for row in slow(*args, **kwargs):
            threading.Event().wait(0.0005)  # 3000 rows: at least 1.5 s
            yield row

    monkeypatch.setattr(export, "export_rows", paced)
    cancelled = Steps(monkeypatch, cancel_after=100)
    stopped = tmp_path / "stopped.csv"
    tab = _export(qtbot, office, stopped, monkeypatch)
    assert cancelled.cancelled
    assert tab.export_status.text() == "Stopped." and tab.export_button.isEnabled()
    assert not stopped.exists()  # no half a file
    assert max(s.done for s in cancelled.seen) < 3000


# ------------------------------------------------------------------ register import


def _register_csv(path: Path, rows: int) -> Path:
    lines = ["姓名,楼号,单元,房号,身份证号"]
    for n in range(rows):
        number = make_id_number("110105", date(1980, 1, 1) + timedelta(days=n), n % 1000)
        lines.append(f"导入{n:04d},30,1,{101 + n // 50},{number}")  # 50 to a household
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _import_wizard(qtbot: QtBot, office: OfficeContext, path: Path) -> ImportWizard:
    tab = ResidentsTab(office)
    qtbot.addWidget(tab)
    tab.import_button.click()
    wizard = tab.dialog
    assert isinstance(wizard, ImportWizard)
    wizard.file_page.path.setText(str(path))
    wizard.next()
    qtbot.waitUntil(lambda: wizard.currentPage() is wizard.preview_page, timeout=20_000)
    return wizard


def _imported(db: Database) -> int:
    return int(db.execute("SELECT count(*) FROM residents WHERE name LIKE '导入%'").fetchone()[0])


def test_import_reports_progress_and_cancel_keeps_the_batches_written(
    qtbot: QtBot,
    office: OfficeContext,
    db: Database,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(register_import, "BATCH", 20)  # 50 transactions, 30 ms apart
    monkeypatch.setattr(register_import, "PROGRESS_EVERY", 100)
    wizard = _import_wizard(qtbot, office, _register_csv(tmp_path / "big.csv", 1000))
    assert _imported(db) == 0
    steps = Steps(monkeypatch, cancel_after=100, label="Writing the register…")
    with qtbot.waitSignal(office.signals.dataChanged, timeout=20_000):  # the tabs reload
        wizard.button(QWizard.WizardButton.CommitButton).click()
    assert office.wait_idle(30)
    assert steps.cancelled
    written = _imported(db)
    assert 80 <= written < 1000, "the batches committed before Cancel stay; no more"
    assert written % 20 == 0  # whole batches (the first held the 20 households)
    page = wizard.preview_page
    assert page.status.text() == "Stopped." and wizard.currentPage() is page
    assert any(s.total == 1020 and s.label == "Writing the register…" for s in steps.seen)
    [detail] = db.execute("SELECT detail FROM audit WHERE action = 'residents.import'").fetchall()
    assert '"stopped": true' in detail[0]
    assert f'"rows_written": {written + 20}' in detail[0]  # with the households

    # Importing the same file again adds the rest.
    again = _import_wizard(qtbot, office, tmp_path / "big.csv")
    again.button(QWizard.WizardButton.CommitButton).click()
    qtbot.waitUntil(lambda: again.currentPage() is again.report_page, timeout=30_000)
    assert _imported(db) == 1000


# ------------------------------------------------------------------ cards


def _more_passes(db: Database, home_key: Path, count: int) -> None:
    ids = [
        add_resident(db, building="40", unit="1", room=f"{100 + n}", name=f"卡片{n:03d}")
        for n in range(count)
    ]
    issue_passes(db, load_private_key(home_key, None), ids, days=30, now=utcnow())


@pytest.mark.parametrize("cancel", [False, True])
def test_printing_cards_is_drawn_off_the_ui_thread_reports_progress_and_cancels(
    qtbot: QtBot,
    office: OfficeContext,
    db: Database,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    cancel: bool,
) -> None:
    _more_passes(db, office.home.private_key, 60)
    import kiosk.ui.printing.cards as cards

    drawn_on: set[str] = set()
    draw = cards._draw_card

    def watched(*args: Any, **kwargs: Any) -> None:
        drawn_on.add(threading.current_thread().name)
        draw(*args, **kwargs)

    monkeypatch.setattr(cards, "_draw_card", watched)
    steps = Steps(monkeypatch, cancel_after=8 if cancel else None)
    tab = PassesTab(office)
    qtbot.addWidget(tab)
    out = tmp_path / "cards.pdf"
    tab.save_cards_pdf("all", "", out)
    assert tab.long_op is not None and tab.long_op.strip is not None
    assert office.wait_idle(60)
    assert drawn_on == {"kiosk-office"}  # the jobs thread, never the UI thread
    # Meanwhile the UI thread got the GIL back within half a millisecond; not after.
    assert steps.switch_intervals == {kiosk.ui.ops.LONG_OP_SWITCH_INTERVAL_S}
    qtbot.waitUntil(lambda: sys.getswitchinterval() == 0.005)
    total = {s.total for s in steps.seen}
    assert len(total) == 1 and total.pop() is not None and steps.seen[-1].total >= 60
    if cancel:
        assert steps.cancelled and tab.message.text() == "Stopped."
        assert not out.exists()
    else:
        assert out.exists() and "card(s) on" in tab.message.text()
        assert [s.done for s in steps.seen] == sorted(s.done for s in steps.seen)


# ------------------------------------------------------------------ store: issue, purge


def _stopping(after: int) -> tuple[Progress, list[Step]]:
    """A progress that asks to stop once ``after`` is done (as Cancel does)."""
    seen: list[Step] = []
    progress: Progress

    def report(step: Step) -> None:
        seen.append(step)
        if step.done >= after:
            progress.cancel()

    progress = Progress(report)
    return progress, seen


def test_issuing_passes_stops_after_a_batch_and_keeps_it(demo: Demo, db: Database) -> None:
    ids = [
        add_resident(db, building="41", unit="1", room=f"{100 + n}", name=f"发证{n:03d}")
        for n in range(50)
    ]
    progress, seen = _stopping(after=10)
    key = load_private_key(demo.home.private_key, None)
    with pytest.raises(Cancelled):
        issue_passes(db, key, ids, days=30, now=utcnow(), batch=10, progress=progress)
    issued = db.execute(
        f"SELECT count(*) FROM passes WHERE resident_id IN ({','.join('?' * len(ids))})", ids
    ).fetchone()[0]
    assert issued == 10 and [s.done for s in seen] == [0, 10]
    assert all(s.total == 50 for s in seen)
    [detail] = db.execute("SELECT detail FROM audit WHERE action = 'passes.issue'").fetchall()[-1:]
    assert '"stopped": true' in detail[0]


def test_the_purge_stops_after_a_batch_keeps_it_and_audits_it(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    _visits(db, 50, start=datetime.now().astimezone() - timedelta(days=60), tag="old")
    monkeypatch.setattr(retention, "PURGE_BATCH", 10)
    progress, seen = _stopping(after=10)
    with pytest.raises(Cancelled):
        retention.purge(db, older_than_days=28, now=utcnow(), gap_s=0, progress=progress)
    left = db.execute("SELECT count(*) FROM visits WHERE id LIKE 'old-%'").fetchone()[0]
    assert left == 40 and seen[0] == Step(0, 50) and seen[-1].done == 10
    [detail] = db.execute("SELECT detail FROM audit WHERE action = 'retention.purge'").fetchall()
    assert '"stopped": true' in detail[0] and '"visits": 10' in detail[0]
