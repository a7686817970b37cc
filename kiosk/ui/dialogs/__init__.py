"""The kiosk's dialogs: each collects and checks input and returns a result object;
none writes the database (the window hands writes to its worker thread), and what they
read they read on the window's reader (``window.reader``, kiosk.ui.ops), never on the
UI thread."""

from __future__ import annotations

from kiosk.ui.dialogs.manual import ManualPassDialog, ManualResult
from kiosk.ui.dialogs.pin import PinAttempts, PinDialog
from kiosk.ui.dialogs.registration import (
    RegistrationDialog,
    RegistrationResult,
    VisitorCodeDialog,
)
from kiosk.ui.dialogs.settings_dialog import SettingsDialog
from kiosk.ui.dialogs.shift import ShiftSummaryDialog, SignInDialog

__all__ = [
    "ManualPassDialog",
    "ManualResult",
    "PinAttempts",
    "PinDialog",
    "RegistrationDialog",
    "RegistrationResult",
    "SettingsDialog",
    "ShiftSummaryDialog",
    "SignInDialog",
    "VisitorCodeDialog",
]
