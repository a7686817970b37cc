"""Window figures (offscreen, the real window on the demo checkpoint and video).

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/bench_ui.py [--seconds 20]

1. start-up: from creating the QApplication and the window to the first camera frame
   painted in the preview. Target < 3 s.
2. UI-thread stall: a 10 ms QTimer's longest gap between ticks while the demo video
   is scanned. Target < 50 ms.
3. scan to screen: from a code's frame capture (ScanEvent.captured_at, monotonic) to
   the verdict painted on the panel, p95. Target < 150 ms.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PySide6.QtWidgets import QApplication

from kiosk.core.rules import Source
from kiosk.demo import build_demo
from kiosk.gate import Decision
from kiosk.home import Home
from kiosk.ui.app import build_window
from kiosk.ui.theme import apply_theme


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gatepass-bench-ui-") as tmp:
        demo = build_demo(Home(Path(tmp) / "home"))
        t0 = time.monotonic()
        app = QApplication(sys.argv[:1])
        apply_theme(app, "day")
        window = build_window(demo.home, camera=str(demo.video), demo=True, sound=False)
        window.resize(1366, 768)
        window.show()
        window.start()
        while window.preview.first_paint_at is None and time.monotonic() - t0 < 30:
            app.processEvents()
            time.sleep(0.002)
        first = window.preview.first_paint_at
        startup = (first - t0) if first is not None else float("inf")

        latencies: list[float] = []

        def painted(decision: Decision, at: float) -> None:
            if decision.captured_at is None or decision.encounter.source is not Source.CAMERA:
                return
            latencies.append((at - decision.captured_at) * 1000)  # both time.monotonic()

        window.verdict.verdictPainted.connect(painted)
        longest = 0.0
        last = time.monotonic()
        end = last + args.seconds
        while time.monotonic() < end:  # the event loop, with a 10 ms heartbeat
            app.processEvents()
            now = time.monotonic()
            longest = max(longest, now - last)
            last = now
            time.sleep(0.01)
        window.verdict.verdictPainted.disconnect(painted)
        window.close()
        window.deleteLater()
        app.processEvents()
        del window
        stall_ms = max(0.0, longest * 1000 - 10)  # minus the heartbeat's own sleep
    p95 = pct(latencies, 0.95)
    print(f"start-up to first preview frame: {startup:.2f} s (target < 3 s) {verdict(startup < 3)}")
    print(
        f"longest UI-thread stall over {args.seconds:.0f} s: {stall_ms:.1f} ms "
        f"(target < 50 ms) {verdict(stall_ms < 50)}"
    )
    print(
        f"scan to verdict painted: p95 {p95:.1f} ms, max {max(latencies, default=0):.1f} ms, "
        f"n={len(latencies)} (target p95 < 150 ms) {verdict(bool(latencies) and p95 < 150)}"
    )


if __name__ == "__main__":
    main()
