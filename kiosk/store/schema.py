"""The checkpoint's schema, as named migrations (sqlite-utils ``Migrations``).

Each migration runs in a transaction with the record of it having been applied. Never
edit a migration that has shipped: add a new one. A database that holds a migration
this code does not know was brought up by a newer Gatepass: :func:`schema_status`
says so, and ``kiosk.store.db.connect`` refuses to open it.

Conventions
* Ids that cross machines are UUIDv7 text; times are UTC ISO-8601 text with offset
  (see ``kiosk.core.clock.to_db``), so text order is time order.
* ``visits`` is append-only: a trigger refuses UPDATE; a correction is a new row whose
  ``corrects`` names the old one. Deletion is left to retention (old rows only).
* Personal data (``id_number``, ``phone``) lives only in ``residents`` and ``visitors``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from kiosk.store.driver import sqlite3

migrations = Migrations("gatepass")

MIGRATIONS: list[str] = []
"""The name of every migration this code has, in the order they run."""

_Migration = Callable[[Database], None]


def _migration(name: str) -> Callable[[_Migration], _Migration]:
    """Register a migration (with sqlite-utils) and note its name in :data:`MIGRATIONS`."""
    MIGRATIONS.append(name)
    return migrations(name=name)


@dataclass(frozen=True)
class AppliedMigration:
    name: str
    applied_at: str  # UTC, as sqlite-utils wrote it ("2026-03-01 08:00:00.123456+00:00")
    known: bool  # False: this code has no such migration (a newer Gatepass made it)


@dataclass(frozen=True)
class SchemaStatus:
    """Where a database's schema stands against this code's migrations."""

    applied: tuple[AppliedMigration, ...]  # in the order they were applied
    pending: tuple[str, ...]  # this code's migrations not yet applied (the next open does)

    @property
    def unknown(self) -> tuple[str, ...]:
        """Applied migrations this code does not know: a newer Gatepass's."""
        return tuple(m.name for m in self.applied if not m.known)


def schema_status(db: Database) -> SchemaStatus:
    """The applied, pending and unknown migrations of ``db`` (read only)."""
    applied = tuple(
        AppliedMigration(m.name, m.applied_at, m.name in MIGRATIONS) for m in migrations.applied(db)
    )
    done = {m.name for m in applied}
    return SchemaStatus(applied, tuple(name for name in MIGRATIONS if name not in done))


def _run(db: Database, script: str) -> None:
    """Run ``script`` statement by statement inside the migration's transaction.

    (``executescript`` would COMMIT first and break the migration's atomicity.)
    """
    statement = ""
    for line in script.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            db.execute(statement)
            statement = ""
    if statement.strip():
        raise ValueError(f"incomplete SQL statement in migration: {statement!r}")


