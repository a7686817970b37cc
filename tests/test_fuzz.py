"""The fuzz targets in the suite (issue 12): every saved input replayed, and a few
seconds of hypothesis per target, with the contract of tests/fuzz_targets.py (a result
or our typed error, never another exception; a parsed pass signs back to its text;
settings saved and loaded again are the same). Minutes of coverage-guided runs:
``python bench/fuzz.py --target NAME --seconds 300``."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.settings import SETTINGS
from tests.fuzz_targets import CORPUS, NAMES, Target, corpus, make_target

FEW_SECONDS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@pytest.fixture(scope="module")
def targets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Target]:
    root = tmp_path_factory.mktemp("fuzz")
    return {name: make_target(name, root) for name in NAMES}


@pytest.fixture(scope="module")
def seeds(targets: dict[str, Target]) -> dict[str, list[bytes]]:
    """Made once: a workbook written twice differs (its time stamps)."""
    return {name: target.seeds() for name, target in targets.items()}


SAVED = [(name, path) for name in NAMES for path in corpus(name)]


@pytest.mark.parametrize(("name", "path"), SAVED, ids=[f"{n}/{p.name[:18]}" for n, p in SAVED])
def test_every_saved_input_keeps_the_contract(
    targets: dict[str, Target], name: str, path: Path
) -> None:
    targets[name].one(path.read_bytes())


def test_the_corpus_holds_only_known_targets() -> None:
    folders = {p.name for p in CORPUS.iterdir() if p.is_dir()}
    assert folders <= set(NAMES)
    assert SAVED  # the crashes found so far are there to replay


def test_every_seed_keeps_the_contract(
    targets: dict[str, Target], seeds: dict[str, list[bytes]]
) -> None:
    for name, target in targets.items():
        for seed in seeds[name]:
            target.one(seed)


@FEW_SECONDS
@given(mode=st.integers(0, 3), rest=st.binary(max_size=160))
def test_any_scanned_text_is_a_pass_or_a_rejection(
    targets: dict[str, Target], mode: int, rest: bytes
) -> None:
    targets["pass"].one(bytes([mode]) + rest)


@FEW_SECONDS
@given(data=st.data())
def test_a_damaged_real_pass_is_a_rejection(
    targets: dict[str, Target], seeds: dict[str, list[bytes]], data: st.DataObject
) -> None:
    seed = data.draw(st.sampled_from(seeds["pass"]))
    flips = data.draw(st.lists(st.tuples(st.integers(0, len(seed) - 1), st.integers(0, 255))))
    damaged = bytearray(seed)
    for at, value in flips:
        damaged[at] = value
    targets["pass"].one(bytes(damaged))


HEADER = ["序号", "楼号", "单元", "房号", "姓名", "手机号码", "身份证号", "身份"]
cells = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["3", "501", "张三", "13800138000", "110101198001010014", "居民", "=1+1"]),
)


@pytest.mark.slow  # about 3-5 s on 2 loaded cores
@FEW_SECONDS
@given(rows=st.lists(st.lists(cells, max_size=10), max_size=12), delimiter=st.sampled_from(",;\t"))
def test_any_register_csv_is_a_plan_or_a_user_error(
    targets: dict[str, Target], rows: list[list[str]], delimiter: str
) -> None:
    text = io.StringIO()
    csv.writer(text, delimiter=delimiter).writerows([HEADER, *rows])
    targets["register_csv"].one(text.getvalue().encode("utf-8", "surrogatepass"))


@FEW_SECONDS
@given(data=st.binary(max_size=400))
def test_any_bytes_as_a_register_csv(targets: dict[str, Target], data: bytes) -> None:
    targets["register_csv"].one(data)


@FEW_SECONDS
@given(data=st.data())
def test_a_damaged_register_workbook_is_a_plan_or_a_user_error(
    targets: dict[str, Target], seeds: dict[str, list[bytes]], data: st.DataObject
) -> None:
    seed = data.draw(st.sampled_from(seeds["register_xlsx"]))
    flips = data.draw(
        st.lists(st.tuples(st.integers(0, len(seed) - 1), st.integers(0, 255)), max_size=8)
    )
    cut = data.draw(st.integers(0, len(seed)))
    damaged = bytearray(seed[:cut] if data.draw(st.booleans()) else seed)
    for at, value in flips:
        if at < len(damaged):
            damaged[at] = value
    targets["register_xlsx"].one(bytes(damaged))


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string
    return repr(value)


names = st.sampled_from([s.name for s in SETTINGS] + ["no_such_setting"])
values = st.one_of(
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(st.characters(exclude_categories=["Cs"]), max_size=12),
    st.sampled_from(["zh_CN", "en", "22:00", "06:30", "auto", "zbar", "night", "0"]),
)


@pytest.mark.slow  # about 3-5 s on 2 loaded cores
@FEW_SECONDS
@given(entries=st.dictionaries(names, values, max_size=8))
def test_any_settings_file_loads_and_saves_back_the_same(
    targets: dict[str, Target], entries: dict[str, object]
) -> None:
    text = "".join(f"{name} = {_toml(value)}\n" for name, value in entries.items())
    targets["settings"].one(text.encode("utf-8"))


@FEW_SECONDS
@given(data=st.binary(max_size=300))
def test_any_bytes_as_a_settings_file(targets: dict[str, Target], data: bytes) -> None:
    targets["settings"].one(data)


@FEW_SECONDS
@given(mode=st.integers(0, 3), rest=st.binary(max_size=300))
def test_any_bytes_as_a_bundle_or_its_signed_parts(
    targets: dict[str, Target], mode: int, rest: bytes
) -> None:
    targets["bundle"].one(bytes([mode]) + rest)


@FEW_SECONDS
@given(data=st.data())
def test_a_damaged_real_bundle_is_read_whole_or_refused(
    targets: dict[str, Target], seeds: dict[str, list[bytes]], data: st.DataObject
) -> None:
    seed = data.draw(st.sampled_from(seeds["bundle"]))
    flips = data.draw(
        st.lists(st.tuples(st.integers(1, len(seed) - 1), st.integers(0, 255)), max_size=6)
    )
    damaged = bytearray(seed[: data.draw(st.integers(1, len(seed)))])
    for at, value in flips:
        if at < len(damaged):
            damaged[at] = value
    targets["bundle"].one(bytes(damaged))


def test_the_bundle_seeds_are_read_not_refused(tmp_path: Path) -> None:
    """The seeds reach the end of the reader (else the fuzzer starts from refusals)."""
    from kiosk.core.bundle import read_bundle
    from tests import exchange_nodes as nodes
    from tests.fuzz_targets import BundleTarget

    target = BundleTarget(tmp_path / "in.gpbundle")
    for seed in target.seeds():
        got = read_bundle(target.data_of(seed), nodes.trust(), nodes.OFFICE, target.box)
        assert got.change_sets
