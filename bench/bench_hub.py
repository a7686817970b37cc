"""District hub figures for issue 14, against real ``kiosk hub serve`` processes and the
local PostgreSQL (a fresh database ``gp_bench_<random>``, migrated as ``kiosk hub init``
does, dropped at the end unless ``--keep``):

1. ingest: simulated gates (asyncio streams on uvloop, one TLS connection and one
   Ed25519 key each) POST /v1/push, each request one signed change set of 100 ``visit`` rows.
   Two loads per number of gates (200 and 1,000), each with 1 and 2 hub processes:
   *flat out* (every gate uploads again as soon as its last upload is answered: the most
   the hub takes in) and *paced* (the gates together offer ``--offered`` passages a
   second, each at its own interval, as gates that upload when they have passages do:
   the latency a gate sees at that load). Targets: >= 5,000 passages/s, p95 < 250 ms.
2. pull: a gate of a compound whose office's change sets carry 100,000 residents (and
   their households), pushed through /v1/push as the office; the gate pulls everything
   from cursor 0 (signed GET /v1/pull pages, ``HubClient``) until ``more`` is false.
3. size: PostgreSQL bytes per million passages (the passages' day partitions with their
   indexes, and the change sets that carried them, ``pg_total_relation_size``), from
   the passages ingested in 1.
4. report: ``kiosk.hub.report.daily`` for a sub-district of 500 compounds over a day
   of 10 million passages (made with ``INSERT ... SELECT FROM generate_series`` into the
   day partitions). Target: < 5 s.

    python bench/bench_hub.py [--gates 200,1000] [--workers 1,2] [--offered 5000]
        [--residents 100000] [--compounds 500] [--passages 10000000] [--pg DSN]
        [--keep] [--quick]

The load generator runs on the same machine as the hub and PostgreSQL and takes CPU
from both (its share is printed). ``--quick``: tiny sizes (a test runs it so). Prints
figures; asserts no times.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import random
import resource
import ssl
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
import psycopg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.core import hubwire
from kiosk.core.bundle import sign_row_texts
from kiosk.core.clock import to_db
from kiosk.core.ids import uuid7
from kiosk.core.keys import public_key_to_text
from kiosk.hub import identity, report, schema, store
from kiosk.sync.client import HubClient, pinned_context
from tests.hub.processes import HubProcess, free_port

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
SCHEMA = 1  # the change sets' schema number (the hub does not read it)
SET_ROWS = 500  # rows per change set of the office (kiosk.store.exchange.SET_ROWS)


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    target: float | None = None
    lower_is_better: bool = True


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def cpu_s() -> float:
    """This process's CPU time (user + system), seconds."""
    used = resource.getrusage(resource.RUSAGE_SELF)
    return used.ru_utime + used.ru_stime


