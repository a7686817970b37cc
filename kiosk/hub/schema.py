"""The hub's PostgreSQL schema, in versioned migrations (docs/hub.md, "Schema").

Each migration runs once, in its own transaction, under an advisory lock, so two
``kiosk hub init`` (or two hub processes starting) never run one twice; the applied
ones are listed in ``hub_migrations``. A database migrated by a newer Gatepass (a
migration this one does not know) is refused, never half-understood.
"""

from __future__ import annotations

from collections.abc import Callable

import psycopg

from kiosk.core.errors import UserError
from kiosk.core.i18n import tr

_LOCK = 0x6761746570617373  # "gatepass": the advisory lock the migrations take

MIGRATIONS: list[tuple[str, str]] = []


def _migration(name: str) -> Callable[[str], str]:
    def register(sql: str) -> str:
        MIGRATIONS.append((name, sql))
        return sql

    return register


_migration("0001_hub")(
    """
    -- The hub's own identity: its signing key and its TLS certificate, shared by
    -- every hub process on this database.
    CREATE TABLE hub_identity (
        id int PRIMARY KEY CHECK (id = 1),
        sign_key text NOT NULL,
        sign_public text NOT NULL,
        tls_cert text NOT NULL,
        tls_key text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
    );

    -- Tenancy: district > sub-district (街道) > community, then compounds.
    CREATE TABLE areas (
        id uuid PRIMARY KEY,
        parent uuid REFERENCES areas(id),
        level text NOT NULL CHECK (level IN ('district', 'subdistrict', 'community')),
        name text NOT NULL,
        UNIQUE NULLS NOT DISTINCT (parent, name)
    );

    CREATE TABLE compounds (
        id uuid PRIMARY KEY,
        community uuid NOT NULL REFERENCES areas(id),
        name text NOT NULL,
        office uuid,
        -- the compound's change feed: the position of the last change set made
        -- visible; taken under this row's lock, so positions are given in commit
        -- order, without gaps (docs/hub.md, "The change feed")
        feed bigint NOT NULL DEFAULT 0,
        rules jsonb NOT NULL DEFAULT '{}',
        as_of timestamptz,
        created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX compounds_community ON compounds(community);

    CREATE TABLE nodes (
        id uuid PRIMARY KEY,
        compound uuid NOT NULL REFERENCES compounds(id),
        role text NOT NULL CHECK (role IN ('office', 'gate')),
        name text NOT NULL DEFAULT '',
        sign_key text,
        join_claim jsonb,
        -- the office's node row names this node's key: its change sets are in the feed
        published boolean NOT NULL DEFAULT false,
        joined_at timestamptz,
        removed_at timestamptz,
        last_seen timestamptz,
        last_push timestamptz,
        last_pull timestamptz,
        cursor bigint NOT NULL DEFAULT 0
    );
    CREATE INDEX nodes_compound ON nodes(compound);

    -- One-time enrolment codes (kept as hashes): an office's names the community its
    -- compound belongs to, a gate's names the gate.
    CREATE TABLE codes (
        hash bytea PRIMARY KEY,
        mac_key bytea NOT NULL,
        role text NOT NULL CHECK (role IN ('office', 'gate')),
        community uuid REFERENCES areas(id),
        compound_name text,
        node uuid,
        compound uuid REFERENCES compounds(id),
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        used_at timestamptz
    );

    -- The street office's readers: an account sees the compounds under its area.
    CREATE TABLE accounts (
        id uuid PRIMARY KEY,
        name text NOT NULL,
        area uuid NOT NULL REFERENCES areas(id),
        token_hash bytea NOT NULL UNIQUE,
        created_at timestamptz NOT NULL DEFAULT now(),
        revoked_at timestamptz
    );

    -- Every change set as its author signed it (the very bytes of a bundle's line).
    CREATE TABLE change_sets (
        author uuid NOT NULL,
        first bigint NOT NULL,
        last bigint NOT NULL,
        compound uuid NOT NULL REFERENCES compounds(id),
        rows int NOT NULL,
        line bytea NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now(),
        via uuid NOT NULL,
        feed bigint,
        PRIMARY KEY (author, first)
    );
    CREATE UNIQUE INDEX change_sets_feed ON change_sets(compound, feed) INCLUDE (author)
        WHERE feed IS NOT NULL;
    CREATE INDEX change_sets_unpublished ON change_sets(author) WHERE feed IS NULL;
    -- an author's change sets past its vector (the primary key alone made each push
    -- read every change set its author ever sent)
    CREATE INDEX change_sets_author_last ON change_sets(author, last);

    -- Per author, the highest sequence number held with none missing below it.
    CREATE TABLE vector (
        author uuid PRIMARY KEY,
        compound uuid NOT NULL,
        seq bigint NOT NULL
    );

    -- Passages, one partition per day (retention drops a partition).
    CREATE TABLE passages (
        id uuid NOT NULL,
        at timestamptz NOT NULL,
        compound uuid NOT NULL,
        checkpoint uuid NOT NULL,
        direction text NOT NULL,
        subject_kind text NOT NULL,
        level text NOT NULL,
        reason text NOT NULL DEFAULT '',
        temperature real,
        visitor_id uuid,
        resident_id text,
        household_id text,
        corrects uuid,
        arrived_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (id, at)
    ) PARTITION BY RANGE (at);
    CREATE INDEX passages_compound_at ON passages(compound, at);
    -- the visitors' passages alone, in the order the daily report reads them (distinct
    -- visitors, each one's last passage) and with what it checks of them: an
    -- index-only scan of a day's visitors instead of a sort of its passages
    -- (bench/bench_hub.py)
    CREATE INDEX passages_visitors ON passages(compound, visitor_id, at DESC)
        INCLUDE (direction, level, reason, id) WHERE visitor_id IS NOT NULL;

    -- The state the reports read: holds and visitors, as their author last wrote them.
    CREATE TABLE holds (
        id text PRIMARY KEY,
        compound uuid NOT NULL,
        household_id text,
        resident_id text,
        until timestamptz NOT NULL,
        lifted_at timestamptz,
        created_at timestamptz
    );
    CREATE INDEX holds_compound ON holds(compound, until);

    CREATE TABLE visitors (
        id uuid PRIMARY KEY,
        compound uuid NOT NULL,
        checkpoint uuid NOT NULL,
        created_at timestamptz NOT NULL
    );
    CREATE INDEX visitors_compound ON visitors(compound, created_at);

    -- Nonces of signed requests seen in the last minutes (replay protection).
    CREATE TABLE request_nonces (
        node uuid NOT NULL,
        nonce text NOT NULL,
        seen_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (node, nonce)
    );
    CREATE INDEX request_nonces_seen ON request_nonces(seen_at);
    """
)

