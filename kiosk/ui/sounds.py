"""The verdict tones (and optional spoken prompts), silent when there is no audio.

QtMultimedia needs system audio libraries and a device; a kiosk without them (and CI)
runs silently after one log line, never crashes.
"""

from __future__ import annotations

import logging
from contextlib import ExitStack
from importlib.resources import as_file
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QUrl

from kiosk.core.i18n import RESOURCES, language
from kiosk.core.rules import Level

log = logging.getLogger("kiosk.ui")

SOUNDS = RESOURCES / "sounds"
FILES = {Level.PASS: "pass.wav", Level.CHECK: "check.wav", Level.DENY: "stop.wav"}


def sound_file(level: Level, files: ExitStack) -> Path:
    """The tone of ``level`` as a file on disk (package data, extracted into ``files``
    when the package is not a folder) for as long as ``files`` stays open."""
    return files.enter_context(as_file(SOUNDS / FILES[level]))


class Sounds(QObject):
    """``play(level)`` sounds the tone for a verdict; ``say(text)`` speaks when enabled."""

    def __init__(
        self, parent: QObject | None = None, *, enabled: bool = True, speak: bool = False
    ) -> None:
        super().__init__(parent)
        self._effects: dict[Level, Any] = {}
        self._files = ExitStack()
        self._speech: Any = None
        self.available = False
        if enabled:
            self._load_effects()
        if speak:
            self._load_speech()

    def _load_effects(self) -> None:
        try:
            from PySide6.QtMultimedia import QMediaDevices, QSoundEffect
        except ImportError as exc:
            log.info("no sound: QtMultimedia unavailable (%s)", exc)
            return
        try:
            if not QMediaDevices.audioOutputs():
                log.info("no sound: no audio output device")
                return
            for level in FILES:
                effect = QSoundEffect(self)
                effect.setSource(QUrl.fromLocalFile(str(sound_file(level, self._files))))
                effect.setVolume(1.0)
                self._effects[level] = effect
        except Exception:  # a broken audio stack must not stop the gate
            log.exception("no sound: audio set-up failed")
            self._effects.clear()
            return
        self.available = True

    def _load_speech(self) -> None:
        try:
            from PySide6.QtTextToSpeech import QTextToSpeech

            engine = QTextToSpeech(self)
            wanted = "zh" if language() == "zh_CN" else "en"
            for locale in engine.availableLocales():
                if locale.name().startswith(wanted):
                    engine.setLocale(locale)
                    break
            self._speech = engine
        except Exception as exc:
            log.info("no spoken prompts: text to speech unavailable (%s)", exc)

    def play(self, level: Level) -> None:
        effect = self._effects.get(level)
        if effect is None:
            return
        try:
            effect.play()
        except Exception:
            log.exception("playing the %s tone failed", level.value)

    def say(self, text: str) -> None:
        if self._speech is None:
            return
        try:
            self._speech.say(text)
        except Exception:
            log.exception("speaking failed")