def cpu_by_group(db: str, hub_pid: int) -> dict[str, float]:
    """CPU seconds so far of the hub's processes (``hub_pid`` and its children), the
    PostgreSQL backends of ``db`` with PostgreSQL's WAL writer and checkpointer, this
    load generator, and everything else on the machine, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    procs: dict[int, tuple[int, str, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        procs[int(entry.name)] = (int(fields[1]), args, (int(fields[11]) + int(fields[12])) / tick)
    found = {"hub": 0.0, "postgres": 0.0, "load generator": 0.0, "other": 0.0}
    for pid, (parent, args, used) in procs.items():
        if pid == os.getpid():
            group = "load generator"
        elif pid == hub_pid or parent == hub_pid or procs.get(parent, (0,))[0] == hub_pid:
            group = "hub"
        elif args.startswith("postgres:") and any(
            word in args for word in (db, "walwriter", "checkpointer", "background writer")
        ):
            group = "postgres"
        else:
            group = "other"
        found[group] += used
    return found


# --- the database --------------------------------------------------------------------------


def with_db(dsn: str, name: str) -> str:
    return psycopg.conninfo.make_conninfo(dsn, dbname=name)


@dataclass
class Node:
    id: str
    compound: str
    key: Ed25519PrivateKey
    seq: int = 0


@dataclass
class Seeded:
    subdistrict: uuid.UUID
    compounds: list[str]
    gates: list[Node]
    big_office: Node
    big_gate: Node


def seed(conn: psycopg.Connection, compounds: int, gates: int) -> Seeded:
    """The areas (one district, one sub-district, communities of 20 compounds), the
    compounds with an office node each, ``gates`` gates two to a compound (their keys
    set and published, as after enrolment), and one compound apart for the pull."""
    district = uuid.uuid4()
    sub = uuid.uuid4()
    conn.execute(
        "INSERT INTO areas (id, parent, level, name) VALUES (%s, NULL, 'district', 'Bench'), "
        "(%s, %s, 'subdistrict', 'Sub')",
        [district, sub, district],
    )
    communities = []
    for c in range((compounds + 19) // 20 + 1):
        community = uuid.uuid4()
        conn.execute(
            "INSERT INTO areas (id, parent, level, name) VALUES (%s, %s, 'community', %s)",
            [community, sub, f"Community {c:03d}"],
        )
        communities.append(community)
    now = store.now_utc()
    comp_rows, node_rows = [], []

    def node(compound: str, role: str, name: str) -> Node:
        key = Ed25519PrivateKey.generate()
        made = Node(uuid7(), compound, key)
        node_rows.append(
            (made.id, compound, role, name, public_key_to_text(key.public_key()), True, now)
        )
        return made

    ids = []
    for c in range(compounds):
        cid = uuid7()
        office = node(cid, "office", f"office {c}")
        comp_rows.append((cid, communities[c // 20], f"Compound {c:03d}", office.id))
        ids.append(cid)
    gate_nodes = [node(ids[(g // 2) % compounds], "gate", f"gate {g:04d}") for g in range(gates)]
    big = uuid7()
    big_office = node(big, "office", "big office")
    big_gate = node(big, "gate", "big gate")
    comp_rows.append((big, communities[-1], "Big compound", big_office.id))
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO compounds (id, community, name, office) VALUES (%s, %s, %s, %s)",
            comp_rows,
        )
        cur.executemany(
            "INSERT INTO nodes (id, compound, role, name, sign_key, published, joined_at) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s)",
            node_rows,
        )
    return Seeded(sub, ids, gate_nodes, big_office, big_gate)


# --- change sets -----------------------------------------------------------------------------


def visit_row(gate: Node, at: datetime, i: int) -> bytes:
    """A passage as a gate's outbox carries it (the columns of ``visits`` but seq,
    chain and arrived_at, in their order, with its kind added)."""
    visitor = i % 7 == 0
    row = {
        "id": uuid7(),
        "at": to_db(at),
        "checkpoint_id": gate.id,
        "direction": "in" if i % 2 else "out",
        "subject_kind": "visitor" if visitor else "resident",
        "resident_id": None if visitor else uuid7(),
        "visitor_id": uuid7() if visitor else None,
        "household_id": None if visitor else uuid7(),
        "pass_serial": f"GP-{random.randrange(16**10):010X}",
        "level": "deny" if i % 50 == 0 else "pass",
        "reason": "pass valid",
        "reasons": "[]",
        "temperature": 36.5 if i % 3 else None,
        "guard": "guard 1",
        "plate": "",
        "source": "camera",
        "note": "",
        "corrects": None,
        "kind": "visit",
    }
    return json.dumps(row, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def gate_upload(gate: Node, rows: int) -> bytes:
    """The body of one upload: the gate's next change set of ``rows`` passages."""
    now = datetime.now(UTC)
    texts = [visit_row(gate, now - timedelta(seconds=rows - i), i) for i in range(rows)]
    line = sign_row_texts(gate.compound, gate.id, gate.seq + 1, SCHEMA, texts, gate.key)
    gate.seq += rows
    return line


# --- 1. ingest -------------------------------------------------------------------------------


@dataclass
class Load:
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    passages: int = 0


KEEP_ALIVE_S = 5.0
"""A gate's connection is used again within this many idle seconds, else made anew, as
the nodes' httpx client does (its default keep-alive expiry): at 1,000 gates uploading
every 20 s each upload pays a TLS handshake, at 200 gates every 4 s none does."""


class Connection:
    """One simulated gate's HTTP/1.1 connection over TLS on asyncio streams: what the
    nodes' httpx client sends, without its machinery (it cost the load generator more
    CPU than the hub spent answering, on the two cores they share)."""

    def __init__(self, url: str, context: ssl.SSLContext) -> None:
        parts = httpx.URL(url)
        self.host, self.port = parts.host, parts.port or 443
        self.context = context
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.idle_since = 0.0

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        if self.writer is None or time.perf_counter() - self.idle_since > KEEP_ALIVE_S:
            await self.close()
            self.reader, self.writer = await asyncio.open_connection(
                self.host, self.port, ssl=self.context
            )
        assert self.reader is not None
        head = "".join(
            [
                f"POST {path} HTTP/1.1\r\nhost: {self.host}:{self.port}\r\n",
                f"content-length: {len(body)}\r\n",
                *(f"{name}: {value}\r\n" for name, value in headers.items()),
                "\r\n",
            ]
        )
        self.writer.write(head.encode("ascii") + body)
        await self.writer.drain()
        status = int((await self.reader.readline()).split(b" ", 2)[1])
        length, close = 0, False
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "connection":
                close = value.strip().lower() == "close"
        answer = await self.reader.readexactly(length)
        self.idle_since = time.perf_counter()
        if close:
            await self.close()
        return status, answer

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError, ssl.SSLError):
                await self.writer.wait_closed()
        self.reader = self.writer = None


async def _upload(connection: Connection, gate: Node, body: bytes, load: Load) -> None:
    headers = hubwire.sign_request(gate.key, gate.id, "POST", "/v1/push", body, datetime.now(UTC))
    headers["content-type"] = "application/octet-stream"
    started = time.perf_counter()
    try:
        status, text = await asyncio.wait_for(connection.post("/v1/push", body, headers), 120)
    except (OSError, ssl.SSLError, asyncio.IncompleteReadError, TimeoutError, ValueError) as exc:
        load.failures.append(f"{type(exc).__name__}: {exc}")
        await connection.close()
        return
    took = time.perf_counter() - started
    answer = json.loads(text) if status == 200 else {}
    if answer.get("accepted") != 1:
        load.failures.append(f"HTTP {status}: {text[:200]!r}")
        return
    load.latencies.append(took)
    load.passages += int(answer["rows"])


async def _gate(
    url: str,
    context: ssl.SSLContext,
    gate: Node,
    bodies: list[bytes],
    load: Load,
    interval: float | None,
    phase: float,
) -> None:
    """One gate: its uploads one after another (``interval`` None), or one every
    ``interval`` seconds from ``phase`` on."""
    connection = Connection(url, context)
    try:
        start = time.perf_counter() + phase
        for n, body in enumerate(bodies):
            if interval is not None:
                await asyncio.sleep(max(0.0, start + n * interval - time.perf_counter()))
            await _upload(connection, gate, body, load)
    finally:
        await connection.close()


def run_load(
    url: str,
    pem: str,
    gates: list[Node],
    per_gate: int,
    rows: int,
    interval: float | None,
    probe: Callable[[], dict[str, float]],
) -> tuple[Load, float, dict[str, float]]:
    """Every gate's ``per_gate`` uploads (bodies made beforehand); returns the load, its
    wall time and the CPU seconds each group of processes used meanwhile."""
    bodies = {g.id: [gate_upload(g, rows) for _ in range(per_gate)] for g in gates}
    context = pinned_context(pem)
    load = Load()
    gc.collect()
    gc.freeze()  # the bodies and the gates stay: collections need not walk them again

    async def main() -> None:
        await asyncio.gather(
            *(
                _gate(
                    url,
                    context,
                    g,
                    bodies[g.id],
                    load,
                    interval,
                    random.uniform(0, interval) if interval else 0.0,
                )
                for g in gates
            )
        )

    before = probe()
    started = time.perf_counter()
    try:
        run_loop(main())
    finally:
        gc.unfreeze()
    wall = time.perf_counter() - started
    after = probe()
    return load, wall, {k: after[k] - before[k] for k in before}


