"""The office's Today tab: the day's figures at a glance, readable from a step away.

Big figures (in, out, residents, visitors, checks, stopped, fevers, inside now), the
passages per hour in and out as a bar chart (QtCharts), the stops by reason and the
list of stops and fevers. The figures come from the same store call as the daily PDF
(:func:`kiosk.store.stats.daily_summary`, through
:func:`kiosk.store.stats.dashboard_figures`), loaded on the office's jobs thread so
the window never waits. It reloads on "Refresh", every minute while shown, and when
the office's data changes.
"""

from __future__ import annotations

from datetime import date, timedelta

from PySide6.QtCharts import (
    QBarCategoryAxis,
    QBarSeries,
    QBarSet,
    QChart,
    QChartView,
    QValueAxis,
)
from PySide6.QtCore import QDate, QMargins, Qt, QTimer, Signal
from PySide6.QtGui import QHideEvent, QPainter, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDateEdit,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from kiosk.core.i18n import tr
from kiosk.core.rules import reason_label
from kiosk.store.stats import DashboardFigures, dashboard_figures
from kiosk.ui.office.context import OfficeContext, day_of
from kiosk.ui.ops import QueryOp
from kiosk.ui.printing.daily_report import IN_COLOUR, OUT_COLOUR
from kiosk.ui.theme import set_role, ui_font

REFRESH_MS = 60_000
FIGURE_KEYS = (
    "passed_in",
    "passed_out",
    "residents",
    "visitors",
    "checks",
    "denials",
    "fevers",
    "inside_residents",
    "inside_visitors",
)
_NEUTRAL = ""  # the theme's text colour; else a role of the theme's sheet (pass, check, deny)


class Figure(QFrame):
    """One big number with its caption under it."""

    def __init__(self, caption: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setMinimumWidth(120)
        self.value = QLabel("–")
        self.value.setFont(ui_font(30, bold=True))
        self.value.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.caption = QLabel(caption)
        self.caption.setFont(ui_font(12))
        self.caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.caption.setWordWrap(True)
        self.note = QLabel()
        self.note.setFont(ui_font(11, bold=True))
        self.note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.note.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 8, 6, 8)
        layout.setSpacing(2)
        layout.addWidget(self.value)
        layout.addWidget(self.caption)
        layout.addWidget(self.note)

    def set(self, value: int, role: str = _NEUTRAL) -> None:
        self.value.setText(str(value))
        set_role(self.value, role)

    def set_note(self, text: str, role: str) -> None:
        self.note.setText(text)
        set_role(self.note, role)
        self.note.setVisible(bool(text))


def _table(headers: list[str], stretch: int) -> QTableWidget:
    """A read-only table; column ``stretch`` takes the spare width."""
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.verticalHeader().setVisible(False)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
    table.setAlternatingRowColors(True)
    return table


def _fill(table: QTableWidget, rows: list[list[str]], numeric: set[int] | None = None) -> None:
    table.setRowCount(len(rows))
    for r, values in enumerate(rows):
        for c, text in enumerate(values):
            item = QTableWidgetItem(text)
            if numeric and c in numeric:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            table.setItem(r, c, item)


