"""The real gate window, run as ``kiosk`` runs it, that can be asked what its
widgets hold: a field test's eyes inside the window (``kiosk_app(..., probe=True)``).

    python tests/field/probe.py --home HOME --lang en run --windowed --camera 97

takes the same arguments as ``kiosk`` and runs its command line in this process. While
it runs, a file ``HOME/probe-request`` is answered within about 0.1 s with
``HOME/probe-answer.json``:

* ``windows``: every visible top-level window: ``class``, ``title``, ``fields`` (each
  text field: ``class``, ``name``, ``text``);
* ``focus``: the widget with the keyboard focus (``class``, ``name``, ``window`` title),
  or null;
* ``keys``: every key press the window system delivered so far, in order, as
  ``[time stamp in ms, Qt key, text]``: what a test's xdotool really typed, and when
  the X server says it did (on a loaded machine xdotool may fall behind the timing
  it was asked for).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from PySide6.QtCore import QEvent, QObject, QTimer  # noqa: E402
from PySide6.QtGui import QKeyEvent, QWindow  # noqa: E402
from PySide6.QtWidgets import (  # noqa: E402
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)


def field_text(widget: QWidget) -> str | None:
    if isinstance(widget, QLineEdit):
        return widget.text()
    if isinstance(widget, QPlainTextEdit | QTextEdit):
        return widget.toPlainText()
    if isinstance(widget, QAbstractSpinBox):
        return widget.text()
    if isinstance(widget, QComboBox) and widget.isEditable():
        return widget.currentText()
    return None


def describe(widget: QWidget) -> dict[str, Any]:
    return {"class": type(widget).__name__, "name": widget.objectName()}


class KeyLog(QObject):
    """Key presses as they reach the application, before any other filter sees them."""

    def __init__(self) -> None:
        super().__init__()
        self.keys: list[tuple[int, int, str]] = []

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and isinstance(watched, QWindow)
            and event.spontaneous()
        ):
            self.keys.append((event.timestamp(), event.key(), event.text()))
        return False


def dump(log: KeyLog) -> dict[str, Any]:
    windows = []
    for top in QApplication.topLevelWidgets():
        if not top.isVisible():
            continue
        fields = []
        for child in top.findChildren(QWidget):
            text = field_text(child)
            if text is not None and not isinstance(child.parentWidget(), QAbstractSpinBox):
                fields.append({**describe(child), "text": text})
        windows.append({**describe(top), "title": top.windowTitle(), "fields": fields})
    focus = QApplication.focusWidget()
    return {
        "windows": windows,
        "focus": None
        if focus is None
        else {**describe(focus), "window": focus.window().windowTitle()},
        "keys": log.keys,
    }


def main() -> None:
    args = sys.argv[1:]
    home = Path(args[args.index("--home") + 1])
    request = home / "probe-request"
    answer = home / "probe-answer.json"
    app = QApplication(sys.argv[:1])
    log = KeyLog()

    def poll() -> None:
        if not log.keys:  # the last filter installed sees keys first: after the gate's
            app.removeEventFilter(log)
            app.installEventFilter(log)
        if request.exists():
            request.unlink()
            tmp = answer.with_suffix(".tmp")
            tmp.write_text(json.dumps(dump(log), ensure_ascii=False), encoding="utf-8")
            tmp.replace(answer)

    timer = QTimer(app)
    timer.timeout.connect(poll)
    timer.start(100)
    from kiosk.cli import main as kiosk

    sys.argv = ["kiosk", *args]
    kiosk()


if __name__ == "__main__":
    main()
