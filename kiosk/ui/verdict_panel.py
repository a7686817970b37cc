"""The verdict panel: what the guard sees from two metres, in colour, shape and words.

PASS: green, a circle with a tick. CHECK: amber, a triangle with "!". STOP: red, an
octagon with a cross. The headline is huge; under it the reason in plain words, the
holder (name, household, masked ID) to compare with the face, and what to do next.
The panel clears itself after a few seconds (STOP stays longer).
"""

from __future__ import annotations

import math
import time
from collections import deque

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QPainter,
    QPaintEvent,
    QPen,
    QPixmap,
    QPolygonF,
    QResizeEvent,
)
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from kiosk.core.i18n import N_, tr, tr_in
from kiosk.core.rules import Direction, Level, Todo, Verdict
from kiosk.gate import Decision
from kiosk.ui.theme import IDLE_COLOURS, LEVEL_COLOURS, ui_font

CLEAR_AFTER_MS = {Level.PASS: 4000, Level.CHECK: 6000, Level.DENY: 8000}


def headline(level: Level) -> str:
    return {Level.PASS: tr("PASS"), Level.CHECK: tr("CHECK"), Level.DENY: tr("STOP")}[level]


def direction_text(direction: Direction) -> str:
    return tr("IN") if direction is Direction.IN else tr("OUT")


def todo_text(todo: Todo) -> str:
    return {
        Todo.TAKE_TEMPERATURE: tr("Take the temperature"),
        Todo.MEASURE_AGAIN: tr("Measure again"),
        Todo.REGISTER: tr("Register the person"),
        Todo.CHECK_FACE: tr("Compare the face"),
        Todo.ALERT: tr("Alert the medical team"),
        Todo.KEEP_INSIDE: tr("Do not let them out; call the committee"),
        Todo.KEEP_CARD: tr("Keep the card (or photograph it); ask them to contact the committee"),
        Todo.TELL_COMMITTEE: tr("Tell the committee they came home"),
        Todo.SEE_COMMITTEE: tr("Ask them to contact the committee"),
        Todo.ASK_ID: tr("Ask for their ID card and call the committee"),
    }[todo]


TODO_ORDER = (
    Todo.ALERT,
    Todo.KEEP_INSIDE,
    Todo.KEEP_CARD,
    Todo.MEASURE_AGAIN,
    Todo.TAKE_TEMPERATURE,
    Todo.REGISTER,
    Todo.ASK_ID,
    Todo.TELL_COMMITTEE,
    Todo.SEE_COMMITTEE,
    Todo.CHECK_FACE,
)


def draw_level_icon(painter: QPainter, rect: QRectF, level: Level, fg: QColor) -> None:
    """Circle + tick (pass), triangle + "!" (check), octagon + cross (stop)."""
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    side = min(rect.width(), rect.height())
    c = rect.center()
    r = side / 2 * 0.95
    bg = QColor(LEVEL_COLOURS[level][0])
    painter.setPen(QPen(fg, max(2.0, side * 0.05)))
    painter.setBrush(bg)
    stroke = QPen(fg, max(3.0, side * 0.11), Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap)
    stroke.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    if level is Level.PASS:
        painter.drawEllipse(c, r, r)
        painter.setPen(stroke)
        painter.drawPolyline(
            QPolygonF(
                [
                    QPointF(c.x() - r * 0.45, c.y() + r * 0.02),
                    QPointF(c.x() - r * 0.12, c.y() + r * 0.35),
                    QPointF(c.x() + r * 0.48, c.y() - r * 0.35),
                ]
            )
        )
    elif level is Level.CHECK:
        h = r * math.sqrt(3)
        top = QPointF(c.x(), c.y() - r)
        painter.drawPolygon(
            QPolygonF(
                [
                    top,
                    QPointF(c.x() - h * 0.58, c.y() + r * 0.75),
                    QPointF(c.x() + h * 0.58, c.y() + r * 0.75),
                ]
            )
        )
        painter.setPen(stroke)
        painter.drawLine(QPointF(c.x(), c.y() - r * 0.4), QPointF(c.x(), c.y() + r * 0.2))
        painter.drawPoint(QPointF(c.x(), c.y() + r * 0.5))
    else:
        points = [
            QPointF(
                c.x() + r * math.cos(math.radians(22.5 + 45 * i)),
                c.y() + r * math.sin(math.radians(22.5 + 45 * i)),
            )
            for i in range(8)
        ]
        painter.drawPolygon(QPolygonF(points))
        painter.setPen(stroke)
        d = r * 0.38
        painter.drawLine(QPointF(c.x() - d, c.y() - d), QPointF(c.x() + d, c.y() + d))
        painter.drawLine(QPointF(c.x() - d, c.y() + d), QPointF(c.x() + d, c.y() - d))
    painter.restore()