class DashboardTab(QWidget):
    """Today's figures for one day (today unless the clerk picks another)."""

    loaded = Signal()  # new figures are on screen
    failed = Signal(str)  # a load failed: the message shown

    def __init__(self, ctx: OfficeContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.figures: DashboardFigures | None = None
        self._loading = False
        self._again = False
        self._stale = True
        self._follow_today = True

        self.day = QDateEdit()
        self.day.setCalendarPopup(True)
        self.day.setDisplayFormat("yyyy-MM-dd")
        self.day.setFont(ui_font(14))
        today = ctx.now()
        self.day.setDate(QDate(today.year, today.month, today.day))
        self.day.dateChanged.connect(self._day_changed)
        self.refresh_button = QPushButton(tr("Refresh"))
        self.refresh_button.clicked.connect(self.refresh)
        self.status = QLabel()

        top = QHBoxLayout()
        top.addWidget(QLabel(tr("Day")))
        top.addWidget(self.day)
        top.addWidget(self.refresh_button)
        top.addStretch(1)
        top.addWidget(self.status)

        captions = {
            "passed_in": tr("Passed in"),
            "passed_out": tr("Passed out"),
            "residents": tr("Residents passed"),
            "visitors": tr("Visitors passed"),
            "checks": tr("Checks"),
            "denials": tr("Stopped"),
            "fevers": tr("Fevers"),
            "inside_residents": tr("Residents inside now"),
            "inside_visitors": tr("Visitors inside now"),
        }
        self.tiles = {key: Figure(captions[key]) for key in FIGURE_KEYS}
        tiles = QGridLayout()
        tiles.setSpacing(8)
        for i, key in enumerate(FIGURE_KEYS):
            tiles.addWidget(self.tiles[key], 0, i)

        self.bars_in = QBarSet(tr("In"))
        self.bars_in.setColor(IN_COLOUR)
        self.bars_out = QBarSet(tr("Out"))
        self.bars_out.setColor(OUT_COLOUR)
        for bar_set in (self.bars_in, self.bars_out):
            bar_set.append([0] * 24)
        self.series = QBarSeries()
        self.series.append(self.bars_in)
        self.series.append(self.bars_out)
        self.chart = QChart()
        self.chart.addSeries(self.series)
        self.chart.setTitle(tr("Passages per hour"))
        self.chart.setTitleFont(ui_font(13, bold=True))
        self.chart.setAnimationOptions(QChart.AnimationOption.NoAnimation)
        self.chart.legend().setAlignment(Qt.AlignmentFlag.AlignBottom)
        self.chart.legend().setFont(ui_font(12))
        self.chart.setMargins(QMargins(4, 4, 4, 4))
        self.hours = QBarCategoryAxis()
        self.hours.append([f"{h:02d}" for h in range(24)])
        self.hours.setLabelsFont(ui_font(9))
        self.counts = QValueAxis()
        self.counts.setLabelFormat("%d")
        self.counts.setRange(0, 5)
        self.counts.setLabelsFont(ui_font(10))
        self.chart.addAxis(self.hours, Qt.AlignmentFlag.AlignBottom)
        self.chart.addAxis(self.counts, Qt.AlignmentFlag.AlignLeft)
        self.series.attachAxis(self.hours)
        self.series.attachAxis(self.counts)
        self.chart_view = QChartView(self.chart)
        self.chart_view.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.chart_view.setMinimumHeight(260)

        self.reasons = _table([tr("Reason"), tr("Count")], stretch=0)
        self.reasons.setFont(ui_font(13))
        self.notable = _table(
            [tr("Time"), tr("Reason"), tr("Name"), tr("Household"), tr("Temperature")], stretch=2
        )
        self.notable.setFont(ui_font(12))
        right = QWidget()
        side = QVBoxLayout(right)
        side.setContentsMargins(0, 0, 0, 0)
        side.addWidget(self._heading(tr("Stopped, by reason")))
        side.addWidget(self.reasons, 2)
        side.addWidget(self._heading(tr("Stops and fevers")))
        side.addWidget(self.notable, 3)
        body = QHBoxLayout()
        body.addWidget(self.chart_view, 3)
        body.addWidget(right, 2)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(tiles)
        layout.addLayout(body, 1)

        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.refresh)
        ctx.signals.dataChanged.connect(self._data_changed)

    @staticmethod
    def _heading(text: str) -> QLabel:
        label = QLabel(text)
        label.setFont(ui_font(13, bold=True))
        return label

    # ------------------------------------------------------------ loading

    def selected_day(self) -> date:
        return day_of(self.day.date())

    def refresh(self) -> None:
        """Load the figures for the chosen day on the jobs thread (one load at a time;
        a refresh asked for meanwhile runs when it is done)."""
        if self._loading:
            self._again = True
            return
        now = self.ctx.now()
        if self._follow_today and self.selected_day() != now.date():
            self.day.blockSignals(True)
            self.day.setDate(QDate(now.year, now.month, now.day))
            self.day.blockSignals(False)
        day = self.selected_day()
        overstay = timedelta(hours=self.ctx.settings.visitor_overstay_hours)
        self._loading = True
        self._stale = False
        QueryOp(
            self.ctx.jobs,
            parent=self,
            op=lambda db: dashboard_figures(db, day, now=now, overstay=overstay),
            success=self._show,
        ).failure(self._failed).run_in_background()

    def _finished(self) -> None:
        self._loading = False
        if self._again:
            self._again = False
            self.refresh()

    def _failed(self, message: str) -> None:
        self.status.setText(message)
        set_role(self.status, "error")
        self.failed.emit(message)
        self._finished()

    def _day_changed(self, _date: QDate) -> None:
        self._follow_today = self.selected_day() == self.ctx.now().date()
        self.refresh()

    def _data_changed(self, _what: str) -> None:
        if self.isVisible():
            self.refresh()
        else:
            self._stale = True

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.timer.start()
        if self._stale:
            self.refresh()

    def hideEvent(self, event: QHideEvent) -> None:
        super().hideEvent(event)
        self.timer.stop()

    # ------------------------------------------------------------ showing

    def _show(self, figures: DashboardFigures) -> None:
        self.figures = figures
        s = figures.summary
        green, amber, red = "pass", "check", "deny"  # legible in each theme (the sheets)
        denied = sum(s.denials.values())
        values = {
            "passed_in": (s.passed_in, green),
            "passed_out": (s.passed_out, green),
            "residents": (s.residents, _NEUTRAL),
            "visitors": (s.visitors, _NEUTRAL),
            "checks": (s.checks, amber if s.checks else _NEUTRAL),
            "denials": (denied, red if denied else _NEUTRAL),
            "fevers": (figures.fevers, red if figures.fevers else _NEUTRAL),
            "inside_residents": (figures.inside_residents, _NEUTRAL),
            "inside_visitors": (figures.inside_visitors, _NEUTRAL),
        }
        for key, (value, colour) in values.items():
            self.tiles[key].set(value, colour)
        self.tiles["inside_visitors"].set_note(
            tr("{count} overstaying", count=figures.overstaying) if figures.overstaying else "",
            red,
        )
        for hour in range(24):
            self.bars_in.replace(hour, s.hourly_in[hour])
            self.bars_out.replace(hour, s.hourly_out[hour])
        peak = max([0, *s.hourly_in, *s.hourly_out])
        self.counts.setRange(0, max(5, peak + max(1, peak // 10)))
        self.counts.applyNiceNumbers()
        _fill(
            self.reasons,
            [
                [reason_label(reason), str(count)]
                for reason, count in sorted(s.denials.items(), key=lambda kv: (-kv[1], kv[0]))
            ],
            numeric={1},
        )
        _fill(
            self.notable,
            [
                [
                    row["time"],
                    reason_label(row["reason"]),
                    row["name"],
                    row["household"],
                    f"{row['temperature']:.1f}" if row["temperature"] is not None else "",
                ]
                for row in s.notable
            ],
        )
        set_role(self.status, "")
        self.status.setText(
            tr("Updated {time}", time=self.ctx.now().strftime("%H:%M:%S"))
            if self.selected_day() == self.ctx.now().date()
            else tr("Figures for {day}", day=s.day.isoformat())
        )
        self.loaded.emit()
        self._finished()
