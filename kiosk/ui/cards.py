"""Printable pass cards: wallet-size (ID-1, 85.6 x 54 mm), eight to an A4 page, as PDF.

Drawn with Qt's vector PDF writer: the QR modules are exact rectangles (crisp at any
printer resolution) and the Chinese text is embedded in the PDF.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import segno
from PySide6.QtCore import QRectF, QSizeF, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QPainter,
    QPen,
)

from kiosk.core.errors import EnvironmentFault
from kiosk.core.i18n import N_, tr, tr_in
from kiosk.ui.pdf import a4_pdf
from kiosk.ui.theme import FONT_FAMILIES

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


def _mm(value: float) -> float:
    return value / 25.4 * DPI


def _font(size_pt: float, bold: bool = False) -> QFont:
    font = QFont()
    font.setFamilies(FONT_FAMILIES)
    font.setPointSizeF(size_pt)
    font.setBold(bold)
    return font


def _draw_qr(painter: QPainter, token: str, rect: QRectF) -> None:
    qr = segno.make_qr(token, error="m", boost_error=False)
    rows = [list(row) for row in qr.matrix_iter(scale=1, border=4)]
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


def _draw_card(painter: QPainter, card: Card, box: QRectF, compound: str, lang: str) -> None:
    painter.setPen(QPen(QColor("#9a9a9a"), _mm(0.2), Qt.PenStyle.DashLine))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawRoundedRect(box, _mm(3), _mm(3))  # the cutting line
    pad = _mm(3)
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
        (compound, _font(7, bold=True)),
        (tr_in(lang, _kind_title(card.kind)), _font(10, bold=True)),
        (card.holder, _font(13, bold=True)),
        (card.address, _font(8)),
        (tr_in(lang, "Valid until {end}", end=card.valid_until), _font(7)),
        (tr_in(lang, "No. {serial}", serial=card.serial), _font(6)),
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


def write_cards_pdf(cards: Sequence[Card], out: Path, *, compound: str, lang: str = "zh_CN") -> int:
    """Write the cards to ``out`` (A4, 2 x 4 per page). Returns the number of pages."""
    if not cards:
        raise EnvironmentFault(tr("There are no active passes to print."))
    with a4_pdf(out, title=tr_in(lang, "Pass cards"), dpi=DPI) as (writer, painter):
        page = writer.pageLayout().fullRectPixels(DPI)
        block = QSizeF(
            _mm(COLUMNS * CARD_W_MM + (COLUMNS - 1) * GAP_MM),
            _mm(ROWS * CARD_H_MM + (ROWS - 1) * GAP_MM),
        )
        left = (page.width() - block.width()) / 2
        top = (page.height() - block.height()) / 2
        per_page = COLUMNS * ROWS
        for index, card in enumerate(cards):
            if index and index % per_page == 0:
                writer.newPage()
            slot = index % per_page
            col, row = slot % COLUMNS, slot // COLUMNS
            box = QRectF(
                left + _mm(col * (CARD_W_MM + GAP_MM)),
                top + _mm(row * (CARD_H_MM + GAP_MM)),
                _mm(CARD_W_MM),
                _mm(CARD_H_MM),
            )
            _draw_card(painter, card, box, compound, lang)
    return (len(cards) + per_page - 1) // per_page
