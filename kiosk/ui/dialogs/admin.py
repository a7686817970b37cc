"""The administrator's door from the main window: the PIN, then the settings."""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtWidgets import QDialog

from kiosk.core.rules import COMPOUND_RULES
from kiosk.settings import Change, Settings
from kiosk.store.checkpoint import record_settings_changes
from kiosk.ui.dialogs.common import open_once
from kiosk.ui.dialogs.pin import PinDialog
from kiosk.ui.dialogs.settings_dialog import SettingsDialog

log = logging.getLogger("kiosk.ui")

# Settings the running gate takes at once; the others apply at the next start.
LIVE = {
    "direction",
    *COMPOUND_RULES,
    "visitor_id_required",
    "visitor_code_hours",
    "visitor_overstay_hours",
}


def adopt_settings(window: Any, settings: Settings) -> None:
    """The window's settings are now ``settings`` (saved): the office beside it, when
    open, reads them too (its PIN, retention, overstay)."""
    window.settings = settings
    office = getattr(window, "office", None)
    if office is not None:
        office.ctx.settings = settings


def office_rules_of(window: Any) -> dict[str, Any]:
    """The office's rules the gate window last heard of (empty: none, or not a gate of
    a compound)."""
    data = getattr(window, "office_data", None)
    return dict(data.rules) if data is not None else {}


def apply_settings(window: Any, changed: list[str]) -> None:
    """Hand changed settings to the running gate (in its worker thread)."""
    settings = window.settings
    rules = settings.rules()

    def apply(gate: Any) -> None:
        gate.rules = rules
        if gate.in_compound:  # the office's rules stand over this computer's
            gate.take_office_rules()

    window.worker.request(apply)
    if "direction" in changed:
        window.set_mode(settings.direction_mode())
    later = sorted(set(changed) - LIVE)
    if later:
        log.info("settings %s apply when Gatepass starts again", ", ".join(later))


def settings_actor(window: Any) -> str:
    """Who the audit log names for a change made in the gate window (settings, a
    correction): the guard signed in, or only the admin PIN when nobody is."""
    guard = str(getattr(window, "guard_name", "") or "")
    return f"window:{guard}" if guard else "window:admin PIN"


def audit_changes(window: Any, changes: list[Change]) -> None:
    """Settings changed in the window, into the audit log (never the PIN's hash),
    written by the gate's worker on its connection."""
    actor = settings_actor(window)
    window.worker.request(
        lambda gate: record_settings_changes(gate.db, actor, "window", list(changes))
    )


def store_pin(window: Any, pin: str) -> None:
    """A new admin PIN from the settings dialog: hashed and stored in the database by
    the gate's worker (scrypt is no work for the UI thread), audited ``pin.change``."""
    from kiosk.core.pin import hash_pin
    from kiosk.store.pin_lock import set_pin_hash

    actor = settings_actor(window)
    window.worker.request(lambda gate: set_pin_hash(gate.db, hash_pin(pin), actor, "window"))


def open_office(window: Any) -> None:
    """The office window beside the gate (one at a time); the gate keeps running."""
    from kiosk.ui.office.window import OfficeWindow

    office = getattr(window, "office", None)
    if office is not None and office.isVisible():
        office.raise_()
        office.activateWindow()
        return
    office = OfficeWindow(window.home, window.settings, hub=getattr(window, "hub", None))
    window.office = office
    scanner = getattr(window, "_scanner", None)
    if scanner is not None:
        scanner.ignore_window(office)  # a pass scanned in the office is not a passage
    office.resize(1366, 768)
    office.show()


def show_doctor(window: Any) -> None:
    """The health check (kiosk.ui.doctor) of this window's home, judging the camera by
    the frames the gate receives."""
    from kiosk.ui.doctor import DoctorDialog

    worker = getattr(window, "worker", None)
    latest = getattr(worker, "latest_frame", None) or (lambda: None)
    open_once(
        "doctor",
        lambda: DoctorDialog(window.reader, window.home, window.settings, latest, window),
        lambda _dialog: None,
    )


def show_dialog(window: Any) -> None:
    """PIN first; with the right one, the settings. "Exit Gatepass" closes the window;
    "Office…" opens the office; at a gate of a compound, "Exchange with USB stick…"
    opens the exchange (kiosk.ui.dialogs.exchange); "Health check…" the doctor."""

    def settings_done(dialog: QDialog) -> None:
        assert isinstance(dialog, SettingsDialog)
        if dialog.exit_requested:
            allow = getattr(window, "allow_exit", None)
            if allow is not None:
                allow()
            window.close()
            return
        if dialog.office_requested:
            open_office(window)
            return
        if dialog.exchange_requested:
            from kiosk.ui.dialogs.exchange import show_exchange

            show_exchange(window)
            return
        if dialog.doctor_requested:
            show_doctor(window)
            return
        if dialog.result() == QDialog.DialogCode.Accepted and dialog.changed:
            adopt_settings(window, dialog.settings)
            apply_settings(window, dialog.changed)

    def pin_done(dialog: QDialog) -> None:
        if dialog.result() == QDialog.DialogCode.Accepted:
            open_once(
                "settings",
                lambda: SettingsDialog(
                    window.settings,
                    window,
                    audit=lambda changes: audit_changes(window, changes),
                    set_pin=lambda pin: store_pin(window, pin),
                    exchange=bool(getattr(window, "compound_gate", False)),
                    office_rules=office_rules_of(window),
                ),
                settings_done,
            )

    open_once(
        "pin",
        lambda: PinDialog(window.reader, window, actor=settings_actor(window)),
        pin_done,
    )
