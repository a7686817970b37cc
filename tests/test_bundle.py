"""The exchange bundle (kiosk.core.bundle, docs/exchange.md): written to real files,
read back whole, and refused whole, with the reason, for every way a file can be wrong."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.core import i18n
from kiosk.core.bundle import (
    FORMAT_VERSION,
    LIMITS,
    MAGIC,
    BundleRefused,
    Limits,
    Refusal,
    read_bundle,
    write_bundle,
)
from kiosk.core.errors import UserError
from tests.exchange_nodes import (
    COMPOUND,
    CREATED,
    NODES,
    NORTH,
    OFFICE,
    SCHEMA,
    SOUTH,
    VECTOR,
    bundle,
    change_set,
    open_header,
    passage,
    raw_bundle,
    trust,
    vector_bytes,
    vector_content,
)

FEW = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
OFFICE_BOX = NODES["office"].box
SOUTH_BOX = NODES["south"].box


def read_file(tmp_path: Path, data: bytes, me: str = OFFICE, **kw: Any) -> Any:
    """``data`` as a real file, read by node ``me`` (with its own box key)."""
    path = tmp_path / "in.gpbundle"
    path.write_bytes(data)
    box = next(n.box for n in NODES.values() if n.node == me)
    return read_bundle(path, kw.pop("trusted", trust()), me, kw.pop("box", box), **kw)


def refusal(tmp_path: Path, data: bytes, **kw: Any) -> Refusal:
    with pytest.raises(BundleRefused) as caught:
        read_file(tmp_path, data, **kw)
    assert isinstance(caught.value, UserError)
    assert "Nothing of it was imported." in str(caught.value)
    return caught.value.reason


def day(n: int = 3) -> bytes:
    """North's passages 1..n for the office, sealed."""
    rows = [passage(i) for i in range(1, n + 1)]
    return bundle("north", [change_set("north", 1, rows)], "office")


# --- round trips ----------------------------------------------------------------------------

values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**53), 2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
)
extras = st.dictionaries(st.text(min_size=1, max_size=8), values, max_size=4)


@settings(FEW, max_examples=30)
@given(
    batches=st.lists(st.lists(extras, min_size=1, max_size=5), min_size=0, max_size=4),
    sealed=st.booleans(),
)
def test_what_is_written_is_read_back(
    tmp_path: Path, batches: list[list[dict[str, Any]]], sealed: bool
) -> None:
    sets, seq = [], 1
    for batch in batches:
        rows = [{**extra, **passage(seq + i)} for i, extra in enumerate(batch)]
        sets.append(change_set("north", seq, rows))
        seq += len(rows)
    path = tmp_path / "day.gpbundle"
    size = write_bundle(
        path,
        compound=COMPOUND,
        author=NORTH,
        key=NODES["north"].key,
        change_sets=sets,
        schema=SCHEMA,
        created_at=CREATED,
        recipient=OFFICE if sealed else None,
        recipient_box=OFFICE_BOX.public_key() if sealed else None,
    )
    assert path.stat().st_size == size
    got = read_bundle(path, trust(), OFFICE, OFFICE_BOX)
    assert (got.compound, got.author, got.sealed, got.created_at) == (
        COMPOUND,
        NORTH,
        sealed,
        CREATED,
    )
    assert got.change_sets == tuple(sets)
    assert got.carries == (((NORTH, 1, seq - 1),) if sets else ())


def test_the_office_relays_a_gates_change_sets_to_the_other_gate(tmp_path: Path) -> None:
    from_north = read_file(tmp_path, day(3))
    relayed = bundle(
        "office",
        [*from_north.change_sets, change_set("office", 1, [{**passage(9), "kind": "hold"}])],
        "south",
    )
    got = read_file(tmp_path, relayed, me=SOUTH)
    assert got.author == OFFICE
    assert got.change_sets[0] == from_north.change_sets[0]  # the north gate's own word
    assert got.carries == ((NORTH, 1, 3), (OFFICE, 1, 1))  # sorted by author


