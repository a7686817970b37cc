"""Asking for the unlock card when no key on this computer opens the database.

Shown at start by the gate window and the office (:func:`unlock_database`), before
anything reads the database. The card is read by the gate's camera (held up like a
pass) or by a USB scanner, which types its text into the field; typing it by hand
works too (spaces do not matter). The key is tried on a thread of its own (one short
read of the file); a card that opens the database closes the dialog, and the key is
then kept by this computer's keyring where there is one, so the next start needs no
card. Esc or Quit ends the program.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QLabel, QLineEdit, QVBoxLayout, QWidget

from kiosk.core.errors import UserError
from kiosk.core.i18n import tr
from kiosk.home import Home
from kiosk.store import db_key
from kiosk.ui.dialogs.common import GloveDialog, error_label, set_problem
from kiosk.ui.relay import UiRelay

if TYPE_CHECKING:
    from kiosk.vision.scanloop import ScanLoop

log = logging.getLogger("kiosk.ui")


class UnlockDialog(GloveDialog):
    """The unlock card, from the camera (``camera``: a ``--camera`` spec) or typed."""

    def __init__(
        self, database: Path, *, camera: str | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.database = database
        self.setWindowTitle(tr("Unlock the checkpoint"))
        self._relay = UiRelay(self)
        self._trying = False
        layout = QVBoxLayout(self)
        title = QLabel(tr("The checkpoint's records are locked"))
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 1.4)
        font.setBold(True)
        title.setFont(font)
        layout.addWidget(title)
        about = QLabel(
            tr(
                "This computer does not keep the key to the checkpoint's encrypted records. "
                "Hold the unlock card up to the camera, or scan it with the scanner. "
                "The committee keeps the card."
            )
        )
        about.setWordWrap(True)
        layout.addWidget(about)
        self.field = QLineEdit()
        self.field.setEchoMode(QLineEdit.EchoMode.Password)
        self.field.setPlaceholderText(tr("Unlock card"))
        self.field.setAccessibleName(tr("Unlock card"))
        layout.addWidget(self.add_field(self.field))
        self.problem = error_label()
        layout.addWidget(self.problem)
        row, self.ok_button, self.quit_button = self.button_row(tr("Unlock"), tr("Quit"))
        layout.addLayout(row)
        self.setMinimumWidth(640)
        self._loop: ScanLoop | None = None
        if camera is not None:
            self._start_camera(camera)
        self.finished.connect(self._stop_camera)

    # ------------------------------------------------------------ the camera

    def _start_camera(self, camera: str) -> None:
        from kiosk.vision.scanloop import ScanEvent, ScanLoop

        def seen(event: object) -> None:  # the loop's threads
            if isinstance(event, ScanEvent):
                self._relay.call(self.try_text, event.text)

        try:
            loop = ScanLoop.from_spec(camera, on_event=seen)
            loop.start()
        except Exception as exc:
            log.warning("no camera for the unlock card (%s): %s", camera, exc)
            return
        self._loop = loop

    def _stop_camera(self) -> None:
        if self._loop is not None:
            self._loop.stop()
            self._loop = None

    # ------------------------------------------------------------ the key

    def submit(self) -> None:
        self.try_text(self.field.text())

    def try_text(self, text: str) -> None:
        """Try the card's ``text``: the dialog closes when its key opens the database."""
        if self._trying or not text.strip():
            return
        try:
            key = db_key.parse_key(text)
        except UserError as exc:
            set_problem(self.field, self.problem, str(exc))
            self.field.clear()
            return
        self._trying = True
        self.ok_button.setEnabled(False)

        def work() -> None:
            opened = db_key.opens(self.database, key)
            if opened:
                db_key.save_to_keyring(self.database, key)
            self._relay.call(self._tried, opened)

        threading.Thread(target=work, name="kiosk-unlock", daemon=True).start()

    def _tried(self, opened: bool) -> None:
        self._trying = False
        self.ok_button.setEnabled(True)
        if opened:
            log.info("database %s unlocked with its card", self.database)
            self.accept()
            return
        self.field.clear()
        set_problem(
            self.field,
            self.problem,
            tr("This card does not open these records: it belongs to another checkpoint."),
        )


def unlock_database(home: Home, *, camera: str | None = None) -> bool:
    """Make sure this program can open ``home``'s database: at once when a key is found
    (keyring, ``KIOSK_DB_KEY``), else through :class:`UnlockDialog`. ``False``: the
    person quit."""
    if not db_key.needs_card(home.database):
        return True
    dialog = UnlockDialog(home.database, camera=camera)
    try:
        return dialog.exec() == UnlockDialog.DialogCode.Accepted
    finally:
        dialog.deleteLater()
