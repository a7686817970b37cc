"""Opening the checkpoint database, safely, and the one way to write to it.

On open: WAL journal, ``synchronous=FULL`` (a committed visit survives a power cut),
foreign keys, a busy timeout and ``secure_delete``; each is read back and the program
refuses to run if one did not take. Writes go through :func:`write`, which begins
``IMMEDIATE`` so a second writer waits for the lock instead of failing half-way.

A ``sqlite_utils.Database`` belongs to the thread that opened it: each thread opens its
own.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

import sqlite_utils

from kiosk.core.atomic import disk_full, disk_is_full
from kiosk.core.errors import EnvironmentFault, UserError
from kiosk.core.i18n import tr
from kiosk.home import DATABASE_SIDE_FILES, owner_only
from kiosk.store import db_key
from kiosk.store.driver import is_plain, keyed, open_connection, sqlite3

log = logging.getLogger("kiosk.store")

BUSY_TIMEOUT_MS = 5000
"""How long a write waits for another writer's lock before it fails (the gate's own
commits never fail for it: see ``Gate.patiently``). ``KIOSK_BUSY_TIMEOUT_MS`` overrides
it (tests hold a lock longer than the timeout without waiting 5 s)."""


def busy_timeout_ms() -> int:
    """The busy timeout in milliseconds: ``KIOSK_BUSY_TIMEOUT_MS`` if set, else 5000."""
    text = os.environ.get("KIOSK_BUSY_TIMEOUT_MS", "").strip()
    try:
        return max(1, int(text)) if text else BUSY_TIMEOUT_MS
    except ValueError:
        log.warning("KIOSK_BUSY_TIMEOUT_MS=%r is not a number of milliseconds", text)
        return BUSY_TIMEOUT_MS


class DatabaseTooNew(EnvironmentFault):
    """The database holds migrations this Gatepass does not know: a newer one brought it
    up. Opening it could damage what that version keeps, so it is refused."""


class NotACheckpoint(EnvironmentFault):
    """The database file is empty (0 bytes) or holds no Gatepass schema. Only ``kiosk
    init`` (``connect(create=True)``) makes a database: anything else would silently put
    an empty checkpoint where the register and keys were."""


class DatabaseDamaged(EnvironmentFault):
    """The database file is damaged (``PRAGMA quick_check`` found faults, SQLite said
    ``SQLITE_CORRUPT``, or a row holds text that is not UTF-8): the disk or a power cut
    did it, not Gatepass. Nothing is written to it; the way out is the last copy."""


def damaged(path: Path | None = None) -> DatabaseDamaged:
    """The fault of a damaged database file (``path``, when known), with the way out."""
    where = str(path) if path is not None else tr("the checkpoint's database")
    return DatabaseDamaged(
        tr(
            "The database file {path} is damaged (the disk or a power cut, not Gatepass); "
            "nothing more is written to it. Put back your last copy of the checkpoint's "
            "folder, then run 'kiosk db status' to check that copy.",
            path=where,
        )
    )


class DatabaseBusy(EnvironmentFault):
    """Another connection held the write lock for longer than the busy timeout. Nothing
    of the failed transaction was written: it may simply be run again."""


# Result codes (https://www.sqlite.org/rescode.html): primary code = low byte.
_BUSY, _LOCKED, _READONLY, _IOERR, _CORRUPT, _FULL, _CANTOPEN, _NOTADB = (
    5,
    6,
    8,
    10,
    11,
    13,
    14,
    26,
)


# On a full disk SQLite often fails first where it grows its ``-shm`` index or syncs
# (``SQLITE_IOERR_*``), not with ``SQLITE_FULL``; so an I/O error is told as "disk full"
# when the disk is (``disk_is_full``: less than 1 MiB free; kiosk.core.atomic
# holds both, for every file Gatepass writes).


def _undecodable(exc: BaseException) -> bool:
    """A row's text that is not UTF-8: a damaged page (Gatepass writes only ``str``).
    Python's sqlite3 says so with an OperationalError that has no result code."""
    if isinstance(exc, UnicodeDecodeError):
        return True
    return (
        isinstance(exc, sqlite3.OperationalError)
        and getattr(exc, "sqlite_errorcode", None) is None
        and str(exc).startswith("Could not decode to UTF-8")
    )


