"""The gettext catalogues hold every message the source uses, translated, and nothing
else; the compiled .mo is the committed .po; the program reads them.

The messages are extracted with Babel's extractor and the keywords of
``kiosk.core.i18n`` (through tools/i18n.py, what ``./dev i18n`` runs), so the test and
the translators' template see the same list.
"""

from __future__ import annotations

import ast
import importlib.util
import io
import json
import re
import string
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract
from babel.messages.pofile import read_po

from kiosk.core import i18n

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = [lang for lang in i18n.LANGUAGES if lang != "en"]


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gatepass_i18n_tool", ROOT / "tools" / "i18n.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


tool = _tool()


@pytest.fixture(scope="module")
def template() -> Catalog:
    return tool.template()


def read(path: Path) -> Catalog:
    with path.open("rb") as f:
        return read_po(f)


def key(message: Any) -> tuple[str | None, Any]:
    return (message.context, message.id)


def entries(catalog: Catalog) -> dict[tuple[str | None, Any], Any]:
    return {key(m): m for m in catalog if m.id}


def label(message: Any) -> str:
    where = ", ".join(path for path, _ in message.locations) or "no source"
    context = f" (context {message.context!r})" if message.context else ""
    return f"{where}: {message.id!r}{context}"


def fields(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


def forms(message: Any) -> tuple[str, ...]:
    return message.string if isinstance(message.string, tuple) else (message.string,)


def ids(message: Any) -> tuple[str, ...]:
    return message.id if isinstance(message.id, tuple) else (message.id,)


def test_the_extraction_finds_every_kind_of_marker() -> None:
    source = (
        'tr("Name")\ntrc("visit purpose", "Reason")\nN_("Kind")\ntr_in(lang, "Day {d}")\n'
        'trn("{n} row", "{n} rows", n, n=n)\ntr(label)\ntr("{ms} ms", ms=f"{x:.0f}")\n'
    )
    found = [
        (message, context)
        for _line, message, _comments, context in extract(
            "python", io.BytesIO(source.encode()), keywords=i18n.KEYWORDS
        )
    ]
    assert found == [
        ("Name", None),
        ("Reason", "visit purpose"),
        ("Kind", None),
        ("Day {d}", None),
        (("{n} row", "{n} rows"), None),
        ("{ms} ms", None),
    ]


def test_the_template_is_up_to_date(template: Catalog) -> None:
    """gatepass.pot is what translators start from: ``./dev i18n`` after changing a
    message."""
    committed = entries(read(tool.TEMPLATE))
    extracted = entries(template)
    assert sorted(extracted.keys() - committed.keys(), key=str) == [], "run ./dev i18n"
    assert sorted(committed.keys() - extracted.keys(), key=str) == [], "run ./dev i18n"


@pytest.mark.parametrize("lang", SHIPPED)
def test_every_message_is_translated(lang: str, template: Catalog) -> None:
    catalog = entries(read(tool.po_file(lang)))
    missing = [label(m) for k, m in entries(template).items() if k not in catalog]
    assert not missing, f"{len(missing)} not in the .po (./dev i18n):\n" + "\n".join(missing)
    empty = [
        label(m)
        for k, m in entries(template).items()
        if catalog[k].fuzzy or not all(forms(catalog[k]))
    ]
    assert not empty, f"{len(empty)} untranslated or fuzzy:\n" + "\n".join(empty)


@pytest.mark.parametrize("lang", SHIPPED)
def test_placeholders_match(lang: str) -> None:
    """Each translation (each plural form) names the placeholders of its English."""
    wrong = [
        f"{label(m)} -> {text!r}"
        for m in entries(read(tool.po_file(lang))).values()
        for text in forms(m)
        if text and fields(text) not in [fields(english) for english in ids(m)]
    ]
    assert not wrong, "placeholders differ:\n" + "\n".join(wrong)


@pytest.mark.parametrize("lang", SHIPPED)
def test_no_catalogue_holds_an_unused_message(lang: str, template: Catalog) -> None:
    catalog = read(tool.po_file(lang))
    assert not catalog.obsolete, "obsolete (#~) entries: run ./dev i18n"
    unused = [label(m) for k, m in entries(catalog).items() if k not in entries(template)]
    assert not unused, "no source uses:\n" + "\n".join(unused)


@pytest.mark.parametrize("lang", SHIPPED)
def test_the_compiled_catalogue_is_the_committed_one(lang: str) -> None:
    """The program reads the .mo: compiling the committed .po gives it byte for byte."""
    po = tool.po_file(lang).read_bytes()
    assert tool.mo_file(lang).read_bytes() == tool.mo_bytes(po), "run ./dev i18n"


@pytest.mark.parametrize("lang", SHIPPED)
def test_the_catalogue_header(lang: str) -> None:
    catalog = read(tool.po_file(lang))
    assert not catalog.fuzzy  # a fuzzy header makes `pybabel compile` skip the file
    assert dict(catalog.mime_headers)["Language"] == lang
    assert catalog.plural_forms == "nplurals=1; plural=0;"  # Chinese: one form


def test_no_json_catalogue_is_left() -> None:
    """The JSON catalogues are gone; a string added to one would never be read
    (``python tools/i18n.py merge-json FILE`` brings it into the .po)."""
    left = sorted(p.relative_to(ROOT).as_posix() for p in tool.TRANSLATIONS.rglob("*.json"))
    assert left == []


def test_no_message_is_an_f_string() -> None:
    """``tr(f"Hello {name}")`` cannot be translated (Babel skips it with a note that
    tools/i18n.py hides, as most of its notes are about f-string values)."""
    names = set(i18n.KEYWORDS)
    bad = []
    for path in sorted((ROOT / "kiosk").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else None
            if name in names and any(isinstance(a, ast.JoinedStr) for a in node.args):
                bad.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not bad, "f-string as a message:\n" + "\n".join(bad)


def test_two_json_translations_of_one_message_stop_the_merge(tmp_path: Path) -> None:
    """The JSON catalogues merged in file-name order, so a message translated two ways
    in two files showed whichever came last ("Reason": 事由 and 原因); converting them
    must not pick one silently."""
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps({"Reason": "事由", "Name": "姓名"}), encoding="utf-8")
    b.write_text(
        json.dumps({"Reason": "原因", "Name": "姓名", "visit purpose|Reason": "事由"}),
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match=re.escape("'Reason': '事由' in a.json; '原因' in b.json")):
        tool.json_entries([a, b])
    b.write_text(json.dumps({"Name": "姓名", "visit purpose|Reason": "事由"}), encoding="utf-8")
    assert tool.json_entries([a, b]) == {
        (None, "Reason"): "事由",
        (None, "Name"): "姓名",
        ("visit purpose", "Reason"): "事由",
    }


def test_merging_json_fills_gaps_and_reports_clashes() -> None:
    catalog = Catalog(locale="zh_CN")
    catalog.add("Name", "姓名")
    catalog.add("Kind", "")
    catalog.add("Row", "行", flags=["fuzzy"])
    catalog.add(("{n} row", "{n} rows"), ("{n} 行",))
    json_entries = {
        (None, "Name"): "名字",
        (None, "Kind"): "类别",
        (None, "Row"): "行号",
        ("visit purpose", "Reason"): "事由",
        (None, "{n} row"): "{n} 行",
    }
    clashes = tool.merge_json(catalog, json_entries)
    assert clashes == [
        "'Name': '姓名' in the .po, '名字'",
        "'{n} row': a plural in the .po, not in JSON",
    ]
    assert catalog.get("Name").string == "姓名"  # the .po's translation stays
    assert catalog.get("Kind").string == "类别"
    assert catalog.get("Row").string == "行号" and not catalog.get("Row").fuzzy
    assert catalog.get("Reason", context="visit purpose").string == "事由"
    assert tool.merge_json(catalog, {(None, "Kind"): "类别"}) == []  # again: no change
    assert catalog.get("Kind").string == "类别"


def test_a_context_picks_its_own_translation() -> None:
    i18n.set_language("zh_CN")
    assert i18n.trc("visit purpose", "Reason") == "事由"
    assert i18n.tr("Reason") == "原因"
    i18n.set_language("en")
    assert i18n.trc("visit purpose", "Reason") == "Reason"
    assert i18n.tr("Reason") == "Reason"


def test_plural_forms() -> None:
    i18n.set_language("en")
    one = i18n.trn("{count} passage", "{count} passages", 1, count=1)
    many = i18n.trn("{count} passage", "{count} passages", 3, count=3)
    assert (one, many) == ("1 passage", "3 passages")
    i18n.set_language("zh_CN")
    one = i18n.trn("{count} passage", "{count} passages", 1, count=1)
    many = i18n.trn("{count} passage", "{count} passages", 3, count=3)
    assert (one, many) == ("1 条通行记录", "3 条通行记录")
    i18n.set_language("en")


def test_chinese_is_used() -> None:
    assert i18n.tr_in("zh_CN", "error: {message}", message="x") == "错误：x"


def test_a_language_override_ends_with_its_call() -> None:
    i18n.set_language("en")
    assert i18n.tr_in("zh_CN", "Reason") == "原因"
    assert (i18n.language(), i18n.tr("Reason")) == ("en", "Reason")


def test_a_language_without_a_catalogue_is_english() -> None:
    assert i18n.translations("en").gettext("Reason") == "Reason"
    assert i18n.catalogue_file("zh_CN").is_file()
