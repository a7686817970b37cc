"""Screenshots for the docs: the gate window, docs/screenshots/<lang>-<size>-<state>.png,
and the office, docs/screenshots/office-<lang>-<size>-<tab>.png (every tab at 1366x768;
"today" and "residents" at 1920x1080 too), the gate in the night theme at
1366x768 (<lang>-1366x768-night-idle/stop.png), and every dialog of the gate and the
office (kiosk.ui.gallery) in both themes and languages,
docs/screenshots/dialog-<theme>-<lang>-<name>.png (256 colours, to stay small).

Offscreen, on the demo checkpoint; the camera shows a still from the demo video, and
real decisions are fed through the scanner path (``handle_scanned_text``) with the
demo's tokens: a pass, a visitor code (check) and a revoked pass (stop).

    QT_QPA_PLATFORM=offscreen .venv/bin/python tools/screenshots.py [dialogs|clock]

With ``dialogs``, only the dialogs. With ``clock``, only the gate window with its clock
notice (the clock behind the newest passage), at both sizes, in both themes and
languages, after a pass: <lang>-<size>-<theme>-clock.png, into ``KIOSK_SHOTS_DIR`` if
set (for a look under Xvfb: ``xvfb-run -a -s "-screen 0 1920x1080x24" env
QT_QPA_PLATFORM=xcb ...``).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import cv2
import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication, QWidget

from kiosk.core.i18n import set_language
from kiosk.core.rules import Level
from kiosk.demo import Demo, build_demo
from kiosk.home import Home
from kiosk.ui.app import build_window
from kiosk.ui.dialogs.shift import sign_in
from kiosk.ui.qt_app import qt_translations
from kiosk.ui.theme import THEMES, apply_theme

OUT = Path(
    os.environ.get("KIOSK_SHOTS_DIR")
    or Path(__file__).resolve().parent.parent / "docs" / "screenshots"
)
SIZES = ((1366, 768), (1920, 1080))
STATES: tuple[tuple[str, str, Level], ...] = (
    ("pass", "valid", Level.PASS),
    ("check", "visitor", Level.CHECK),
    ("stop", "revoked", Level.DENY),
)


def wait_for(app: QApplication, done: object, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not done() and time.monotonic() < deadline:  # type: ignore[operator]
        app.processEvents()
        time.sleep(0.01)
    if not done():  # type: ignore[operator]
        raise SystemExit("timed out waiting for the window")


def still_frame(video: Path, folder: Path) -> Path:
    """A frame of the demo video without a code (the first half second)."""
    capture = cv2.VideoCapture(str(video))
    ok, image = capture.read()
    capture.release()
    if not ok:
        raise SystemExit(f"cannot read {video}")
    path = folder / "still.png"
    cv2.imwrite(str(path), image)
    return path


def shoot(app: QApplication, window: QWidget, name: str) -> None:
    for _ in range(5):
        app.processEvents()
        time.sleep(0.02)
    path = OUT / f"{name}.png"
    window.grab().save(str(path))
    print(path)


OFFICE_TABS = ("today", "residents", "passes", "holds", "visitors", "trace", "records")


def shoot_office(app: QApplication, home: Home, lang: str, width: int, height: int) -> None:
    from kiosk.settings import Settings
    from kiosk.ui.office.window import OfficeWindow

    office = OfficeWindow(home, Settings.load(home.settings_file))
    office.resize(width, height)
    office.show()
    try:
        tabs = OFFICE_TABS if width == 1366 else OFFICE_TABS[:2]
        for tab in tabs:
            office.tabs.setCurrentWidget(getattr(office, tab))
            office.wait_idle()
            shoot(app, office, f"office-{lang}-{width}x{height}-{tab}")
    finally:
        office.close()


def shoot_gate(
    app: QApplication,
    demo: Demo,
    still: Path,
    lang: str,
    width: int,
    height: int,
    theme: str,
    states: tuple[tuple[str, str, Level], ...],
) -> None:
    """The gate window idle, then in each state; the night theme's files say so."""
    window = build_window(demo.home, camera=str(still), demo=True, sound=False, theme=theme)
    window.resize(width, height)
    window.show()
    window.start()
    sign_in(window, "王刚" if lang == "zh_CN" else "Wang Gang")  # a guard on duty, as at a gate
    try:
        wait_for(app, lambda: window.preview.first_paint_at is not None)
        stem = f"{lang}-{width}x{height}" + ("" if theme == "day" else f"-{theme}")
        shoot(app, window, f"{stem}-idle")
        for state, token, level in states:
            window.handle_scanned_text(demo.tokens[token])
            wait_for(app, lambda lv=level: list(window.verdict.shown)[-1:] == [lv])
            shoot(app, window, f"{stem}-{state}")
    finally:
        window.close()


