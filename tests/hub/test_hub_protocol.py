"""The hub's API in process (Starlette's TestClient, a real PostgreSQL): signed requests
and every refusal with its reason; claims; the change feed withholding an unpublished
gate; the feed under concurrent writers never skipping a change set."""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import psycopg
import pytest

with __import__("warnings").catch_warnings():
    # Starlette 1.x would have the TestClient on httpx2; httpx (what kiosk.sync uses)
    # still drives it
    __import__("warnings").simplefilter("ignore")
    from starlette.testclient import TestClient

from kiosk.core.keys import public_key_to_text
from kiosk.hub import store
from kiosk.hub.app import Hub, make_app
from tests.hub.seed import Node, Seeded, seed, visit

pytestmark = pytest.mark.filterwarnings(
    "ignore:Using `httpx` with `starlette.testclient` is deprecated"
)


@pytest.fixture
def seeded(shared_hub_dsn: str) -> Seeded:
    with psycopg.connect(shared_hub_dsn) as conn, conn.transaction():
        return seed(conn, gates=2, name=f"小区{uuid.uuid4().hex[:6]}")


def client_of(dsn: str, **limits: object) -> TestClient:
    return TestClient(make_app(Hub(dsn, **limits)))  # type: ignore[arg-type]


@pytest.fixture
def api(shared_hub_dsn: str) -> Iterator[TestClient]:
    with client_of(shared_hub_dsn) as client:
        yield client


def push(api: TestClient, node: Node, lines: list[bytes], skew: timedelta = timedelta(0)):
    body = b"\n".join(lines)
    return api.post("/v1/push", content=body, headers=node.headers("POST", "/v1/push", body, skew))


def pull(api: TestClient, node: Node, after: int = 0):
    target = f"/v1/pull?after={after}"
    return api.get(target, headers=node.headers("GET", target))


def test_a_push_is_pulled_by_the_other_gate_but_not_by_its_author(
    api: TestClient, seeded: Seeded
) -> None:
    north, south = seeded.gates
    change = seeded.change_set(north, [visit(north), visit(north)])
    answer = push(api, north, [change.line().rstrip(b"\n")])
    assert answer.status_code == 200, answer.text
    assert answer.json()["accepted"] == 1 and answer.json()["vector"][north.id] == 2
    got = pull(api, south).json()
    assert got["lines"] == [change.line().decode().rstrip("\n")] and got["more"] is False
    assert pull(api, north).json()["lines"] == []
    # the same upload again (a retry) changes nothing
    again = push(api, north, [change.line().rstrip(b"\n")])
    assert again.json()["accepted"] == 0 and again.json()["known"] == 1
    assert pull(api, south, got["next"]).json()["lines"] == []


def test_every_refusal_carries_its_reason(
    api: TestClient, seeded: Seeded, shared_hub_dsn: str
) -> None:
    north, south = seeded.gates
    line = seeded.change_set(north, [visit(north)]).line().rstrip(b"\n")
    headers = north.headers("POST", "/v1/push", line)
    assert api.post("/v1/push", content=line, headers=headers).status_code == 200
    replay = api.post("/v1/push", content=line, headers=headers)
    assert (replay.status_code, replay.json()["refused"]) == (409, "replayed")
    late = push(api, north, [line], skew=timedelta(hours=2))
    assert (late.status_code, late.json()["refused"]) == (401, "clock")
    changed = api.post(
        "/v1/push", content=line + b" ", headers=north.headers("POST", "/v1/push", line)
    )
    assert (changed.status_code, changed.json()["refused"]) == (401, "signature")
    stranger = Node(str(uuid.uuid4()), north.key, "gate")
    assert push(api, stranger, [line]).json()["refused"] == "unknown_node"
    unsigned = api.post("/v1/push", content=line)
    assert (unsigned.status_code, unsigned.json()["refused"]) == (401, "signature")
    damaged = push(api, north, [b"not a change set"])
    assert (damaged.status_code, damaged.json()["refused"]) == (400, "damaged")
    # a gate writing another gate's passage, or the office's kinds
    forged = seeded.change_set(north, [visit(south)]).line().rstrip(b"\n")
    assert push(api, north, [forged]).json()["refused"] == "not_allowed"
    hold = {"kind": "hold", "id": str(uuid.uuid4()), "at": visit(north)["at"]}
    office_kind = seeded.change_set(north, [hold]).line().rstrip(b"\n")
    assert push(api, north, [office_kind]).json()["refused"] == "not_allowed"
    # a gate relaying another's change set is fine: the author signed it
    relayed = seeded.change_set(south, [visit(south)]).line().rstrip(b"\n")
    assert push(api, north, [relayed]).json()["accepted"] == 1
    # a removed gate is refused at once
    with psycopg.connect(shared_hub_dsn) as conn:
        conn.execute("UPDATE nodes SET removed_at = now() WHERE id = %s", [uuid.UUID(south.id)])
    gone = pull(api, south)
    assert (gone.status_code, gone.json()["refused"]) == (403, "removed")
    assert "removed" in gone.json()["message"]


