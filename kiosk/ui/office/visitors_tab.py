"""The office's Visitors tab: who registered, when, whom they came to see, their last
passages in and out, who is inside now and who is overstaying (inside longer than the
``visitor_overstay_hours`` setting, highlighted). Double-click a visitor for their
visits."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QBrush, QColor, QHideEvent, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from kiosk.core.clock import from_db
from kiosk.core.i18n import tr, trn
from kiosk.core.rules import Level, reason_label
from kiosk.store.visitors import list_visitors
from kiosk.store.visits import visitor_visits
from kiosk.ui.office.context import OfficeContext, local_time
from kiosk.ui.office.table import Column, Index, Query, QueryModel, Row, SearchTable
from kiosk.ui.ops import QueryOp
from kiosk.ui.theme import LEVEL_COLOURS

REFRESH_MS = 60_000
OVERSTAY_BACKGROUND, OVERSTAY_TEXT = LEVEL_COLOURS[Level.CHECK]


class VisitorModel(QueryModel):
    """The visitors' query model; overstaying visitors' rows are highlighted."""

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if index.isValid() and self.row_at(index.row()).get("overstay"):
            if role == Qt.ItemDataRole.BackgroundRole:
                return QBrush(QColor(OVERSTAY_BACKGROUND))
            if role == Qt.ItemDataRole.ForegroundRole:
                return QBrush(QColor(OVERSTAY_TEXT))
        return super().data(index, role)


def _yes(on: bool) -> str:
    return tr("Yes") if on else ""


class VisitorsTab(QWidget):
    """Registered visitors, searchable and sortable; "Overstays only" narrows the list."""

    def __init__(self, ctx: OfficeContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.visits_dialog: VisitorVisitsDialog | None = None
        self.overstays_only = QCheckBox(tr("Overstays only"))
        self.limit = QLabel()
        columns = [
            Column(tr("Name"), lambda r: r["name"], "name"),
            Column(tr("Phone"), lambda r: ctx.phone_text(r["phone"])),
            Column(tr("ID number"), lambda r: ctx.id_text(r["id_number"])),
            Column(tr("Host household"), lambda r: r["household"], "household"),
            Column(tr("Purpose"), lambda r: r["purpose"], "purpose"),
            Column(tr("Registered"), lambda r: local_time(r["created_at"]), "created_at"),
            Column(tr("Last in"), lambda r: local_time(r["last_in"])),
            Column(tr("Last out"), lambda r: local_time(r["last_out"])),
            Column(tr("Inside now"), lambda r: _yes(r["inside"]), "inside"),
            Column(tr("Overstay"), self._overstay_text, "overstay"),
        ]
        self.model = VisitorModel(
            columns, self._fetch, worker=ctx.reader, default_order="created_at DESC, id DESC"
        )
        self.table = SearchTable(
            self.model, placeholder=tr("Search by name, host household or purpose")
        )
        self.table.view.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents
        )
        self.table.activated.connect(self.show_visits)
        self.overstays_only.toggled.connect(lambda _on: self.model.reload())

        top = QHBoxLayout()
        top.addWidget(self.overstays_only)
        top.addStretch(1)
        top.addWidget(self.limit)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)

        self.timer = QTimer(self)  # overstays come with time, not only with new data
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.model.reload)
        ctx.signals.dataChanged.connect(self._data_changed)
        ctx.signals.unmaskedChanged.connect(lambda _on: self.model.reload())
        self._show_limit()

    def _overstay_hours(self) -> float:
        return self.ctx.settings.visitor_overstay_hours

    def _show_limit(self) -> None:
        self.limit.setText(
            tr("Overstay: inside longer than {hours} h", hours=f"{self._overstay_hours():g}")
        )

    def _overstay_text(self, row: Row) -> str:
        if not row["overstay"]:
            return ""
        inside = self.ctx.now() - from_db(row["last_in"])
        hours = inside.total_seconds() / 3600
        return tr("{hours} h inside", hours=f"{hours:.1f}")

    def _fetch(self, search: str, order: str, limit: int, offset: int) -> Query:
        now, only = self.ctx.now(), self.overstays_only.isChecked()
        overstay = timedelta(hours=self._overstay_hours())
        return lambda db: list_visitors(
            db,
            now=now,
            overstay=overstay,
            search=search,
            order_by=order,
            overstays_only=only,
            limit=limit,
            offset=offset,
        )

    def _data_changed(self, what: str) -> None:
        if what in ("visitors", "visits", "households", "residents"):
            self._show_limit()
            self.model.reload()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.timer.start()

    def hideEvent(self, event: QHideEvent) -> None:
        super().hideEvent(event)
        self.timer.stop()

    def show_visits(self, row: Row) -> None:
        """Open (without blocking) the list of one visitor's visits."""
        if self.visits_dialog is not None:
            self.visits_dialog.close()
        self.visits_dialog = VisitorVisitsDialog(self.ctx, row, self)
        self.visits_dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.visits_dialog.destroyed.connect(self._dialog_gone)
        self.visits_dialog.open()

    def _dialog_gone(self, *_args: Any) -> None:
        self.visits_dialog = None


class VisitorVisitsDialog(QDialog):
    """One visitor's details and passages, the newest first."""

    def __init__(self, ctx: OfficeContext, visitor: Row, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("Visits of {name}", name=visitor["name"]))
        self.resize(760, 480)
        details = QLabel(
            tr(
                "{name}, phone {phone}, visiting {household} ({purpose}); registered {at}",
                name=visitor["name"],
                phone=ctx.phone_text(visitor["phone"]) or "-",
                household=visitor["household"] or "-",
                purpose=visitor["purpose"] or "-",
                at=local_time(visitor["created_at"]),
            )
        )
        details.setWordWrap(True)
        headers = [tr("Time"), tr("Direction"), tr("Verdict"), tr("Reason"), tr("Temperature")]
        self.table = QTableWidget(0, len(headers))
        self.table.setHorizontalHeaderLabels(headers)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.count = QLabel()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(details)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.count)
        layout.addWidget(buttons)
        visitor_id = visitor["id"]
        QueryOp(
            ctx.reader,
            parent=self,
            op=lambda db: visitor_visits(db, visitor_id),
            success=self._show,
        ).failure(self.count.setText).run_in_background()

    def _show(self, rows: list[Row]) -> None:
        self.table.setRowCount(len(rows))
        for r, visit in enumerate(rows):
            values = [
                local_time(visit["at"], "%Y-%m-%d %H:%M:%S"),
                tr("In") if visit["direction"] == "in" else tr("Out"),
                level_text(visit["level"]),
                reason_label(visit["reason"]),
                f"{visit['temperature']:.1f}" if visit["temperature"] is not None else "",
            ]
            for c, text in enumerate(values):
                self.table.setItem(r, c, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        self.count.setText(trn("{count} passage", "{count} passages", len(rows), count=len(rows)))


def level_text(level: str) -> str:
    """A verdict level in words, for tables."""
    words = {"pass": tr("Let through"), "check": tr("Check"), "deny": tr("Stopped")}
    return words.get(level, level)
