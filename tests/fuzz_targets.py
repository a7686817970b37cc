"""The fuzz targets (issue 12): one function per target that takes any bytes and either
returns or raises :class:`ContractBroken`-worthy errors, shared by the coverage-guided
runs (``bench/fuzz.py``, atheris) and the suite (tests/test_fuzz.py: hypothesis and the
replay of every input in ``tests/data/fuzz/<target>/``).

The contract: any input gives a result or our typed error (``UserError``,
``EnvironmentFault``, or the module's documented error: ``InvalidPass`` for the pass
parser), never another exception; and what a target can check about its result, it
does (a parsed pass signs back to the same text; settings saved and loaded again are
the same settings). Time and memory are bounded by the runner (libFuzzer's
``-timeout`` and ``-rss_limit_mb`` in bench/fuzz.py).

Targets:

- ``pass``: the pass token parser and verifier (``kiosk.core.passes.parse_pass``) and
  the gate's check against a real checkpoint database
  (``kiosk.store.passes.check_token``). The first byte picks how the rest is used:
  text as it is; text after the ``GP1:`` prefix; a pass body (kind, serial, times)
  signed with the checkpoint's issuer key or with its gate key (which may sign only
  visitor codes), so the fields checked after the signature are fuzzed too.
- ``register_csv``, ``register_xlsx``: the bytes as a file of that suffix, read by
  ``kiosk.store.files.register_import.read_register``.
- ``settings``: the bytes as ``settings.toml``, loaded by ``Settings.load`` (which must
  never fail: a hand-edited file never stops the gate), saved and loaded again.
- ``bundle``: the exchange bundle reader (``kiosk.core.bundle.read_bundle``, issue 13)
  on a real file, as the office of the fixed test compound (tests/exchange_nodes.py).
  The first byte picks how the rest is used: the bytes as the file; as the unpacked
  body of an open bundle the north gate signed; as its header (JSON), over a real
  body; each line as a change set's JSON, signed by the north gate. So what is checked
  after the signatures is fuzzed too. A bundle read must carry the same change sets
  when written again and read back.
"""

from __future__ import annotations

import base64
import json
import logging
import tempfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from kiosk.core.bundle import CHANGE_SET_CONTEXT, BundleRefused, read_bundle
from kiosk.core.errors import EnvironmentFault, UserError
from kiosk.core.keys import Keyring, key_id_of, load_private_key
from kiosk.core.passes import PREFIX, InvalidPass, PassClaims, parse_pass, sign_pass
from kiosk.settings import Settings
from kiosk.store.checkpoint import load_keyring
from kiosk.store.db import connect
from kiosk.store.files.register_import import read_register
from kiosk.store.passes import TokenCheck, check_token

CORPUS = Path(__file__).parent / "data" / "fuzz"
TODAY = date(2026, 5, 1)
NOW = datetime(2026, 5, 1, 8, 30, tzinfo=UTC)
TYPED = (UserError, EnvironmentFault)


class ContractBroken(AssertionError):
    """A result that breaks the target's contract (as opposed to an exception escaping)."""


@dataclass
class Target:
    name: str
    one: Callable[[bytes], None]
    seeds: Callable[[], list[bytes]]
    words: tuple[bytes, ...] = ()  # tokens for the fuzzer's dictionary (libFuzzer -dict)


# --- pass --------------------------------------------------------------------------------


class PassTarget:
    def __init__(self, root: Path) -> None:
        from tests.helpers import make_checkpoint, run, run_json

        home = root / "home"
        make_checkpoint(home, residents=3)
        run(home, "passes", "issue", "--all")
        self.tokens = [p["token"] for p in run_json(home, "passes", "list", "--json")]
        self.db = connect(home / "gatepass.db")
        self.keyring: Keyring = load_keyring(self.db)
        self.keys = [
            load_private_key(home / "keys" / "issuer.key", None),
            load_private_key(home / "keys" / "gate.key", None),
        ]

    def text_of(self, data: bytes) -> tuple[str, int | None]:
        """The scanned text ``data`` stands for, and which key signed it (if it did)."""
        mode, rest = (data[0] % 4, data[1:]) if data else (0, b"")
        if mode == 0:
            return rest.decode("utf-8", "replace"), None
        if mode == 1:
            return PREFIX + rest.decode("latin-1"), None
        key = self.keys[mode - 2]
        body = bytes.fromhex(key_id_of(key.public_key())) + (rest + bytes(14))[:14]
        signed = body + key.sign(PREFIX.encode("ascii") + body)
        return PREFIX + base64.b32encode(signed).decode("ascii").rstrip("="), mode - 2

    def one(self, data: bytes) -> None:
        text, signer = self.text_of(data)
        try:
            claims: PassClaims | None = parse_pass(text, self.keyring)
        except InvalidPass:
            claims = None
        check = check_token(self.db, self.keyring, text, NOW)
        if not isinstance(check, TokenCheck):
            raise ContractBroken(f"check_token gave {check!r}")
        if check.claims != claims:
            raise ContractBroken(f"check_token read {check.claims}, parse_pass {claims}")
        if claims is not None:  # one of the checkpoint's keys signed it: which?
            key = next(k for k in self.keys if key_id_of(k.public_key()) == claims.key_id)
            if signer is not None and key is not self.keys[signer]:
                raise ContractBroken(f"signed by key {signer}, read as {claims.key_id}")
            if sign_pass(claims, key) != text:
                raise ContractBroken(f"{claims} does not sign back to {text!r}")

    def seeds(self) -> list[bytes]:
        out = [b"\x00" + t.encode() for t in self.tokens]
        for token in self.tokens:
            raw = base64.b32decode(token[len(PREFIX) :] + "====")
            out.append(b"\x02" + raw[4:18])
            out.append(b"\x03" + raw[4:18])
        out += [b"\x00https://pay.example.cn/qr/8848", b"\x01", b"\x00"]
        return out


