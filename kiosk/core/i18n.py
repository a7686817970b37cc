"""Every string a guard or clerk sees goes through ``tr()``.

GNU gettext, read by the standard library's :mod:`gettext`: the English text is the
message id, and each language has one compiled catalogue,
``kiosk/resources/translations/<lang>/LC_MESSAGES/gatepass.mo``, made from the
``gatepass.po`` beside it (``./dev i18n``; docs/translating.md). English is the
message ids themselves. Placeholders use ``str.format`` names:
``tr("Row {row}: {reason}", row=3, reason=...)``.

* ``tr(message)``: gettext.
* ``trc(context, message)``: an English word with two meanings ("Reason": the purpose
  of a visit, or the cause of a verdict) takes a context, gettext's ``pgettext``
  (``msgctxt`` in the ``.po``): ``trc("visit purpose", "Reason")``.
* ``trn(singular, plural, n)``: a message about a number, gettext's ``ngettext``:
  ``trn("{count} passage", "{count} passages", n, count=n)``. Chinese has one form.
* ``N_(message)``: marks a message where it is defined; ``tr()`` it where shown.
* ``tr_in(lang, message)``: the message in ``lang`` whatever the current language.

The language is process-wide (:func:`set_language`; the CLI's ``--lang``, the window's
setting), and a thread may override it for a while (``tr_in``). A message raised in the
core is translated where it is raised, in that language, so the window shows it in the
guard's language as the CLI does: one mechanism for the CLI, the core and the window.

The catalogues are package data, opened through ``importlib.resources`` so that an
installed wheel finds them as a source checkout does. ``tests/test_i18n.py`` extracts
every message with Babel (the keywords below) and fails when one lacks a translation.
"""

from __future__ import annotations

import gettext
import locale
import os
import threading
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Any

RESOURCES: Traversable = files("kiosk") / "resources"
TRANSLATIONS = RESOURCES / "translations"
DOMAIN = "gatepass"
LANGUAGES = ("en", "zh_CN")

# The marker functions, as Babel's extractor keywords (pybabel's -k tr trc:1c,2 ...):
# None is "the first argument is the message"; (1, "c") the context; (1, 2) singular
# and plural. tools/i18n.py and tests/test_i18n.py extract with exactly these.
KEYWORDS: dict[str, tuple[Any, ...] | None] = {
    "tr": None,
    "trc": ((1, "c"), 2),
    "trn": (1, 2),
    "N_": None,
    "tr_in": (2,),
}

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


def catalogue_file(lang: str) -> Traversable:
    """The compiled catalogue of ``lang`` (``<lang>/LC_MESSAGES/gatepass.mo``)."""
    return TRANSLATIONS / lang / "LC_MESSAGES" / f"{DOMAIN}.mo"


@cache
def translations(lang: str) -> gettext.NullTranslations:
    """The catalogue of ``lang``; English (and a language without one) is the ids."""
    if lang == "en":
        return gettext.NullTranslations()
    mo = catalogue_file(lang)
    if not mo.is_file():
        return gettext.NullTranslations()
    with mo.open("rb") as fp:
        return gettext.GNUTranslations(fp)


def _filled(text: str, values: dict[str, Any]) -> str:
    return text.format(**values) if values else text


def tr(message: str, /, **values: Any) -> str:
    """The message in the current language, with ``values`` filled in."""
    return _filled(translations(language()).gettext(message), values)


def trc(context: str, message: str, /, **values: Any) -> str:
    """``tr()`` of a message whose English has more than one meaning (gettext's
    ``pgettext``): ``trc("visit purpose", "Reason")``. English shows ``message``."""
    return _filled(translations(language()).pgettext(context, message), values)


def trn(singular: str, plural: str, n: int, /, **values: Any) -> str:
    """The form of a message for the number ``n`` (gettext's ``ngettext``), with
    ``values`` filled in: ``trn("{count} row", "{count} rows", n, count=n)``."""
    return _filled(translations(language()).ngettext(singular, plural, n), values)


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
