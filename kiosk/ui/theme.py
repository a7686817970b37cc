"""Colours, fonts and the day/night style sheets of the kiosk window.

The verdict colours are the same by day and by night; the night theme only darkens
what is around them. Fonts: a family list that covers Chinese on Windows, macOS and
Linux (the first one installed wins).
"""

from __future__ import annotations

import logging
from datetime import datetime

from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QApplication

from kiosk.core.i18n import RESOURCES
from kiosk.core.rules import Level

log = logging.getLogger("kiosk.ui")

STYLES = RESOURCES / "styles"
FONT_FAMILIES = [
    "Microsoft YaHei",
    "PingFang SC",
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "WenQuanYi Micro Hei",
    "Droid Sans Fallback",
    "sans-serif",
]

# Background, text colour for each verdict: white on green and red, black on amber.
LEVEL_COLOURS: dict[Level, tuple[str, str]] = {
    Level.PASS: ("#16803c", "#ffffff"),
    Level.CHECK: ("#f2a900", "#000000"),
    Level.DENY: ("#c4161c", "#ffffff"),
}
IDLE_COLOURS = {"day": ("#dfe6ee", "#1c2733"), "night": ("#1f2a36", "#e8eef5")}
THEMES = ("day", "night")


def level_colour(level: Level) -> QColor:
    return QColor(LEVEL_COLOURS[level][0])


def text_colour(level: Level) -> QColor:
    return QColor(LEVEL_COLOURS[level][1])


def ui_font(point_size: float, *, bold: bool = False) -> QFont:
    font = QFont()
    font.setFamilies(FONT_FAMILIES)
    font.setPointSizeF(point_size)
    font.setBold(bold)
    return font


def theme_for(now: datetime | None = None) -> str:
    """Night from 18:00 to 07:00 local time, else day."""
    hour = (now or datetime.now()).hour
    return "night" if hour >= 18 or hour < 7 else "day"


def style_sheet(theme: str) -> str:
    path = STYLES / f"{theme}.qss"
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        log.warning("style sheet %s unreadable (%s): Qt's default look", path, exc)
        return ""


def apply_theme(app: QApplication, theme: str) -> None:
    """Set the application's font and the theme's style sheet."""
    app.setFont(ui_font(14))
    app.setStyleSheet(style_sheet(theme))
    app.setProperty("kioskTheme", theme)