def test_an_open_bundle_is_read_by_any_node_and_names_no_recipient(tmp_path: Path) -> None:
    data = bundle("office", [change_set("office", 1, [{**passage(1), "kind": "rules"}])])
    for me in (NORTH, SOUTH):
        assert read_file(tmp_path, data, me=me, box=None).recipient is None


def test_a_written_bundle_is_its_owners_only(tmp_path: Path) -> None:
    path = tmp_path / "x.gpbundle"
    sets = [change_set("north", 1, [passage(1)])]
    write_bundle(
        path,
        compound=COMPOUND,
        author=NORTH,
        key=NODES["north"].key,
        change_sets=sets,
        schema=SCHEMA,
        created_at=CREATED,
    )
    assert path.stat().st_mode & 0o077 == 0
    assert [p.name for p in tmp_path.iterdir()] == ["x.gpbundle"]  # no temporary left


# --- the test vector ------------------------------------------------------------------------


def test_the_test_vector_reads_as_documented() -> None:
    data = (VECTOR / "vector-v1.bundle").read_bytes()
    got = read_bundle(data, trust(), OFFICE, OFFICE_BOX)
    expected = json.loads((VECTOR / "vector-v1.json").read_text(encoding="utf-8"))
    assert expected == vector_content()
    header = {"compound": got.compound, "author": got.author, "recipient": got.recipient}
    assert {**header, "vector": got.vector} == {
        k: expected[k] for k in ("compound", "author", "recipient", "vector")
    }
    assert [json.loads(c.text) for c in got.change_sets] == expected["change_sets"]


def test_the_test_vector_is_written_byte_for_byte() -> None:
    """Ed25519 and X25519 are deterministic and zlib is at level 6: the same keys and
    content give the same bytes (another deflate may differ only in the sealed part)."""
    assert vector_bytes() == (VECTOR / "vector-v1.bundle").read_bytes()


def test_the_test_vector_is_printed_in_the_docs() -> None:
    doc = (Path(__file__).parent.parent / "docs" / "exchange.md").read_text(encoding="utf-8")
    hexdump = "".join(
        line.split("  ")[0].split(":", 1)[1].replace(" ", "")
        for line in doc.split("<!-- vector -->")[1].strip().strip("`").strip().splitlines()
    )
    assert bytes.fromhex(hexdump) == (VECTOR / "vector-v1.bundle").read_bytes()


# --- refusals: the whole file, with its reason ----------------------------------------------


@FEW
@given(cut=st.integers(0, 10_000))
def test_a_truncated_bundle_is_refused(tmp_path: Path, cut: int) -> None:
    data = day()
    short = data[: cut % len(data)]
    reason = refusal(tmp_path, short)
    assert reason in (Refusal.TRUNCATED, Refusal.DAMAGED)
    if len(short) > len(MAGIC) + 6:
        assert reason is Refusal.TRUNCATED


@FEW
@given(at=st.integers(0, 10_000), xor=st.integers(1, 255))
def test_any_changed_byte_refuses_the_bundle(tmp_path: Path, at: int, xor: int) -> None:
    data = bytearray(day())
    data[at % len(data)] ^= xor
    refusal(tmp_path, bytes(data))  # whatever the reason: nothing of it is read


def test_a_changed_body_is_told_as_tampering(tmp_path: Path) -> None:
    data = bytearray(day())
    data[-80] ^= 1  # inside the sealed body
    assert refusal(tmp_path, bytes(data)) is Refusal.TAMPERED
    data = bytearray(day())
    data[-1] ^= 1  # the signature
    assert refusal(tmp_path, bytes(data)) is Refusal.TAMPERED


def test_a_change_set_whose_author_did_not_sign_it_is_tampering(tmp_path: Path) -> None:
    real = change_set("north", 1, [passage(1)])
    forged = type(real)(
        real.author, 1, 1, 1, real.rows, real.text.replace(b'"in"', b'"out"'), real.signature
    )
    assert refusal(tmp_path, bundle("north", [forged], "office")) is Refusal.TAMPERED


