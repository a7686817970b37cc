"""The hub's daily report for the street office as a PDF: a landscape A4 table, one
row per compound and the totals, drawn with Qt's PDF writer (text embedded in a CJK
font) as the kiosk's own daily report is. Its words and rows come from
:mod:`kiosk.hub.report_files`, so the PDF says what the workbook says."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QMarginsF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen

from kiosk.hub.report_files import headings, table_rows, title_lines
from kiosk.ui.printing.pdf import a4_pdf
from kiosk.ui.theme import ui_font

if TYPE_CHECKING:
    from kiosk.hub.report import DailyReport

DPI = 300
# Shares of the table's width, as kiosk.hub.report_files.COLUMNS.
SHARES = (0.16, 0.12, 0.07, 0.07, 0.06, 0.06, 0.06, 0.07, 0.05, 0.28)
TEXT_COLUMNS = {0, 1, 9}  # left-aligned and wrapped; the others are numbers
PAD = 0.04 * DPI  # inside a cell, each side
HEADER_FILL = QColor("#e6e6e6")
GRID = QColor("#888888")


class _Table:
    """Rows down the pages: a new page (with the headings again) when the next row does
    not fit."""

    def __init__(self, writer: Any, painter: QPainter, header: list[str]) -> None:
        self.writer, self.painter, self.header = writer, painter, header
        rect = writer.pageLayout().paintRectPixels(DPI)
        self.width, self.bottom = float(rect.width()), float(rect.height())
        self.lefts: list[float] = []
        x = 0.0
        for share in SHARES:
            self.lefts.append(x)
            x += share * self.width
        self.y = 0.0
        self.pages = 1

    def text(self, line: str, points: float, *, bold: bool = False) -> None:
        self.painter.setFont(ui_font(points, bold=bold))
        height = self.painter.fontMetrics().height() * 1.3
        self.painter.setPen(QColor("black"))
        self.painter.drawText(
            QRectF(0, self.y, self.width, height),
            int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
            line,
        )
        self.y += height

    def _cell_rect(self, column: int, top: float, height: float) -> QRectF:
        return QRectF(self.lefts[column], top, SHARES[column] * self.width, height)

    def _flags(self, column: int) -> int:
        if column in TEXT_COLUMNS:
            return int(
                Qt.AlignmentFlag.AlignLeft
                | Qt.AlignmentFlag.AlignVCenter
                | Qt.TextFlag.TextWrapAnywhere
            )
        return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

    def _height(self, cells: list[str]) -> float:
        metrics = self.painter.fontMetrics()
        tallest = float(metrics.height())
        for column, text in enumerate(cells):
            if column in TEXT_COLUMNS and text:
                inner = self._cell_rect(column, 0, 1e6).adjusted(PAD, 0, -PAD, 0)
                tallest = max(
                    tallest,
                    metrics.boundingRect(inner.toRect(), self._flags(column), text).height(),
                )
        return tallest + 2 * PAD

    def row(self, values: list[Any], *, bold: bool = False, header: bool = False) -> None:
        self.painter.setFont(ui_font(8, bold=bold or header))
        cells = ["" if v is None else str(v) for v in values]
        height = self._height(cells)
        if not header and self.y + height > self.bottom:
            self.writer.newPage()
            self.pages += 1
            self.y = 0.0
            self.row(self.header, header=True)
            self.painter.setFont(ui_font(8, bold=bold))
        if header:
            self.painter.fillRect(QRectF(0, self.y, self.width, height), HEADER_FILL)
        self.painter.setPen(QColor("black"))
        for column, text in enumerate(cells):
            rect = self._cell_rect(column, self.y, height).adjusted(PAD, 0, -PAD, 0)
            flags = self._flags(column)
            if header:
                flags = int(
                    Qt.AlignmentFlag.AlignCenter
                    | Qt.AlignmentFlag.AlignVCenter
                    | Qt.TextFlag.TextWordWrap
                )
            self.painter.drawText(rect, flags, text)
        self.painter.setPen(QPen(GRID, 2))
        for column in range(len(SHARES)):
            self.painter.drawRect(self._cell_rect(column, self.y, height))
        self.y += height


def write_hub_report_pdf(report: DailyReport, out: Path, *, lang: str) -> int:
    """Write the report as a landscape A4 PDF; returns the number of pages."""
    title, subtitle = title_lines(report, lang)
    header = headings(lang)
    margins = QMarginsF(12, 12, 12, 12)
    with a4_pdf(out, title=title, dpi=DPI, margins_mm=margins, landscape=True) as (
        writer,
        painter,
    ):
        table = _Table(writer, painter, header)
        table.text(title, 16, bold=True)
        table.text(subtitle, 10)
        table.y += 0.05 * DPI
        table.row(header, header=True)
        rows = list(table_rows(report, lang))
        for index, values in enumerate(rows):
            table.row(values, bold=index == len(rows) - 1)  # the last: the totals
        return table.pages