def shoot_clock_notice(app: QApplication, demo: Demo, still: Path) -> None:
    """The gate with its clock notice: a passage recorded two hours ahead (a clock
    that was ahead), then the window on the right time, after a pass."""
    from datetime import UTC, datetime, timedelta

    from kiosk.core.rules import Encounter, Source
    from kiosk.gate import Gate

    ahead = datetime.now(UTC) + timedelta(hours=2)
    with Gate(demo.home, clock=lambda: ahead) as gate:
        gate.handle(Encounter(Source.SCANNER, demo.tokens["visitor"]))
    for lang in ("en", "zh_CN"):
        set_language(lang)
        qt_translations(app)
        for width, height in SIZES:
            for theme in THEMES:
                window = build_window(
                    demo.home, camera=str(still), demo=True, sound=False, theme=theme
                )
                window.resize(width, height)
                window.show()
                window.start()
                sign_in(window, "王刚" if lang == "zh_CN" else "Wang Gang")
                try:
                    wait_for(app, lambda w=window: w.clock_notice.isVisible())
                    window.handle_scanned_text(demo.tokens["valid"])
                    wait_for(app, lambda w=window: bool(w.decisions))
                    shoot(app, window, f"{lang}-{width}x{height}-{theme}-clock")
                finally:
                    window.close()


def small_png(image: QImage) -> QImage:
    """``image`` in its own 256 most common colours (a UI screenshot has few): a PNG a
    fifth of the size, the colours unchanged."""
    rgb = image.convertToFormat(QImage.Format.Format_RGB32)
    data = np.frombuffer(rgb.constBits(), np.uint32, count=rgb.width() * rgb.height()).copy()
    colours, counts = np.unique(data, return_counts=True)
    table = [int(c) for c in colours[np.argsort(counts)[::-1][:256]]]
    return rgb.convertToFormat(
        QImage.Format.Format_Indexed8, table, Qt.ImageConversionFlag.ThresholdDither
    )


def shoot_dialogs(app: QApplication, home: Home) -> None:
    """Every dialog (kiosk.ui.gallery), in each theme and language, in 256 colours."""
    from kiosk.settings import Settings
    from kiosk.ui.gallery import samples
    from kiosk.ui.office.context import OfficeContext

    ctx = OfficeContext.open(home, Settings.load(home.settings_file), actor="screenshots")
    try:
        for theme in THEMES:
            apply_theme(app, theme)
            for lang in ("en", "zh_CN"):
                set_language(lang)
                qt_translations(app)
                for sample in samples(ctx):
                    dialog = sample.build()
                    ctx.wait_idle()  # dialogs that load rows on the office's workers
                    dialog.show()
                    for _ in range(3):
                        app.processEvents()
                    path = OUT / f"dialog-{theme}-{lang}-{sample.name}.png"
                    small_png(dialog.grab().toImage()).save(str(path))
                    print(path)
                    dialog.close()
                    dialog.deleteLater()
    finally:
        ctx.close()
        apply_theme(app, "day")


def main() -> None:
    app = QApplication(sys.argv[:1])
    apply_theme(app, "day")
    OUT.mkdir(parents=True, exist_ok=True)
    only_dialogs = sys.argv[1:] == ["dialogs"]
    with tempfile.TemporaryDirectory(prefix="gatepass-shots-") as tmp:
        demo = build_demo(Home(Path(tmp) / "home"))
        if sys.argv[1:] == ["clock"]:
            shoot_clock_notice(app, demo, still_frame(demo.video, Path(tmp)))
            set_language(None)
            return
        shoot_dialogs(app, demo.home)
        if not only_dialogs:
            still = still_frame(demo.video, Path(tmp))
            for lang in ("en", "zh_CN"):
                set_language(lang)
                qt_translations(app)
                for width, height in SIZES:
                    shoot_gate(app, demo, still, lang, width, height, "day", STATES)
                    shoot_office(app, demo.home, lang, width, height)
                shoot_gate(app, demo, still, lang, 1366, 768, "night", STATES[2:])
    set_language(None)


if __name__ == "__main__":
    main()