def test_a_bundle_from_an_unknown_node_is_refused(tmp_path: Path) -> None:
    data = day()
    trusted = trust()
    without_north = type(trusted)(
        COMPOUND, OFFICE, {k: v for k, v in trusted.nodes.items() if k != NORTH}
    )
    assert refusal(tmp_path, data, trusted=without_north) is Refusal.UNKNOWN_NODE


def test_a_bundle_from_a_removed_node_is_refused(tmp_path: Path) -> None:
    assert refusal(tmp_path, day(), trusted=trust(removed=[NORTH])) is Refusal.REMOVED_NODE


def test_a_removed_nodes_change_sets_relayed_by_the_office_are_refused(tmp_path: Path) -> None:
    relayed = bundle("office", [change_set("north", 1, [passage(1)])], "south")
    reason = refusal(tmp_path, relayed, me=SOUTH, trusted=trust(removed=[NORTH]))
    assert reason is Refusal.REMOVED_NODE


def test_a_bundle_of_another_compound_is_refused(tmp_path: Path) -> None:
    other = "0190a5f2-6b1c-7000-8000-00000000beef"
    assert refusal(tmp_path, day(), trusted=trust(compound=other)) is Refusal.OTHER_COMPOUND


def test_change_sets_signed_for_another_compound_are_refused(tmp_path: Path) -> None:
    """Same keys, another compound id in what the author signed: not a replay here."""
    other = "0190a5f2-6b1c-7000-8000-00000000beef"
    data = bundle("north", [change_set("north", 1, [passage(1)], compound=other)], "office")
    assert refusal(tmp_path, data) is Refusal.TAMPERED


def test_a_bundle_for_another_node_is_refused(tmp_path: Path) -> None:
    assert refusal(tmp_path, day(), me=SOUTH) is Refusal.OTHER_RECIPIENT


def test_a_sealed_bundle_without_the_box_key_is_refused(tmp_path: Path) -> None:
    assert refusal(tmp_path, day(), box=None) is Refusal.CANNOT_OPEN
    assert refusal(tmp_path, day(), box=SOUTH_BOX) is Refusal.CANNOT_OPEN


def test_the_sealed_body_shows_nothing_of_its_rows() -> None:
    data = day()
    assert b"visit" not in data and b"beef" not in data
    assert b"0196875a" not in data


def test_a_newer_format_is_refused_with_its_number(tmp_path: Path) -> None:
    data = bytearray(day())
    struct.pack_into(">H", data, len(MAGIC), FORMAT_VERSION + 1)
    with pytest.raises(BundleRefused) as caught:
        read_file(tmp_path, bytes(data))
    assert caught.value.reason is Refusal.NEWER_FORMAT
    assert f"format {FORMAT_VERSION + 1}" in str(caught.value)


def test_a_gate_cannot_write_what_only_the_office_writes(tmp_path: Path) -> None:
    for kind in ("revocation", "pass", "resident", "hold", "node", "as_of"):
        row = {**passage(1), "kind": kind}
        data = bundle("north", [change_set("north", 1, [row])], "office")
        assert refusal(tmp_path, data) is Refusal.NOT_ALLOWED
    # the office records passages at its own desk: a gate's kind is the office's too
    visit = bundle("office", [change_set("office", 1, [passage(1)])], "south")
    read_file(tmp_path, visit, me=SOUTH)


def test_a_file_over_the_size_cap_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "big.gpbundle"
    with path.open("wb") as fp:  # sparse: the reader must not read it to know
        fp.write(day())
        fp.truncate(LIMITS.file_bytes + 1)
    with pytest.raises(BundleRefused) as caught:
        read_bundle(path, trust(), OFFICE, OFFICE_BOX)
    assert caught.value.reason is Refusal.TOO_BIG


