"""A node's outbox: every change it makes, numbered per node, in the transaction that
makes it (docs/exchange.md, "Change sets").

SQLite triggers fill it, so no writer in the store can forget to: :func:`install`
makes them once the checkpoint belongs to a compound (the office at its first
enrolment, a gate at ``kiosk init --join``), and again at each exchange (so a column
a later migration adds is carried). A lone checkpoint has no triggers and pays nothing.

Which tables a node authors (one author per kind of row):

* the office: households, residents, passes, holds, nodes (enrolments, removals); and,
  as any checkpoint, the visitors it registers and the passages it records;
* a gate: its visitors, its visitor codes (``visitor_pass``), its passages (and
  corrections, which are passages).

Rows written by the applier (another node's changes arriving) are not this node's
changes: the applier marks its transaction with a ``meta`` row that every trigger's
``WHEN`` looks for, and that row never outlives the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlite_utils import Database

APPLYING = "exchange.applying"
"""Meta key present only inside an applier's transaction (triggers stay quiet)."""

NOW_SQL = (
    "strftime('%Y-%m-%dT%H:%M:%S', 'now') || '.' || substr(strftime('%f', 'now'), 4) || '000+00:00'"
)
"""SQL: now, UTC, in the database's text form (``kiosk.core.clock.to_db``)."""


@dataclass(frozen=True)
class Source:
    """One table whose rows a node authors, and how its rows look in a change set."""

    table: str
    kind: str  # SQL expression over NEW giving the kind
    key: str  # the column that identifies a row
    at: str  # SQL expression over NEW: when it happened
    events: tuple[str, ...]  # "INSERT", "UPDATE" or "UPDATE OF col, ..."
    skip: tuple[str, ...] = ()  # columns not carried
    when: str = ""  # SQL over NEW: only such rows (empty: every row)


_VISITS = Source(
    "visits", "'visit'", "id", "NEW.at", ("INSERT",), skip=("seq", "chain", "arrived_at")
)
_VISITORS = Source("visitors", "'visitor'", "id", "NEW.created_at", ("INSERT", "UPDATE"))

OFFICE_SOURCES = (
    Source("households", "'household'", "id", NOW_SQL, ("INSERT", "UPDATE")),
    Source("residents", "'resident'", "id", "NEW.updated_at", ("INSERT", "UPDATE")),
    Source("passes", "'pass'", "serial", NOW_SQL, ("INSERT", "UPDATE")),
    Source("holds", "'hold'", "id", NOW_SQL, ("INSERT", "UPDATE")),
    Source(
        "nodes",
        "'node'",
        "id",
        NOW_SQL,
        ("INSERT", "UPDATE OF name, sign_key, box_key, removed_at"),
        skip=("join_secret", "joined_at", "last_import_at", "last_export_at", "reported"),
    ),
    _VISITS,
    _VISITORS,
)
GATE_SOURCES = (
    _VISITS,
    _VISITORS,
    # a gate's own visitor codes only: a resident's pass is the office's, even when a
    # gate's register copy is changed by hand
    Source(
        "passes",
        "'visitor_pass'",
        "serial",
        NOW_SQL,
        ("INSERT", "UPDATE"),
        when="NEW.kind = 'visitor'",
    ),
)


def sources(role: str) -> tuple[Source, ...]:
    return OFFICE_SOURCES if role == "office" else GATE_SOURCES


def columns(db: Database, table: str) -> list[str]:
    return [row[1] for row in db.execute(f"PRAGMA table_info({table})").fetchall()]


def _trigger_name(source: Source, event: str) -> str:
    return f"outbox_{source.table}_{event.split()[0].lower()}"


def _trigger_sql(db: Database, source: Source, event: str) -> str:
    pairs = _pairs(db, source, "NEW.")
    return (
        f"CREATE TRIGGER {_trigger_name(source, event)} AFTER {event} ON {source.table} "
        f"WHEN NOT EXISTS (SELECT 1 FROM meta WHERE key = '{APPLYING}') "
        f"{'AND ' + source.when + ' ' if source.when else ''}"
        f"BEGIN INSERT INTO outbox (kind, id, at, row) VALUES "
        f"({source.kind}, NEW.{source.key}, {source.at}, json_object({pairs})); END"
    )


def _pairs(db: Database, source: Source, prefix: str) -> str:
    return ", ".join(
        f"'{name}', {prefix}{name}" for name in columns(db, source.table) if name not in source.skip
    )


BACKFILL_ORDER = ("nodes", "households", "residents", "visitors", "passes", "holds", "visits")
"""Tables in an order where every row comes after the rows it names."""


def backfill(db: Database, role: str) -> int:
    """Put every row this node authors that is already in the database into the
    outbox (a checkpoint founding a compound brings its register). Rows added."""
    before = last_seq(db)
    by_table = {s.table: s for s in sources(role)}
    for table in BACKFILL_ORDER:
        source = by_table.get(table)
        if source is None:
            continue
        kind = source.kind.replace("NEW.", "")
        at = source.at.replace("NEW.", "")
        order = "rowid" if table != "nodes" else "enrolled_at"
        where = f"WHERE {source.when.replace('NEW.', '')} " if source.when else ""
        db.execute(
            f"INSERT INTO outbox (kind, id, at, row) SELECT {kind}, {source.key}, {at}, "
            f"json_object({_pairs(db, source, '')}) FROM {table} {where}ORDER BY {order}"
        )
    return last_seq(db) - before


def installed(db: Database) -> list[str]:
    return [
        row[0]
        for row in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'outbox\\_%' "
            "ESCAPE '\\'"
        ).fetchall()
    ]


def install(db: Database, role: str) -> bool:
    """(Re)make the outbox triggers for ``role`` ("office" or "gate") unless they stand
    as they should (a schema change makes every other connection prepare its
    statements again). Call inside a write transaction. Whether they were made."""
    wanted = {
        _trigger_name(source, event): _trigger_sql(db, source, event)
        for source in sources(role)
        for event in source.events
    }
    standing = dict(
        db.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
            "AND name LIKE 'outbox\\_%' ESCAPE '\\'"
        ).fetchall()
    )
    if standing == wanted:
        return False
    for name in standing:
        db.execute(f"DROP TRIGGER {name}")
    for sql in wanted.values():
        db.execute(sql)
    return True


def reinstall(db: Database) -> bool:
    """Make the standing triggers again for the role they were made for (a migration
    added columns: they travel from the next change on, not only after the next
    exchange). Nothing on a lone checkpoint. Whether they were made."""
    standing = installed(db)
    if not standing:
        return False
    role = "office" if _trigger_name(OFFICE_SOURCES[0], "INSERT") in standing else "gate"
    return install(db, role)


def last_seq(db: Database) -> int:
    return int(db.execute("SELECT coalesce(max(seq), 0) FROM outbox").fetchone()[0])


__all__ = [
    "APPLYING",
    "GATE_SOURCES",
    "OFFICE_SOURCES",
    "Source",
    "backfill",
    "columns",
    "install",
    "installed",
    "last_seq",
    "reinstall",
    "sources",
]