def run_loop(work: Any) -> None:
    """``work`` on uvloop where it is installed (the hub's own loop, ``kiosk hub serve``):
    asyncio's own TLS transport costs the load generator several times the CPU, which it
    takes from the hub and PostgreSQL on this machine."""
    try:
        import uvloop
    except ImportError:  # Windows
        asyncio.run(work)
    else:
        uvloop.run(work)


def cpu_text(cpu: dict[str, float], wall: float) -> str:
    return "CPU in cores: " + ", ".join(f"{k} {v / wall:.2f}" for k, v in cpu.items())


def ingest(
    url: str,
    pem: str,
    gates: list[Node],
    args: argparse.Namespace,
    label: str,
    probe: Callable[[], dict[str, float]],
) -> list[Figure]:
    figures = []
    n = len(gates)
    # flat out: every gate uploads as soon as its last upload is answered
    load, wall, cpu = run_load(url, pem, gates, args.flat_rounds, args.rows, None, probe)
    rate = load.passages / wall
    print(
        f"{label} {n} gates flat out: {len(load.latencies)} uploads, {load.passages} passages "
        f"in {wall:.1f} s; {cpu_text(cpu, wall)}; {len(load.failures)} failed {load.failures[:2]}"
    )
    if load.passages:
        print(
            f"{label} {n} gates flat out: CPU seconds per 1,000 passages: "
            + ", ".join(f"{k} {v / load.passages * 1000:.3f}" for k, v in cpu.items())
        )
    figures.append(Figure(f"{label} {n} gates flat out", rate, "p/s", 5000, False))
    if load.latencies:
        figures.append(
            Figure(f"{label} {n} gates flat out p95", pct(load.latencies, 0.95) * 1000, "ms")
        )
    # paced: the gates together offer args.offered passages a second
    interval = n * args.rows / args.offered
    load, wall, cpu = run_load(url, pem, gates, args.paced_rounds, args.rows, interval, probe)
    # the uploads are spread over rounds x interval (each gate starts at a random phase)
    active = max(args.paced_rounds * interval, wall - statistics.median(load.latencies or [0]))
    print(
        f"{label} {n} gates paced (one upload per gate every {interval:.1f} s): "
        f"{len(load.latencies)} uploads, {load.passages} passages in {wall:.1f} s; "
        f"{cpu_text(cpu, wall)}; {len(load.failures)} failed {load.failures[:2]}"
    )
    figures.append(Figure(f"{label} {n} gates paced", load.passages / active, "p/s"))
    if load.latencies:
        figures.append(
            Figure(f"{label} {n} gates paced p50", statistics.median(load.latencies) * 1000, "ms")
        )
        figures.append(
            Figure(f"{label} {n} gates paced p95", pct(load.latencies, 0.95) * 1000, "ms", 250)
        )
    if load.failures:
        figures.append(Figure(f"{label} {n} gates failed uploads", len(load.failures), ""))
    return figures


# --- 2. pull ---------------------------------------------------------------------------------


