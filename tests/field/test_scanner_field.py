"""A handheld USB scanner at the real window: xdotool types each code as a scanner
does (Shift pressed for every capital and for ``:``, 2-40 ms between characters, Enter
or Tab at the end) into ``kiosk run --windowed`` on Xvfb; the visit log shows what the
gate decided."""

from __future__ import annotations

from typing import Any

import pytest

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


def serial_of(checkpoint: FieldCheckpoint, index: int) -> str:
    return str(checkpoint.passes[index]["serial"])


def start(kiosk_app: KioskAppFactory, checkpoint: FieldCheckpoint, **kw: Any) -> KioskApp:
    app = kiosk_app(checkpoint.home, **kw)
    app.wait_ready()
    return app


def passed(rows: list[dict[str, Any]], serial: str) -> list[dict[str, Any]]:
    """The passes logged for the pass ``serial`` from the handheld scanner."""
    return [
        r
        for r in rows
        if r["serial"] == serial and r["level"] == "pass" and r["source"] == "scanner"
    ]


@pytest.mark.parametrize("gap_ms", [2, 10, 40])
def test_a_scan_with_shift_passes_the_resident(
    kiosk_app: KioskAppFactory, field_checkpoint: FieldCheckpoint, xdo: Xdo, gap_ms: int
) -> None:
    app = start(kiosk_app, field_checkpoint)
    xdo.scan(field_checkpoint.token(0), gap_ms=gap_ms)
    rows = app.wait_visits(1)
    assert len(rows) == 1, dump(rows)
    assert passed(rows, serial_of(field_checkpoint, 0)), dump(rows)
    assert app.alive(), app.stderr()


def test_a_scan_ended_by_tab_passes_the_resident(
    kiosk_app: KioskAppFactory, field_checkpoint: FieldCheckpoint, xdo: Xdo
) -> None:
    app = start(kiosk_app, field_checkpoint)
    xdo.scan(field_checkpoint.token(1), gap_ms=10, terminator="Tab")
    rows = app.wait_visits(1)
    assert passed(rows, serial_of(field_checkpoint, 1)), dump(rows)


def dialog_fields(widgets: dict[str, Any]) -> list[dict[str, Any]]:
    """The text fields of the open windows other than the gate's own."""
    return [
        field
        for window in widgets["windows"]
        if window["class"] != "MainWindow"
        for field in window["fields"]
    ]


def test_a_scan_while_registration_is_open_is_decided_and_types_nothing(
    kiosk_app: KioskAppFactory, field_checkpoint: FieldCheckpoint, xdo: Xdo
) -> None:
    """A payment code opens registration (amber, not a pass); the guard's next person
    scans their pass while the form is open, its first field focused: the pass is
    decided and logged, and not one character of it lands in the form."""
    app = start(kiosk_app, field_checkpoint, probe=True)
    xdo.scan(NOT_A_PASS, gap_ms=10)
    assert wait_for(lambda: bool(dialog_fields(app.widgets()))), dump(app.widgets())
    before = app.widgets()
    focus = before["focus"]
    assert focus is not None and focus["class"] == "QLineEdit", dump(before)
    assert focus["window"] != WINDOW_TITLE, dump(before)  # the form has the keyboard
    count = len(app.visits())

    token = field_checkpoint.token(0)
    xdo.scan(token, gap_ms=10)
    rows = app.wait_visits(count + 1)
    assert passed(rows, serial_of(field_checkpoint, 0)), dump(rows)
    after = app.widgets()
    typed = [f for f in dialog_fields(after) if f["text"]]
    assert typed == [], dump(after)
    assert any(w["class"] != "MainWindow" for w in after["windows"]), dump(after)  # still open
