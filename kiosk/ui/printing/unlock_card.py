"""The unlock card: one A4 page with the database key as a QR code, printed at ``init``.

The gate's camera or a USB scanner reads it when the computer keeps no key of its own
(see :mod:`kiosk.store.db_key`). The page says what it is and how to keep it; the key
is also printed as text, in groups, for typing when no scanner works.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QMarginsF, QRectF, Qt
from PySide6.QtGui import QFont

from kiosk.core.i18n import tr
from kiosk.ui.printing.cards import _draw_qr
from kiosk.ui.printing.pdf import a4_pdf

DPI = 300


def _mm(value: float) -> float:
    return value / 25.4 * DPI


def write_unlock_card_pdf(text: str, out: Path, *, checkpoint: str, made: datetime) -> None:
    """Write the unlock card for the key whose card text is ``text`` to ``out``."""
    title = tr("Gatepass unlock card")
    with a4_pdf(out, title=title, dpi=DPI, margins_mm=QMarginsF(20, 20, 20, 20)) as (_w, p):
        width = _mm(170)
        p.setPen(Qt.GlobalColor.black)
        font = QFont()
        font.setPixelSize(round(_mm(8)))
        font.setBold(True)
        p.setFont(font)
        p.drawText(QRectF(0, 0, width, _mm(12)), Qt.AlignmentFlag.AlignLeft, title)
        font.setBold(False)
        font.setPixelSize(round(_mm(4.5)))
        p.setFont(font)
        about = tr(
            "Checkpoint: {name}\nMade: {made}\n\nThis card opens the checkpoint's encrypted "
            "database when the computer does not keep its key. Scan it with the gate's "
            "camera or a USB scanner when Gatepass asks for it.\n\nKeep it locked away, "
            "never with the laptop: whoever holds both can read every record.",
            name=checkpoint or "-",
            made=f"{made.astimezone():%Y-%m-%d %H:%M}",
        )
        p.drawText(
            QRectF(0, _mm(16), width, _mm(60)),
            int(Qt.AlignmentFlag.AlignLeft | Qt.TextFlag.TextWordWrap),
            about,
        )
        side = _mm(90)
        _draw_qr(p, text, QRectF((width - side) / 2, _mm(80), side, side))
        p.setPen(Qt.GlobalColor.black)  # the QR code leaves no pen
        font.setFamily("monospace")
        font.setPixelSize(round(_mm(3.4)))
        p.setFont(font)
        prefix, _, body = text.partition(":")
        groups = prefix + ": " + " ".join(body[i : i + 4] for i in range(0, len(body), 4))
        p.drawText(
            QRectF(0, _mm(180), width, _mm(20)),
            int(Qt.AlignmentFlag.AlignHCenter | Qt.TextFlag.TextWordWrap),
            groups,
        )
