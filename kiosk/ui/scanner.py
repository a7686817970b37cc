"""Handheld USB scanners that "type" the code (keyboard wedge).

A scanner types a whole code within a few milliseconds and ends it with Enter; a guard
in gloves types a few characters a second. :class:`ScannerFilter`, installed on the
QApplication, tells the two apart by the gaps between key presses:

* every printable key press is **held back** (swallowed) while it may be the start of
  a burst;
* when the next key arrives more than ``max_gap_s`` later, or nothing follows within
  ``release_ms`` (a real timer), or a non-printable key (Tab, Backspace, an arrow, a
  shortcut) comes, the held keys are **re-delivered** to the widget that was to get
  them, in order, before the new key: normal typing still works, delayed by at most
  ``release_ms``;
* Return/Enter after at least ``min_length`` fast characters is a scan: ``scanned``
  is emitted with the code and none of its keys reach any widget (not even a line edit
  in an open dialog).

Caps lock: a Gatepass token typed with caps lock on arrives as ``gp1:...`` with its
case inverted; it is inverted back. Surrounding whitespace is stripped.

Windows that are not the gate (the office, beside it) can be left alone with
:meth:`ScannerFilter.ignore_window`: a code scanned there (a clerk looking up a pass)
is typing into that window, never a passage at the gate.

Qt hands an application event filter the same key event several times (the window,
then the focus widget, then its parents if they ignore it); only the first delivery
is counted.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import shiboken6
from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QWindow
from PySide6.QtWidgets import QApplication, QWidget

MAX_GAP_S = 0.035  # a scanner types faster than this between two keys
MIN_LENGTH = 8  # shorter bursts are people (or key rollover)
RELEASE_MS = 100  # held keys go to the widget after this long without a follow-up
_ENTER = (Qt.Key.Key_Return, Qt.Key.Key_Enter)
_TEXT_MODIFIERS = Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.KeypadModifier
TOKEN_PREFIX = "GP1:"


def fix_scanned_text(text: str) -> str:
    """The code as meant: stripped, and a token typed with caps lock on inverted back."""
    text = text.strip()
    if text[: len(TOKEN_PREFIX)] == TOKEN_PREFIX.lower():
        text = text.swapcase()
    return text


@dataclass
class _Held:
    receiver: QObject
    key: int
    modifiers: Qt.KeyboardModifier
    text: str


class ScannerFilter(QObject):
    """Turns scanner bursts into ``scanned(text)``; lets people's typing through."""

    scanned = Signal(str)

    def __init__(
        self,
        parent: QObject | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_gap_s: float = MAX_GAP_S,
        min_length: int = MIN_LENGTH,
        release_ms: int = RELEASE_MS,
    ) -> None:
        super().__init__(parent)
        self.clock = clock
        self.max_gap_s = max_gap_s
        self.min_length = min_length
        self.release_s = release_ms / 1000
        self.enabled = True
        self._held: list[_Held] = []
        self._last_at = 0.0
        self._replaying = False
        self._last_seen: tuple[QObject, int, str] | None = None
        self._ignored: list[QWidget] = []
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(release_ms)
        self._timer.timeout.connect(self.release)

    # -- public -------------------------------------------------------------------

    def install(self, app: QApplication | None = None) -> None:
        target = app or QApplication.instance()
        if target is not None:
            target.installEventFilter(self)

    def uninstall(self, app: QApplication | None = None) -> None:
        self.release()
        target = app or QApplication.instance()
        if target is not None:
            target.removeEventFilter(self)

    def ignore_window(self, window: QWidget) -> None:
        """Let keys typed in ``window`` (and its dialogs) through untouched."""
        self._ignored = [w for w in self._ignored if shiboken6.isValid(w)] + [window]

    def _in_ignored_window(self, watched: QObject) -> bool:
        ignored = [w for w in self._ignored if shiboken6.isValid(w)]
        if not ignored:
            return False
        if isinstance(watched, QWindow):
            handles = {w.windowHandle() for w in ignored}
            handle: QWindow | None = watched
            while handle is not None:
                if handle in handles:
                    return True
                handle = handle.transientParent()
            return False
        widget = watched if isinstance(watched, QWidget) else None
        while widget is not None:
            top = widget.window()
            if top in ignored:
                return True
            widget = top.parentWidget()
        return False

    def release(self) -> None:
        """Deliver the held keys to their widgets now, as typing."""
        self._timer.stop()
        held, self._held = self._held, []
        if not held:
            return
        self._replaying = True
        try:
            for item in held:
                if not shiboken6.isValid(item.receiver):
                    continue
                for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
                    event = QKeyEvent(kind, item.key, item.modifiers, item.text)
                    QApplication.sendEvent(item.receiver, event)
        finally:
            self._replaying = False

    # -- the filter ----------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if self._replaying or not self.enabled or event.type() != QEvent.Type.KeyPress:
            return False
        if not isinstance(event, QKeyEvent) or self._is_repeat_delivery(watched, event):
            return False
        if self._in_ignored_window(watched):
            return False
        now = self.clock()
        gap = now - self._last_at
        self._last_at = now
        key = Qt.Key(event.key())
        if key in _ENTER:
            return self._enter(gap)
        text = event.text()
        printable = (
            len(text) == 1
            and text.isprintable()
            and not event.isAutoRepeat()
            and not (event.modifiers() & ~_TEXT_MODIFIERS)
        )
        if not printable:
            self.release()  # the keys before this one first, in order
            return False
        if self._held and gap > self.max_gap_s:
            self.release()
        self._held.append(_Held(watched, event.key(), event.modifiers(), text))
        self._timer.start()
        return True

    def _enter(self, gap: float) -> bool:
        if len(self._held) >= self.min_length and gap <= self.release_s:
            text = fix_scanned_text("".join(h.text for h in self._held))
            self._held = []
            self._timer.stop()
            if text:
                self.scanned.emit(text)
                return True
        self.release()
        return False

    def _is_repeat_delivery(self, watched: QObject, event: QKeyEvent) -> bool:
        """True when ``event`` is one already seen, handed on to the focus widget or to
        the parent of a widget that ignored it."""
        seen = (watched, event.key(), event.text())
        previous, self._last_seen = self._last_seen, seen
        if previous is None or previous[1:] != seen[1:]:
            return False
        before = previous[0]
        if not shiboken6.isValid(before):
            return False
        if isinstance(before, QWindow) and isinstance(watched, QWidget):
            return watched.window().windowHandle() is before
        if isinstance(before, QWidget) and isinstance(watched, QWidget):
            return watched is not before and watched.isAncestorOf(before)
        return False
