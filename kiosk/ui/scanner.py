"""Handheld USB scanners that "type" the code (keyboard wedge).

A scanner is a keyboard: it types a whole code with 2-40 ms between characters,
pressing Shift for every capital and for ``:`` as any USB keyboard does, and ends it
with Enter or Tab (some send a configured prefix and suffix around the code). A guard
in gloves types a few characters a second. :class:`ScannerFilter`, installed on the
QApplication, tells the two apart by the **gaps between key presses**:

* every printable key press is **held back** (swallowed) while it may be part of a
  burst;
* a key that comes more than ``max_gap_s`` after the one before ends the burst: the
  held keys are **re-delivered** to the window that was to get them (its focus widget),
  in order, before the new key, as typing; so are they when a non-printable key
  (Backspace, an arrow, Escape, a function key) comes, or when nothing follows within
  ``release_ms``: people's typing still works, delayed by at most about ``release_ms``;
* once ``min_length`` characters came each within ``max_gap_s`` of the one before, no
  person typed them: the burst then survives a pause of up to ``burst_gap_s`` (the
  release timer waits as long);
* Enter or Tab after such a burst is a scan: ``scanned`` is emitted with the code and
  none of its keys reach any widget (not even a line edit in an open dialog). So is
  a configured suffix typed at the end of such a burst (an Enter or Tab right after
  it is swallowed too);
* key presses of modifiers alone (Shift, Ctrl, Alt, AltGr, Caps Lock, Num Lock, Meta)
  neither break nor extend a burst, and key releases are not looked at.

The gaps are measured between the **time stamps the window system gave the key
events** (X server time on Linux, the message time on Windows), not the time this
thread got round to them: a busy UI thread hands a burst over in clumps, and the
clumps must not look like separate typing. The ``release_ms`` timer is only the
fallback for the last keys of a person's typing; before it releases anything it lets
the input that is already waiting in (``QApplication.processEvents``), so a burst
whose next keys were held up behind a busy thread stays whole.

The code: the configured prefix and suffix are cut off (when present, in either
case), surrounding whitespace is stripped, and a Gatepass token typed with caps lock
on (``gp1:...``, its case inverted) is inverted back.

Windows that are not the gate (the office, beside it) can be left alone with
:meth:`ScannerFilter.ignore_window`: a code scanned there (a clerk looking up a pass)
is typing into that window, never a passage at the gate.

Qt hands an application event filter the same key event several times (the window,
then the focus widget, then its parents if they ignore it); only the first delivery
is counted.

Not covered: an input method (a Chinese IME) switched on in a line edit takes the
keys before Qt makes key events of them, so no application filter sees them; the gate
window itself has no text field, and the scan there never meets an IME.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import shiboken6
from PySide6.QtCore import QEvent, QEventLoop, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QWindow
from PySide6.QtWidgets import QApplication, QWidget

# Between two characters of a burst. Scanners send 2-40 ms; xdotool typing at 40 ms a
# character under Xvfb on a loaded 2-core machine showed gaps up to about 60-70 ms now
# and then in the window system's time stamps; a person's keys are 100-250 ms apart,
# and no one types 8 characters and Enter each within 80 ms (docs/ui.md, "Scanners").
MAX_GAP_S = 0.080
MIN_LENGTH = 8  # shorter bursts are people (or key rollover)
RELEASE_MS = 100  # held keys go to the widget after this long without a follow-up
# Once MIN_LENGTH keys came each within MAX_GAP_S, it is a scanner: a pause in it (a
# wireless scanner's buffer, a starved USB hub, a loaded machine: up to 350 ms seen)
# no longer breaks it, up to this long.
BURST_GAP_S = 0.5
_DRAIN_MS = 20  # the longest the release timer lets waiting input in first
_TERMINATORS = (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Tab)
_TEXT_MODIFIERS = (
    Qt.KeyboardModifier.ShiftModifier
    | Qt.KeyboardModifier.KeypadModifier
    | Qt.KeyboardModifier.GroupSwitchModifier
)
MODIFIER_KEYS = frozenset(
    {
        Qt.Key.Key_Shift,
        Qt.Key.Key_Control,
        Qt.Key.Key_Alt,
        Qt.Key.Key_AltGr,  # also ISO_Level3_Shift on X11
        Qt.Key.Key_Meta,
        Qt.Key.Key_Super_L,
        Qt.Key.Key_Super_R,
        Qt.Key.Key_Hyper_L,
        Qt.Key.Key_Hyper_R,
        Qt.Key.Key_CapsLock,
        Qt.Key.Key_NumLock,
        Qt.Key.Key_ScrollLock,
        Qt.Key.Key_Mode_switch,
    }
)
TOKEN_PREFIX = "GP1:"


def _cut(text: str, prefix: str, suffix: str) -> str:
    if prefix and text[: len(prefix)].casefold() == prefix.casefold():
        text = text[len(prefix) :]
    if suffix and len(text) >= len(suffix) and text[-len(suffix) :].casefold() == suffix.casefold():
        text = text[: -len(suffix)]
    return text


def fix_scanned_text(text: str, prefix: str = "", suffix: str = "") -> str:
    """The code as meant: the scanner's prefix and suffix cut off, stripped, and a
    token typed with caps lock on inverted back."""
    text = _cut(text.strip(), prefix, suffix).strip()
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
    """Turns scanner bursts into ``scanned(text)``; lets people's typing through.

    ``clock``: where the time of a key press comes from; by default the window
    system's time stamp of the event (``QKeyEvent.timestamp()``), or
    ``time.monotonic()`` for events without one. Tests pass a clock of their own.
    """

    scanned = Signal(str)

    def __init__(
        self,
        parent: QObject | None = None,
        *,
        clock: Callable[[], float] | None = None,
        max_gap_s: float = MAX_GAP_S,
        min_length: int = MIN_LENGTH,
        release_ms: int = RELEASE_MS,
        burst_gap_s: float = BURST_GAP_S,
        prefix: str = "",
        suffix: str = "",
    ) -> None:
        super().__init__(parent)
        self.clock = clock
        self.max_gap_s = max_gap_s
        self.min_length = min_length
        self.release_ms = release_ms
        self.burst_gap_s = burst_gap_s
        self.prefix = prefix
        self.suffix = suffix
        self.enabled = True
        self._held: list[_Held] = []
        self._last_at: tuple[bool, float] | None = None  # (from a time stamp, seconds)
        self._swallow_terminator = False  # a suffix ended the last scan
        self._replaying = False
        self._draining = False
        self._counted = 0  # key presses looked at (modifiers alone not counted)
        self._last_seen: tuple[QObject, int, str] | None = None
        self._ignored: list[QWidget] = []
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._release_when_quiet)

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

    @property
    def holding(self) -> str:
        """The text of the keys held back now (for tests and diagnostics)."""
        return "".join(h.text for h in self._held)

    # -- the filter ----------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if self._replaying or not self.enabled or event.type() != QEvent.Type.KeyPress:
            return False
        if not isinstance(event, QKeyEvent) or self._is_repeat_delivery(watched, event):
            return False
        key = Qt.Key(event.key())
        if key in MODIFIER_KEYS:
            return False  # Shift before a capital, Caps Lock...: neither typing nor a scan
        if self._in_ignored_window(watched):
            return False
        gap = self._gap(event)
        self._counted += 1
        if key in _TERMINATORS and not (event.modifiers() & ~_TEXT_MODIFIERS):
            return self._terminator(gap)
        self._swallow_terminator = False
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
        if self._held and gap > self._allowed_gap():
            self.release()  # a pause: what came before was typing
        self._held.append(_Held(watched, event.key(), event.modifiers(), text))
        if self._suffix_ends_burst():
            return True
        self._timer.start(
            round(self._allowed_gap() * 1000) if self._is_burst() else self.release_ms
        )
        return True

    def _is_burst(self) -> bool:
        """``min_length`` keys held, each within ``max_gap_s``: no person typed them
        (a longer gap before would have released the keys before it)."""
        return len(self._held) >= self.min_length

    def _allowed_gap(self) -> float:
        return self.burst_gap_s if self._is_burst() else self.max_gap_s

    def _gap(self, event: QKeyEvent) -> float:
        """Seconds since the key press before this one (infinite when unknown)."""
        if self.clock is not None:
            now = (False, self.clock())
        elif event.timestamp():
            now = (True, event.timestamp() / 1000)
        else:
            now = (False, time.monotonic())
        before, self._last_at = self._last_at, now
        if before is None or before[0] != now[0] or now[1] < before[1]:
            return float("inf")
        return now[1] - before[1]

    def _burst_text(self) -> str | None:
        """The code, when the held keys are long enough to be a scan."""
        text = "".join(h.text for h in self._held)
        code = fix_scanned_text(text, self.prefix, self.suffix)
        if len(text) < self.min_length or not code:
            return None
        return code

    def _terminator(self, gap: float) -> bool:
        if self._swallow_terminator and gap <= self.burst_gap_s:
            self._swallow_terminator = False
            return True  # the Enter after a scan that ended with its suffix
        self._swallow_terminator = False
        if self._held and gap <= self._allowed_gap():
            code = self._burst_text()
            if code is not None:
                self._emit(code)
                return True
        self.release()
        return False

    def _suffix_ends_burst(self) -> bool:
        if not self.suffix:
            return False
        text = "".join(h.text for h in self._held)
        if text[-len(self.suffix) :].casefold() != self.suffix.casefold():
            return False
        code = self._burst_text()
        if code is None:
            return False
        self._emit(code)
        self._swallow_terminator = True
        return True

    def _emit(self, code: str) -> None:
        self._held = []
        self._timer.stop()
        self.scanned.emit(code)

    def _release_when_quiet(self) -> None:
        """The release timer: first let in the input already waiting (the thread may
        have been busy while the burst went on), then release what is still held."""
        if self._draining:
            return
        before = self._counted
        self._draining = True
        try:
            QApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, _DRAIN_MS)
        finally:
            self._draining = False
        if self._counted != before:
            return  # more keys came and were dealt with (a burst goes on: timer again)
        self.release()

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
