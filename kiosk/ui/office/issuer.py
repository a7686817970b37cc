"""The issuer's private key in the office: is there one here, and loading it (asking
for its passphrase when it has one).

Only the committee's computer holds the issuer key; on any other checkpoint the
office's issuing buttons are disabled with :func:`no_key_reason` as their tooltip.
The key is loaded for one action and not kept: a wrong passphrase asks again, with
the reason shown; Cancel gives ``None``.
"""

from __future__ import annotations

from collections.abc import Callable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PySide6.QtWidgets import QDialog, QLabel, QLineEdit, QVBoxLayout, QWidget

from kiosk.core.errors import UserError
from kiosk.core.i18n import tr
from kiosk.core.keys import key_is_encrypted, load_private_key
from kiosk.home import Home
from kiosk.ui.dialogs.common import GloveDialog, error_label, set_problem

# (parent, problem with the last try or "") -> the passphrase, or None: cancelled
AskPassphrase = Callable[[QWidget | None, str], str | None]


def has_issuer_key(home: Home) -> bool:
    return home.private_key.exists()


def no_key_reason() -> str:
    return tr("This checkpoint holds no issuer key: passes are issued at the committee's computer.")


class PassphraseDialog(GloveDialog):
    """Asks for the issuer key's passphrase (hidden as typed)."""

    def __init__(self, problem: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("Issuer key"))
        self.field = QLineEdit()
        self.field.setEchoMode(QLineEdit.EchoMode.Password)
        self.add_field(self.field)
        self.problem = error_label()
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(tr("Passphrase of the issuer key")))
        layout.addWidget(self.field)
        layout.addWidget(self.problem)
        row, _ok, _cancel = self.button_row(tr("Sign"))
        layout.addLayout(row)
        if problem:
            set_problem(self.field, self.problem, problem)

    def submit(self) -> None:
        if not self.field.text():
            set_problem(self.field, self.problem, tr("Type the passphrase."))
            return
        self.accept()


def ask_passphrase(parent: QWidget | None, problem: str) -> str | None:
    """The passphrase from a modal dialog (``None``: cancelled)."""
    dialog = PassphraseDialog(problem, parent)
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return None
    return dialog.field.text()


class IssuerKey:
    """Loads the checkpoint's issuer key for one signing action."""

    def __init__(self, home: Home, ask: AskPassphrase = ask_passphrase) -> None:
        self.home = home
        self.ask = ask

    @property
    def available(self) -> bool:
        return has_issuer_key(self.home)

    def load(self, parent: QWidget | None = None) -> Ed25519PrivateKey | None:
        """The key, or ``None`` if the clerk cancelled the passphrase; a
        :class:`UserError` when there is no key or it cannot be read."""
        path = self.home.private_key
        if not path.exists():
            raise UserError(no_key_reason())
        if not key_is_encrypted(path):
            return load_private_key(path, None)
        problem = ""
        while True:
            passphrase = self.ask(parent, problem)
            if passphrase is None:
                return None
            try:
                return load_private_key(path, passphrase)
            except UserError as exc:
                problem = str(exc)
