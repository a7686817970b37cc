"""Results of other threads reach the UI thread through the relay, never inside Qt.

PySide6 6.12.0 on Python 3.11 lost a reference to ``None`` on every call returning
nothing, and the gate died of it ("none_dealloc"); whatever the version, the worker's
signals are emitted in the UI thread only, and what crosses threads is a Python queue
(docs/architecture.md, "Why these PySide6 versions").
"""

from __future__ import annotations

import sys
import threading
from types import TracebackType

import pytest
from conftest import WindowFactory
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from kiosk.core.rules import Level
from kiosk.ui.relay import UiRelay

pytestmark = pytest.mark.gui


def test_calls_from_another_thread_run_in_order_in_the_ui_thread(qtbot: QtBot) -> None:
    relay = UiRelay()
    ran: list[tuple[int, int]] = []

    def post() -> None:
        for i in range(200):
            relay.call(lambda i=i: ran.append((i, threading.get_ident())))

    worker = threading.Thread(target=post)
    worker.start()
    worker.join()
    assert ran == []  # nothing runs in the posting thread
    qtbot.waitUntil(lambda: len(ran) == 200)
    assert [i for i, _ in ran] == list(range(200))
    assert {ident for _, ident in ran} == {threading.get_ident()}
    assert relay.pending() == 0


def test_latest_keeps_only_the_newest_of_a_kind_in_order(qtbot: QtBot) -> None:
    relay = UiRelay()
    ran: list[str] = []
    relay.latest("stats", ran.append, "stats 1")
    relay.call(ran.append, "decision 1")
    relay.latest("stats", ran.append, "stats 2")
    relay.latest("outline", ran.append, "outline 1")
    relay.call(ran.append, "decision 2")
    relay.latest("stats", ran.append, "stats 3")
    assert relay.pending() == 4
    qtbot.waitUntil(lambda: relay.pending() == 0)
    assert ran == ["decision 1", "outline 1", "decision 2", "stats 3"]


def test_a_failing_call_is_reported_and_the_others_still_run(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    relay = UiRelay()
    reported: list[BaseException] = []

    def hook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        reported.append(value)

    monkeypatch.setattr(sys, "excepthook", hook)
    ran: list[int] = []
    relay.call(lambda: 1 / 0)
    relay.call(ran.append, 2)
    relay.run_pending()
    assert ran == [2]
    assert [type(e) for e in reported] == [ZeroDivisionError]


def test_the_workers_signals_are_emitted_in_the_ui_thread_only(
    qtbot: QtBot, make_window: WindowFactory
) -> None:
    """Decisions, stats and code outlines come from the gate's thread and the decode
    thread; a receiver connected directly, and a plain lambda, run in the UI thread, on
    plain Python objects handed over by the relay."""
    window = make_window()
    worker = window.worker
    names = ("decided", "statsChanged", "outlined")
    seen: dict[str, set[int]] = {f"{n} {how}": set() for n in names for how in "DA"}
    for name in names:
        direct, auto = seen[f"{name} D"], seen[f"{name} A"]
        getattr(worker, name).connect(
            lambda *_, threads=direct: threads.add(threading.get_ident()),
            Qt.ConnectionType.DirectConnection,
        )
        getattr(worker, name).connect(lambda *_, threads=auto: threads.add(threading.get_ident()))
    qtbot.waitUntil(lambda: all(seen.values()), timeout=30_000)
    qtbot.waitUntil(lambda: Level.PASS in set(window.verdict.shown), timeout=30_000)
    assert seen == {name: {threading.get_ident()} for name in seen}
    assert window.decisions and window.stats is not None