def level_pixmap(level: Level, size: int) -> QPixmap:
    """A small icon of the level (for lists): the shape on a transparent ground."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    draw_level_icon(painter, QRectF(0, 0, size, size), level, QColor(LEVEL_COLOURS[level][1]))
    painter.end()
    return pixmap


class LevelIcon(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.level: Level | None = None
        self.setFixedSize(210, 210)

    def set_level(self, level: Level | None) -> None:
        self.level = level
        self.setVisible(level is not None)
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        if self.level is None:
            return
        painter = QPainter(self)
        fg = QColor(LEVEL_COLOURS[self.level][1])
        draw_level_icon(painter, QRectF(self.rect()).adjusted(4, 4, -4, -4), self.level, fg)
        painter.end()


def _label(point_size: float, *, bold: bool = False, wrap: bool = True) -> QLabel:
    label = QLabel()
    label.setFont(ui_font(point_size, bold=bold))
    label.setWordWrap(wrap)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
    return label


class VerdictPanel(QFrame):
    """Shows one decision at a time; ``shown`` records every level shown (tests)."""

    levelShown = Signal(str)  # Level value
    verdictPainted = Signal(object, float)  # Decision, time.monotonic() when painted

    def __init__(self, parent: QWidget | None = None, *, theme: str = "day") -> None:
        super().__init__(parent)
        self.setObjectName("verdictPanel")
        self.setAutoFillBackground(True)
        self.theme = theme
        self.camera_ok = True
        self.shown: deque[Level] = deque(maxlen=100)
        self.decision: Decision | None = None
        self._unpainted: Decision | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.clear)

        self.icon = LevelIcon()
        self.title = _label(104, bold=True, wrap=False)
        self.direction = _label(36, bold=True, wrap=False)
        self.message = _label(32, bold=True)
        self.holder = _label(26)
        self.todo = _label(28, bold=True)
        self.todo.setObjectName("todo")
        self.idle_en = _label(34, bold=True)
        self.idle_zh = _label(34, bold=True)
        for label in (self.idle_en, self.idle_zh):
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)

        self._base_fonts = {
            label: (label.font().pointSizeF(), label.font().bold())
            for label in (
                self.title,
                self.direction,
                self.message,
                self.holder,
                self.todo,
                self.idle_en,
                self.idle_zh,
            )
        }
        self._scale = 1.0

        top = QHBoxLayout()
        top.setSpacing(24)
        top.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignVCenter)
        heads = QVBoxLayout()
        heads.setSpacing(0)
        heads.addWidget(self.title)
        heads.addWidget(self.direction)
        top.addLayout(heads, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(28, 20, 28, 20)
        layout.setSpacing(10)
        layout.addLayout(top)
        layout.addWidget(self.message)
        layout.addWidget(self.holder)
        layout.addWidget(self.todo)
        layout.addStretch(1)
        layout.addWidget(self.idle_en)
        layout.addWidget(self.idle_zh)
        layout.addStretch(1)
        self.clear()

    # ------------------------------------------------------------ showing

    def _colours(self, bg: str, fg: str) -> None:
        band = "rgba(255, 255, 255, 0.55)" if fg == "#000000" else "rgba(0, 0, 0, 0.30)"
        self.setStyleSheet(
            f"QFrame#verdictPanel {{ background: {bg}; border-radius: 12px; }}"
            f" QFrame#verdictPanel QLabel {{ color: {fg}; background: transparent; }}"
            f" QFrame#verdictPanel QLabel#todo {{ background: {band}; border-radius: 8px;"
            " padding: 6px 14px; }"
        )

    def clear(self) -> None:
        """Back to the idle prompt."""
        self._timer.stop()
        self.decision = None
        self._colours(*IDLE_COLOURS.get(self.theme, IDLE_COLOURS["day"]))
        self.icon.set_level(None)
        for label in (self.title, self.direction, self.message, self.holder, self.todo):
            label.setText("")
            label.hide()
        prompt = (
            N_("Show your pass to the camera")
            if self.camera_ok
            else N_("Scan your pass with the handheld scanner")
        )
        self.idle_en.setText(tr_in("en", prompt))
        self.idle_zh.setText(tr_in("zh_CN", prompt))
        self.idle_en.show()
        self.idle_zh.show()

    def set_camera(self, ok: bool) -> None:
        """Without a camera the idle prompt asks for the handheld scanner."""
        self.camera_ok = ok
        if self.decision is None:
            self.clear()

    def set_theme(self, theme: str) -> None:
        self.theme = theme
        if self.decision is None:
            self.clear()

    def show_decision(self, decision: Decision) -> None:
        verdict = decision.verdict
        level = verdict.level
        self.decision = decision
        self._unpainted = decision
        self._colours(*LEVEL_COLOURS[level])
        self.idle_en.hide()
        self.idle_zh.hide()
        self.icon.set_level(level)
        self.title.setText(headline(level))
        self.direction.setText(
            tr("Direction: {direction}", direction=direction_text(verdict.direction))
        )
        self.message.setText(verdict.message())
        self.holder.setText(holder_text(verdict))
        todos = [todo_text(t) for t in TODO_ORDER if t in verdict.todo]
        self.todo.setText("➜ " + " · ".join(todos) if todos else "")
        for label in (self.title, self.direction, self.message, self.holder, self.todo):
            label.setVisible(bool(label.text()))
        self.shown.append(level)
        self.levelShown.emit(level.value)
        self._timer.start(CLEAR_AFTER_MS[level])
        self.update()

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Bigger type on bigger screens: 1.0 at 1366x768, about 1.4 at 1920x1080."""
        super().resizeEvent(event)
        scale = max(0.7, min(1.6, min(self.height() / 580, self.width() / 800)))
        if abs(scale - self._scale) < 0.05:
            return
        self._scale = scale
        for label, (size, bold) in self._base_fonts.items():
            label.setFont(ui_font(size * scale, bold=bold))
        side = round(210 * scale)
        self.icon.setFixedSize(side, side)

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if self._unpainted is not None:
            decision, self._unpainted = self._unpainted, None
            self.verdictPainted.emit(decision, time.monotonic())