# --- register files ------------------------------------------------------------------------


def _register_one(path: Path) -> Callable[[bytes], None]:
    def one(data: bytes) -> None:
        path.write_bytes(data)
        try:
            plan = read_register(path, today=TODAY)
        except TYPED:
            return
        if len(plan.rows) + len(plan.errors) > 500_000:
            raise ContractBroken("more rows than the register's cap")

    return one


_REGISTER_WORDS = (
    *(w.encode() for w in ("姓名", "楼号", "单元", "房号", "住址", "手机号码", "身份证号")),
    *(w.encode() for w in ("身份", "居民", "工作人员", "110101198001010014", "13800138000")),
    *(b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\r\n", b'"', b"\t", b";"),
)


def _csv_seeds() -> list[bytes]:
    from tests.helpers import write_register

    with tempfile.TemporaryDirectory() as tmp:
        made = write_register(Path(tmp) / "r.csv", 12).read_bytes()
    sample = Path(__file__).parent / "data" / "register" / "sample-gbk.csv"
    text = made.decode("utf-8")
    return [
        made,
        sample.read_bytes(),
        text.encode("utf-16"),
        text.replace(",", "\t").encode("utf-8-sig"),
        text.replace(",", ";").encode("gb18030"),
    ]


def _xlsx_seeds() -> list[bytes]:
    from kiosk.store.files.xlsx import write_xlsx

    header = ["序号", "楼号", "单元", "房号", "姓名", "手机号码", "身份证号", "身份"]
    rows: list[list[Any]] = [
        [1, "3", "2", "501", "张三", "13800138000", "110101198001010014", "居民"],
        [2, 3, 2, 502, "李四", 13800138001, "11010119800101003X", "工作人员"],
        [3, "", "", "", "", "", "", ""],
    ]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "r.xlsx"
        write_xlsx(path, "登记表", header, rows, compresslevel=0)
        ours = path.read_bytes()
        try:
            import openpyxl
        except ImportError:  # pragma: no cover - a dev dependency
            return [ours]
        book = openpyxl.Workbook()
        sheet = book.active
        assert sheet is not None
        sheet.append(["幸福里登记表"])
        sheet.append(header)
        for row in rows:
            sheet.append(row)
        sheet["A6"] = "=A3+1"
        book.save(path)
        return [ours, path.read_bytes()]


# --- settings -------------------------------------------------------------------------------


def _settings_one(path: Path) -> Callable[[bytes], None]:
    logging.getLogger("kiosk.settings").setLevel(logging.ERROR)  # every input warns

    def one(data: bytes) -> None:
        path.write_bytes(data)
        loaded = Settings.load(path)  # never fails: a bad value is its default
        loaded.save()
        again = Settings.load(path)
        if again.values() != loaded.values():
            changed = {k: v for k, v in loaded.values().items() if again.values()[k] != v}
            raise ContractBroken(f"saved and loaded again, these changed: {changed!r}")

    return one


def _settings_words() -> tuple[bytes, ...]:
    from kiosk.settings import SETTINGS

    toml = (
        *(b" = ", b'"', b"'", b'"""', b"'" * 3, b"\\n", b"\\t", b"\\u0000", b"\\u007f"),
        *(b"\\U0001F600", b"\\\\", b'\\"', b"[table]", b"[[array]]", b"true", b"false"),
        *(b"inf", b"nan", b"-0.0", b"1e308", b"0x7f", b"1979-05-27T07:32:00Z", b"07:32"),
        *(b"{ a = 1 }", b"[1, 2]", b"#", b"\r\n"),
    )
    return tuple(s.name.encode() for s in SETTINGS) + toml


def _settings_seeds() -> list[bytes]:
    return [
        b"",
        b'# Gatepass settings\nretention_days = 14\nlanguage = "zh_CN"\n',
        b'camera = "0"\ndecoder = "zbar"\ndirection = "auto"\ncurfew_start = "22:00"\n'
        b'curfew_end = "06:00"\nfever_threshold = 37.3\nsounds = false\n'
        b'scanner_prefix = "]Q1"\nadmin_pin_hash = "pbkdf2$1$x$y"\n',
        b'quota_outings = 2\nquota_days = 1\nanti_passback = true\ntheme = "night"\n',
    ]


# --- bundle --------------------------------------------------------------------------------


class BundleTarget:
    def __init__(self, path: Path) -> None:
        from tests import exchange_nodes as nodes

        self.nodes = nodes
        self.path = path
        self.trusted = nodes.trust()
        self.box = nodes.NODES["office"].box
        self.body = zlib.compress(nodes.change_set("north", 1, [nodes.passage(1)]).line())

    def data_of(self, data: bytes) -> bytes:
        """The bundle file ``data`` stands for."""
        nodes = self.nodes
        mode, rest = (data[0] % 4, data[1:]) if data else (0, b"")
        if mode == 0:
            return rest
        if mode == 1:
            lines = rest.count(b"\n")
            return nodes.raw_bundle(nodes.open_header(lines, lines), zlib.compress(rest))
        if mode == 2:
            return nodes.raw_bundle(rest, self.body)
        key = nodes.NODES["north"].key
        lines = [
            base64.b64encode(key.sign(CHANGE_SET_CONTEXT + nodes.COMPOUND.encode() + b"\n" + t))
            + b" "
            + t
            + b"\n"
            for t in rest.split(b"\n")
        ]
        return nodes.raw_bundle(nodes.open_header(len(lines), 1), zlib.compress(b"".join(lines)))

    def one(self, data: bytes) -> None:
        self.path.write_bytes(self.data_of(data))
        try:
            got = read_bundle(self.path, self.trusted, self.nodes.OFFICE, self.box)
        except BundleRefused:
            return
        again = read_bundle(
            self.nodes.bundle("north", got.change_sets), self.trusted, self.nodes.OFFICE, None
        )
        if again.change_sets != got.change_sets:
            raise ContractBroken(f"{got.change_sets} written and read again: {again.change_sets}")

    def seeds(self) -> list[bytes]:
        nodes = self.nodes
        sets = [nodes.change_set("north", 1, [nodes.passage(i) for i in (1, 2, 3)])]
        first = nodes.change_set("north", 1, [nodes.passage(1)])
        header = json.dumps(nodes.open_header(1, 1), sort_keys=True).encode()
        return [
            b"\x00" + nodes.vector_bytes(),
            b"\x00" + nodes.bundle("north", sets, "office"),
            b"\x00" + nodes.bundle("office", [*sets, *nodes.vector_sets()[1:]]),
            b"\x01" + first.line(),
            b"\x02" + header,
            b"\x03" + first.text,
        ]


_BUNDLE_WORDS = (
    *(b"GPBUNDLE", b"\x00\x01", b'"kind":"visit"', b'"kind":"revocation"', b'"rows":'),
    *(b'"first":', b'"last":', b'"schema":', b'"sealed":true', b'"recipient":null'),
    *(b'"carries":[]', b'"sets":', b"2026-05-01T08:00:00.000000+00:00", b"[[[[[[", b"1e999"),
)


# --- all of them ----------------------------------------------------------------------------

NAMES = ("pass", "register_csv", "register_xlsx", "settings", "bundle")


def make_target(name: str, root: Path) -> Target:
    """One target (only its own set-up: the pass target makes a checkpoint)."""
    if name == "pass":
        passes = PassTarget(root / "pass")
        return Target("pass", passes.one, passes.seeds, (b"GP1:", b"\x02", b"\x03"))
    files = root / "files"
    files.mkdir(exist_ok=True)
    if name == "register_csv":
        return Target(name, _register_one(files / "register.csv"), _csv_seeds, _REGISTER_WORDS)
    if name == "register_xlsx":
        words = (*_REGISTER_WORDS, b"PK\x03\x04", b"<row r=", b"<c r=", b"<f>", b"<v>")
        return Target(name, _register_one(files / "register.xlsx"), _xlsx_seeds, words)
    if name == "bundle":
        bundles = BundleTarget(files / "in.gpbundle")
        return Target(name, bundles.one, bundles.seeds, _BUNDLE_WORDS)
    if name == "settings":
        return Target(
            name, _settings_one(files / "settings.toml"), _settings_seeds, _settings_words()
        )
    raise KeyError(name)


def corpus(name: str) -> list[Path]:
    """The saved inputs of a target: crashes found and fixed, and chosen seeds."""
    folder = CORPUS / name
    return sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []
