"""The registration dialog reads the visitor's ID card with the gate's camera.

While :class:`~kiosk.ui.dialogs.registration.RegistrationDialog` is open for a new
visitor, :class:`CardReader` reads the camera's newest frame every
:data:`READ_EVERY_S` seconds on a thread of its own (``kiosk-card-ocr``: not the UI
thread, not the scan loop's, not the database reader's), one frame at a time, with
:func:`kiosk.vision.idcard.read_card`. The readings are voted
(:class:`kiosk.vision.idcard_vote.CardVote`) and what is settled fills the **empty**
fields only (name, ID number, "coming from"); what the guard typed is never replaced.
The number of a visitor who came before recognises them, as when the guard types it.
A field read with low confidence is outlined amber with a "check" note; a number that
fails its checks is never filled in: the dialog says to type it. Sex or birth date
disagreeing with the number is said under the number. Then the focus goes to the first
field still empty (the phone, usually).

Reading stops when the card is read (number and name in), when the guard has the name
and the number typed, when a returning visitor is recognised, and when the dialog
closes. F4 (or the button) reads again: what the card filled is cleared first.

Nothing of the image is kept: the thread holds one frame while it reads it, and the
dialog gets the fields only; the log gets the reader's one line per card (no text).
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from kiosk.core.i18n import tr
from kiosk.ui.dialogs.common import big_button, set_problem
from kiosk.ui.relay import UiRelay
from kiosk.vision.idcard import CardReading, read_card
from kiosk.vision.idcard_vote import CardVerdict, CardVote
from kiosk.vision.sources import Frame

if TYPE_CHECKING:
    from kiosk.ui.dialogs.registration import RegistrationDialog

log = logging.getLogger("kiosk.ui")

READ_EVERY_S = 0.4
NO_CAMERA_MS = 3000
"""With no camera picture this long after the reading starts (no camera, or one that
failed), the strip says so and stops asking for the card."""
"""The pause between two readings (a reading itself takes 0.5-1.5 s)."""
REREAD_KEY = Qt.Key.Key_F4
CARD_FIELDS = ("name", "id_number", "from_place")

Frames = Callable[[], Frame | None]


OCR_NICE = 10
"""How much lower than the gate's other threads the OCR runs (Linux: per thread)."""


def _lower_priority() -> None:
    """This thread (and the OCR's worker threads it makes: on Linux they inherit it)
    yields the cores to the scan loop's capture and decode threads. Linux's nice is a
    thread's own; elsewhere it would be the process's, so it is left alone there."""
    if sys.platform != "linux":
        return
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), OCR_NICE)
    except OSError as exc:
        log.debug("the ID card reader's priority stays as it is (%s)", exc)


_running: set[_OcrThread] = set()
_running_lock = threading.Lock()
EXIT_WAIT_S = 10.0


def _stop_all_at_exit() -> None:
    """At exit, stop the readers and wait for a reading under way: a thread left inside
    onnxruntime as the interpreter goes down ends the process with "terminate called"."""
    with _running_lock:
        threads = list(_running)
    for ocr in threads:
        ocr.stop()
    for ocr in threads:
        ocr.thread.join(EXIT_WAIT_S)


atexit.register(_stop_all_at_exit)


class _OcrThread:
    """Reads the newest frame every :data:`READ_EVERY_S` until stopped; hands each
    reading to ``deliver`` (on this thread, never after :meth:`stop` returned)."""

    def __init__(self, frames: Frames, deliver: Callable[[CardReading], None]) -> None:
        self._frames = frames
        self._deliver = deliver
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, name="kiosk-card-ocr", daemon=True)

    def start(self) -> None:
        with _running_lock:
            _running.add(self)
        self.thread.start()

    def stop(self) -> None:
        """No reading is delivered after this returns; the thread ends after the one it
        may be reading (it is not waited for: the UI thread never blocks on the OCR)."""
        with self._lock:
            self._stop.set()

    def _run(self) -> None:
        try:
            self._read_until_stopped()
        finally:
            with _running_lock:
                _running.discard(self)

    def _read_until_stopped(self) -> None:
        _lower_priority()
        last: tuple[int, float] | None = None  # the frame read last (not its pixels)
        while not self._stop.wait(READ_EVERY_S):
            frame = self._frames()
            if frame is None or (frame.index, frame.captured_at) == last:
                continue
            last = (frame.index, frame.captured_at)
            image = frame.image
            del frame
            try:
                reading = read_card(image)
            except Exception:  # a bug in the reader must not end the dialog's reading
                log.error("ID card reading failed", exc_info=True)
                continue
            finally:
                del image  # not kept beyond the reading
            with self._lock:
                if self._stop.is_set():
                    return
                self._deliver(reading)


class CardReader(QObject):
    """Reads the card for ``dialog`` (see the module's docstring); made by the dialog
    when it has a camera and is for a new visitor."""

    def __init__(self, dialog: RegistrationDialog, frames: Frames) -> None:
        super().__init__(dialog)
        self.dialog = dialog
        self.frames = frames
        self.vote = CardVote()
        self.filled: dict[str, str] = {}  # field -> the text the card put there
        self.verdict = CardVerdict()
        self._generation = 0
        self._ocr: _OcrThread | None = None
        self._relay = UiRelay(self)

        self.strip = QWidget()
        self.strip.setObjectName("cardStrip")
        strip_layout = QVBoxLayout(self.strip)
        strip_layout.setContentsMargins(0, 0, 0, 0)
        strip_layout.setSpacing(2)
        row = QHBoxLayout()
        self.status = QLabel()
        self.status.setObjectName("cardStatus")
        self.status.setWordWrap(True)
        self.reread_button = big_button(tr("Read the card again (F4)"))
        self.reread_button.setAutoDefault(False)
        self.reread_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Enter stays in the form
        self.reread_button.clicked.connect(self.reread)
        row.addWidget(self.status, 1)
        row.addWidget(self.reread_button)
        strip_layout.addLayout(row)
        self.privacy = QLabel(tr("The card image is not stored: only the fields you confirm."))
        self.privacy.setObjectName("cardPrivacy")
        self.privacy.setWordWrap(True)
        strip_layout.addWidget(self.privacy)
        layout = dialog.layout()
        assert isinstance(layout, QVBoxLayout)
        layout.insertWidget(layout.count() - 1, self.strip)  # above the buttons

        self.notes: dict[str, QLabel] = {}
        for name in CARD_FIELDS:
            note = QLabel()
            note.setProperty("role", "check")
            note.setWordWrap(True)
            note.hide()
            box = dialog.edits[name].parentWidget()
            box_layout = box.layout() if box is not None else None
            if box_layout is not None:
                box_layout.addWidget(note)
            self.notes[name] = note
            dialog.edits[name].textEdited.connect(lambda _t, n=name: self._typed(n))

        self._no_camera = QTimer(self)
        self._no_camera.setSingleShot(True)
        self._no_camera.setInterval(NO_CAMERA_MS)
        self._no_camera.timeout.connect(self._check_camera)

        self.shortcut = QShortcut(QKeySequence(REREAD_KEY), dialog)
        self.shortcut.activated.connect(self.reread)
        dialog.finished.connect(self.stop)
        dialog.destroyed.connect(self.stop)
        self.start()

    # -- the thread ------------------------------------------------------------------

    @property
    def reading(self) -> bool:
        return self._ocr is not None

    def start(self) -> None:
        self.stop()
        self._generation += 1
        generation, relay = self._generation, self._relay
        self._ocr = _OcrThread(
            self.frames, lambda reading: relay.call(self._on_reading, generation, reading)
        )
        self._ocr.start()
        self._say(tr("Hold the visitor's ID card (photo side) to the camera."))
        self._no_camera.start()

    def _check_camera(self) -> None:
        if self._ocr is not None and self.frames() is None:
            self._stopped(tr("No camera picture: type the card's details. F4 tries again."))

    def stop(self, *_args: object) -> None:
        if shiboken6.isValid(self._no_camera):
            self._no_camera.stop()
        if self._ocr is not None:
            self._ocr.stop()
            self._ocr = None

    def _stopped(self, message: str) -> None:
        self.stop()
        self._say(message)

    # -- readings (UI thread) ----------------------------------------------------------

    def _on_reading(self, generation: int, reading: CardReading) -> None:
        if generation != self._generation or self._ocr is None or not shiboken6.isValid(self):
            return
        if self.dialog.visitor_id:  # recognised as a returning visitor meanwhile
            self.stop()
            self.strip.hide()
            return
        self.show(self.vote.add(reading))

    def show(self, verdict: CardVerdict) -> None:
        """Fill in and mark what ``verdict`` settles; say what is missing."""
        self.verdict = verdict
        edits = self.dialog.edits
        focused = self.dialog.focusWidget()
        filled_now = self._show_number(verdict)
        for name, voted in (("name", verdict.name), ("from_place", verdict.where_from)):
            if voted.settled and self._fill(name, voted.text, low=voted.low_confidence):
                filled_now = True
        if filled_now and (focused is None or any(focused is edits[n] for n in self.filled)):
            self._focus_first_empty()
        if verdict.complete:
            log.info("ID card: fields filled from %d readings", verdict.readings)
            self._stopped(tr("Card read: check the fields. F4 reads it again."))
        elif verdict.too_far:
            self._say(tr("Hold the card closer to the camera."))
        elif verdict.number_wrong:
            self._say(tr("The card's number does not check out: type it, or F4 to read again."))
        else:
            self._say(tr("Reading the card... hold it still."))

    def _show_number(self, verdict: CardVerdict) -> bool:
        """The number taken filled in (True if it was just now), or why it is not."""
        number_edit = self.dialog.edits["id_number"]
        number_problem = self.dialog.problems["id_number"]
        wrong = tr("Card number unreadable or wrong: type it")
        if verdict.number_wrong and not number_edit.text():
            set_problem(number_edit, number_problem, wrong)
        elif number_problem.text() == wrong:
            set_problem(number_edit, number_problem, "")
        if verdict.id_number is None:
            return False
        if verdict.sex_or_birth_disagree:
            self._note(
                "id_number",
                tr("The sex or birth date on the card does not match this number: check the card."),
            )
        if not self._fill("id_number", verdict.id_number, low=False):
            return False
        # a visitor who came before: the rest from their last registration, as when
        # the guard types their number (read-only; the focus goes to the temperature)
        self.dialog._recognise()
        return True

    def _fill(self, name: str, text: str, *, low: bool) -> bool:
        """Put ``text`` in the field ``name`` if it is empty or still as the card filled
        it; mark it if ``low``. False if the guard's text is there (left alone)."""
        edit: QLineEdit = self.dialog.edits[name]
        if not text or edit.isReadOnly():
            return False
        current = edit.text()
        if current and self.filled.get(name) != current:
            return False  # typed by the guard (or prefilled): never replaced
        changed = current != text
        edit.setText(text)
        edit.setCursorPosition(0)
        self.filled[name] = text
        self._mark(name, low)
        return changed

    def _mark(self, name: str, low: bool) -> None:
        edit = self.dialog.edits[name]
        edit.setProperty("cardCheck", "true" if low else "false")
        edit.style().unpolish(edit)
        edit.style().polish(edit)
        self._note(name, tr("Read with doubt: check it against the card.") if low else "")

    def _note(self, name: str, text: str) -> None:
        self.notes[name].setText(text)
        self.notes[name].setVisible(bool(text))

    def _focus_first_empty(self) -> None:
        dialog = self.dialog
        for field in dialog.fields:
            if isinstance(field, QLineEdit) and not field.text() and not field.isReadOnly():
                field.setFocus(Qt.FocusReason.OtherFocusReason)
                return

    def _typed(self, name: str) -> None:
        """The guard changed a field: it is theirs now (unmarked); with the name and
        the number typed in, the card is not needed."""
        if name in self.filled:
            del self.filled[name]
            self._mark(name, False)
        edits = self.dialog.edits
        typed = "name" not in self.filled and "id_number" not in self.filled
        if self.reading and typed and edits["name"].text() and edits["id_number"].text():
            self._stopped(tr("Name and number typed: not reading the card. F4 reads it."))

    def reread(self) -> None:
        """Clear what the card filled (as it filled it) and read the card again."""
        if self.dialog.visitor_id:
            return
        edits = self.dialog.edits
        for name, text in list(self.filled.items()):
            if edits[name].text() == text:
                edits[name].clear()
            self._mark(name, False)
        self.filled.clear()
        self._note("id_number", "")
        number_problem = self.dialog.problems["id_number"]
        if number_problem.text() == tr("Card number unreadable or wrong: type it"):
            set_problem(edits["id_number"], number_problem, "")
        self.vote.clear()
        self.verdict = CardVerdict()
        self.start()
        log.info("ID card: read again on the guard's request")

    def _say(self, text: str) -> None:
        self.status.setText(text)
