"""Gatepass's gettext catalogues: extract, update, compile (docs/translating.md).

    python tools/i18n.py                 (or ./dev i18n)
        1. extract every message of kiosk/ (Babel, the keywords of kiosk.core.i18n)
           into kiosk/resources/translations/gatepass.pot;
        2. update each <lang>/LC_MESSAGES/gatepass.po from it (new messages added
           empty, or fuzzy with the translation of a similar old one; messages no
           source uses any more dropped);
        3. compile each .po to the gatepass.mo beside it (what the program reads).
        Then lists what is left to translate.
    python tools/i18n.py merge-json FILE.json ...
        The same, after putting the translations of JSON catalogues (the format before
        gettext: {"English": "中文", "context|English": "中文"}) into the zh_CN .po.
        Re-runnable: an entry already translated the same way changes nothing; one
        translated differently (in the .po or in another file) stops it, nothing
        written. Used to convert the old catalogues and to bring in strings a branch
        added to a JSON file.
    python tools/i18n.py init LANG
        Starts LANG's .po from the template (then add LANG to kiosk.core.i18n).

Files are rewritten only when more than their date changed. This is Babel's
``pybabel extract -k tr -k trc:1c,2 -k trn:1,2 -k N_ -k tr_in:2 --add-location=file``,
``pybabel update --ignore-obsolete`` and ``pybabel compile``, with the keywords kept in
one place.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import re
import sys
import tomllib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kiosk.core.i18n import DOMAIN, KEYWORDS  # noqa: E402

SOURCE = ROOT / "kiosk"
TRANSLATIONS = SOURCE / "resources" / "translations"
TEMPLATE = TRANSLATIONS / f"{DOMAIN}.pot"
JSON_LANGUAGE = "zh_CN"  # the only language the JSON catalogues held
CONTEXT_SEPARATOR = "|"  # a JSON key "context|message" is msgctxt + msgid
COMMENT_TAGS = ("TRANSLATORS:",)
PROJECT = "Gatepass"
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
TEMPLATE_HEADER = """\
# Every message of Gatepass, extracted from kiosk/ by ./dev i18n.
# Do not edit: translate in <lang>/LC_MESSAGES/gatepass.po instead
# (docs/translating.md)."""
HEADER = """\
# {language} translation of Gatepass (docs/translating.md).
# Updated from gatepass.pot and compiled by ./dev i18n (tools/i18n.py)."""

# Babel's tokenizer warns about any f-string inside a marked call, values included
# (tr("{ms} ms", ms=f"{x:.0f}")); an f-string as the message itself is caught by
# tests/test_i18n.py instead, so these lines are noise.
_FSTRING_NOTE = re.compile(r"warning: Skipping f-string with substitutions")


def po_file(lang: str) -> Path:
    return TRANSLATIONS / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def mo_file(lang: str) -> Path:
    return po_file(lang).with_suffix(".mo")


def languages() -> list[str]:
    """Each language with a .po, by name."""
    return sorted(p.parent.parent.name for p in TRANSLATIONS.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))


@contextlib.contextmanager
def _quiet_fstring_notes() -> Iterator[None]:
    caught = io.StringIO()
    with contextlib.redirect_stderr(caught):
        yield
    for line in caught.getvalue().splitlines():
        if not _FSTRING_NOTE.search(line):
            print(line, file=sys.stderr)


def extracted(source: Path = SOURCE) -> list[tuple[str, int, Any, list[str], str | None]]:
    """(file, line, message, translator comments, context) of every marked message
    under ``source``, a folder of the repository; a plural's message is (singular, plural)."""
    with _quiet_fstring_notes():
        found = list(
            extract_from_dir(
                source, keywords=KEYWORDS, comment_tags=COMMENT_TAGS, strip_comment_tags=True
            )
        )
    folder = source.relative_to(ROOT)
    return [
        ((folder / filename).as_posix(), lineno, message, comments, context)
        for filename, lineno, message, comments, context in found
    ]


def template(source: Path = SOURCE) -> Catalog:
    """The catalogue of every message in the source, untranslated (the .pot)."""
    catalog = Catalog(
        project=PROJECT,
        version=VERSION,
        header_comment=TEMPLATE_HEADER,
        charset="utf-8",
    )
    for where, lineno, message, comments, context in extracted(source):
        catalog.add(message, None, [(where, lineno)], auto_comments=comments, context=context)
    return catalog


