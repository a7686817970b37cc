"""Encrypting a checkpoint made before encryption (``kiosk db encrypt``).

SQLCipher's own way (``sqlcipher_export``) copies every table, index, trigger and the
schema version into a new encrypted file beside the old one; the new file is synced
and renamed over the old only when complete, so a power cut leaves either the old
plain database or the new encrypted one, never half of each. The old file's bytes are
then overwritten with zeros before it goes (a best effort: a copy made earlier, or an
SSD's spare blocks, may still hold them; docs/security.md).

Refused while another program (a running gate, the office) has the database open: it
would go on writing to the old file.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

from kiosk.core.errors import EnvironmentFault, UserError
from kiosk.core.i18n import tr
from kiosk.home import DATABASE_SIDE_FILES, owner_only
from kiosk.store import db_key
from kiosk.store.driver import is_plain, key_pragma, open_connection, sqlite3

log = logging.getLogger("kiosk.store")

PART_SUFFIX = ".encrypting"


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _shred(path: Path) -> None:
    """Overwrite ``path`` with zeros, sync, then remove it (missing: nothing)."""
    with contextlib.suppress(FileNotFoundError):
        size = path.stat().st_size
        with path.open("r+b") as file:
            chunk = b"\0" * (1 << 20)
            left = size
            while left > 0:
                left -= file.write(chunk[: min(left, len(chunk))])
            file.flush()
            os.fsync(file.fileno())
        path.unlink()


def encrypt_database(path: Path) -> bytes:
    """Encrypt the plain database at ``path`` in place with a new key, returned (and
    remembered for this process). :class:`UserError` when it is encrypted already;
    :class:`EnvironmentFault` while another program has it open."""
    if not path.exists():
        raise UserError(tr("No checkpoint at {path}. Run 'kiosk init' first.", path=path.parent))
    if not is_plain(path):
        raise UserError(tr("The database {path} is encrypted already.", path=path))
    part = path.with_name(path.name + PART_SUFFIX)
    _shred(part)  # a copy left by an earlier attempt cut short
    key = db_key.new_key()
    conn = open_connection(path, None, timeout=0.5)
    try:
        conn.isolation_level = None
        try:
            conn.execute("PRAGMA locking_mode = EXCLUSIVE")
            conn.execute("BEGIN EXCLUSIVE")
        except sqlite3.OperationalError as exc:
            raise EnvironmentFault(
                tr(
                    "Another program has the checkpoint open (a gate window, the office, a "
                    "command). Close it, then run 'kiosk db encrypt' again."
                )
            ) from exc
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute(f"ATTACH DATABASE ? AS encrypted KEY {key_pragma(key)}", (str(part),))
        conn.execute("SELECT sqlcipher_export('encrypted')")
        conn.execute(f"PRAGMA encrypted.user_version = {int(version)}")
        conn.execute("DETACH DATABASE encrypted")
        owner_only(part)
        _fsync(part)
        copy = open_connection(part, key, timeout=0.5)
        try:
            rows = copy.execute("PRAGMA quick_check").fetchall()
        finally:
            copy.close()
        if rows != [("ok",)]:
            raise EnvironmentFault(tr("The encrypted copy did not check out; nothing changed."))
        plain = path.with_name(path.name + ".plain")
        os.replace(path, plain)
        os.replace(part, path)
        _fsync(path.parent)
    except BaseException:
        _shred(part)
        raise
    finally:
        conn.close()
    _shred(plain)
    for suffix in DATABASE_SIDE_FILES:
        _shred(path.with_name(path.name + suffix))
        _shred(plain.with_name(plain.name + suffix))
    db_key.remember(path, key)
    log.warning("database %s encrypted", path)
    return key
