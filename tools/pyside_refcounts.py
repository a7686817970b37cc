"""Does this PySide6 keep Python's reference counts? One line of JSON per check.

PySide6 6.12.0 (Python 3.11) returned ``None`` from every call that returns nothing,
and ``True``/``False`` from ``Signal.emit``, without taking a reference: each call
took one away, and after some thousands the interpreter aborted with "Fatal Python
error: none_dealloc" (docs/architecture.md, "Why these PySide6 versions"). Run it on
a new PySide6 before it goes into requirements/*.lock (tests/test_bindings.py does):

    QT_QPA_PLATFORM=offscreen python tools/pyside_refcounts.py

Each line: {"call": ..., "object": "None"|"True", "per_call": change per call}; 0.0
is right. Run it in a process of its own: a faulty PySide6 is left damaged.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable

import PySide6
from PySide6.QtCore import QObject, QRectF, Qt, Signal
from PySide6.QtGui import QGuiApplication, QImage, QPainter

CALLS = 1000


class _Sender(QObject):
    sent = Signal(object)


def per_call(obj: object, call: Callable[[], object], n: int = CALLS) -> float:
    before = sys.getrefcount(obj)
    for _ in range(n):
        call()
    return (sys.getrefcount(obj) - before) / n


def main() -> None:
    app = QGuiApplication(sys.argv[:1])
    image = QImage(32, 32, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    rect = QRectF(1, 1, 5, 5)
    sender = _Sender()
    sender.sent.connect(lambda value: None)
    checks = [
        ("QPainter.drawRect", "None", per_call(None, lambda: painter.drawRect(rect))),
        ("QPainter.setPen", "None", per_call(None, lambda: painter.setPen(Qt.PenStyle.NoPen))),
        ("QRectF.x", "None", per_call(None, rect.x)),
        ("SignalInstance.emit", "True", per_call(True, lambda: sender.sent.emit(1), 100)),
    ]
    painter.end()
    for call, obj, change in checks:
        print(
            json.dumps(
                {"pyside6": PySide6.__version__, "call": call, "object": obj, "per_call": change}
            )
        )
    sys.stdout.flush()
    del app


if __name__ == "__main__":
    main()
