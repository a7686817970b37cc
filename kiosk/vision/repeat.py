"""Repeat-scan suppression: one object with a window, not timestamps sprinkled around."""

from __future__ import annotations

import time
from collections.abc import Callable

from kiosk.core.rules import REPEAT_WINDOW_S


class RepeatFilter:
    """Lets a text through once, then not again until it has been out of sight for
    ``window`` seconds. Every sighting restarts the window, so a card held up for
    ten seconds in front of the camera is one scan, and shown again a minute later
    it is a second one."""

    def __init__(
        self, window: float = REPEAT_WINDOW_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.window = window
        self._clock = clock
        self._last_seen: dict[str, float] = {}

    def accept(self, text: str, now: float | None = None) -> bool:
        """True when ``text`` is a new scan (and note that it was seen, either way)."""
        at = self._clock() if now is None else now
        last = self._last_seen.get(text)
        self._last_seen[text] = at
        if len(self._last_seen) > 256:  # forget the long gone
            self._last_seen = {t: s for t, s in self._last_seen.items() if at - s < self.window}
        return last is None or at - last >= self.window

    def forget(self, text: str | None = None) -> None:
        """Let ``text`` (or every text) scan again at once."""
        if text is None:
            self._last_seen.clear()
        else:
            self._last_seen.pop(text, None)
