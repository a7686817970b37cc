"""A compound of three nodes with fixed keys (an office and two gates), for the bundle's
tests, its fuzz target and its test vector (docs/exchange.md, "Test vector").

The keys are made from fixed seeds so the vector is the same bytes on every machine:
never use them for anything but tests. ``python -m tests.exchange_nodes`` rewrites
``tests/data/bundle/`` (only when the format changes on purpose).
"""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from kiosk.core.bundle import MAGIC, ChangeSet, TrustList, encode_bundle, sign_change_set
from kiosk.core.keys import key_id_of

VECTOR = Path(__file__).parent / "data" / "bundle"
COMPOUND = "0190a5f2-6b1c-7000-8000-00000000c0de"
OFFICE = "0190a5f2-6b1c-7000-8000-0000000000f1"
NORTH = "0190a5f2-6b1c-7000-8000-0000000000a1"
SOUTH = "0190a5f2-6b1c-7000-8000-0000000000a2"
CREATED = datetime(2026, 5, 1, 8, 30, tzinfo=UTC)
SCHEMA = 1


def _seed(name: str) -> bytes:
    return hashlib.sha256(b"gatepass test vector " + name.encode()).digest()


@dataclass(frozen=True)
class Node:
    node: str
    key: Ed25519PrivateKey
    box: X25519PrivateKey


def node(node_id: str, name: str) -> Node:
    return Node(
        node_id,
        Ed25519PrivateKey.from_private_bytes(_seed(name + " sign")),
        X25519PrivateKey.from_private_bytes(_seed(name + " box")),
    )


NODES = {"office": node(OFFICE, "office"), "north": node(NORTH, "north")}
NODES["south"] = node(SOUTH, "south")


def trust(removed: Sequence[str] = (), compound: str = COMPOUND) -> TrustList:
    keys = {n.node: n.key.public_key() for n in NODES.values()}
    return TrustList(compound, OFFICE, keys, frozenset(removed))


def passage(n: int, **extra: Any) -> dict[str, Any]:
    """A gate's passage row: a fixed UUIDv7 and time for ``n``."""
    row = {
        "kind": "visit",
        "id": f"0196875a-{n:04x}-7000-8000-000000000000",
        "at": f"2026-05-01T08:{n % 60:02d}:00.000000+00:00",
        "direction": "in" if n % 2 else "out",
        "resident_id": "0196875a-0000-7000-8000-00000000beef",
        "level": "green",
    }
    row.update(extra)
    return row


def change_set(
    who: str, first: int, rows: Sequence[Mapping[str, Any]], compound: str = COMPOUND
) -> ChangeSet:
    author = NODES[who]
    return sign_change_set(compound, author.node, first, SCHEMA, rows, author.key)


def bundle(who: str, sets: Sequence[ChangeSet], to: str | None = None, **fields: Any) -> bytes:
    """The bundle ``who`` writes of ``sets``, sealed for node ``to`` when given."""
    author = NODES[who]
    recipient = NODES[to] if to else None
    args: dict[str, Any] = {
        "compound": COMPOUND,
        "author": author.node,
        "key": author.key,
        "change_sets": sets,
        "schema": SCHEMA,
        "created_at": CREATED,
        "recipient": recipient.node if recipient else None,
        "recipient_box": recipient.box.public_key() if recipient else None,
    }
    args.update(fields)
    return encode_bundle(**args)


def open_header(sets: int, rows: int, who: str = "north") -> dict[str, Any]:
    """The header of an open bundle by ``who`` carrying ``rows`` of its own in ``sets``."""
    author = NODES[who]
    return {
        "author": author.node,
        "carries": [[author.node, 1, rows]] if rows else [],
        "compound": COMPOUND,
        "created": "2026-05-01T08:30:00.000000+00:00",
        "key": key_id_of(author.key.public_key()),
        "recipient": None,
        "rows": rows,
        "schema": SCHEMA,
        "sealed": False,
        "sets": sets,
        "vector": {},
    }


def raw_bundle(header: Mapping[str, Any] | bytes, packed: bytes, who: str = "north") -> bytes:
    """A bundle of exactly this header and (packed) body, signed by ``who``: for bodies
    and headers :func:`encode_bundle` would never write."""
    head = header if isinstance(header, bytes) else json.dumps(header, sort_keys=True).encode()
    signed = MAGIC + struct.pack(">HI", 1, len(head)) + head + struct.pack(">I", len(packed))
    signed += packed
    return signed + NODES[who].key.sign(signed)


# --- the test vector ------------------------------------------------------------------------

VECTOR_EPHEMERAL = X25519PrivateKey.from_private_bytes(_seed("ephemeral"))


def vector_sets() -> list[ChangeSet]:
    return [
        change_set("north", 1, [passage(1, guard="王师傅"), passage(2)]),
        change_set(
            "office",
            7,
            [
                {
                    "kind": "revocation",
                    "id": "0196875a-1000-7000-8000-000000000001",
                    "at": "2026-05-01T07:00:00.000000+00:00",
                    "serial": "7KQ2-M9XD",
                }
            ],
        ),
    ]


def vector_bytes() -> bytes:
    """North's bundle to the office, sealed: a passage of its own and the office's
    revocation it relays back (both change sets keep their authors' signatures)."""
    vector = {NORTH: 2, OFFICE: 7}
    return bundle("north", vector_sets(), to="office", vector=vector, ephemeral=VECTOR_EPHEMERAL)


def vector_content() -> dict[str, Any]:
    return {
        "compound": COMPOUND,
        "author": NORTH,
        "recipient": OFFICE,
        "vector": {NORTH: 2, OFFICE: 7},
        "change_sets": [json.loads(c.text) for c in vector_sets()],
    }


def write_vector() -> None:  # pragma: no cover - by hand, when the format changes
    VECTOR.mkdir(parents=True, exist_ok=True)
    (VECTOR / "vector-v1.bundle").write_bytes(vector_bytes())
    text = json.dumps(vector_content(), ensure_ascii=False, indent=1, sort_keys=True)
    (VECTOR / "vector-v1.json").write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":  # pragma: no cover
    write_vector()
