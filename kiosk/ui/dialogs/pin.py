"""The administrator PIN, typed on a big keypad (gloves) or the keyboard's digits.

A wrong PIN shakes the dialog, clears the digits and says so; after
:data:`MAX_TRIES` wrong PINs the keypad is locked for :data:`LOCK_S` seconds.
``exec()`` returns Accepted only with the right PIN.

The PIN's hash, the count and the lock are the checkpoint's, in its database
(:mod:`kiosk.store.pin_lock`, shared with the CLI and every other window, kept across
restarts). Everything the dialog asks of them runs as ops on its ``worker`` (the
window's :class:`~kiosk.ui.ops.DbWorker`), never on the UI thread: whether a PIN is set
and the lock when it opens (OK waits for the answer), and each PIN typed, checked
there (:func:`~kiosk.store.pin_lock.check_pin`: scrypt takes tens of milliseconds) and
counted; the keypad stays live meanwhile. Its :class:`PinAttempts` only counts a lock
down on screen.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from PySide6.QtCore import QEasingCurve, QPoint, QPropertyAnimation, Qt, QTimer
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QGridLayout, QLabel, QPushButton, QVBoxLayout, QWidget
from sqlite_utils import Database

from kiosk.core.i18n import tr
from kiosk.core.pin import PIN_MAX, is_set
from kiosk.store.pin_lock import LOCK_S, MAX_TRIES, PinCheck, check_pin, pin_hash, pin_locked_for
from kiosk.ui.dialogs.common import GloveDialog, big_button, error_label
from kiosk.ui.ops import DbWorker, QueryOp

KEY_PX = 88


class PinAttempts:
    """The lock as counted down on screen, on an injectable monotonic clock."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        max_tries: int = MAX_TRIES,
        lock_s: float = LOCK_S,
    ) -> None:
        self.clock = clock
        self.max_tries = max_tries
        self.lock_s = lock_s
        self.failures = 0
        self.locked_until = 0.0

    def locked_for(self) -> float:
        """Seconds the keypad stays locked (0: not locked)."""
        return max(0.0, self.locked_until - self.clock())

    def failed(self) -> None:
        self.failures += 1
        if self.failures >= self.max_tries:
            self.failures = 0
            self.locked_until = self.clock() + self.lock_s

    def succeeded(self) -> None:
        self.failures = 0
        self.locked_until = 0.0


def _pin_state(db: Database) -> tuple[float, bool]:
    """(seconds locked, whether a PIN is set): what the dialog needs as it opens."""
    return pin_locked_for(db), is_set(pin_hash(db))


