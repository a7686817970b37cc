"""Colours, fonts and the day/night themes of the kiosk's windows and dialogs.

A theme is two things, both set on the application so that every window, dialog,
popup and message box follows it (never one widget at a time):

* a palette (:data:`PALETTES`, Qt's Fusion style, which honours it on every
  platform): the colours of windows, text, inputs, lists, tables, buttons, tooltips;
* a style sheet (``kiosk/resources/styles/<theme>.qss``): what a palette cannot say
  (the gate's panels and banner, big buttons, problem fields, error text, the office's
  "full ID numbers shown" banner).

A label that must look like an error says so with :func:`set_role` (``role="error"``);
its colour comes from the theme's sheet, so it is legible by day and by night. The
verdict colours are the same by day and by night; the night theme only darkens what is
around them. Fonts: a family list that covers Chinese on Windows, macOS and Linux (the
first one installed wins).
"""

from __future__ import annotations

import logging
from datetime import datetime

from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication, QWidget

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

_Role = QPalette.ColorRole
# Each theme's palette; the text colours meet WCAG AA (4.5:1) on the backgrounds they
# are drawn on (tests/ui/test_contrast.py checks every dialog from the rendered pixels).
PALETTES: dict[str, dict[QPalette.ColorRole, str]] = {
    "day": {
        _Role.Window: "#eef2f6",
        _Role.WindowText: "#1c2733",
        _Role.Base: "#ffffff",
        _Role.AlternateBase: "#f3f6f9",
        _Role.Text: "#1c2733",
        _Role.PlaceholderText: "#5b6876",
        _Role.Button: "#ffffff",
        _Role.ButtonText: "#1c2733",
        _Role.BrightText: "#ffffff",
        _Role.Highlight: "#1d4f91",
        _Role.HighlightedText: "#ffffff",
        _Role.ToolTipBase: "#ffffff",
        _Role.ToolTipText: "#1c2733",
        _Role.Link: "#1d4f91",
        _Role.LinkVisited: "#5a3d91",
        _Role.Light: "#ffffff",
        _Role.Midlight: "#e3e9ef",
        _Role.Mid: "#b4c0cc",
        _Role.Dark: "#8797a8",
        _Role.Shadow: "#5b6876",
    },
    "night": {
        _Role.Window: "#17212c",
        _Role.WindowText: "#e8eef5",
        _Role.Base: "#0e141b",
        _Role.AlternateBase: "#1b2631",
        _Role.Text: "#e8eef5",
        _Role.PlaceholderText: "#9fb0c2",
        _Role.Button: "#223040",
        _Role.ButtonText: "#e8eef5",
        _Role.BrightText: "#ffffff",
        _Role.Highlight: "#3b7ddd",
        _Role.HighlightedText: "#ffffff",
        _Role.ToolTipBase: "#223040",
        _Role.ToolTipText: "#e8eef5",
        _Role.Link: "#8cbcff",
        _Role.LinkVisited: "#c3a6ff",
        _Role.Light: "#4a5d72",
        _Role.Midlight: "#2f4257",
        _Role.Mid: "#2c3a48",
        _Role.Dark: "#0b1016",
        _Role.Shadow: "#000000",
    },
}
# Disabled text: dimmer, still readable (WCAG does not hold disabled controls to AA).
_DISABLED_TEXT = {"day": "#7a8896", "night": "#7d8c9c"}


def ui_font(point_size: float, *, bold: bool = False) -> QFont:
    font = QFont()
    font.setFamilies(FONT_FAMILIES)
    font.setPointSizeF(point_size)
    font.setBold(bold)
    return font


def theme_for(choice: str = "auto", now: datetime | None = None) -> str:
    """The theme to start in: ``choice`` (the ``theme`` setting) when it is day or night;
    for auto, night from 18:00 to 07:00 local time, else day."""
    if choice in THEMES:
        return choice
    hour = (now or datetime.now()).hour
    return "night" if hour >= 18 or hour < 7 else "day"


def style_sheet(theme: str) -> str:
    path = STYLES / f"{theme}.qss"
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        log.warning("style sheet %s unreadable (%s): Qt's default look", path, exc)
        return ""


def palette(theme: str) -> QPalette:
    """The palette of ``theme`` (day or night)."""
    result = QPalette()
    for role, colour in PALETTES[theme].items():
        result.setColor(role, QColor(colour))
    for role in (_Role.WindowText, _Role.Text, _Role.ButtonText):
        result.setColor(QPalette.ColorGroup.Disabled, role, QColor(_DISABLED_TEXT[theme]))
    return result


def apply_theme(app: QApplication, theme: str) -> None:
    """Set the application's font, style, palette and style sheet for ``theme``
    (day or night); every window and dialog, open or still to come, follows."""
    theme = theme if theme in THEMES else "day"
    app.setFont(ui_font(14))
    if app.property("kioskTheme") is None:  # once: a new style unsettles open widgets
        app.setStyle("Fusion")
    app.setPalette(palette(theme))
    app.setStyleSheet(style_sheet(theme))
    app.setProperty("kioskTheme", theme)


def set_role(widget: QWidget, role: str) -> None:
    """Give ``widget`` a role of the theme's sheet ("error", or "" for none) and
    restyle it."""
    widget.setProperty("role", role)
    widget.style().unpolish(widget)
    widget.style().polish(widget)
