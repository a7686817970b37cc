"""The visit log's hash chain in the database (docs/chain.md).

Every row of ``visits`` carries ``seq`` (1, 2, 3, ... in recorded order) and ``chain``
(``kiosk.core.chain.link`` of the previous row's chain and this row), computed by
:func:`append` inside the transaction that inserts the row, under the write lock, so
two writers (the gate, a correction from the office) never take the same place.

The retention purge removes old rows. The chain stays checkable: the place and chain
value of the last row removed from the front of the log are kept in meta
(:data:`BASE`), and a row removed while an older one was kept (a corrected passage
kept for its newer correction, a clock set back) leaves its place and chain value in
``visit_chain_gaps`` (:func:`record_purged`, :func:`compact`, both in the purge's
transactions).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from kiosk.core.chain import FIELDS, GENESIS, link, link_values, normalize

BASE = "chain_base"
"""Meta: ``"<seq>:<chain hex>"`` of the last row the purge removed from the front of the
log (the "previous chain" of the oldest row kept). Absent: nothing was purged yet."""

_COLUMNS = ", ".join(FIELDS)
_INSERT = (
    f"INSERT INTO visits ({_COLUMNS}, seq, chain) VALUES "
    f"({', '.join(':' + f for f in FIELDS)}, :seq, :chain)"
)


@dataclass(frozen=True)
class Link:
    """One place of the chain: its ``seq``, the visit there (None: the base or an empty
    log) and its chain value."""

    seq: int
    visit: str | None
    chain: bytes


def base(db: Database) -> Link:
    """Where the log's kept rows start: the last row purged from the front, or the
    genesis (seq 0)."""
    row = db.execute("SELECT value FROM meta WHERE key = ?", [BASE]).fetchone()
    if row is None:
        return Link(0, None, GENESIS)
    seq, _, chain = str(row[0]).partition(":")
    return Link(int(seq), None, bytes.fromhex(chain))


def last_row(db: Database) -> Link | None:
    """The newest chained row in the database (None: none)."""
    row = db.execute(
        "SELECT seq, id, chain FROM visits WHERE seq IS NOT NULL ORDER BY rowid DESC LIMIT 1"
    ).fetchone()
    return Link(int(row[0]), str(row[1]), bytes(row[2])) if row else None


def head(db: Database) -> Link:
    """The chain's newest place: the newest row, or a newer purged one (in the gaps),
    or the base."""
    best = base(db)
    last = last_row(db)
    if last is not None and last.seq > best.seq:
        best = last
    gap = db.execute("SELECT seq, chain FROM visit_chain_gaps ORDER BY seq DESC LIMIT 1").fetchone()
    if gap is not None and int(gap[0]) > best.seq:
        best = Link(int(gap[0]), None, bytes(gap[1]))
    return best


def append(db: Database, row: dict[str, Any]) -> Link:
    """Insert the visit ``row`` at the chain's head. Call inside ``write(db)``: the head
    is read and the row written under the one write lock."""
    previous = head(db)
    values = normalize(row)
    seq = previous.seq + 1
    chain = link(previous.chain, seq, values)
    db.execute(_INSERT, {**values, "seq": seq, "chain": chain})
    return Link(seq, values["id"], chain)


# --- the purge ---------------------------------------------------------------------------


def record_purged(db: Database, rowids: list[int]) -> None:
    """Keep the place and chain value of rows about to be purged (in the purge's
    transaction, before the delete); :func:`compact` drops those no longer needed."""
    db.conn.executemany(
        "INSERT OR REPLACE INTO visit_chain_gaps (seq, chain) "
        "SELECT seq, chain FROM visits WHERE rowid = ? AND seq IS NOT NULL",
        [(r,) for r in rowids],
    )


def compact(db: Database) -> None:
    """Move the base past the purged rows at the front of the log and forget their gap
    entries (in the purge's transaction, after the delete)."""
    old = base(db)
    first = db.execute(
        "SELECT seq FROM visits WHERE seq IS NOT NULL ORDER BY rowid LIMIT 1"
    ).fetchone()
    if first is None:
        top = db.execute("SELECT max(seq) FROM visit_chain_gaps").fetchone()[0]
        new_seq = int(top) if top is not None else old.seq
    else:
        new_seq = int(first[0]) - 1
    if new_seq <= old.seq:
        return
    gap = db.execute("SELECT chain FROM visit_chain_gaps WHERE seq = ?", [new_seq]).fetchone()
    if gap is None:  # not removed by a purge: left for a check to report
        return
    db.execute(
        "INSERT INTO meta(key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [BASE, f"{new_seq}:{bytes(gap[0]).hex()}"],
    )
    db.execute("DELETE FROM visit_chain_gaps WHERE seq <= ?", [new_seq])


# --- checking ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Break:
    """A place where the chain does not hold.

    ``kind``: ``edited`` (a row's chain is not what its fields and the row before give:
    changed after it was written, or put in out of order), ``missing`` (rows gone from
    the middle of the log, not by the purge), ``unchained`` (a row written without a
    chain, not by Gatepass). ``seq`` and ``at`` are the first such row's (for
    ``missing``: the place of the first missing row, and the time of the row after the
    gap); ``count`` how many rows."""

    kind: str
    seq: int | None
    at: str | None
    count: int


@dataclass(frozen=True)
class Walk:
    breaks: tuple[Break, ...]
    rows: int  # rows checked
    last: Link  # the newest place checked (``start`` when there were no rows)
    last_at: str | None  # its time


def row_at(db: Database, visit_id: str) -> tuple[int, Link] | None:
    """(rowid, its place) of the visit ``visit_id``, if it is there and chained."""
    row = db.execute(
        "SELECT rowid, seq, chain FROM visits WHERE id = ? AND seq IS NOT NULL", [visit_id]
    ).fetchone()
    return (int(row[0]), Link(int(row[1]), visit_id, bytes(row[2]))) if row else None


def gap_chain(db: Database, seq: int) -> bytes | None:
    """The chain value a purge kept for the place ``seq`` (base or gap), if any."""
    start = base(db)
    if seq == start.seq:
        return start.chain
    row = db.execute("SELECT chain FROM visit_chain_gaps WHERE seq = ?", [seq]).fetchone()
    return bytes(row[0]) if row else None


def _rows(db: Database, after_rowid: int) -> Iterator[tuple[Any, ...]]:
    """The rows of this checkpoint's chain after ``after_rowid``: every row but another
    gate's passages that arrived by exchange (``arrived_at``; their author's signature
    on the change set kept in ``change_sets`` vouches for them, docs/exchange.md). A
    row naming another checkpoint that did not arrive so is checked, and told."""
    cursor = db.conn.execute(
        f"SELECT seq, chain, {_COLUMNS} FROM visits WHERE rowid > ? AND NOT ("
        "checkpoint_id != (SELECT value FROM meta WHERE key = 'checkpoint_id') AND "
        "arrived_at IS NOT NULL) ORDER BY rowid",
        [after_rowid],
    )
    while batch := cursor.fetchmany(2000):
        yield from batch


def walk(db: Database, start: Link, after_rowid: int = 0) -> Walk:
    """Check every row after ``after_rowid`` (rowid order) against the one before it,
    from ``start`` (the base, or an anchored row's place)."""
    breaks: list[Break] = []

    def note(kind: str, seq: int | None, at: str | None, count: int = 1) -> None:
        last = breaks[-1] if breaks else None
        if last is not None and last.kind == kind and kind != "missing":
            breaks[-1] = Break(kind, last.seq, last.at, last.count + count)
        else:
            breaks.append(Break(kind, seq, at, count))

    previous: bytes | None = start.chain
    prev_seq = start.seq
    last = start
    last_at: str | None = None
    count = 0
    for seq, chain, *values in _rows(db, after_rowid):
        count += 1
        visit_id, at = values[0], values[1]
        if seq is None or chain is None:
            note("unchained", None, at)
            continue
        if seq != prev_seq + 1:
            if seq <= prev_seq:
                note("edited", seq, at)
                previous, prev_seq = bytes(chain), seq
                last, last_at = Link(seq, visit_id, bytes(chain)), at
                continue
            purged = db.execute(
                "SELECT count(*) FROM visit_chain_gaps WHERE seq > ? AND seq < ?",
                [prev_seq, seq],
            ).fetchone()[0]
            missing = seq - prev_seq - 1 - int(purged)
            if missing > 0:
                note("missing", prev_seq + 1, at, missing)
            previous = gap_chain(db, seq - 1)
        if previous is not None and not _links(previous, seq, values, bytes(chain)):
            note("edited", seq, at)
        previous, prev_seq = bytes(chain), seq
        last, last_at = Link(seq, visit_id, bytes(chain)), at
    return Walk(tuple(breaks), count, last, last_at)


def _links(previous: bytes, seq: int, values: list[Any], chain: bytes) -> bool:
    try:
        return link_values(previous, seq, values) == chain
    except (TypeError, ValueError):  # a value Gatepass never writes (a blob, an integer)
        return False


__all__ = [
    "BASE",
    "Break",
    "Link",
    "Walk",
    "append",
    "base",
    "compact",
    "gap_chain",
    "head",
    "last_row",
    "record_purged",
    "row_at",
    "walk",
]