def office_lines(office: Node, residents: int) -> list[bytes]:
    """The office's change sets of its register: households of three, then residents,
    :data:`SET_ROWS` rows each, rows shaped as ``kiosk.store.exchange`` shapes them."""
    stamp = to_db(datetime.now(UTC))
    rows: list[bytes] = []
    households = []
    for h in range((residents + 2) // 3):
        hid = uuid7()
        households.append(hid)
        rows.append(
            json.dumps(
                {
                    "id": hid,
                    "building": str(1 + h // 600),
                    "unit": str(1 + h // 100 % 6),
                    "room": str(h),
                    "note": "",
                    "created_at": stamp,
                    "kind": "household",
                    "at": stamp,
                },
                separators=(",", ":"),
            ).encode()
        )
    for r in range(residents):
        rows.append(
            json.dumps(
                {
                    "active": 1,
                    "at": stamp,
                    "created_at": stamp,
                    "deactivated_at": None,
                    "household_id": households[r // 3],
                    "id": uuid7(),
                    "id_hash": f"{random.getrandbits(256):064x}",
                    "id_masked": "1101**********123X",
                    "kind": "resident",
                    "name": f"Resident {r}",
                    "phone_masked": "138****5678",
                    "role": "resident",
                    "updated_at": stamp,
                },
                ensure_ascii=False,
                separators=(",", ":"),
            ).encode()
        )
    lines = []
    for start in range(0, len(rows), SET_ROWS):
        chunk = rows[start : start + SET_ROWS]
        lines.append(
            sign_row_texts(office.compound, office.id, office.seq + 1, SCHEMA, chunk, office.key)
        )
        office.seq += len(chunk)
    return lines


def pull_figures(url: str, pem: str, seeded: Seeded, args: argparse.Namespace) -> list[Figure]:
    office, gate = seeded.big_office, seeded.big_gate
    lines = office_lines(office, args.residents)
    started = time.perf_counter()
    with HubClient(url, pem, node=office.id, key=office.key) as client:
        page: list[bytes] = []
        for line in [*lines, None]:
            if line is not None and sum(map(len, page)) + len(line) < hubwire.PAGE_BYTES:
                page.append(line)
                continue
            if page:
                client.signed("POST", "/v1/push", b"".join(page))
            page = [line] if line is not None else []
    pushed = time.perf_counter() - started
    size = sum(map(len, lines))
    print(
        f"pull: the office pushed {args.residents} residents in {len(lines)} change sets "
        f"({size / 1e6:.1f} MB) in {pushed:.1f} s"
    )
    took = []
    for _ in range(args.pulls):
        started = time.perf_counter()
        got, pages, after = 0, 0, 0
        with HubClient(url, pem, node=gate.id, key=gate.key) as client:
            while True:
                answer = client.signed("GET", "/v1/pull", params={"after": after})
                got += len(answer["lines"])
                pages += 1
                after = answer["next"]
                if not answer["more"]:
                    break
        took.append(time.perf_counter() - started)
        if got != len(lines):
            raise SystemExit(f"pull: got {got} change sets of {len(lines)}")
    print(
        f"pull: a gate pulled {got} change sets in {pages} pages: "
        + ", ".join(f"{t:.2f} s" for t in took)
    )
    return [
        Figure(f"pull {args.residents} residents from 0 (median)", statistics.median(took), "s"),
        Figure("pull pages", pages, ""),
    ]


# --- 3. size ---------------------------------------------------------------------------------


def size_figures(conn: psycopg.Connection) -> list[Figure]:
    conn.execute("VACUUM ANALYZE passages")
    conn.execute("VACUUM ANALYZE change_sets")
    count = int(conn.execute("SELECT count(*) FROM passages").fetchone()[0])
    parts = int(
        conn.execute(
            "SELECT coalesce(sum(pg_total_relation_size(relid)), 0) "
            "FROM pg_partition_tree('passages')"
        ).fetchone()[0]
    )
    sets = int(conn.execute("SELECT pg_total_relation_size('change_sets')").fetchone()[0])
    carried = int(conn.execute("SELECT coalesce(sum(rows), 0) FROM change_sets").fetchone()[0])
    if not count:
        return []
    print(
        f"size: {count} passages in {parts / 1e6:.1f} MB of day partitions (with indexes) "
        f"and {sets / 1e6:.1f} MB of change sets carrying {carried} rows"
    )
    per = 1e6 / count
    return [
        Figure("size: passages per million", parts * per / 1e6, "MB"),
        Figure("size: change sets per million", sets * 1e6 / carried / 1e6, "MB"),
        Figure(
            "size: total per million passages", (parts * per + sets * 1e6 / carried) / 1e6, "MB"
        ),
    ]


# --- 4. report -------------------------------------------------------------------------------


def report_figures(
    conn: psycopg.Connection, seeded: Seeded, args: argparse.Namespace
) -> list[Figure]:
    """``args.passages`` passages over the report's day, spread over the compounds and
    their gates, then the sub-district's daily report."""
    day = (datetime.now(report.REPORT_TZ) - timedelta(days=2)).date()
    start, end = report.day_bounds(day)
    store.Partitions().ensure(
        conn, {(start + timedelta(hours=h)).astimezone(UTC).date() for h in range(25)}
    )
    compounds = seeded.compounds
    gates_of: dict[str, list[str]] = {c: [] for c in compounds}
    for g in seeded.gates:
        gates_of[g.compound].append(g.id)
    checkpoints = [
        (gates_of[c] or [uuid7()])[k % max(1, len(gates_of[c]))]
        for c in compounds
        for k in range(2)
    ]
    n = args.passages
    seconds = (end - start).total_seconds()
    chunk = 1_000_000
    began = time.perf_counter()
    for low in range(0, n, chunk):
        high = min(n, low + chunk)
        conn.execute(
            """
            INSERT INTO passages (id, at, compound, checkpoint, direction, subject_kind, level,
                                  reason, temperature, visitor_id, household_id, arrived_at)
            SELECT ('00000000-0000-7000-8000-' || lpad(to_hex(i), 12, '0'))::uuid,
                   %(start)s + make_interval(secs => i * %(step)s),
                   (%(compounds)s::uuid[])[1 + c],
                   (%(checkpoints)s::uuid[])[1 + 2 * c + (i / %(nc)s) %% 2],
                   CASE WHEN (i / 7) %% 2 = 0 OR (i / 7) %% 20 = 1 THEN 'in' ELSE 'out' END,
                   CASE WHEN i %% 7 = 0 THEN 'visitor' ELSE 'resident' END,
                   CASE WHEN i %% 50 = 0 THEN 'deny' WHEN i %% 10 = 0 THEN 'check'
                        ELSE 'pass' END,
                   '',
                   CASE WHEN i %% 97 = 0 THEN 38.1 WHEN i %% 3 = 0 THEN NULL ELSE 36.5 END,
                   CASE WHEN i %% 7 = 0
                        THEN ('00000000-0000-4000-8000-' || lpad(to_hex(i / 14), 12, '0'))::uuid
                   END,
                   CASE WHEN i %% 7 <> 0 THEN 'h' || (i %% 200000) END,
                   %(start)s + make_interval(secs => i * %(step)s)
            FROM generate_series(%(low)s::bigint, %(high)s::bigint - 1) AS i,
                 -- a visitor's two passages (in, then out; one in ten stays) at one compound
                 LATERAL (SELECT CASE WHEN i %% 7 = 0 THEN (i / 14) %% %(nc)s
                                      ELSE i %% %(nc)s END AS c) AS which
            """,
            {
                "start": start,
                "step": seconds / n,
                "compounds": [uuid.UUID(c) for c in compounds],
                "checkpoints": [uuid.UUID(c) for c in checkpoints],
                "nc": len(compounds),
                "low": low,
                "high": high,
            },
        )
        print(f"report: {high} passages made ({time.perf_counter() - began:.0f} s)", flush=True)
    conn.execute(
        "INSERT INTO holds (id, compound, household_id, until, created_at) "
        "SELECT 'hold-' || i, (%s::uuid[])[1 + i %% %s], 'h' || i, %s, %s "
        "FROM generate_series(0, %s) AS i",
        [
            [uuid.UUID(c) for c in compounds],
            len(compounds),
            end + timedelta(days=30),
            start - timedelta(days=1),
            10 * len(compounds),
        ],
    )
    conn.execute("VACUUM ANALYZE passages")  # what autovacuum does after a day's inserts
    made = time.perf_counter() - began
    took = []
    for _ in range(args.reports):
        started = time.perf_counter()
        with conn.transaction():
            found = report.daily(conn, seeded.subdistrict, day)
        took.append(time.perf_counter() - started)
    totals = found.totals()
    print(
        f"report: {n} passages made in {made:.0f} s; daily report of {len(found.compounds)} "
        f"compounds for {day}: {', '.join(f'{t:.2f} s' for t in took)}; totals {totals}"
    )
    if totals["passages"] != n:
        raise SystemExit(f"report: {totals['passages']} passages counted of {n}")
    return [
        Figure(f"report: {len(compounds)} compounds, {n} passages (first)", took[0], "s", 5),
        Figure(
            f"report: {len(compounds)} compounds, {n} passages (median)",
            statistics.median(took),
            "s",
            5,
        ),
    ]


# --- the run ---------------------------------------------------------------------------------


def table(figures: list[Figure]) -> None:
    print(f"\n{os.cpu_count()} cores")
    print(f"{'figure':52} {'value':>10}      {'target':>12}")
    for f in figures:
        if f.target is None:
            target = ""
        else:
            target = f"{'<' if f.lower_is_better else '>='} {f.target:g} {f.unit}"
        print(f"{f.name:52} {f.value:>10.2f} {f.unit:4}  {target:>12}")


def start_hub(dsn: str, workers: int, folder: Path) -> HubProcess:
    hub = HubProcess(
        dsn, free_port(), folder / f"hub-{workers}.log", extra=("--workers", str(workers))
    )
    return hub.start()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gates", default="200,1000", help="numbers of gates, comma separated")
    parser.add_argument("--workers", default="1,2", help="hub processes, comma separated")
    parser.add_argument("--rows", type=int, default=100, help="passages per upload")
    parser.add_argument("--offered", type=float, default=5000, help="passages/s of the paced load")
    parser.add_argument("--flat-rounds", type=int, default=3, help="uploads per gate, flat out")
    parser.add_argument("--paced-rounds", type=int, default=3, help="uploads per gate, paced")
    parser.add_argument("--residents", type=int, default=100_000)
    parser.add_argument("--pulls", type=int, default=3)
    parser.add_argument("--compounds", type=int, default=500)
    parser.add_argument("--passages", type=int, default=10_000_000, help="in the report's day")
    parser.add_argument("--reports", type=int, default=3)
    parser.add_argument("--pg", default=os.environ.get("GATEPASS_TEST_PG", DEFAULT_PG))
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument("--skip", default="", help="parts to skip: ingest,pull,report")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (for a test)")
    args = parser.parse_args()
    if args.quick:
        args.gates, args.workers, args.offered = "20", "1", 1000.0
        args.flat_rounds, args.paced_rounds = 2, 2
        args.residents, args.pulls = 2_000, 1
        args.compounds, args.passages, args.reports = 5, 20_000, 1
    gate_counts = [int(n) for n in args.gates.split(",") if n]
    worker_counts = [int(n) for n in args.workers.split(",") if n]
    skip = set(args.skip.split(","))
    name = f"gp_bench_{uuid.uuid4().hex[:8]}"
    dsn = with_db(args.pg, name)
    folder = Path(tempfile.mkdtemp(prefix="bench-hub-"))
    with psycopg.connect(args.pg, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    print(f"database {name}; {os.cpu_count()} cores; hub logs in {folder}")
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            schema.migrate(conn)
            with conn.transaction():
                identity.create(conn, ["localhost", "127.0.0.1"])
                pem = identity.load(conn).tls_cert
                seeded = seed(conn, args.compounds, max(gate_counts))
        figures: list[Figure] = []
        if "ingest" not in skip:
            for workers in worker_counts:
                hub = start_hub(dsn, workers, folder)
                try:
                    for n in gate_counts:
                        label = f"ingest {workers} hub{'s' if workers > 1 else ''},"
                        assert hub.proc is not None
                        pid = hub.proc.pid
                        figures += ingest(
                            hub.url,
                            pem,
                            seeded.gates[:n],
                            args,
                            label,
                            lambda: cpu_by_group(name, pid),  # noqa: B023
                        )
                finally:
                    hub.stop()
            with psycopg.connect(dsn, autocommit=True) as conn:
                figures += size_figures(conn)
        if "pull" not in skip:
            hub = start_hub(dsn, 1, folder)
            try:
                figures += pull_figures(hub.url, pem, seeded, args)
            finally:
                hub.stop()
        if "report" not in skip:
            with psycopg.connect(dsn, autocommit=True) as conn:
                figures += report_figures(conn, seeded, args)
        table(figures)
    finally:
        if args.keep:
            print(f"kept the database {name}")
        else:
            with psycopg.connect(args.pg, autocommit=True) as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