def test_passages_are_read_by_postgresql_as_the_hub_checked_them(
    api: TestClient, seeded: Seeded, shared_hub_dsn: str
) -> None:
    """The hub has PostgreSQL read an upload's passages from the lines themselves
    (store._PASSAGES_OF_LINES): each value lands as the row says, what is not a UUID or a
    number is left empty as before, and a time PostgreSQL cannot read refuses the upload
    as damaged with nothing kept (not a server error)."""
    north = seeded.gates[0]
    shanghai = timezone(timedelta(hours=8))
    # 07:30 in Shanghai on 2 March is 23:30 UTC on 1 March: the partition of the UTC day
    local_at = datetime(2026, 3, 2, 7, 30, tzinfo=shanghai)
    rows = [
        visit(north, temperature=37.9, visitor_id=str(uuid.uuid4()), direction="out"),
        visit(north, temperature="hot", visitor_id="not a uuid", corrects=""),
        {**visit(north), "at": local_at.isoformat()},
    ]
    answer = push(api, north, [seeded.change_set(north, rows).line().rstrip(b"\n")])
    assert answer.status_code == 200, answer.text
    assert answer.json()["rows"] == 3
    with psycopg.connect(shared_hub_dsn) as conn:
        kept = {
            str(r[0]): r[1:]
            for r in conn.execute(
                "SELECT id, at, checkpoint, direction, temperature, visitor_id, corrects, "
                "tableoid::regclass::text FROM passages WHERE checkpoint = %s",
                [uuid.UUID(north.id)],
            )
        }
    first, second, third = (kept[r["id"]] for r in rows)
    assert first[2] == "out" and first[3] == pytest.approx(37.9)
    assert str(first[4]) == rows[0]["visitor_id"]
    assert second[3:6] == (None, None, None)
    assert third[0] == local_at and third[6] == "passages_20260301"

    # times PostgreSQL cannot read, and one without its offset: refused whole
    before = answer.json()["vector"][north.id]
    week_date = {**visit(north), "at": "2026-W10-1T08:00:00+00:00"}  # Python reads it
    refused = push(api, north, [seeded.change_set(north, [week_date]).line().rstrip(b"\n")])
    assert (refused.status_code, refused.json()["refused"]) == (400, "damaged")
    north.seq = before
    naive = {**visit(north), "at": "2026-03-02T08:00:00"}
    refused = push(api, north, [seeded.change_set(north, [naive]).line().rstrip(b"\n")])
    assert (refused.status_code, refused.json()["refused"]) == (400, "damaged")
    assert "offset" in refused.json()["detail"]
    north.seq = before
    with psycopg.connect(shared_hub_dsn) as conn:
        held = conn.execute(
            "SELECT count(*) FROM change_sets WHERE author = %s", [uuid.UUID(north.id)]
        ).fetchone()
    assert held == (1,)


def test_size_and_rate_limits(shared_hub_dsn: str, seeded: Seeded) -> None:
    north = seeded.gates[0]
    with client_of(shared_hub_dsn, max_body=1000, rate=0.001, burst=3) as api:
        big = seeded.change_set(north, [visit(north) for _ in range(20)]).line().rstrip(b"\n")
        too_big = push(api, north, [big])
        assert (too_big.status_code, too_big.json()["refused"]) == (413, "too_big")
        for _ in range(3):
            assert pull(api, north).status_code == 200
        slow = pull(api, north)
        assert (slow.status_code, slow.json()["refused"]) == (429, "rate")
        assert slow.headers["retry-after"]


def test_a_gate_is_withheld_from_the_feed_until_the_office_names_its_key(
    api: TestClient, seeded: Seeded, shared_hub_dsn: str
) -> None:
    north, south = seeded.gates
    with psycopg.connect(shared_hub_dsn) as conn:
        conn.execute("UPDATE nodes SET published = false WHERE id = %s", [uuid.UUID(north.id)])
    first = seeded.change_set(north, [visit(north)])
    assert push(api, north, [first.line().rstrip(b"\n")]).status_code == 200
    assert pull(api, south).json()["lines"] == []
    node_row = {
        "kind": "node",
        "id": north.id,
        "at": visit(north)["at"],
        "role": "gate",
        "name": "north",
        "sign_key": public_key_to_text(north.key.public_key()),
        "removed_at": None,
    }
    named = seeded.change_set(seeded.office, [node_row])
    assert push(api, seeded.office, [named.line().rstrip(b"\n")]).status_code == 200
    lines = pull(api, south).json()["lines"]
    # the office's row first, then the gate's withheld change set
    assert [json.loads(x.split(" ", 1)[1])["author"] for x in lines] == [
        seeded.office.id,
        north.id,
    ]