def environment_fault(exc: BaseException, path: Path | None = None) -> EnvironmentFault | None:
    """The fault, in the user's words, behind an SQLite error the machine caused.

    Sorted by SQLite's result code; an I/O error on a full disk (``path``: the
    database, when known) is a full disk; a damaged file (``SQLITE_CORRUPT``, or a
    row's text that cannot be decoded) is :class:`DatabaseDamaged`. ``None``: it is
    our bug.
    """
    if _undecodable(exc):
        return damaged(path)
    code = getattr(exc, "sqlite_errorcode", None)
    if code is None:
        return None
    primary = code & 0xFF
    if primary in (_BUSY, _LOCKED):
        return DatabaseBusy(
            tr(
                "The database is busy in another program. Close other Gatepass windows "
                "and try again."
            )
        )
    if primary == _FULL or (
        primary in (_IOERR, _CANTOPEN) and path is not None and disk_is_full(path)
    ):
        return disk_full()
    if primary in (_IOERR, _CANTOPEN, _READONLY):
        return EnvironmentFault(
            tr(
                "The database file cannot be written (disk error or read-only). Check the "
                "disk and the folder's permissions."
            )
        )
    if primary in (_CORRUPT, _NOTADB):
        return damaged(path)
    return None


@contextlib.contextmanager
def translated_errors(where: Path | sqlite3.Connection | None = None) -> Iterator[None]:
    """Turn SQLite errors the machine caused into :class:`EnvironmentFault` (``where``:
    the database file or its connection, to tell a full disk)."""
    try:
        yield
    except (sqlite3.Error, UnicodeDecodeError) as exc:
        path = where if isinstance(where, Path) or where is None else _file_of(where)
        fault = environment_fault(exc, path)
        if fault is None:
            raise
        raise fault from exc


def _file_of(conn: sqlite3.Connection) -> Path | None:
    """The file of ``conn``'s main database (``None``: in memory, or it cannot say)."""
    try:
        for _seq, name, file in conn.execute("PRAGMA database_list"):
            if name == "main" and file:
                return Path(file)
    except sqlite3.Error:
        pass
    return None


def connect(
    path: Path, *, create: bool = False, migrate: bool = True, check: bool = False
) -> sqlite_utils.Database:
    """Open (or with ``create`` make) the checkpoint database and bring it up to date.

    A database brought up by a newer Gatepass (a migration this code does not know) is
    refused with :class:`DatabaseTooNew`. ``migrate=False`` opens it as it is, newer or
    not, to look at (``kiosk db status``). ``check``: first run ``PRAGMA quick_check``
    and refuse a damaged file (:class:`DatabaseDamaged`) before anything is written;
    done where a program starts on the checkpoint (the gate, the office, a command),
    not by every short-lived connection (it reads the whole file)."""
    from kiosk.store.schema import migrations

    if not create and not path.exists():
        raise UserError(
            tr("No checkpoint at {path}. Run 'kiosk init' first, or pass --home.", path=path.parent)
        )
    if not create and path.stat().st_size == 0:
        log.error("database %s is empty (0 bytes): refused", path)
        raise NotACheckpoint(
            tr(
                "The database file {path} is empty: the checkpoint's register, passes and "
                "visits are not in it. Put back your last copy of the checkpoint's folder; "
                "or, to start a new checkpoint on purpose, move the file away and run "
                "'kiosk init'.",
                path=path,
            )
        )
    with translated_errors(path):
        conn = _open(path, create=create)
        db = sqlite_utils.Database(conn, execute_plugins=False)
        try:
            # The owner's only (kiosk.home); SQLite gives -wal and -shm the same mode.
            for file in [path] + [path.with_name(path.name + s) for s in DATABASE_SIDE_FILES]:
                owner_only(file)
            if check and not create:
                _refuse_damaged(db, path)
            if not create:
                _refuse_foreign(db, path)
            _apply_pragmas(db)
            if migrate:
                _refuse_newer(db)
                migrations.apply(db)
        except BaseException:
            db.close()
            raise
    return db


def _open(path: Path, *, create: bool) -> sqlite3.Connection:
    """A connection to ``path`` with its key (``kiosk.store.db_key``): a new key when
    ``create`` makes the file; none for a database made before encryption (see
    ``kiosk db encrypt``). :class:`db_key.DatabaseLocked` when no key is found,
    :class:`db_key.WrongKey` when none found opens it."""
    timeout = busy_timeout_ms() / 1000
    if create and (not path.exists() or path.stat().st_size == 0):
        return open_connection(path, db_key.key_for_new(path), timeout=timeout)
    if is_plain(path):
        log.warning("database %s is not encrypted (run 'kiosk db encrypt')", path)
        return open_connection(path, None, timeout=timeout)
    tried = False
    for key in db_key.candidates(path):
        tried = True
        conn = open_connection(path, key, timeout=timeout)
        try:
            if keyed(conn):
                db_key.remember(path, key)
                return conn
        except BaseException:
            conn.close()
            raise
        conn.close()
    if tried:
        log.error("no key found opens the database %s", path)
        raise db_key.wrong_key(path)
    raise db_key.locked(path)