class PinDialog(GloveDialog):
    """Asks for the administrator PIN; accepted only when it matches the checkpoint's
    (checked on ``worker``)."""

    def __init__(
        self,
        worker: DbWorker,
        parent: QWidget | None = None,
        *,
        attempts: PinAttempts | None = None,
        title: str | None = None,
        actor: str = "window",
    ) -> None:
        super().__init__(parent)
        self.worker = worker
        self.actor = actor
        self.attempts = attempts or PinAttempts()
        self.pin_set = True  # until the database says otherwise
        self.waiting = True  # for the database's answer: OK waits for it
        self._submit_when_answered = False
        self.digits = ""
        self.setWindowTitle(title or tr("Administrator PIN"))
        layout = QVBoxLayout(self)
        prompt = QLabel(title or tr("Type the administrator PIN"))
        prompt.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(prompt)
        self.display = QLabel()
        self.display.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.display.setMinimumHeight(KEY_PX)
        self.display.setStyleSheet("font-size: 36pt; letter-spacing: 8px;")
        layout.addWidget(self.display)
        self.message = error_label()
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self.message)
        grid = QGridLayout()
        self.keys: dict[str, QPushButton] = {}
        labels = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "⌫", "0", "OK"]
        for index, label in enumerate(labels):
            text = tr("OK") if label == "OK" else label
            button = big_button(text)
            button.setMinimumSize(KEY_PX + 24, KEY_PX)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.setStyleSheet("font-size: 28pt;")
            button.clicked.connect(lambda _=False, key=label: self.press(key))
            grid.addWidget(button, index // 3, index % 3)
            self.keys[label] = button
        layout.addLayout(grid)
        cancel = big_button(tr("Cancel"))
        cancel.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        cancel.clicked.connect(self.reject)
        layout.addWidget(cancel)
        self._timer = QTimer(self)
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self._refresh_lock)
        self._shake: QPropertyAnimation | None = None
        self._refresh()
        self._refresh_lock()
        QueryOp(worker, parent=self, op=_pin_state, success=self._stored_state).failure(
            self._db_failed
        ).run_in_background()

    # -- input ---------------------------------------------------------------------

    def press(self, key: str) -> None:
        """A keypad key: a digit, ``⌫`` or ``OK``."""
        if self.attempts.locked_for() > 0:
            self._refresh_lock()
            return
        if key == "⌫":
            self.digits = self.digits[:-1]
        elif key == "OK":
            self.submit()
            return
        elif key.isdigit() and len(self.digits) < PIN_MAX:
            self.digits += key
            self.message.hide()
        self._refresh()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        text = event.text()
        if len(text) == 1 and text.isascii() and text.isdigit():
            self.press(text)
        elif event.key() == Qt.Key.Key_Backspace:
            self.press("⌫")
        elif event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.press("OK")
        else:
            super().keyPressEvent(event)  # Esc cancels

    def submit(self) -> None:
        if self.waiting:  # the keypad stays live; OK is taken when the database answers
            self._submit_when_answered = True
            return
        if self.attempts.locked_for() > 0 or not self.digits:
            return
        if not self.pin_set:  # nothing can match: not a wrong try
            self.digits = ""
            self._refresh()
            return
        self.waiting = True
        pin, actor = self.digits, self.actor
        self.digits = ""
        self._refresh()
        QueryOp(
            self.worker,
            parent=self,
            op=lambda db: check_pin(db, pin, actor, "window"),
            success=self._checked,
        ).failure(self._db_failed).run_in_background()

    # -- the database's answers ----------------------------------------------------------

    def _stored_state(self, state: tuple[float, bool]) -> None:
        """As the dialog opens: seconds locked, and whether a PIN is set at all."""
        left, self.pin_set = state
        if not self.pin_set:  # a checkpoint made before init asked for a PIN
            self.message.setText(
                tr("No admin PIN is set here. Set one with 'kiosk pin set' on this computer.")
            )
            self.message.show()
        self._stored_lock(left)

    def _checked(self, answer: PinCheck) -> None:
        """The database's verdict on a PIN typed."""
        if answer.right:
            self.waiting = False
            self.attempts.succeeded()
            self.accept()
            return
        if answer.unset:
            self.pin_set = False
            self._stored_state((answer.locked_for, False))
            return
        self.message.setText(tr("Wrong PIN. Try again."))
        self.message.show()
        self._shake_it()
        self._stored_lock(answer.locked_for)

    def _stored_lock(self, left: float) -> None:
        """Seconds locked (0: open), as the database says."""
        self.waiting = False
        if left > 0:
            self.attempts.locked_until = self.attempts.clock() + left
            self.digits = ""
            self._refresh()
        self._refresh_lock()
        if self._submit_when_answered:
            self._submit_when_answered = False
            self.submit()

    def _db_failed(self, message: str) -> None:
        self.waiting = self._submit_when_answered = False  # the count could not be kept
        self.message.setText(message)
        self.message.show()

    # -- display ------------------------------------------------------------------------

    def _refresh(self) -> None:
        self.display.setText("●" * len(self.digits) if self.digits else "－")

    def _refresh_lock(self) -> None:
        left = self.attempts.locked_for()
        for button in self.keys.values():
            button.setEnabled(left <= 0)
        if left > 0:
            self.message.setText(
                tr("Too many wrong PINs. Locked for {seconds} s.", seconds=math.ceil(left))
            )
            self.message.show()
            self._timer.start()
        else:
            if self._timer.isActive():
                self.message.hide()
            self._timer.stop()

    def _shake_it(self) -> None:
        if not self.isVisible():
            return
        start = self.pos()
        animation = QPropertyAnimation(self, b"pos", self)
        animation.setDuration(300)
        animation.setEasingCurve(QEasingCurve.Type.Linear)
        for step, dx in enumerate((0, -16, 16, -12, 12, -6, 0)):
            animation.setKeyValueAt(step / 6, start + QPoint(dx, 0))
        animation.start()
        self._shake = animation
