"""The SQLite driver: SQLCipher (``sqlcipher3``), for every connection Gatepass opens.

A checkpoint's database is encrypted as a whole (pages, indexes, the ``-wal``) with
SQLCipher 4's defaults (AES-256 in CBC mode, an HMAC-SHA512 on every page). The key is
32 random bytes, given as a raw key (``PRAGMA key = "x'...'"``): no passphrase, so no
key derivation on every open (``kiosk.store.db_key`` says where the key comes from).

``sqlcipher3`` is the DB-API module of ``sqlite3`` built on SQLCipher, with its own
exception classes: Gatepass code catches ``driver.sqlite3.Error`` (this module's), never
the standard library's. sqlite-utils picks its driver when imported (``pysqlite3`` when
installed, else ``sqlite3``) and catches that module's ``OperationalError`` in a few
places (``db.query``'s savepoint, ``drop``, feature probes); it is handed this driver
here, so that those catch the errors of the connections Gatepass gives it.

A database made before encryption (its first 16 bytes are SQLite's plain header) is
still opened, without a key, so that ``kiosk db encrypt`` can convert it.
"""

from __future__ import annotations

import logging
from pathlib import Path

import sqlcipher3.dbapi2 as sqlite3
import sqlite_utils.db
import sqlite_utils.utils

__all__ = ["KEY_BYTES", "is_plain", "key_pragma", "open_connection", "sqlite3"]

log = logging.getLogger("kiosk.store")

sqlite_utils.db.sqlite3 = sqlite3  # type: ignore[attr-defined]
sqlite_utils.utils.sqlite3 = sqlite3  # type: ignore[attr-defined]
sqlite_utils.utils.OperationalError = sqlite3.OperationalError

KEY_BYTES = 32
PLAIN_HEADER = b"SQLite format 3\x00"
"""The first 16 bytes of every unencrypted SQLite database. An SQLCipher database
begins with its random salt instead."""


def is_plain(path: Path) -> bool:
    """Whether ``path`` is an unencrypted SQLite database (made before encryption).
    A missing or shorter file is not."""
    try:
        with path.open("rb") as file:
            return file.read(len(PLAIN_HEADER)) == PLAIN_HEADER
    except OSError:
        return False


def key_pragma(key: bytes) -> str:
    """The SQL value of a raw 32-byte key (``x'<64 hex digits>'`` in double quotes)."""
    if len(key) != KEY_BYTES:
        raise ValueError(f"a database key is {KEY_BYTES} bytes, not {len(key)}")
    return f"\"x'{key.hex()}'\""


def open_connection(path: Path | str, key: bytes | None, *, timeout: float) -> sqlite3.Connection:
    """A connection to ``path``, keyed with ``key`` (``None``: a plain database).

    Nothing is read yet: a wrong key shows at the first statement (``SQLITE_NOTADB``).
    SQLCipher's own log (which prints a failed page check to stderr) is silenced: a
    wrong key or a damaged page is reported by Gatepass, in the user's words.
    """
    conn = sqlite3.connect(str(path), timeout=timeout, check_same_thread=True)
    conn.execute("PRAGMA cipher_log_level = NONE")
    if key is not None:
        conn.execute(f"PRAGMA key = {key_pragma(key)}")
    return conn


SQLITE_NOTADB = 26


def keyed(conn: sqlite3.Connection) -> bool:
    """Whether ``conn``'s key opens its database: one read of page 1. ``False`` for a
    wrong key (``SQLITE_NOTADB``: SQLCipher's page check failed, which a damaged first
    page also causes); any other error is raised."""
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        if getattr(exc, "sqlite_errorcode", None) == SQLITE_NOTADB:
            return False
        raise
    return True
