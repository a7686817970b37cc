"""The camera preview: pulls the newest frame at its own pace and draws it mirrored.

Mirrored for the person in front of the camera (as in a mirror); decoding works on the
unmirrored frame. The outline of the last code found is drawn (mirrored too) for half
a second. The frame is converted to a QImage once per new frame, never per paint.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPaintEvent, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

from kiosk.core.i18n import tr
from kiosk.ui.theme import ui_font
from kiosk.ui.worker import Outline
from kiosk.vision.sources import Frame

OUTLINE_S = 0.5
FPS = 20


def to_qimage(image: np.ndarray) -> QImage:
    """A BGR (or grey) numpy picture as a QImage that owns its pixels."""
    array = np.ascontiguousarray(image)
    height, width = array.shape[:2]
    fmt = QImage.Format.Format_Grayscale8 if array.ndim == 2 else QImage.Format.Format_BGR888
    return QImage(array.data, width, height, array.strides[0], fmt).copy()


class Preview(QWidget):
    firstFramePainted = Signal(float)  # time.monotonic() of the first painted frame

    def __init__(self, latest: Callable[[], Frame | None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("preview")
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(320, 240)
        self._latest = latest
        self._image: QImage | None = None
        self._index = -1
        self._outline: Outline | None = None
        self.first_paint_at: float | None = None
        self.frames_shown = 0
        self.notice = ""  # shown instead of the picture (no camera)
        self._timer = QTimer(self)
        self._timer.setInterval(1000 // FPS)
        self._timer.timeout.connect(self._pull)
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def set_notice(self, text: str) -> None:
        """Show ``text`` instead of the picture (no camera); "" shows the camera again."""
        self.notice = text
        if text:
            self._image = None  # never a stale picture under "no camera"
        self.update()

    def show_outline(self, outline: Outline) -> None:
        self._outline = outline
        self.update()

    def _pull(self) -> None:
        frame = self._latest()
        if self.notice:
            return
        if frame is None or (frame.index == self._index and self._image is not None):
            if self._outline is not None and time.monotonic() - self._outline.at > OUTLINE_S:
                self._outline = None
                self.update()
            return
        self._index = frame.index
        self._image = to_qimage(frame.image).flipped(Qt.Orientation.Horizontal)
        self.frames_shown += 1
        self.update()

    def _target(self, image: QImage) -> QRectF:
        scale = min(self.width() / image.width(), self.height() / image.height())
        w, h = image.width() * scale, image.height() * scale
        return QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#000000"))
        image = self._image
        if image is None:
            painter.setPen(QColor("#cfd8e3"))
            painter.setFont(ui_font(16))
            painter.drawText(
                self.rect(),
                Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                self.notice or tr("Starting the camera..."),
            )
            painter.end()
            return
        target = self._target(image)
        painter.drawImage(target, image)
        outline = self._outline
        if outline is not None and time.monotonic() - outline.at <= OUTLINE_S:
            sx, sy = target.width() / outline.width, target.height() / outline.height
            pen = QPen(QColor("#00e676"), 4)
            painter.setPen(pen)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            for quad in outline.quads:
                points = [
                    QPointF(target.left() + (outline.width - x) * sx, target.top() + y * sy)
                    for x, y in quad
                ]
                painter.drawPolygon(QPolygonF(points))
        painter.end()
        if self.first_paint_at is None:
            self.first_paint_at = time.monotonic()
            self.firstFramePainted.emit(self.first_paint_at)
