"""The one table the office uses for every list: a model over a query, with a search
box and sortable columns, fetched a page at a time.

A tab describes its columns and gives a ``prepare(search, order_by, limit, offset)``:
on the UI thread it takes what the query needs from the tab's widgets and returns the
query, ``query(db) -> rows``, one indexed read. It runs as a
:class:`~kiosk.ui.ops.QueryOp` on the office's reader (``ctx.reader``, a thread with
its own connection), so a slow sort never stalls the screen, nor the gate's screen
beside it; a query still queued when a newer one is asked for is skipped
(``newest``), and a result older than the latest request is dropped. The model asks for the
next page only when the view scrolls near the end (``canFetchMore``/``fetchMore``), so
ten thousand residents cost what one screenful costs. Sorting by a column reruns the
query with that column's SQL in ``ORDER BY``; searching reruns it 250 ms after the
last key.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import shiboken6
from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableView,
    QVBoxLayout,
    QWidget,
)
from sqlite_utils import Database

from kiosk.core.i18n import tr
from kiosk.ui.ops import DbWorker, QueryOp
from kiosk.ui.theme import set_role

PAGE = 200
SEARCH_DELAY_MS = 250

Row = dict[str, Any]
Query = Callable[[Database], list[Row]]
Prepare = Callable[[str, str, int, int], Query]
Index = QModelIndex | QPersistentModelIndex


@dataclass(frozen=True)
class Column:
    """One column: its title (already translated), how to show a row's value, and the
    SQL to sort by (``None``: not sortable)."""

    title: str
    text: Callable[[Row], str]
    sort_sql: str | None = None
    numeric: bool = False


class QueryModel(QAbstractTableModel):
    """Rows of one query, loaded a page at a time."""

    loaded_rows = Signal()  # a load (a reload or the next page) arrived
    failed = Signal(str)  # a load failed: the message for the clerk

    def __init__(
        self,
        columns: Sequence[Column],
        prepare: Prepare,
        *,
        worker: DbWorker,
        default_order: str,
        muted: Callable[[Row], bool] | None = None,
        page: int = PAGE,
    ) -> None:
        super().__init__()
        self.columns = list(columns)
        self._prepare = prepare
        self._worker = worker
        self._key = object()  # this model's queries: a newer one skips an older queued one
        self._generation = 0  # of the latest request; older results are dropped
        self._loading = False
        self._default_order = default_order
        self._order = default_order
        self._muted = muted
        self._page = page
        self._search = ""
        self._rows: list[Row] = []
        self._more = True

    # ------------------------------------------------------------ what a tab calls

    def row_at(self, row: int) -> Row:
        return self._rows[row]

    @property
    def loaded(self) -> int:
        return len(self._rows)

    def set_search(self, text: str) -> None:
        self._search = text.strip()
        self.reload()

    @property
    def loading(self) -> bool:
        return self._loading

    def when_loaded(self, then: Callable[[], object]) -> None:
        """``then()`` now, or once the load under way has arrived."""
        if not self._loading:
            then()
            return

        def once() -> None:
            self.loaded_rows.disconnect(once)
            then()

        self.loaded_rows.connect(once)

    def reload(self) -> None:
        """Run the query again (after a change), keeping as many rows as were loaded."""
        want = max(self._page, len(self._rows))
        self._generation += 1
        generation = self._generation
        self._loading = True
        query = self._prepare(self._search, self._order, want, 0)
        self._run(query, lambda rows: self._reloaded(generation, rows, want))

    def _reloaded(self, generation: int, rows: list[Row], want: int) -> None:
        if generation != self._generation:
            return  # a newer search or sort was asked for meanwhile
        self._loading = False
        self.beginResetModel()
        self._rows = rows
        self._more = len(rows) == want
        self.endResetModel()
        self.loaded_rows.emit()

    def _more_rows(self, generation: int, rows: list[Row]) -> None:
        if generation != self._generation:
            return
        self._loading = False
        self._more = len(rows) == self._page
        if rows:
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(rows) - 1)
            self._rows.extend(rows)
            self.endInsertRows()
        self.loaded_rows.emit()

    def _failed(self, message: str) -> None:
        self._loading = False
        self._more = False
        self.failed.emit(message)

    # ------------------------------------------------------------ Qt's side

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and self._more and not self._loading

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: B008
        if not self.canFetchMore(parent):
            return
        generation = self._generation
        self._loading = True
        query = self._prepare(self._search, self._order, self._page, len(self._rows))
        self._run(query, lambda rows: self._more_rows(generation, rows))

    def _run(self, query: Query, done: Callable[[list[Row]], None]) -> None:
        generation = self._generation

        def failed(message: str) -> None:
            if generation == self._generation:
                self._failed(message)

        QueryOp(self._worker, parent=self, op=query, success=done).failure(failed).newest(
            self._key
        ).run_in_background()

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        column = self.columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return column.text(self._rows[index.row()])
        if role == Qt.ItemDataRole.TextAlignmentRole and column.numeric:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        muted = self._muted
        if role == Qt.ItemDataRole.ForegroundRole and muted and muted(self._rows[index.row()]):
            return QBrush(QColor("#8a8a8a"))
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.columns[section].title
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        sql = self.columns[column].sort_sql if 0 <= column < len(self.columns) else None
        if sql is None:
            self._order = self._default_order
        else:
            way = "DESC" if order == Qt.SortOrder.DescendingOrder else "ASC"
            self._order = f"{sql} {way}, {self._default_order}"
        self.reload()


class MessageLine(QLabel):
    """The line under a tab's table: what the last action did, red when it failed.
    A job may report after its tab was closed (a resident's dialog): then nothing is
    said."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)

    def say(self, text: str, *, error: bool = False) -> None:
        if not shiboken6.isValid(self):
            return
        set_role(self, "error" if error else "")
        self.setText(text)


class SearchTable(QWidget):
    """A search box over a sortable table of one :class:`QueryModel`."""

    activated = Signal(dict)  # a row double-clicked or Enter pressed
    selectionChanged = Signal()

    def __init__(self, model: QueryModel, *, placeholder: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = model
        if model.parent() is None:
            # Deleted with the table: a page arriving after the table was closed (a
            # resident's dialog) is then not delivered (the op's parent is gone).
            model.setParent(self)
        self.search = QLineEdit()
        self.search.setPlaceholderText(placeholder)
        self.search.setClearButtonEnabled(True)
        self.count = QLabel()
        self.view = QTableView()
        self.view.setModel(model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setAlternatingRowColors(True)
        self.view.verticalHeader().setVisible(False)
        self.view.horizontalHeader().setStretchLastSection(True)
        self.view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        sortable = [i for i, c in enumerate(model.columns) if c.sort_sql is not None]
        self.view.setSortingEnabled(bool(sortable))
        self.view.horizontalHeader().setSortIndicatorShown(bool(sortable))
        self.view.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SEARCH_DELAY_MS)
        self._timer.timeout.connect(self._search_now)
        self.search.textChanged.connect(lambda _t: self._timer.start())
        self.search.returnPressed.connect(self._search_now)
        self.view.doubleClicked.connect(self._activated)
        self.view.selectionModel().selectionChanged.connect(lambda *_: self.selectionChanged.emit())
        # A reset (a reload arriving) clears the selection without selectionChanged.
        model.modelReset.connect(self.selectionChanged.emit)
        model.loaded_rows.connect(self._show_count)
        model.failed.connect(self._show_failure)

        top = QHBoxLayout()
        top.addWidget(self.search, 1)
        top.addWidget(self.count)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.view, 1)
        self.model.reload()

    def selected(self) -> Row | None:
        rows = self.view.selectionModel().selectedRows()
        return self.model.row_at(rows[0].row()) if rows else None

    def _search_now(self) -> None:
        self._timer.stop()
        self.model.set_search(self.search.text())

    def _activated(self, index: QModelIndex) -> None:
        self.activated.emit(self.model.row_at(index.row()))

    def _show_count(self, *_args: Any) -> None:
        shown = self.model.loaded
        more = "+" if self.model.canFetchMore() else ""
        set_role(self.count, "")
        self.count.setText(tr("{count} shown", count=f"{shown}{more}"))

    def _show_failure(self, message: str) -> None:
        set_role(self.count, "error")
        self.count.setText(message)
