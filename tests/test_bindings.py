"""The installed PySide6 keeps Python's reference counts (tools/pyside_refcounts.py).

PySide6 6.12.0 took a reference to ``None`` away on every call that returns nothing and
one to ``True`` on every ``emit``; on Python 3.11 the gate window and ``kiosk passes
cards`` then died of "Fatal Python error: none_dealloc" (docs/architecture.md, "Why
these PySide6 versions"). Checked in a process of its own: a faulty PySide6 is left
damaged.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

TOOL = Path(__file__).resolve().parent.parent / "tools" / "pyside_refcounts.py"


@pytest.mark.skipif(
    sys.version_info >= (3, 12), reason="None and True are immortal: their counts never move"
)
def test_calls_into_pyside6_keep_none_and_true_alive() -> None:
    done = subprocess.run(
        [sys.executable, str(TOOL)],
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    checks = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert len(checks) == 4, done.stderr
    lost = {c["call"]: c["per_call"] for c in checks if c["per_call"] < -0.5}
    assert not lost, f"PySide6 {checks[0]['pyside6']} loses a reference per call: {lost}"
    assert done.returncode == 0, done.stderr