@_migration("0001_initial")
def _initial(db: Database) -> None:
    _run(
        db,
        """
        CREATE TABLE meta (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );

        CREATE TABLE households (
            id TEXT PRIMARY KEY,
            building TEXT NOT NULL,
            unit TEXT NOT NULL DEFAULT '',
            room TEXT NOT NULL,
            note TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            UNIQUE (building, unit, room)
        );

        CREATE TABLE residents (
            id TEXT PRIMARY KEY,
            household_id TEXT NOT NULL REFERENCES households(id),
            name TEXT NOT NULL CHECK (length(trim(name)) > 0),
            phone TEXT,
            id_number TEXT,
            role TEXT NOT NULL DEFAULT 'resident' CHECK (role IN ('resident', 'staff')),
            active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            deactivated_at TEXT
        );
        CREATE UNIQUE INDEX residents_id_number ON residents(id_number)
            WHERE id_number IS NOT NULL;
        CREATE INDEX residents_household ON residents(household_id);
        CREATE INDEX residents_name ON residents(name);

        CREATE TABLE visitors (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL CHECK (length(trim(name)) > 0),
            phone TEXT,
            id_number TEXT,
            destination_household_id TEXT REFERENCES households(id),
            reason TEXT NOT NULL DEFAULT '',
            from_place TEXT NOT NULL DEFAULT '',
            plate TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            checkpoint_id TEXT NOT NULL
        );
        CREATE INDEX visitors_created ON visitors(created_at);
        CREATE INDEX visitors_id_number ON visitors(id_number);

        -- Public keys this checkpoint trusts; 'kinds' lists the pass kinds a key may sign.
        CREATE TABLE keys (
            key_id TEXT PRIMARY KEY,
            public_key TEXT NOT NULL UNIQUE,
            kinds TEXT NOT NULL,
            label TEXT NOT NULL DEFAULT '',
            added_at TEXT NOT NULL,
            retired_at TEXT
        );

        CREATE TABLE passes (
            serial TEXT PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('resident', 'staff', 'visitor')),
            resident_id TEXT REFERENCES residents(id),
            visitor_id TEXT REFERENCES visitors(id),
            valid_from TEXT NOT NULL,
            valid_until TEXT NOT NULL,
            key_id TEXT NOT NULL,
            token TEXT NOT NULL UNIQUE,
            status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked')),
            issued_at TEXT NOT NULL,
            revoked_reason TEXT,
            revoked_at TEXT,
            CHECK ((resident_id IS NULL) <> (visitor_id IS NULL)),
            CHECK (status = 'active' OR (revoked_reason IS NOT NULL AND revoked_at IS NOT NULL))
        );
        CREATE INDEX passes_resident ON passes(resident_id);
        CREATE INDEX passes_visitor ON passes(visitor_id);

        CREATE TABLE holds (
            id TEXT PRIMARY KEY,
            household_id TEXT REFERENCES households(id),
            resident_id TEXT REFERENCES residents(id),
            until TEXT NOT NULL,
            reason TEXT NOT NULL,
            created_at TEXT NOT NULL,
            created_by TEXT NOT NULL DEFAULT '',
            lifted_at TEXT,
            CHECK ((household_id IS NULL) <> (resident_id IS NULL))
        );
        CREATE INDEX holds_household ON holds(household_id, until);
        CREATE INDEX holds_resident ON holds(resident_id, until);

        CREATE TABLE visits (
            id TEXT PRIMARY KEY,
            at TEXT NOT NULL,
            checkpoint_id TEXT NOT NULL,
            direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
            subject_kind TEXT NOT NULL
                CHECK (subject_kind IN ('resident', 'staff', 'visitor', 'unknown')),
            resident_id TEXT REFERENCES residents(id),
            visitor_id TEXT REFERENCES visitors(id),
            household_id TEXT REFERENCES households(id),
            pass_serial TEXT,
            level TEXT NOT NULL CHECK (level IN ('pass', 'check', 'deny')),
            reason TEXT NOT NULL,
            reasons TEXT NOT NULL DEFAULT '[]',
            temperature REAL,
            guard TEXT NOT NULL DEFAULT '',
            plate TEXT NOT NULL DEFAULT '',
            source TEXT NOT NULL DEFAULT 'camera'
                CHECK (source IN ('camera', 'scanner', 'manual', 'register')),
            note TEXT NOT NULL DEFAULT '',
            corrects TEXT REFERENCES visits(id)
        );
        CREATE INDEX visits_at ON visits(at);
        CREATE INDEX visits_serial_at ON visits(pass_serial, at);
        CREATE INDEX visits_resident_at ON visits(resident_id, at);
        CREATE INDEX visits_visitor_at ON visits(visitor_id, at);
        CREATE INDEX visits_household_at ON visits(household_id, at);
        CREATE TRIGGER visits_append_only BEFORE UPDATE ON visits
        BEGIN
            SELECT RAISE(ABORT, 'visits are append-only: add a correcting row');
        END;

        CREATE TABLE audit (
            id TEXT PRIMARY KEY,
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            detail TEXT NOT NULL DEFAULT '{}'
        );
        CREATE INDEX audit_at ON audit(at);
        """,
    )


@_migration("0002_office_indexes")
def _office_indexes(db: Database) -> None:
    """Indexes for the office's lists: residents in natural household order (the
    Residents tab's default page drops from a sort of every resident to an index walk),
    passes by status and validity (the expired filter, sorting by "valid until"), and
    holds by end date. None touches ``visits``, so the gate's insert costs the same."""
    _run(
        db,
        """
        CREATE INDEX households_natural ON households(
            CAST(building AS INTEGER), building, CAST(unit AS INTEGER), unit,
            CAST(room AS INTEGER), room
        );
        CREATE INDEX passes_status_until ON passes(status, valid_until);
        CREATE INDEX passes_until ON passes(valid_until);
        CREATE INDEX holds_until ON holds(until);
        """,
    )


@_migration("0003_visit_corrections")
def _visit_corrections(db: Database) -> None:
    """Finding the row that corrects a passage (``corrects``): a partial index, so the
    gate's insert of an ordinary passage (``corrects`` NULL) does not touch it."""
    _run(db, "CREATE INDEX visits_corrects ON visits(corrects) WHERE corrects IS NOT NULL;")


CHAIN_FILL_BATCH = 5000


