"""The built-in demo: a checkpoint and a video made from nothing, driving the gate."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import cv2
import pytest

from kiosk.cli.gate import run_gate
from kiosk.demo import build_demo, demo_segments
from kiosk.home import Home

pytestmark = pytest.mark.slow


def test_demo_builds_and_the_gate_passes_checks_and_stops(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = Home(tmp_path / "home")
    done: list[float] = []
    demo = build_demo(home, progress=done.append)
    assert done == sorted(done) and done[0] > 0 and done[-1] == 1.0  # the window's bar
    capture = cv2.VideoCapture(str(demo.video))
    fps = capture.get(cv2.CAP_PROP_FPS)
    frames = capture.get(cv2.CAP_PROP_FRAME_COUNT)
    capture.release()
    assert fps == pytest.approx(30, abs=0.1)
    assert frames / fps == pytest.approx(sum(s for _t, s, _k in demo_segments(demo.tokens)))
    # pass, check and stop all start within the first 20 seconds of the video
    starts, clock = {}, 0.0
    for text, seconds, _kind in demo_segments(demo.tokens):
        if text is not None:
            starts.setdefault(text, clock)
        clock += seconds
    assert max(starts[demo.tokens[k]] for k in ("valid", "visitor", "revoked")) < 20

    run_gate(
        home,
        str(demo.video),
        direction="auto",
        decoder=None,
        realtime=False,
        loop=False,
        guard="demo",
        as_json=True,
    )
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [(d["level"], d["reason"]) for d in lines] == [
        ("pass", "valid_pass"),
        ("check", "visitor_code"),
        ("deny", "revoked"),
        ("check", "not_a_pass"),
        ("check", "held_returning"),  # the quarantined household may come home; amber
    ]
    assert build_demo(home).video == demo.video  # made once, reused with --home


def test_demo_without_a_screen_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from kiosk.cli import cli

    for var in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr("kiosk.demo.build_demo", lambda home: pytest.fail("built first"))

    class NoApp:  # as in a fresh process: no Qt application made yet
        @staticmethod
        def instance() -> None:
            return None

    monkeypatch.setattr("kiosk.ui.app.QApplication", NoApp)
    result = CliRunner().invoke(cli, ["--home", str(tmp_path / "h"), "demo"])
    if sys.platform.startswith("linux"):
        assert result.exit_code == 3, result.output
        assert "--headless" in result.stderr
