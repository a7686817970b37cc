"""Printable pass cards: wallet-size (ID-1, 85.6 x 54 mm), eight to an A4 page, as PDF
or on a printer.

One painting function (:func:`paint_cards`) draws onto any paged device: Qt's vector
PDF writer (:func:`write_cards_pdf`) or a printer (:func:`print_cards`). The QR
modules are exact rectangles (crisp at any printer resolution) and the Chinese text is
embedded in the PDF.

None of this touches a widget, so it runs on any thread (QPainter on a QPdfWriter or a
QPrinter, QFont and text layout are thread-safe in Qt 6): the office draws on its jobs
thread, as a :class:`~kiosk.ui.ops.LongOp` whose ``progress`` hears after each page
and may stop it there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QRectF, QSizeF, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QPagedPaintDevice,
    QPainter,
    QPen,
)
from PySide6.QtPrintSupport import QPrinter

from kiosk.core.clock import from_db
from kiosk.core.errors import EnvironmentFault
from kiosk.core.i18n import N_, tr, tr_in
from kiosk.core.passes import QR_BORDER, qr_code
from kiosk.core.progress import Cancelled, Progress
from kiosk.store.passes import household_address_zh
from kiosk.store.register import household_label
from kiosk.ui.printing.pdf import a4_pdf
from kiosk.ui.theme import ui_font

CARD_W_MM = 85.6
CARD_H_MM = 54.0
COLUMNS, ROWS = 2, 4
GAP_MM = 6.0
DPI = 600


@dataclass(frozen=True)
class Card:
    token: str
    serial: str
    holder: str
    address: str
    kind: str  # resident | staff | visitor
    valid_from: str  # already formatted local dates
    valid_until: str


def _mm(value: float, dpi: float = DPI) -> float:
    return value / 25.4 * dpi


def _draw_qr(painter: QPainter, token: str, rect: QRectF) -> None:
    rows = [list(row) for row in qr_code(token).matrix_iter(scale=1, border=QR_BORDER)]
    module = rect.width() / len(rows)
    painter.fillRect(rect, Qt.GlobalColor.white)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(Qt.GlobalColor.black)
    for y, row in enumerate(rows):
        x = 0
        while x < len(row):  # draw runs of dark modules as one rectangle each
            if row[x]:
                start = x
                while x < len(row) and row[x]:
                    x += 1
                painter.drawRect(
                    QRectF(
                        rect.x() + start * module,
                        rect.y() + y * module,
                        (x - start) * module + 0.5,
                        module + 0.5,
                    )
                )
            else:
                x += 1


_KIND_TITLES = {
    "resident": N_("Resident pass"),
    "staff": N_("Staff pass"),
    "visitor": N_("Visitor code"),
}


def _draw_card(
    painter: QPainter, card: Card, box: QRectF, compound: str, lang: str, dpi: float = DPI
) -> None:
    painter.setPen(QPen(QColor("#9a9a9a"), _mm(0.2, dpi), Qt.PenStyle.DashLine))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawRoundedRect(box, _mm(3, dpi), _mm(3, dpi))  # the cutting line
    pad = _mm(3, dpi)
    qr_side = box.height() - 2 * pad
    _draw_qr(painter, card.token, QRectF(box.x() + pad, box.y() + pad, qr_side, qr_side))
    text = QRectF(
        box.x() + pad * 2 + qr_side,
        box.y() + pad,
        box.width() - qr_side - 3 * pad,
        box.height() - 2 * pad,
    )
    painter.setPen(QColor("black"))
    lines: list[tuple[str, QFont]] = [
        (compound, ui_font(7, bold=True)),
        (tr_in(lang, _kind_title(card.kind)), ui_font(10, bold=True)),
        (card.holder, ui_font(13, bold=True)),
        (card.address, ui_font(8)),
        (tr_in(lang, "Valid until {end}", end=card.valid_until), ui_font(7)),
        (tr_in(lang, "No. {serial}", serial=card.serial), ui_font(6)),
    ]
    y = text.y()
    for line, font in lines:
        if not line:
            continue
        painter.setFont(font)
        height = painter.fontMetrics().height() * 1.15
        elided = painter.fontMetrics().elidedText(
            line, Qt.TextElideMode.ElideRight, int(text.width())
        )
        painter.drawText(
            QRectF(text.x(), y, text.width(), height),
            int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
            elided,
        )
        y += height


def _kind_title(kind: str) -> str:
    return _KIND_TITLES.get(kind, _KIND_TITLES["resident"])


def card_from_pass(row: Mapping[str, Any], lang: str = "zh_CN") -> Card:
    """The card of a pass row (as :func:`kiosk.store.passes.search_passes` returns it)."""

    def day(text: str | None) -> str:
        return from_db(text).astimezone().strftime("%Y-%m-%d") if text else ""

    building, unit, room = row.get("building"), row.get("unit"), row.get("room")
    return Card(
        token=row["token"],
        serial=row["serial"],
        holder=row.get("holder") or "",
        address=household_address_zh(building, unit, room)
        if lang == "zh_CN"
        else household_label(building, unit, room),
        kind=row["kind"],
        valid_from=day(row.get("valid_from")),
        valid_until=day(row.get("valid_until")),
    )


def paint_cards(
    painter: QPainter,
    device: QPagedPaintDevice,
    cards: Sequence[Card],
    *,
    compound: str,
    lang: str = "zh_CN",
    progress: Progress | None = None,
) -> int:
    """Paint the cards, 2 x 4 to a page, centred on each page of ``device`` (a
    :class:`QPdfWriter` or a :class:`QPrinter` set to the full page), with ``painter``
    already begun on it. Returns the number of pages. ``progress`` hears after each
    page (cards done of all), and may stop the painting there."""
    if not cards:
        raise EnvironmentFault(tr("There are no active passes to print."))
    dpi = device.logicalDpiX()
    page = device.pageLayout().fullRectPixels(dpi)
    block = QSizeF(
        _mm(COLUMNS * CARD_W_MM + (COLUMNS - 1) * GAP_MM, dpi),
        _mm(ROWS * CARD_H_MM + (ROWS - 1) * GAP_MM, dpi),
    )
    left = (page.width() - block.width()) / 2
    top = (page.height() - block.height()) / 2
    per_page = COLUMNS * ROWS
    if progress is not None:
        progress.update(0, len(cards))
    for index, card in enumerate(cards):
        if index and index % per_page == 0:
            if progress is not None:
                progress.update(index, len(cards))
            device.newPage()
        slot = index % per_page
        col, row = slot % COLUMNS, slot // COLUMNS
        box = QRectF(
            left + _mm(col * (CARD_W_MM + GAP_MM), dpi),
            top + _mm(row * (CARD_H_MM + GAP_MM), dpi),
            _mm(CARD_W_MM, dpi),
            _mm(CARD_H_MM, dpi),
        )
        _draw_card(painter, card, box, compound, lang, dpi)
    return (len(cards) + per_page - 1) // per_page


def print_cards(
    printer: QPrinter,
    cards: Sequence[Card],
    *,
    compound: str,
    lang: str = "zh_CN",
    progress: Progress | None = None,
) -> int:
    """Print the cards on ``printer`` (as the print dialog left it: a printer, or a
    PDF file). Returns the number of pages. Stopped by ``progress``, the print job is
    aborted (nothing reaches the printer)."""
    if not cards:
        raise EnvironmentFault(tr("There are no active passes to print."))
    printer.setFullPage(True)  # the cards are placed on the paper, not the margins
    printer.setDocName(tr_in(lang, "Pass cards"))
    painter = QPainter()
    if not painter.begin(printer):
        raise EnvironmentFault(tr("The printer could not be started."))
    try:
        return paint_cards(painter, printer, cards, compound=compound, lang=lang, progress=progress)
    except Cancelled:
        printer.abort()
        raise
    finally:
        painter.end()


def write_cards_pdf(
    cards: Sequence[Card],
    out: Path,
    *,
    compound: str,
    lang: str = "zh_CN",
    progress: Progress | None = None,
) -> int:
    """Write the cards to ``out`` (A4, 2 x 4 per page). Returns the number of pages.
    Stopped by ``progress``, no file is left."""
    if not cards:
        raise EnvironmentFault(tr("There are no active passes to print."))
    try:
        with a4_pdf(out, title=tr_in(lang, "Pass cards"), dpi=DPI) as (writer, painter):
            return paint_cards(
                painter, writer, cards, compound=compound, lang=lang, progress=progress
            )
    except Cancelled:
        out.unlink(missing_ok=True)
        raise
