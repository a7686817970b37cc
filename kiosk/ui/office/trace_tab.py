"""The office's Contact tracing tab: who passed this gate between two times, or who
passed within N minutes of one person's passages (a resident or a visitor found by
name or household). The query runs on the office's jobs thread as a long op
(progress, Cancel; :mod:`kiosk.store.trace`); ID numbers and phones are masked unless
unmasking was granted; "Save as XLSX…" writes the rows shown through the same writer
as ``kiosk trace --format xlsx``, a long op too."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QDate,
    QDateTime,
    QModelIndex,
    Qt,
    QTime,
    QTimer,
    Signal,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QDateTimeEdit,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QRadioButton,
    QSizePolicy,
    QSpinBox,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from kiosk.core.i18n import tr, trn
from kiosk.core.progress import Progress
from kiosk.store.files.trace_export import TRACE_COLUMNS, trace_row, write_trace_xlsx
from kiosk.store.register import search_residents
from kiosk.store.trace import contacts_of, passed_between
from kiosk.store.visitors import search_visitors
from kiosk.ui.office import files
from kiosk.ui.office.context import OfficeContext, aware
from kiosk.ui.office.table import Index
from kiosk.ui.office.visitors_tab import level_text
from kiosk.ui.ops import LongOp, QueryOp
from kiosk.ui.theme import set_role

ChooseFile = Callable[[QWidget, str], Path | None]
SEARCH_DELAY_MS = 250
BETWEEN, NEAR = 0, 1


def ask_xlsx_path(parent: QWidget, suggested: str) -> Path | None:
    """The file the clerk chose in a save dialog, or None when they cancelled."""
    path = files.ask_save_path(
        parent, tr("Save as XLSX…"), suggested, tr("Excel workbook (*.xlsx)")
    )
    return files.ensure_suffix(path, ".xlsx") if path is not None else None


def _kind_text(kind: str) -> str:
    return {
        "resident": tr("Resident"),
        "staff": tr("Staff"),
        "visitor": tr("Visitor"),
        "unknown": tr("Unknown"),
    }.get(kind, kind)


def _display(row: dict[str, Any]) -> list[str]:
    """A trace row as the table shows it (codes in words)."""
    words = {
        "direction": tr("In") if row["direction"] == "in" else tr("Out"),
        "level": level_text(row["level"]),
        "kind": _kind_text(row["kind"]),
    }
    return [str(words.get(key, row[key]) or "") for key, _title in TRACE_COLUMNS]


class TraceTab(QWidget):
    """Contact tracing: two modes, one result table, save as XLSX."""

    finished = Signal(int)  # a query delivered this many rows
    saved = Signal(str)  # the XLSX written (its path)
    failed = Signal(str)
    subjectsListed = Signal()  # the people matching the search are in the list

    def __init__(
        self,
        ctx: OfficeContext,
        parent: QWidget | None = None,
        *,
        choose_file: ChooseFile = ask_xlsx_path,
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.choose_file = choose_file
        self.long_op: LongOp[Any] | None = None  # the last trace or save (tests)
        self._subjects_key = object()  # a newer person search skips an older one

        self.between_mode = QRadioButton(tr("Who passed between two times"))
        self.near_mode = QRadioButton(tr("Who passed near one person"))
        self.between_mode.setChecked(True)
        modes = QButtonGroup(self)
        modes.addButton(self.between_mode, BETWEEN)
        modes.addButton(self.near_mode, NEAR)
        self.pages = QStackedWidget()
        self.pages.addWidget(self._between_page())
        self.pages.addWidget(self._near_page())
        modes.idToggled.connect(self._mode_toggled)
        self._show_page(BETWEEN)

        self.find_button = QPushButton(tr("Find"))
        self.find_button.setDefault(True)
        self.find_button.clicked.connect(self.run)
        self.save_button = QPushButton(tr("Save as XLSX…"))
        self.save_button.setEnabled(False)
        self.save_button.clicked.connect(self.save)
        self.count = QLabel()
        self.message = QLabel()
        self.message.setWordWrap(True)

        self.model = TraceModel(ctx)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)

        mode_row = QHBoxLayout()
        mode_row.addWidget(self.between_mode)
        mode_row.addWidget(self.near_mode)
        mode_row.addStretch(1)
        actions = QHBoxLayout()
        actions.addWidget(self.find_button)
        actions.addWidget(self.count)
        actions.addStretch(1)
        actions.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.addLayout(mode_row)
        layout.addWidget(self.pages)
        layout.addLayout(actions)
        layout.addWidget(self.message)
        layout.addWidget(self.table, 1)
        ctx.signals.unmaskedChanged.connect(lambda _on: self.model.remask())

    # ------------------------------------------------------------ the two forms

    def _show_page(self, mode: int) -> None:
        """Show one form; the stack takes that form's height, not the taller one's."""
        for index in range(self.pages.count()):
            policy = QSizePolicy.Policy.Preferred if index == mode else QSizePolicy.Policy.Ignored
            page = self.pages.widget(index)
            if page is not None:
                page.setSizePolicy(policy, policy)
        self.pages.setCurrentIndex(mode)
        self.pages.adjustSize()

    def _mode_toggled(self, mode: int, on: bool) -> None:
        if on:
            self._show_page(mode)
            if mode == NEAR:
                self.subject_search.setFocus()

    def _between_page(self) -> QWidget:
        now = self.ctx.now()
        today = QDate(now.year, now.month, now.day)
        self.start = QDateTimeEdit(QDateTime(today, QTime(0, 0)))
        self.end = QDateTimeEdit(QDateTime(today, QTime(23, 59)))
        for edit in (self.start, self.end):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd HH:mm")
        page = QWidget()
        form = QFormLayout(page)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        for edit in (self.start, self.end):
            edit.setMinimumWidth(240)
        form.addRow(tr("From"), self.start)
        form.addRow(tr("To"), self.end)
        return page

    def _near_page(self) -> QWidget:
        self.subject_search = QLineEdit()
        self.subject_search.setPlaceholderText(
            tr("Name or household of a resident or visitor, e.g. 3-2-501")
        )
        self.subject_search.setClearButtonEnabled(True)
        self.subjects = QListWidget()
        self.subjects.setMaximumHeight(140)
        self.subject_search.setMinimumWidth(480)
        self.subjects.setMinimumWidth(480)
        self.minutes = QSpinBox()
        self.minutes.setRange(1, 24 * 60)
        self.minutes.setValue(15)
        self.minutes.setSuffix(" " + tr("min"))
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self.search_subjects)
        self.subject_search.textChanged.connect(lambda _t: self._search_timer.start())
        self.subject_search.returnPressed.connect(self.search_subjects)
        self.subjects.itemDoubleClicked.connect(lambda _item: self.run())
        page = QWidget()
        form = QFormLayout(page)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        form.addRow(tr("Person"), self.subject_search)
        form.addRow("", self.subjects)
        form.addRow(tr("Within"), self.minutes)
        return page

    def search_subjects(self) -> None:
        """Fill the list with residents and visitors matching the search text."""
        self._search_timer.stop()
        text = self.subject_search.text()

        def op(db: Any) -> list[tuple[Any, ...]]:
            return [
                (r["id"], r["name"], r["household"], "resident", r["id_masked"])
                for r in search_residents(db, text)
            ] + [
                (v["id"], v["name"], v["household"], "visitor", v["id_masked"])
                for v in search_visitors(db, text)
            ]

        QueryOp(self.ctx.reader, parent=self, op=op, success=self._list_subjects).failure(
            self._fail
        ).newest(self._subjects_key).run_in_background()

    def _list_subjects(self, found: list[tuple[Any, ...]]) -> None:
        self.subjects.clear()
        kinds = {"resident": tr("Resident"), "visitor": tr("Visitor")}
        for subject_id, name, household, kind, id_masked in found:
            parts = [name, household or "-", kinds[kind]] + ([id_masked] if id_masked else [])
            item = QListWidgetItem("  ·  ".join(parts))
            item.setData(Qt.ItemDataRole.UserRole, subject_id)
            self.subjects.addItem(item)
        if len(found) == 1:
            self.subjects.setCurrentRow(0)
        self.subjectsListed.emit()

    def subject_id(self) -> str | None:
        item = self.subjects.currentItem()
        return None if item is None else str(item.data(Qt.ItemDataRole.UserRole))

    # ------------------------------------------------------------ running

    def run(self) -> None:
        """Run the query of the chosen mode on the jobs thread."""
        if self.pages.currentIndex() == BETWEEN:
            start = aware(self.start.dateTime())
            end = aware(self.end.dateTime())

            def job(db: Any, progress: Progress) -> list[dict[str, Any]]:
                return passed_between(db, start, end, progress=progress)

        else:
            subject = self.subject_id()
            if subject is None:
                self._fail(tr("Find the person first, then pick them in the list."))
                return
            window = timedelta(minutes=self.minutes.value())

            def job(db: Any, progress: Progress) -> list[dict[str, Any]]:
                return contacts_of(db, subject, window, progress=progress)

        self.find_button.setEnabled(False)
        self.message.clear()
        self.count.setText(tr("Searching…"))
        self.long_op = LongOp(
            self.ctx.jobs, parent=self, label=tr("Searching…"), op=job, success=self._found
        )
        self.long_op.failure(self._fail).cancelled(self._stopped).run_in_background()

    def _stopped(self) -> None:
        self.find_button.setEnabled(True)
        self.count.setText(tr("Stopped."))

    def _found(self, rows: list[dict[str, Any]]) -> None:
        self.model.set_rows(rows)
        self.table.resizeColumnsToContents()
        self.count.setText(trn("{count} passage", "{count} passages", len(rows), count=len(rows)))
        self.save_button.setEnabled(bool(rows))
        self.find_button.setEnabled(True)
        self.finished.emit(len(rows))

    def cell(self, row: int, column: int) -> str:
        """The text shown at ``row``, ``column`` of the results."""
        return str(self.model.index(row, column).data())

    def _fail(self, message: str) -> None:
        self.find_button.setEnabled(True)
        self.count.clear()
        self.message.setText(message)
        set_role(self.message, "error")
        self.failed.emit(message)

    # ------------------------------------------------------------ saving

    def save(self) -> None:
        """Ask where, then write the rows found (masked as shown) on the jobs thread."""
        raw = self.model.raw
        if not raw:
            return
        stamp = self.ctx.now().strftime("%Y%m%d-%H%M")
        out = self.choose_file(self, f"trace-{stamp}.xlsx")
        if out is None:
            return
        unmasked = self.ctx.unmasked

        def job(_db: Any, progress: Progress) -> int:
            write_trace_xlsx(out, [trace_row(r, unmasked=unmasked) for r in raw], progress=progress)
            return len(raw)

        self.long_op = LongOp(
            self.ctx.jobs,
            parent=self,
            label=tr("Save as XLSX…"),
            op=job,
            success=lambda count: self._saved(out, count),
        )
        self.long_op.failure(self._fail).cancelled(
            lambda: self.message.setText(tr("Stopped."))
        ).run_in_background()

    def _saved(self, out: Path, count: int) -> None:
        set_role(self.message, "")
        self.message.setText(
            trn(
                "Wrote {count} passage to {path}.",
                "Wrote {count} passages to {path}.",
                count,
                count=count,
                path=out,
            )
        )
        self.saved.emit(str(out))


class TraceModel(QAbstractTableModel):
    """The rows a trace found, shaped for display (masked unless unmasking was granted)
    only when a row is drawn, so a hundred thousand rows cost what a screenful costs."""

    def __init__(self, ctx: OfficeContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.raw: list[dict[str, Any]] = []
        self._shown: dict[int, list[str]] = {}
        self._titles = [tr(title) for _key, title in TRACE_COLUMNS]

    def set_rows(self, rows: list[dict[str, Any]]) -> None:
        self.beginResetModel()
        self.raw = rows
        self._shown = {}
        self.endResetModel()

    def remask(self) -> None:
        """Masking was switched: show every row again."""
        self._shown = {}
        if self.raw:
            last = self.index(len(self.raw) - 1, len(self._titles) - 1)
            self.dataChanged.emit(self.index(0, 0), last)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.raw)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._titles)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or role != Qt.ItemDataRole.DisplayRole:
            return None
        row = index.row()
        shown = self._shown.get(row)
        if shown is None:
            shown = _display(trace_row(self.raw[row], unmasked=self.ctx.unmasked))
            self._shown[row] = shown
        return shown[index.column()]

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self._titles[section]
        return None
