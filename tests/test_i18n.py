"""Every string passed to tr()/trc()/N_() as a literal has a Simplified Chinese
translation, with the same placeholders; one message id (in one context) has one
translation across all the catalogue files; no catalogue holds a key nothing uses."""

from __future__ import annotations

import ast
import string
from collections import defaultdict
from pathlib import Path

import pytest

from kiosk.core import i18n

KIOSK = Path(__file__).resolve().parent.parent / "kiosk"
MARKERS = {"tr": 0, "N_": 0, "tr_in": 1}  # the argument that is the message
CONTEXT_MARKERS = {"trc": 0}  # the argument that is the context; the message follows
SHIPPED = [lang for lang in i18n.LANGUAGES if lang != "en"]


def _literal(node: ast.expr) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def literal_calls(source: str) -> list[tuple[str | None, str, int]]:
    """(context or None, message, line) of every tr/trc/N_/tr_in call with literals."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        if name in MARKERS and len(node.args) > MARKERS[name]:
            message = _literal(node.args[MARKERS[name]])
            if message is not None:
                found.append((None, message, node.lineno))
        elif name in CONTEXT_MARKERS and len(node.args) > CONTEXT_MARKERS[name] + 1:
            context = _literal(node.args[CONTEXT_MARKERS[name]])
            message = _literal(node.args[CONTEXT_MARKERS[name] + 1])
            if context is not None and message is not None:
                found.append((context, message, node.lineno))
    return found


def source_calls() -> list[tuple[str | None, str, str]]:
    """(context or None, message, where) over the whole source tree."""
    found = []
    for path in sorted(KIOSK.rglob("*.py")):
        where = str(path.relative_to(KIOSK.parent))
        for context, message, line in literal_calls(path.read_text(encoding="utf-8")):
            found.append((context, message, f"{where}:{line}"))
    return found


def messages() -> dict[str, str]:
    """The catalogue key of every literal message (``context|message`` for ``trc``)."""
    return {
        message if context is None else i18n.context_key(context, message): where
        for context, message, where in source_calls()
    }


def fields(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


def english(key: str) -> str:
    """The English of a catalogue key (a contextual key without its context)."""
    return key.split(i18n.CONTEXT_SEPARATOR, 1)[-1]


def conflicts(files: list[tuple[str, dict[str, str]]]) -> list[str]:
    """Each key that two catalogue files translate differently, with the files."""
    seen: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for name, table in files:
        for key, text in table.items():
            seen[key][text].append(name)
    return [
        f"{key!r}: " + "; ".join(f"{text!r} in {', '.join(names)}" for text, names in found.items())
        for key, found in seen.items()
        if len(found) > 1
    ]


@pytest.mark.parametrize("lang", SHIPPED)
def test_every_message_is_translated(lang: str) -> None:
    i18n.catalogue.cache_clear()
    table = i18n.catalogue(lang)
    missing = [f"{where}: {msg!r}" for msg, where in messages().items() if msg not in table]
    assert not missing, f"{len(missing)} untranslated:\n" + "\n".join(missing)
    wrong = [
        f"{where}: {msg!r}"
        for msg, where in messages().items()
        if fields(table[msg]) != fields(english(msg))
    ]
    assert not wrong, "placeholders differ:\n" + "\n".join(wrong)


@pytest.mark.parametrize("lang", SHIPPED)
def test_one_message_has_one_translation(lang: str) -> None:
    """Catalogues merge in file-name order, so a message translated two ways in two
    files shows whichever comes last ("Reason": 事由 and 原因). Two meanings take two
    contexts (``trc``)."""
    found = conflicts(i18n.catalogue_files(lang))
    assert not found, "translated two ways (give each meaning a context):\n" + "\n".join(found)


def test_two_translations_of_one_message_are_found() -> None:
    files = [
        ("a.json", {"Reason": "事由", "Name": "姓名"}),
        ("b.json", {"Reason": "原因", "Name": "姓名", "visit purpose|Reason": "事由"}),
    ]
    assert conflicts(files) == ["'Reason': '事由' in a.json; '原因' in b.json"]


@pytest.mark.parametrize("lang", SHIPPED)
def test_no_catalogue_holds_an_unused_key(lang: str) -> None:
    used = messages()
    unused = [
        f"{name}: {key!r}"
        for name, table in i18n.catalogue_files(lang)
        for key in table
        if key not in used
    ]
    assert not unused, "no source uses:\n" + "\n".join(unused)


def test_plain_messages_never_hold_the_context_separator() -> None:
    """``context|message`` keys stay unambiguous: no plain message (nor context)
    holds ``|``."""
    bad = [
        f"{where}: {message!r}"
        for context, message, where in source_calls()
        if i18n.CONTEXT_SEPARATOR in (message if context is None else context)
    ]
    assert not bad, "'|' in a message id:\n" + "\n".join(bad)


def test_the_walk_finds_contexts() -> None:
    found = literal_calls(
        'tr("Name")\ntrc("visit purpose", "Reason")\nN_("Kind")\ntr_in(lang, "Day {d}")\n'
    )
    assert found == [
        (None, "Name", 1),
        ("visit purpose", "Reason", 2),
        (None, "Kind", 3),
        (None, "Day {d}", 4),
    ]


def test_a_context_picks_its_own_translation() -> None:
    i18n.set_language("zh_CN")
    assert i18n.trc("visit purpose", "Reason") == "事由"
    assert i18n.tr("Reason") == "原因"
    i18n.set_language("en")
    assert i18n.trc("visit purpose", "Reason") == "Reason"


def test_chinese_is_used() -> None:
    assert i18n.tr_in("zh_CN", "error: {message}", message="x") != "error: x"
