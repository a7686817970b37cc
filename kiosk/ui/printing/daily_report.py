"""The daily report for the street office: one or two A4 pages, drawn with Qt's PDF
writer (text embedded in a CJK font), with the passages per hour as a bar chart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QMarginsF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPdfWriter, QPen

from kiosk.core.i18n import tr_in, trn
from kiosk.core.rules import reason_label
from kiosk.store.stats import DailySummary
from kiosk.ui.printing.pdf import a4_pdf
from kiosk.ui.theme import ui_font

DPI = 300
IN_COLOUR, OUT_COLOUR = QColor("#1b6fb5"), QColor("#e08a1e")


class _Page:
    """A cursor down an A4 page; starts a new page when the next block will not fit."""

    def __init__(self, writer: QPdfWriter, painter: QPainter) -> None:
        self.writer, self.painter = writer, painter
        rect = writer.pageLayout().paintRectPixels(DPI)
        # The painter's origin is already inside the margins (see kiosk.ui.printing.pdf.a4_pdf).
        self.left, self.top = 0.0, 0.0
        self.width, self.bottom = rect.width(), rect.height()
        self.y = float(self.top)
        self.pages = 1

    def need(self, height: float) -> None:
        if self.y + height > self.bottom:
            self.writer.newPage()
            self.pages += 1
            self.y = float(self.top)

    def text(self, line: str, points: float = 10, bold: bool = False) -> None:
        self.painter.setFont(ui_font(points, bold=bold))
        height = self.painter.fontMetrics().height() * 1.25
        self.need(height)
        self.painter.setPen(QColor("black"))
        self.painter.drawText(
            QRectF(self.left, self.y, self.width, height),
            int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
            line,
        )
        self.y += height

    def lines_fit(self, points: float, *, pages: int, reserve: int) -> int:
        """How many lines of ``points`` fit from here to the end of page ``pages``,
        keeping ``reserve`` lines free."""
        self.painter.setFont(ui_font(points))
        height = self.painter.fontMetrics().height() * 1.25
        here = int((self.bottom - self.y) // height)
        per_page = int((self.bottom - self.top) // height)
        return max(0, here + per_page * max(0, pages - self.pages) - reserve)

    def gap(self, points: float = 6) -> None:
        self.y += points / 72 * DPI


def _chart(page: _Page, summary: DailySummary, lang: str) -> None:
    """Passages per hour: two bars an hour (in, out), hours 0-23 along the bottom."""
    painter = page.painter
    height = 2.2 * DPI
    page.need(height + DPI * 0.5)
    top, left, width = page.y, page.left + DPI * 0.35, page.width - DPI * 0.35
    peak = max([1, *summary.hourly_in, *summary.hourly_out])
    slot = width / 24
    painter.setFont(ui_font(7))
    painter.setPen(QPen(QColor("#888888"), 2))
    painter.drawLine(int(left), int(top + height), int(left + width), int(top + height))
    painter.drawText(
        QRectF(page.left, top - 20, DPI * 0.33, 60), int(Qt.AlignmentFlag.AlignRight), str(peak)
    )
    for hour in range(24):
        x = left + hour * slot
        for k, (value, colour) in enumerate(
            ((summary.hourly_in[hour], IN_COLOUR), (summary.hourly_out[hour], OUT_COLOUR))
        ):
            bar = height * value / peak
            painter.fillRect(
                QRectF(x + slot * (0.1 + 0.4 * k), top + height - bar, slot * 0.38, bar), colour
            )
        if hour % 3 == 0:
            painter.setPen(QColor("black"))
            painter.drawText(
                QRectF(x, top + height + 8, slot * 3, 70),
                int(Qt.AlignmentFlag.AlignLeft),
                f"{hour:02d}:00",
            )
    legend_y = top + height + 90
    for k, (label, colour) in enumerate(
        ((tr_in(lang, "In"), IN_COLOUR), (tr_in(lang, "Out"), OUT_COLOUR))
    ):
        x = left + k * DPI * 0.8
        painter.fillRect(QRectF(x, legend_y + 10, 40, 40), colour)
        painter.setPen(QColor("black"))
        painter.drawText(
            QRectF(x + 55, legend_y, DPI * 0.6, 60), int(Qt.AlignmentFlag.AlignVCenter), label
        )
    page.y = legend_y + 80


MAX_PAGES = 2  # the street office asked for one or two pages


def _listed(notable: list[dict[str, Any]], room: int) -> list[dict[str, Any]]:
    """The stops and fevers that fit in ``room`` lines: every fever first (they are
    what the street office acts on), then the stops, shown in time order."""
    if len(notable) <= room:
        return notable
    fevers = [r for r in notable if r["reason"] == "fever"][:room]
    stops = [r for r in notable if r["reason"] != "fever"][: room - len(fevers)]
    return sorted(fevers + stops, key=lambda r: str(r["time"]))


def report_written(pages: int, out: Path) -> str:
    """What the clerk reads once the report is written (the CLI and the office)."""
    return trn(
        "Wrote the report ({pages} page) to {path}.",
        "Wrote the report ({pages} pages) to {path}.",
        pages,
        pages=pages,
        path=out,
    )


def write_daily_pdf(summary: DailySummary, out: Path, *, lang: str = "zh_CN") -> int:
    """Write the report (at most :data:`MAX_PAGES` pages, unless the counts alone
    overflow); returns the number of pages. When the stops and fevers do not all fit,
    the fevers are kept, and a line says how many more the visit log export holds."""
    margins = QMarginsF(18, 16, 18, 16)
    title = tr_in(lang, "Daily gate report")
    with a4_pdf(out, title=title, dpi=DPI, margins_mm=margins) as (writer, painter):
        page = _Page(writer, painter)

        page.text(tr_in(lang, "Daily gate report"), 18, bold=True)
        page.text(f"{summary.checkpoint}    {summary.day.isoformat()}", 12)
        page.gap(8)
        page.text(
            tr_in(
                lang,
                "In: {n_in}    Out: {n_out}    (residents {res}, visitors {vis})",
                n_in=summary.passed_in,
                n_out=summary.passed_out,
                res=summary.residents,
                vis=summary.visitors,
            ),
            11,
            bold=True,
        )
        page.text(
            tr_in(
                lang,
                "Checks: {checks}    Stopped: {denied}",
                checks=summary.checks,
                denied=sum(summary.denials.values()),
            ),
            11,
        )
        page.gap(10)
        page.text(tr_in(lang, "Passages per hour"), 12, bold=True)
        page.gap(4)
        _chart(page, summary, lang)
        page.gap(10)
        page.text(tr_in(lang, "Stopped, by reason"), 12, bold=True)
        if not summary.denials:
            page.text(tr_in(lang, "None."), 10)
        for reason, count in sorted(summary.denials.items(), key=lambda kv: -kv[1]):
            page.text(f"  {reason_label(reason, lang)}: {count}", 10)
        page.gap(10)
        page.text(tr_in(lang, "Stops and fevers"), 12, bold=True)
        if not summary.notable:
            page.text(tr_in(lang, "None."), 10)
        listed = _listed(summary.notable, page.lines_fit(9, pages=MAX_PAGES, reserve=4))
        for row in listed:
            temp = f"  {row['temperature']:.1f} °C" if row["temperature"] is not None else ""
            page.text(
                f"  {row['time']}  {reason_label(row['reason'], lang)}  {row['name']}  "
                f"{row['household']}  {row['id_number']}{temp}",
                9,
            )
        if len(listed) < len(summary.notable):
            page.text(
                tr_in(
                    lang,
                    "... and {count} more; the visit log export lists them all.",
                    count=len(summary.notable) - len(listed),
                ),
                9,
            )
        page.gap(10)
        page.text(
            tr_in(lang, "Guards on duty: {names}", names="、".join(summary.guards) or "-"), 10
        )
        return page.pages
