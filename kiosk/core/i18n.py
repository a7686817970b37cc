"""Every string a guard or clerk sees goes through ``tr()``.

The English text is the message id (as in gettext); catalogues in
``kiosk/resources/translations/<lang>/*.json`` (one file per area of the program, merged)
map it to the translation. Placeholders use
``str.format`` names: ``tr("Row {row}: {reason}", row=3, reason=...)``. A test walks
the source for every ``tr("...")`` literal and fails when a shipped language lacks it.

An English word with two meanings ("Reason": the purpose of a visit, or the cause of a
verdict) takes a context, as gettext's ``pgettext``: ``trc("visit purpose", "Reason")``.
Its catalogue key is the context, ``|``, then the message: ``"visit purpose|Reason"``.
A plain key never holds ``|``; one message id (in one context) has one translation in
all the files together (tests/test_i18n.py checks both).

The catalogues are package data, read through ``importlib.resources`` so that an
installed wheel finds them as a source checkout does.

One mechanism serves the CLI, the core's messages and the Qt window alike.
"""

from __future__ import annotations

import json
import locale
import os
import threading
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Any

RESOURCES: Traversable = files("kiosk") / "resources"
TRANSLATIONS = RESOURCES / "translations"
LANGUAGES = ("en", "zh_CN")
CONTEXT_SEPARATOR = "|"

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
    for _name, table in catalogue_files(lang):
        data.update(table)
    return data


def catalogue_files(lang: str) -> list[tuple[str, dict[str, str]]]:
    """Each catalogue file of ``lang`` (name, entries), in the order they merge."""
    folder = TRANSLATIONS / lang
    if not folder.is_dir():
        return []
    found = sorted((f for f in folder.iterdir() if f.name.endswith(".json")), key=lambda f: f.name)
    return [(f.name, json.loads(f.read_text(encoding="utf-8"))) for f in found]


def context_key(context: str, message: str) -> str:
    """The catalogue key of ``message`` in ``context``: ``"context|message"``."""
    return f"{context}{CONTEXT_SEPARATOR}{message}"


def _translated(key: str, message: str, values: dict[str, Any]) -> str:
    lang = language()
    text = message if lang == "en" else catalogue(lang).get(key, message)
    return text.format(**values) if values else text


def tr(message: str, /, **values: Any) -> str:
    """The message in the current language, with ``values`` filled in."""
    return _translated(message, message, values)


def trc(context: str, message: str, /, **values: Any) -> str:
    """``tr()`` of a message whose English has more than one meaning (gettext's
    ``pgettext``): ``trc("visit purpose", "Reason")``. English shows ``message``."""
    return _translated(context_key(context, message), message, values)


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
