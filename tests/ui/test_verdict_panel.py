"""What the verdict panel tells the guard to do, on the demo checkpoint's real passes."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot

from kiosk.core import i18n
from kiosk.core.rules import DirectionMode, Encounter, Level, Source
from kiosk.demo import Demo
from kiosk.gate import Decision, Gate
from kiosk.ui.verdict_panel import VerdictPanel

pytestmark = pytest.mark.gui


def decided(demo: Demo, which: str, mode: DirectionMode) -> Decision:
    with Gate(demo.home, mode=mode) as gate:
        decision = gate.handle(Encounter(Source.CAMERA, demo.tokens[which]))
    assert decision is not None
    return decision


@pytest.mark.parametrize(
    ("which", "mode", "level", "says", "not_says"),
    [
        ("held", DirectionMode.OUT, Level.DENY, "Do not let them out; call the committee", "face"),
        ("revoked", DirectionMode.IN, Level.DENY, "Keep the card", "face"),
        ("held", DirectionMode.IN, Level.CHECK, "Tell the committee they came home", None),
        ("valid", DirectionMode.IN, Level.PASS, "Compare the face", "committee"),
    ],
)
def test_the_panel_says_what_to_do(
    qtbot: QtBot,
    demo: Demo,
    which: str,
    mode: DirectionMode,
    level: Level,
    says: str,
    not_says: str | None,
) -> None:
    decision = decided(demo, which, mode)
    assert decision.verdict.level is level
    panel = VerdictPanel()
    qtbot.addWidget(panel)
    panel.show_decision(decision)
    assert says in panel.todo.text()
    if not_says:
        assert not_says not in panel.todo.text()


def test_the_stop_instructions_in_chinese(qtbot: QtBot, demo: Demo) -> None:
    decision = decided(demo, "held", DirectionMode.OUT)
    i18n.set_language("zh_CN")
    panel = VerdictPanel()
    qtbot.addWidget(panel)
    panel.show_decision(decision)
    assert "不要让其外出" in panel.todo.text()