def is_encrypted(db: sqlite_utils.Database) -> bool:
    """Whether ``db`` is an encrypted (SQLCipher) database."""
    path = _file_of(db.conn)
    return path is not None and not is_plain(path)


def _refuse_damaged(db: sqlite_utils.Database, path: Path) -> None:
    """Refuse a damaged file: ``PRAGMA quick_check`` (every page and row read, indexes
    not compared with their tables) must say ``ok``."""
    started = time.monotonic()
    try:
        rows = [str(row[0]) for row in db.conn.execute("PRAGMA quick_check(20)")]
    except (sqlite3.Error, UnicodeDecodeError) as exc:
        fault = environment_fault(exc, path)
        if fault is None:
            raise
        log.error("database %s failed its check: %s", path, exc)
        raise fault from exc
    log.debug("quick_check of %s: %.0f ms", path, (time.monotonic() - started) * 1000)
    if rows != ["ok"]:
        log.error("database %s is damaged: %s", path, "; ".join(rows))
        raise damaged(path)


def _refuse_foreign(db: sqlite_utils.Database, path: Path) -> None:
    """Refuse a database Gatepass did not make (no Gatepass migration in it): opening it
    would build an empty checkpoint inside someone else's file."""
    from kiosk.store.schema import migrations

    if not migrations.applied(db):
        log.error("database %s holds no Gatepass schema: refused", path)
        raise NotACheckpoint(
            tr(
                "The file {path} is not a Gatepass database (it holds no checkpoint). Put "
                "back your last copy of the checkpoint's folder; or, to start a new "
                "checkpoint on purpose, move the file away and run 'kiosk init'.",
                path=path,
            )
        )


def _refuse_newer(db: sqlite_utils.Database) -> None:
    from kiosk.store.schema import schema_status

    unknown = schema_status(db).unknown
    if unknown:
        log.error("database migrated by a newer Gatepass: %s", ", ".join(unknown))
        raise DatabaseTooNew(
            tr(
                "This database was updated by a newer version of Gatepass (changes this "
                "version does not know: {names}). Use that version or a later one; this "
                "one will not open it, so that nothing in it is damaged.",
                names=", ".join(unknown),
            )
        )


CACHE_KIB = 16384
"""Each connection's page cache (SQLite's default is 2 MiB). SQLCipher decrypts and
checks a page each time it comes into the cache, so misses cost more than with a plain
file: on a 100,000-resident register whose pages lie scattered, pass look-ups had a p95
of 4.4 ms with 2 MiB and 0.43 ms with 16 MiB (p50 0.23 and 0.19 ms; 64 MiB: 0.40 ms),
the three caches sampled in turn in one run (docs/security.md, "The cost")."""


def _apply_pragmas(db: sqlite_utils.Database) -> None:
    conn = db.conn
    timeout = busy_timeout_ms()
    conn.execute(f"PRAGMA busy_timeout={timeout}")
    conn.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
    db.enable_wal()
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA secure_delete=ON")
    wanted = {
        "journal_mode": "wal",
        "synchronous": 2,
        "foreign_keys": 1,
        "busy_timeout": timeout,
        "secure_delete": 1,
        "cache_size": -CACHE_KIB,
    }
    for pragma, value in wanted.items():
        got = conn.execute(f"PRAGMA {pragma}").fetchone()[0]
        if got != value:
            raise EnvironmentFault(
                tr(
                    "The database refused a safety setting ({pragma} is {got}, not "
                    "{value}); Gatepass will not run on it.",
                    pragma=pragma,
                    got=got,
                    value=value,
                )
            )


@contextlib.contextmanager
def write(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """One durable write transaction, begun IMMEDIATE; nests as a savepoint.

    When the block ends without error the transaction is committed (and with
    ``synchronous=FULL`` on disk) before this returns.
    """
    conn = db.conn
    if conn.in_transaction:
        with db.atomic():
            yield db
        return
    with translated_errors(conn):
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        try:
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise


BATCH_GAP_S = 0.03
"""The least time a bulk job leaves the write lock free between two of its batches.
A writer waiting for the lock (the gate) is polled for by SQLite every 1-25 ms, so a
gap longer than that lets it in; a job that went straight on to its next batch would
take the lock again first, batch after batch."""


class Pacer:
    """Spaces a bulk job's write transactions (``with pacer.write(db): ...`` per
    batch) so that another writer gets the lock between two of them."""

    def __init__(self, gap_s: float = BATCH_GAP_S) -> None:
        self.gap_s = gap_s
        self._free_since: float | None = None

    @contextlib.contextmanager
    def write(self, db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
        if self._free_since is not None:
            rest = self.gap_s - (time.monotonic() - self._free_since)
            if rest > 0:
                time.sleep(rest)
        try:
            with write(db):
                yield db
        finally:
            self._free_since = time.monotonic()
