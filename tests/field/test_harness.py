"""The field harness itself: the real window comes up on the X server and takes keys."""

from __future__ import annotations

from tests.field.conftest import FieldCheckpoint, KioskAppFactory


def test_the_real_window_starts_on_the_x_server(
    kiosk_app: KioskAppFactory, field_checkpoint: FieldCheckpoint
) -> None:
    app = kiosk_app(field_checkpoint.home)
    window = app.wait_ready()
    assert window
    assert app.alive(), app.stderr()
    assert app.visits() == []
