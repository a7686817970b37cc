"""A compound seeded straight into a hub database (no homes): for the protocol's and
the change feed's tests, and the benchmark's shape."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.core import hubwire
from kiosk.core.bundle import ChangeSet, sign_change_set
from kiosk.core.clock import to_db
from kiosk.core.ids import uuid7
from kiosk.core.keys import public_key_to_text
from kiosk.hub import store


@dataclass
class Node:
    id: str
    key: Ed25519PrivateKey
    role: str
    seq: int = 0

    def headers(
        self, method: str, target: str, body: bytes = b"", skew: timedelta = timedelta(0)
    ) -> dict[str, str]:
        return hubwire.sign_request(
            self.key, self.id, method, target, body, datetime.now(UTC) + skew
        )


@dataclass
class Seeded:
    compound: str
    office: Node
    gates: list[Node] = field(default_factory=list)

    def change_set(self, author: Node, rows: list[dict[str, Any]]) -> ChangeSet:
        change = sign_change_set(self.compound, author.id, author.seq + 1, 5, rows, author.key)
        author.seq = change.last
        return change


def visit(gate: Node, at: datetime | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "kind": "visit",
        "id": uuid7(),
        "at": to_db(at or datetime.now(UTC)),
        "checkpoint_id": gate.id,
        "direction": "in",
        "subject_kind": "resident",
        "level": "pass",
        "reason": "valid_pass",
        "temperature": None,
        **extra,
    }


def seed(
    conn: psycopg.Connection, gates: int = 2, community: str = "区/街道/社区", name: str = "小区"
) -> Seeded:
    """A compound with an office and ``gates`` gates, every key published."""
    area = store.area_path(conn, community, create=True)
    compound = uuid7()
    office = Node(uuid7(), Ed25519PrivateKey.generate(), "office")
    conn.execute(
        "INSERT INTO compounds (id, community, name, office) VALUES (%s, %s, %s, %s)",
        [uuid.UUID(compound), area, name, uuid.UUID(office.id)],
    )
    seeded = Seeded(compound, office)
    for node in [
        office,
        *(Node(uuid7(), Ed25519PrivateKey.generate(), "gate") for _ in range(gates)),
    ]:
        conn.execute(
            "INSERT INTO nodes (id, compound, role, name, sign_key, published) "
            "VALUES (%s, %s, %s, %s, %s, true)",
            [
                uuid.UUID(node.id),
                uuid.UUID(compound),
                node.role,
                node.role,
                public_key_to_text(node.key.public_key()),
            ],
        )
        if node.role == "gate":
            seeded.gates.append(node)
    return seeded