_migration("0002_passages_corrects")(
    """
    -- The corrections among the passages (a row whose corrects names an older one):
    -- few, and each report reads them to count passages as they stand (kiosk.hub.report).
    CREATE INDEX passages_corrects ON passages(compound, at) INCLUDE (corrects)
        WHERE corrects IS NOT NULL;
    """
)


def applied(conn: psycopg.Connection) -> list[str]:
    exists = conn.execute("SELECT to_regclass('hub_migrations') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return []
    return [r[0] for r in conn.execute("SELECT name FROM hub_migrations ORDER BY name")]


def check(conn: psycopg.Connection) -> None:
    """Refuse a database this hub cannot serve: not initialised, or migrated by a
    newer Gatepass."""
    done = applied(conn)
    known = [name for name, _ in MIGRATIONS]
    unknown = sorted(set(done) - set(known))
    if unknown:
        raise UserError(
            tr(
                "The hub's database was set up by a newer Gatepass ({names}): "
                "update Gatepass on this server first.",
                names=", ".join(unknown),
            )
        )
    if done != known:
        raise UserError(
            tr("The hub's database is not set up (or not up to date): run kiosk hub init.")
        )


def migrate(conn: psycopg.Connection) -> list[str]:
    """Apply what is missing (each migration in its own transaction); returns the names
    applied now."""
    ran: list[str] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK])
        conn.execute(
            "CREATE TABLE IF NOT EXISTS hub_migrations "
            "(name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = set(applied(conn))
        unknown = done - {name for name, _ in MIGRATIONS}
        if unknown:
            check(conn)
        for name, sql in MIGRATIONS:
            if name in done:
                continue
            with conn.transaction():
                conn.execute(sql)
                conn.execute("INSERT INTO hub_migrations (name) VALUES (%s)", [name])
            ran.append(name)
    return ran