def po_bytes(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_po(out, catalog, ignore_obsolete=True, include_lineno=False)
    return out.getvalue()


def mo_bytes(po: bytes) -> bytes:
    """The compiled form of a .po's text (only translated, not fuzzy, messages)."""
    out = io.BytesIO()
    write_mo(out, read_po(io.BytesIO(po)), use_fuzzy=False)
    return out.getvalue()


_DATE = re.compile(rb'^"(POT-Creation-Date|PO-Revision-Date): .*\\n"\n', re.MULTILINE)


def write_if_changed(path: Path, data: bytes, *, dates_matter: bool = False) -> bool:
    """Write ``data`` unless the file holds it already (apart from its dates)."""
    if path.exists():
        old = path.read_bytes()
        if old == data or (not dates_matter and _DATE.sub(b"", old) == _DATE.sub(b"", data)):
            return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return True


def json_entries(paths: Iterable[Path]) -> dict[tuple[str | None, str], str]:
    """(context, message) -> translation from JSON catalogues. Raises ``ValueError``
    listing every key two files translate differently."""
    seen: dict[tuple[str | None, str], dict[str, list[str]]] = {}
    for path in paths:
        for key, text in json.loads(Path(path).read_text(encoding="utf-8")).items():
            context, _, message = key.rpartition(CONTEXT_SEPARATOR)
            entry = (context or None, message)
            seen.setdefault(entry, {}).setdefault(text, []).append(Path(path).name)
    clashes = [
        f"{_label(entry)}: " + "; ".join(f"{t!r} in {', '.join(n)}" for t, n in texts.items())
        for entry, texts in seen.items()
        if len(texts) > 1
    ]
    if clashes:
        raise ValueError("translated two ways:\n" + "\n".join(clashes))
    return {entry: next(iter(texts)) for entry, texts in seen.items()}


def _label(entry: tuple[str | None, str]) -> str:
    context, message = entry
    return repr(message) if context is None else f"{message!r} (context {context!r})"


def merge_json(catalog: Catalog, entries: dict[tuple[str | None, str], str]) -> list[str]:
    """Put JSON translations into ``catalog``: an empty or fuzzy entry takes the
    translation, a missing one is added (the update drops it if no source uses it).
    Returns each entry the catalogue already translates differently (nothing is
    changed for those)."""
    clashes = []
    for (context, message), text in entries.items():
        found: Message | None = catalog.get(message, context=context)
        if found is None:
            catalog.add(message, text, context=context)
        elif found.pluralizable:
            clashes.append(f"{_label((context, message))}: a plural in the .po, not in JSON")
        elif not found.string or found.fuzzy:
            found.string = text
            found.flags.discard("fuzzy")
        elif found.string != text:
            clashes.append(f"{_label((context, message))}: {found.string!r} in the .po, {text!r}")
    return clashes


def new_catalogue(lang: str) -> Catalog:
    name = "Chinese (Simplified)" if lang == "zh_CN" else lang
    return Catalog(
        locale=lang,
        domain=DOMAIN,
        project=PROJECT,
        version=VERSION,
        header_comment=HEADER.format(language=name),
        language_team=f"{lang} <gatepass>",
        last_translator="Gatepass",
        charset="utf-8",
        fuzzy=False,
    )


def read_catalogue(lang: str) -> Catalog:
    path = po_file(lang)
    if not path.exists():
        return new_catalogue(lang)
    with path.open("rb") as f:
        return read_po(f, locale=lang, domain=DOMAIN)


def todo(catalog: Catalog) -> list[str]:
    """Each message without a translation, or with a fuzzy one."""
    left = []
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(strings):
            state = "fuzzy" if message.fuzzy else "untranslated"
            ident = message.id[0] if isinstance(message.id, tuple) else message.id
            left.append(f"  {state}: {_label((message.context, ident))}")
    return left


def refresh(extra: dict[str, dict[tuple[str | None, str], str]] | None = None) -> int:
    """Extract, update every .po (after merging ``extra`` translations), compile."""
    pot = template()
    if write_if_changed(TEMPLATE, po_bytes(pot)):
        print(f"wrote {TEMPLATE.relative_to(ROOT)} ({len(pot)} messages)")
    langs = sorted(set(languages()) | set(extra or {}))
    catalogues = {lang: read_catalogue(lang) for lang in langs}
    clashes = []
    for lang, entries in (extra or {}).items():
        clashes += [f"{lang}: {c}" for c in merge_json(catalogues[lang], entries)]
    if clashes:
        print("nothing written; translated differently:\n" + "\n".join(clashes), file=sys.stderr)
        return 1
    status = 0
    for lang, catalog in catalogues.items():
        catalog.update(pot, update_creation_date=True)
        catalog.version = pot.version
        po = po_bytes(catalog)
        if write_if_changed(po_file(lang), po):
            print(f"wrote {po_file(lang).relative_to(ROOT)}")
        if write_if_changed(mo_file(lang), mo_bytes(po_file(lang).read_bytes()), dates_matter=True):
            print(f"wrote {mo_file(lang).relative_to(ROOT)}")
        left = todo(read_catalogue(lang))
        if left:
            status = 1
            print(f"{lang}: {len(left)} to translate in {po_file(lang).relative_to(ROOT)}:")
            print("\n".join(left))
        else:
            print(f"{lang}: every message translated")
    return status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    merge = sub.add_parser("merge-json", help="bring JSON catalogue entries into the zh_CN .po")
    merge.add_argument("files", nargs="+", type=Path)
    init = sub.add_parser("init", help="start a language's .po")
    init.add_argument("lang")
    args = parser.parse_args(argv)
    if args.command == "merge-json":
        try:
            entries = json_entries(args.files)
        except ValueError as e:
            print(f"nothing written; {e}", file=sys.stderr)
            return 1
        return refresh({JSON_LANGUAGE: entries})
    if args.command == "init":
        if po_file(args.lang).exists():
            print(f"{po_file(args.lang).relative_to(ROOT)} exists already", file=sys.stderr)
            return 1
        write_if_changed(po_file(args.lang), po_bytes(new_catalogue(args.lang)))
    return refresh()


if __name__ == "__main__":
    sys.exit(main())