def test_the_feed_never_skips_a_change_set_committed_late(shared_hub_dsn: str) -> None:
    """Writers hold their transactions open a random while after taking their feed
    positions; a reader polling all along must see every change set once, at gapless
    positions (a ``bigserial > cursor`` feed skips here: the row committed late has a
    smaller number than one already read)."""
    with psycopg.connect(shared_hub_dsn) as conn, conn.transaction():
        seeded = seed(conn, gates=4, name="feed")
    per_writer = 15
    sets = {
        g.id: [seeded.change_set(g, [visit(g)]) for _ in range(per_writer)] for g in seeded.gates
    }
    stop = threading.Event()
    seen: list[tuple[int, str]] = []
    errors: list[BaseException] = []
    reader_node = store.Node(
        uuid.UUID(seeded.office.id), uuid.UUID(seeded.compound), "office", "office"
    )

    def writer(gate: Node) -> None:
        node = store.Node(uuid.UUID(gate.id), uuid.UUID(seeded.compound), "gate", "g")
        rng = random.Random(gate.id)
        try:
            with psycopg.connect(shared_hub_dsn) as conn:
                for change in sets[gate.id]:
                    with conn.transaction():
                        store.push(conn, node, [change], datetime.now(UTC))
                        time.sleep(rng.uniform(0, 0.02))  # commit late
        except BaseException as exc:
            errors.append(exc)

    def reader() -> None:
        after = 0
        try:
            with psycopg.connect(shared_hub_dsn) as conn:
                while not stop.is_set() or after < 4 * per_writer:
                    with conn.transaction():
                        page = store.pull(conn, reader_node, after, datetime.now(UTC))
                        positions = [
                            int(p)
                            for (p,) in conn.execute(
                                "SELECT feed FROM change_sets WHERE compound = %s AND feed > %s "
                                "AND feed <= %s ORDER BY feed",
                                [uuid.UUID(seeded.compound), after, page["next"]],
                            )
                        ]
                    for position, line in zip(positions, page["lines"], strict=True):
                        seen.append((position, line))
                    after = page["next"]
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(g,)) for g in seeded.gates]
    read = threading.Thread(target=reader)
    read.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    stop.set()
    read.join(60)
    assert not errors, errors
    assert [p for p, _ in seen] == list(range(1, 4 * per_writer + 1))
    expected = {c.line().decode().rstrip("\n") for group in sets.values() for c in group}
    assert {line for _, line in seen} == expected


def test_a_relayed_change_set_the_hub_cannot_trust_is_left_out_not_refused(
    api: TestClient, seeded: Seeded, shared_hub_dsn: str
) -> None:
    """An office relaying (from the stick) a gate the hub does not know yet, or one
    removed, must not be stuck: the hub leaves those lines out and takes the rest."""
    north, south = seeded.gates
    unknown = Node(str(uuid.uuid4()), north.key, "gate")
    theirs = seeded.change_set(unknown, [visit(unknown)]).line().rstrip(b"\n")
    with psycopg.connect(shared_hub_dsn) as conn:
        conn.execute("UPDATE nodes SET removed_at = now() WHERE id = %s", [uuid.UUID(south.id)])
    removed = seeded.change_set(south, [visit(south)]).line().rstrip(b"\n")
    own = seeded.change_set(north, [visit(north)]).line().rstrip(b"\n")
    answer = push(api, north, [theirs, removed, own])
    assert answer.status_code == 200, answer.text
    assert (answer.json()["accepted"], answer.json()["left_out"]) == (1, 2)


def test_retention_at_the_hub_and_not_on_a_clock_to_doubt(hub_dsn: str) -> None:
    """Old day partitions dropped, a gate's old change sets forgotten once every other
    node pulled past them (the office's kept), and nothing at all when the hub's
    clock is far past the newest arrival."""
    now = datetime.now(UTC)
    old = now - timedelta(days=40)
    with psycopg.connect(hub_dsn) as conn, conn.transaction():
        seeded = seed(conn, gates=2, name="retention")
        north = seeded.gates[0]
        store.Partitions().ensure(conn, [old.date(), now.date()])
        node = store.Node(uuid.UUID(north.id), uuid.UUID(seeded.compound), "gate", "n")
        office = store.Node(uuid.UUID(seeded.office.id), uuid.UUID(seeded.compound), "office", "o")
        store.push(conn, node, [seeded.change_set(north, [visit(north, old)])], old)
        store.push(conn, node, [seeded.change_set(north, [visit(north, now)])], now)
        store.push(
            conn,
            office,
            [
                seeded.change_set(
                    seeded.office,
                    [{"kind": "as_of", "id": seeded.compound, "at": visit(north, old)["at"]}],
                )
            ],
            old,
        )
        conn.execute("UPDATE change_sets SET received_at = %s WHERE first = 1", [old])
        # far ahead of the newest arrival: held back
        doubt = store.retain(conn, 28, now + timedelta(days=30))
        assert doubt.held_back and doubt.partitions == ()
        # nobody has pulled yet: the old gate change set stays, its partition goes
        first = store.retain(conn, 28, now)
        assert first.held_back is None and first.change_sets == 0
        assert store.Partitions.name(old.date()) in first.partitions
        conn.execute(
            "UPDATE nodes SET cursor = 100 WHERE compound = %s", [uuid.UUID(seeded.compound)]
        )
        second = store.retain(conn, 28, now)
        assert second.change_sets == 1  # the gate's old one; the office's stays
        left = conn.execute(
            "SELECT count(*) FROM change_sets WHERE compound = %s", [uuid.UUID(seeded.compound)]
        ).fetchone()
        assert left == (2,)
