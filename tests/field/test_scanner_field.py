"""A handheld USB scanner at the real window: xdotool types each code as a scanner
does (Shift pressed for every capital and for ``:``, 2-40 ms between characters, Enter
or Tab at the end) into ``kiosk run --windowed`` on Xvfb; the visit log shows what the
gate decided.

A scanner keeps its pace in hardware; xdotool on a machine whose cores are all busy
now and then falls 100-350 ms behind. Such a run is no scanner's, and what the window
made of it proves nothing either way: each scan is checked against the time stamps
the X server gave its keys (the window's probe logs them) and typed again, a few times
at most, when it was not a scanner's (kiosk.ui.scanner: the first eight characters
each within 80 ms, no pause over 0.5 s).
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import pytest

from kiosk.ui.scanner import BURST_GAP_S, MAX_GAP_S, MIN_LENGTH
from tests.field.conftest import (
    WINDOW_TITLE,
    FieldCheckpoint,
    KioskApp,
    KioskAppFactory,
    Xdo,
    dump,
    wait_for,
)

NOT_A_PASS = "https://qr.alipay.com/fkx19203qwerty"  # a payment code: amber, register
TRIES = 5


def serial_of(checkpoint: FieldCheckpoint, index: int) -> str:
    return str(checkpoint.passes[index]["serial"])


def start(kiosk_app: KioskAppFactory, checkpoint: FieldCheckpoint) -> KioskApp:
    app = kiosk_app(checkpoint.home, probe=True)
    app.wait_ready()
    return app


def passed(rows: list[dict[str, Any]], serial: str) -> list[dict[str, Any]]:
    """The passes logged for the pass ``serial`` from the handheld scanner."""
    return [
        r
        for r in rows
        if r["serial"] == serial and r["level"] == "pass" and r["source"] == "scanner"
    ]


def new_rows(rows: list[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    """The visits after the first ``count`` (the log lists the oldest first)."""
    return sorted(rows, key=lambda r: str(r["at"]))[count:]


def scan(app: KioskApp, text: str, *, gap_ms: float, terminator: str = "Return") -> bool:
    """Scan ``text``; True when the X server stamped its keys as a scanner's (the first
    ``MIN_LENGTH`` within ``MAX_GAP_S`` of each other, no pause over ``BURST_GAP_S``),
    False when xdotool fell behind."""
    before = len(app.widgets()["keys"])
    app.xdo.scan(text, gap_ms=gap_ms, terminator=terminator)
    wanted = len(text) + 1

    def typed() -> list[list[Any]]:
        return [k for k in app.widgets()["keys"][before:] if k[2]]

    assert wait_for(lambda: len(typed()) >= wanted, timeout=10), dump(typed())
    stamps = [k[0] for k in typed()[:wanted]]
    gaps = [b - a for a, b in pairwise(stamps)]
    first = gaps[: MIN_LENGTH - 1]
    return max(first) <= MAX_GAP_S * 1000 and max(gaps) <= BURST_GAP_S * 1000


def scan_at_pace(app: KioskApp, text: str, *, gap_ms: float, terminator: str = "Return") -> int:
    """Scan ``text`` until one run kept a scanner's pace; the visits logged before it."""
    for _ in range(TRIES):
        count = len(app.visits())
        if scan(app, text, gap_ms=gap_ms, terminator=terminator):
            return count
    pytest.fail(f"xdotool never typed at {gap_ms} ms a key in {TRIES} tries: machine too busy")


@pytest.mark.parametrize("gap_ms", [2, 10, 40])
def test_a_scan_with_shift_passes_the_resident(
    kiosk_app: KioskAppFactory, field_checkpoint: FieldCheckpoint, gap_ms: int
) -> None:
    app = start(kiosk_app, field_checkpoint)
    count = scan_at_pace(app, field_checkpoint.token(0), gap_ms=gap_ms)
    rows = app.wait_visits(count + 1)
    assert passed(new_rows(rows, count), serial_of(field_checkpoint, 0)), dump(rows)
    assert app.alive(), app.stderr()


def test_a_scan_ended_by_tab_passes_the_resident(
    kiosk_app: KioskAppFactory, field_checkpoint: FieldCheckpoint
) -> None:
    app = start(kiosk_app, field_checkpoint)
    count = scan_at_pace(app, field_checkpoint.token(1), gap_ms=10, terminator="Tab")
    rows = app.wait_visits(count + 1)
    assert passed(new_rows(rows, count), serial_of(field_checkpoint, 1)), dump(rows)


def dialog_fields(widgets: dict[str, Any]) -> list[dict[str, Any]]:
    """The text fields of the open windows other than the gate's own."""
    return [
        field
        for window in widgets["windows"]
        if window["class"] != "MainWindow"
        for field in window["fields"]
    ]


def open_registration(app: KioskApp) -> dict[str, Any]:
    """A payment code scanned: amber, and the registration form opens by itself, its
    first field focused. What the window holds then."""
    scan_at_pace(app, NOT_A_PASS, gap_ms=10)
    assert wait_for(lambda: bool(dialog_fields(app.widgets()))), dump(app.widgets())
    found = app.widgets()
    focus = found["focus"]
    assert focus is not None and focus["class"] == "QLineEdit", dump(found)
    assert focus["window"] != WINDOW_TITLE, dump(found)  # the form has the keyboard
    assert not any(f["text"] for f in dialog_fields(found)), dump(found)
    return found


def test_a_scan_while_registration_is_open_is_decided_and_types_nothing(
    kiosk_app: KioskAppFactory, field_checkpoint: FieldCheckpoint
) -> None:
    """The guard's next person scans their pass while the form is open: the pass is
    decided and logged, and not one character of it lands in the form."""
    for _ in range(TRIES):  # a run at no scanner's pace may type into the form: anew
        app = start(kiosk_app, field_checkpoint)
        open_registration(app)
        count = len(app.visits())
        if scan(app, field_checkpoint.token(0), gap_ms=10):
            break
        app.stop()
    else:
        pytest.fail(f"xdotool never typed at a scanner's pace in {TRIES} tries")
    rows = app.wait_visits(count + 1)
    assert passed(new_rows(rows, count), serial_of(field_checkpoint, 0)), dump(rows)
    after = app.widgets()
    assert [f for f in dialog_fields(after) if f["text"]] == [], dump(after)
    assert any(w["class"] != "MainWindow" for w in after["windows"]), dump(after)  # still open


def test_a_guard_typing_in_the_open_form_still_types(
    kiosk_app: KioskAppFactory, field_checkpoint: FieldCheckpoint, xdo: Xdo
) -> None:
    """The form the scanner opened takes a guard's typing: capitals with Shift, a
    Backspace, at a brisk typist's pace (120 ms a key)."""
    app = start(kiosk_app, field_checkpoint)
    open_registration(app)
    xdo.type("Zhang Wex")
    xdo.key("BackSpace")
    xdo.type("i")
    assert wait_for(lambda: any(f["text"] for f in dialog_fields(app.widgets())), timeout=5)
    typed = [f["text"] for f in dialog_fields(app.widgets()) if f["text"]]
    assert typed == ["Zhang Wei"], dump(app.widgets())
