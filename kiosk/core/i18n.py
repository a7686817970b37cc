"""Every string a guard or clerk sees goes through ``tr()``.

The English text is the message id (as in gettext); catalogues in
``kiosk/resources/translations/<lang>/*.json`` (one file per area of the program, merged)
map it to the translation. Placeholders use
``str.format`` names: ``tr("Row {row}: {reason}", row=3, reason=...)``. A test walks
the source for every ``tr("...")`` literal and fails when a shipped language lacks it.

One mechanism serves the CLI, the core's messages and the Qt window alike.
"""

from __future__ import annotations

import json
import locale
import os
import threading
from functools import cache
from pathlib import Path
from typing import Any

RESOURCES = Path(__file__).resolve().parent.parent / "resources"
TRANSLATIONS = RESOURCES / "translations"
LANGUAGES = ("en", "zh_CN")

_state = threading.local()
_default_language: str | None = None


def _normalise(lang: str | None) -> str:
    if not lang:
        return "en"
    lang = lang.split(".")[0].replace("-", "_")
    if lang.lower().startswith("zh"):
        return "zh_CN"
    return "en"


def system_language() -> str:
    """The language of this computer's locale: zh_CN for any Chinese locale, else en."""
    for var in ("KIOSK_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var)
        if value:
            return _normalise(value)
    try:
        found = locale.getlocale()[0]
    except ValueError:  # pragma: no cover - odd platform locales
        found = None
    return _normalise(found)


def set_language(lang: str | None) -> str:
    """Set the process-wide language (``None``: the system's). Returns what was set."""
    global _default_language
    _default_language = _normalise(lang) if lang else system_language()
    return _default_language


def language() -> str:
    override = getattr(_state, "lang", None)
    if override:
        return str(override)
    if _default_language is None:
        return set_language(None)
    return _default_language


@cache
def catalogue(lang: str) -> dict[str, str]:
    if lang == "en":
        return {}
    data: dict[str, str] = {}
    for path in sorted((TRANSLATIONS / lang).glob("*.json")):
        with path.open(encoding="utf-8") as fh:
            data.update(json.load(fh))
    return data


def tr(message: str, /, **values: Any) -> str:
    """The message in the current language, with ``values`` filled in."""
    text = catalogue(language()).get(message, message) if language() != "en" else message
    return text.format(**values) if values else text


def tr_in(lang: str, message: str, /, **values: Any) -> str:
    """The message in ``lang`` whatever the current language (reports, exports)."""
    previous = getattr(_state, "lang", None)
    _state.lang = _normalise(lang)
    try:
        return tr(message, **values)
    finally:
        _state.lang = previous


def N_(message: str, /) -> str:
    """Marks a string for translation where it is defined; ``tr()`` it where shown."""
    return message