def test_more_change_sets_or_rows_than_the_caps_are_refused(tmp_path: Path) -> None:
    sets = [change_set("north", i, [passage(i)]) for i in range(1, 6)]
    data = bundle("north", sets, "office")
    assert read_file(tmp_path, data, limits=Limits(change_sets=5, rows=5))
    assert refusal(tmp_path, data, limits=Limits(change_sets=4)) is Refusal.TOO_BIG
    assert refusal(tmp_path, data, limits=Limits(rows=4)) is Refusal.TOO_BIG
    assert LIMITS.change_sets >= 10_000 and LIMITS.rows >= 1_000_000  # a register fits


@pytest.mark.slow  # packs 257 MiB of zeros: about 1-2 s, and 257 MiB of memory at most
def test_a_zip_bomb_signed_by_a_trusted_gate_is_refused(tmp_path: Path) -> None:
    """A stolen gate before its removal: the signature is good, the body unpacks
    past the cap. The reader stops at the cap: it never holds more than that."""
    packer = zlib.compressobj(9)
    chunk = bytes(1024 * 1024)
    packed = b"".join(packer.compress(chunk) for _ in range(LIMITS.body_bytes // len(chunk) + 1))
    packed += packer.flush()
    assert len(packed) < 300_000  # a few hundred KB on a stick
    data = _with_body(packed, sets=1, rows=1)
    assert refusal(tmp_path, data) is Refusal.TOO_BIG


def _with_body(packed: bytes, *, sets: int, rows: int) -> bytes:
    """An open bundle by the north gate with ``packed`` as its body, signed."""
    return raw_bundle(open_header(sets, rows), packed)


def test_a_signed_body_that_is_not_change_sets_is_damaged(tmp_path: Path) -> None:
    for body in (b"", b"not zlib", zlib.compress(b"no signature\n"), zlib.compress(b"x" * 200)):
        assert refusal(tmp_path, _with_body(body, sets=1, rows=1), box=None) is Refusal.DAMAGED


def test_a_header_that_does_not_match_its_change_sets_is_damaged(tmp_path: Path) -> None:
    line = change_set("north", 1, [passage(1), passage(2)]).line()
    for sets, rows in ((2, 2), (1, 3)):
        data = _with_body(zlib.compress(line), sets=sets, rows=rows)
        assert refusal(tmp_path, data, box=None) is Refusal.DAMAGED


def test_an_unreadable_file_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError):
        read_bundle(tmp_path / "nothing.gpbundle", trust(), OFFICE, OFFICE_BOX)


def test_refusals_are_told_in_chinese() -> None:
    i18n.set_language("zh_CN")
    with pytest.raises(BundleRefused) as caught:
        read_bundle(day(), trust(removed=[NORTH]), OFFICE, OFFICE_BOX)
    assert caught.value.reason is Refusal.REMOVED_NODE
    assert "Nothing" not in str(caught.value) and NORTH in str(caught.value)


def test_rows_already_json_sign_to_the_same_line_as_rows_given_as_objects() -> None:
    import json as _json

    from kiosk.core.bundle import check_line, sign_row_texts

    rows = [passage(n, note="门口\n换班 \u2028") for n in range(1, 6)]
    texts = [
        _json.dumps(r, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
        for r in rows
    ]
    north = NODES["north"]
    line = sign_row_texts(COMPOUND, north.node, 3, SCHEMA, texts, north.key)
    assert line == change_set("north", 3, rows).line()
    read = check_line(line.rstrip(b"\n"), COMPOUND, trust())
    assert (read.first, read.last, list(read.rows)) == (3, 7, rows)


def test_a_row_whose_time_has_no_offset_is_damaged() -> None:
    """Every node writes aware times; one without its offset would be read in whichever
    zone the reader (a gate, the hub's PostgreSQL) is in."""
    from kiosk.core.bundle import check_line

    naive = passage(1)
    naive["at"] = naive["at"][:19]  # "2026-03-03T08:00:00", its offset cut
    line = change_set("north", 1, [naive]).line().rstrip(b"\n")
    with pytest.raises(BundleRefused) as caught:
        check_line(line, COMPOUND, trust())
    assert caught.value.reason is Refusal.DAMAGED and "offset" in str(caught.value.detail)