@_migration("0004_visit_chain")
def _visit_chain(db: Database) -> None:
    """The visit log's hash chain (``kiosk.core.chain``, docs/chain.md): each row's place
    ``seq`` and ``chain`` value, filled here for the rows already recorded, in recorded
    order (rowid); and ``visit_chain_gaps``, the place and chain value of a row the
    retention purge removed while an older row was kept (the chain stays checkable
    across it). The append-only trigger is lifted for the fill only, inside this
    migration's transaction."""
    from kiosk.core.chain import FIELDS as CHAIN_FIELDS
    from kiosk.core.chain import GENESIS, link, normalize

    _run(
        db,
        """
        ALTER TABLE visits ADD COLUMN seq INTEGER;
        ALTER TABLE visits ADD COLUMN chain BLOB;
        CREATE TABLE visit_chain_gaps (
            seq INTEGER PRIMARY KEY,
            chain BLOB NOT NULL
        );
        DROP TRIGGER visits_append_only;
        """,
    )
    columns = ", ".join(CHAIN_FIELDS)
    previous, seq, last_rowid = GENESIS, 0, 0
    while True:
        rows = db.execute(
            f"SELECT rowid, {columns} FROM visits WHERE rowid > ? ORDER BY rowid LIMIT ?",
            [last_rowid, CHAIN_FILL_BATCH],
        ).fetchall()
        if not rows:
            break
        updates = []
        for rowid, *values in rows:
            try:
                row = normalize(dict(zip(CHAIN_FIELDS, values, strict=True)))
            except TypeError:  # not a value Gatepass writes: left out, reported by a check
                continue
            seq += 1
            previous = link(previous, seq, row)
            updates.append((seq, previous, rowid))
        db.conn.executemany("UPDATE visits SET seq = ?, chain = ? WHERE rowid = ?", updates)
        last_rowid = rows[-1][0]
    _run(
        db,
        """
        CREATE TRIGGER visits_append_only BEFORE UPDATE ON visits
        BEGIN
            SELECT RAISE(ABORT, 'visits are append-only: add a correcting row');
        END;
        """,
    )


@_migration("0005_exchange")
def _exchange(db: Database) -> None:
    """The exchange between a compound's office and gates (docs/exchange.md): the nodes
    this checkpoint knows (``nodes``), its own changes numbered per node (``outbox``,
    filled by triggers that ``kiosk.store.outbox.install`` makes once the checkpoint
    joins a compound: a lone checkpoint pays nothing on its writes), every change set
    held here as signed (``change_sets``: own ones frozen at their first export,
    others' as received, relayed byte for byte, applied in order), how far each
    author's changes are applied (``exchange_vector``), when each received row
    arrived (``visits.arrived_at`` for another gate's passage, NULL for this
    checkpoint's own; ``arrivals`` for the other kinds), and the keyed hash and
    masked forms that stand in for a resident's or visitor's ID number and phone at a
    gate."""
    _run(
        db,
        """
        CREATE TABLE nodes (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('office', 'gate')),
            sign_key TEXT,
            box_key TEXT,
            enrolled_at TEXT NOT NULL,
            removed_at TEXT,
            joined_at TEXT,
            join_secret TEXT,
            last_import_at TEXT,
            last_export_at TEXT,
            reported TEXT NOT NULL DEFAULT '{}'
        );

        CREATE TABLE outbox (
            seq INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,
            id TEXT NOT NULL,
            at TEXT NOT NULL,
            row TEXT NOT NULL
        );

        CREATE TABLE change_sets (
            author TEXT NOT NULL,
            first INTEGER NOT NULL,
            last INTEGER NOT NULL,
            rows INTEGER NOT NULL,
            applied INTEGER NOT NULL DEFAULT 0 CHECK (applied IN (0, 1)),
            line BLOB NOT NULL,
            arrived_at TEXT NOT NULL,
            PRIMARY KEY (author, first)
        );
        CREATE INDEX change_sets_pending ON change_sets(author, first) WHERE applied = 0;

        CREATE TABLE exchange_vector (
            author TEXT PRIMARY KEY,
            seq INTEGER NOT NULL,
            arrived_at TEXT NOT NULL,
            newest_at TEXT
        );

        CREATE TABLE arrivals (
            kind TEXT NOT NULL,
            id TEXT NOT NULL,
            author TEXT NOT NULL,
            seq INTEGER NOT NULL,
            arrived_at TEXT NOT NULL,
            PRIMARY KEY (kind, id)
        ) WITHOUT ROWID;

        ALTER TABLE residents ADD COLUMN id_hash TEXT;
        ALTER TABLE residents ADD COLUMN id_masked TEXT;
        ALTER TABLE residents ADD COLUMN phone_masked TEXT;
        ALTER TABLE visitors ADD COLUMN id_hash TEXT;
        ALTER TABLE visitors ADD COLUMN id_masked TEXT;
        ALTER TABLE visitors ADD COLUMN phone_masked TEXT;
        CREATE INDEX visitors_id_hash ON visitors(id_hash) WHERE id_hash IS NOT NULL;
        ALTER TABLE visits ADD COLUMN arrived_at TEXT;
        """,
    )


@_migration("0006_invitations")
def _invitations(db: Database) -> None:
    """Invitations sent ahead (docs/invitations.md): a visitor registered before they
    come is a ``visitors`` row with the local day it is for (``invited_for``,
    ``YYYY-MM-DD``) and, once withdrawn, when (``withdrawn_at``); the upcoming ones are
    found by a partial index. A checkpoint in a compound makes its outbox triggers
    again, so the new columns travel from the next change on."""
    from kiosk.store import outbox

    _run(
        db,
        """
        ALTER TABLE visitors ADD COLUMN invited_for TEXT;
        ALTER TABLE visitors ADD COLUMN withdrawn_at TEXT;
        CREATE INDEX visitors_invited ON visitors(invited_for) WHERE invited_for IS NOT NULL;
        """,
    )
    outbox.reinstall(db)