def holder_text(verdict: Verdict) -> str:
    holder = verdict.holder
    if holder is None:
        return tr("Not on the register")
    parts = [holder.name]
    if holder.household:
        parts.append(tr("Household {label}", label=holder.household))
    if holder.id_number_masked:
        parts.append(tr("ID {number}", number=holder.id_number_masked))
    # wrap between the parts, never inside one ("ID" apart from its number)
    return "   ".join(part.replace(" ", "\u00a0") for part in parts)


class VerdictStrip(QFrame):
    """The verdict on a band across the top of a dialog that covers the panel (the
    guard registering a visitor when someone else scans): the same colour, icon,
    headline, reason and holder, cleared after the same time as the panel."""

    def __init__(self, host: QWidget) -> None:
        super().__init__(host)
        self.setObjectName("verdictStrip")
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.icon = LevelIcon()
        self.icon.setFixedSize(56, 56)
        self.title = _label(22, bold=True, wrap=False)
        self.text = _label(13)
        row = QHBoxLayout(self)
        row.setContentsMargins(12, 6, 12, 6)
        row.addWidget(self.icon)
        row.addWidget(self.title)
        row.addWidget(self.text, 1)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.hide)
        self.level: Level | None = None
        self.hide()

    def show_decision(self, decision: Decision) -> None:
        verdict = decision.verdict
        self.level = verdict.level
        bg, fg = LEVEL_COLOURS[verdict.level]
        self.setStyleSheet(
            f"QFrame#verdictStrip {{ background: {bg}; border-radius: 8px; }}"
            f" QFrame#verdictStrip QLabel {{ color: {fg}; background: transparent; }}"
        )
        self.icon.set_level(verdict.level)
        self.title.setText(headline(verdict.level))
        self.text.setText(f"{verdict.message()}\n{holder_text(verdict)}")
        host = self.parentWidget()
        width = host.width() - 16 if host is not None else 600
        self.setGeometry(8, 8, max(width, 200), 80)
        self.show()
        self.raise_()
        self._timer.start(CLEAR_AFTER_MS[verdict.level])


def show_over(dialog: QWidget, decision: Decision) -> VerdictStrip:
    """Show ``decision`` on ``dialog``'s strip (made on first use)."""
    strip = dialog.findChild(VerdictStrip, options=Qt.FindChildOption.FindDirectChildrenOnly)
    if strip is None:
        strip = VerdictStrip(dialog)
    strip.show_decision(decision)
    return strip
