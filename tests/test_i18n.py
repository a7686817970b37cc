"""Every string passed to tr()/N_() as a literal has a Simplified Chinese translation,
with the same placeholders."""

from __future__ import annotations

import ast
import string
from pathlib import Path

import pytest

from kiosk.core import i18n

KIOSK = Path(__file__).resolve().parent.parent / "kiosk"
MARKERS = {"tr", "N_", "tr_in"}


def messages() -> dict[str, str]:
    found: dict[str, str] = {}
    for path in sorted(KIOSK.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if name not in MARKERS or not node.args:
                continue
            arg = node.args[1] if name == "tr_in" and len(node.args) > 1 else node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                found[arg.value] = f"{path.relative_to(KIOSK.parent)}:{node.lineno}"
    return found


def fields(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


@pytest.mark.parametrize("lang", [lang for lang in i18n.LANGUAGES if lang != "en"])
def test_every_message_is_translated(lang: str) -> None:
    i18n.catalogue.cache_clear()
    table = i18n.catalogue(lang)
    missing = [f"{where}: {msg!r}" for msg, where in messages().items() if msg not in table]
    assert not missing, f"{len(missing)} untranslated:\n" + "\n".join(missing)
    wrong = [
        f"{where}: {msg!r}"
        for msg, where in messages().items()
        if fields(table[msg]) != fields(msg)
    ]
    assert not wrong, "placeholders differ:\n" + "\n".join(wrong)


def test_chinese_is_used() -> None:
    assert i18n.tr_in("zh_CN", "error: {message}", message="x") != "error: x"
