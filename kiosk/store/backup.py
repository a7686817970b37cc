"""Backups of a checkpoint's home, and putting one back (docs/backup.md).

A backup is one zip file, ``gatepass-backup-<checkpoint id>-<UTC time>.zip``, written
whole or not at all (:func:`kiosk.core.atomic.whole_file`), holding:

* ``manifest.json``: the format and its version, the Gatepass that wrote it, the
  checkpoint's id, when it was made, the migrations its database holds, and each other
  member's size and SHA-256. No personal data, no names;
* ``gatepass.db``: a consistent snapshot of the database made with SQLite's online
  backup API (one step, inside one read transaction: in WAL mode the gate goes on
  writing meanwhile), encrypted with the database's own key (SQLCipher, a new salt);
* ``home.sealed``: the rest of the home that makes it whole (``keys/``,
  ``visits.anchors``, ``settings.toml``), sealed with AES-256-GCM under a key derived
  from the database key (HKDF-SHA256). In the home the keys are protected by the
  owner-only modes; a backup on a USB stick (FAT: no modes) is not, so they travel
  sealed with the same key as the database: whoever copies the file without the unlock
  card reads neither.

The anchors, keys and settings are read before the database is copied: an anchor is
appended only after the passages it counts are committed, so every anchor in the copy
counts passages the snapshot holds, and the restored log checks whole.

:func:`restore` checks everything before it touches the home: the members' hashes, the
database opening with its key and passing ``PRAGMA quick_check``, no migration newer
than this program's, the sealed files opening, the visit log against its anchors. The
new home is built in a temporary folder beside the target and renamed into place; a
home it replaces is renamed aside (``<home>.replaced-<time>``), never deleted.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import logging
import os
import re
import secrets
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlite_utils import Database

from kiosk import __version__
from kiosk.core.atomic import file_fault, whole_file
from kiosk.core.clock import from_db, to_db
from kiosk.core.errors import EnvironmentFault, UserError
from kiosk.core.i18n import tr
from kiosk.home import OWNER_ONLY_DIR, Home, owner_only
from kiosk.store import db_key
from kiosk.store.checkpoint import checkpoint_id, get_meta, record_audit, set_meta
from kiosk.store.db import connect, write
from kiosk.store.driver import is_plain, keyed, open_connection, sqlite3

log = logging.getLogger("kiosk.backup")

FORMAT = "gatepass-backup"
VERSION = 1
MANIFEST = "manifest.json"
DATABASE = "gatepass.db"
SEALED = "home.sealed"
MEMBERS = (DATABASE, SEALED)
LAST_BACKUP = "last_backup"  # meta: when the last backup was written (UTC, to_db)
DEFAULT_KEEP = 7
DAY_S = 24 * 3600
_SEAL_INFO = b"gatepass backup home.sealed v1"
_NAME = re.compile(
    r"^gatepass-backup-(?P<checkpoint>[0-9A-Za-z._-]+)-(?P<at>\d{8}T\d{6}Z)(?:-(?P<n>[2-9]))?\.zip$"
)


class BackupRefused(UserError):
    """The backup file cannot be restored (damaged, changed, not a backup, from a newer
    Gatepass): nothing in the home was touched."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size: int
    created: datetime
    removed: tuple[Path, ...] = ()  # older backups pruned (keep-N)


@dataclass(frozen=True)
class RestoreResult:
    home: Path
    checkpoint: str
    created: datetime  # when the backup was made
    replaced_to: Path | None  # where the home it replaced was put aside
    checked_only: bool = False


# --- names ---------------------------------------------------------------------------------


def _safe(checkpoint: str) -> str:
    return re.sub(r"[^0-9A-Za-z._-]", "_", checkpoint) or "checkpoint"


def backup_name(checkpoint: str, at: datetime, n: int = 1) -> str:
    """``gatepass-backup-<checkpoint>-<UTC time>.zip`` (``-2`` .. ``-9`` after the time
    for a second backup within the same second)."""
    again = f"-{n}" if n > 1 else ""
    return f"gatepass-backup-{_safe(checkpoint)}-{at.astimezone(UTC):%Y%m%dT%H%M%SZ}{again}.zip"


def ours(folder: Path, checkpoint: str) -> list[Path]:
    """This checkpoint's backups in ``folder`` (known by their name only), oldest first."""
    found = []
    with contextlib.suppress(OSError):
        for path in folder.iterdir():
            m = _NAME.match(path.name)
            if (
                m
                and m.group("checkpoint") == _safe(checkpoint)
                and path.is_file()
                and not path.is_symlink()
            ):
                found.append((m.group("at"), int(m.group("n") or 1), path))
    return [p for _at, _n, p in sorted(found)]


def prune(folder: Path, checkpoint: str, keep: int, just_written: Path) -> tuple[Path, ...]:
    """Remove this checkpoint's oldest backups in ``folder`` beyond the newest ``keep``;
    never ``just_written``, never a file whose name is not one of ours."""
    found = ours(folder, checkpoint)
    extra = found[: max(0, len(found) - max(1, keep))]
    removed = []
    for path in extra:
        if path == just_written:
            continue
        try:
            path.unlink()
        except OSError as exc:
            log.warning("an old backup %s could not be removed: %s", path, exc)
            continue
        removed.append(path)
    return tuple(removed)


# --- sealing the home's files ----------------------------------------------------------------


def _seal_key(db_key_bytes: bytes) -> bytes:
    return HKDF(hashes.SHA256(), 32, salt=None, info=_SEAL_INFO).derive(db_key_bytes)


def bound(manifest: dict[str, Any]) -> bytes:
    """What of the manifest the sealed member vouches for (its AES-GCM associated
    data): the checkpoint, the time, the migrations and the database's hash. The
    manifest itself is plain; changed there, the sealed member does not open."""
    fields = {
        "checkpoint_id": manifest.get("checkpoint_id"),
        "created": manifest.get("created"),
        "migrations": manifest.get("migrations"),
        "database_sha256": manifest.get("members", {}).get(DATABASE, {}).get("sha256"),
    }
    return SEALED.encode() + b"\0" + json.dumps(fields, sort_keys=True).encode()


def seal(files: dict[str, bytes], key: bytes, aad: bytes) -> bytes:
    payload = json.dumps(
        {name: base64.b64encode(data).decode("ascii") for name, data in sorted(files.items())}
    ).encode("ascii")
    nonce = secrets.token_bytes(12)
    return nonce + AESGCM(_seal_key(key)).encrypt(nonce, payload, aad)


def unseal(blob: bytes, key: bytes, aad: bytes) -> dict[str, bytes]:
    """The files sealed in ``blob`` (:class:`BackupRefused`, saying why, if it does not
    open or names a file a home does not hold)."""
    try:
        payload = AESGCM(_seal_key(key)).decrypt(blob[:12], blob[12:], aad)
        raw = json.loads(payload)
        files = {str(n): base64.b64decode(d) for n, d in raw.items()}
    except (InvalidTag, ValueError, TypeError, AttributeError) as exc:
        raise BackupRefused(
            tr(
                "its keys and settings do not open with its database's key, or its list "
                "was changed."
            )
        ) from exc
    for name in files:
        if not _allowed(name):
            raise BackupRefused(tr("it holds a file it should not: {name}.", name=name))
    return files


def _allowed(name: str) -> bool:
    if name in ("visits.anchors", "settings.toml"):
        return True
    parts = name.split("/")
    return (
        len(parts) == 2
        and parts[0] == "keys"
        and re.fullmatch(r"[0-9A-Za-z._-]+", parts[1]) is not None
        and parts[1] not in (".", "..")
    )


def _complete_lines(data: bytes) -> bytes:
    """An append-only file read while it may grow: up to its last line end."""
    end = data.rfind(b"\n")
    return data[: end + 1] if end >= 0 else b""


def home_files(home: Home) -> dict[str, bytes]:
    """What of the home, beside the database, a backup keeps: keys, anchors, settings.
    (The logs are not kept: they are the computer's, not the checkpoint's.)"""
    files: dict[str, bytes] = {}
    with contextlib.suppress(FileNotFoundError):
        files["visits.anchors"] = _complete_lines(home.anchors.read_bytes())
    with contextlib.suppress(FileNotFoundError):
        files["settings.toml"] = home.settings_file.read_bytes()
    with contextlib.suppress(FileNotFoundError):
        for path in sorted(home.keys_dir.iterdir()):
            if path.is_file() and _allowed(f"keys/{path.name}"):
                files[f"keys/{path.name}"] = path.read_bytes()
    return files


# --- making a backup -----------------------------------------------------------------------


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def last_backup(db: Database) -> datetime | None:
    """When this checkpoint's last backup was written (None: never)."""
    text = get_meta(db, LAST_BACKUP)
    if not text:
        return None
    try:
        return from_db(text)
    except ValueError:
        return None


def backup_due(db: Database, now: datetime) -> bool:
    """Whether the daily backup is due: none yet, or the last one a day old."""
    last = last_backup(db)
    return last is None or (now - last).total_seconds() >= DAY_S or last > now


def _folder_there(folder: Path) -> None:
    if not folder.is_dir():
        raise UserError(
            tr(
                "The backup folder {path} is not there (is the drive plugged in?). Nothing "
                "was written.",
                path=folder,
            )
        )


def backup(
    home: Home,
    dest_folder: Path,
    now: datetime,
    *,
    keep: int = DEFAULT_KEEP,
    db: Database | None = None,
    actor: str = "gate",
) -> BackupResult:
    """Write one backup of ``home`` into ``dest_folder`` (which must exist: a drive not
    plugged in is not silently replaced by a folder on the laptop's disk), then keep
    the newest ``keep`` of this checkpoint's backups there. ``db``: a connection to the
    home's database already open (the background job's); else one is opened. Records
    the time in ``meta`` (:func:`last_backup`). Safe while the gate runs."""
    dest_folder = Path(dest_folder)
    if is_plain(home.database):  # a backup is never readable without the key
        raise UserError(tr("The database is not encrypted: run 'kiosk db encrypt'."))
    _folder_there(dest_folder)
    own = db is None
    if db is None:
        db = connect(home.database)
    try:
        checkpoint = checkpoint_id(db)
        key = db_key.key_in_use(home.database)
        from kiosk.store.schema import migrations

        applied = [m.name for m in migrations.applied(db)]
        files = home_files(home)  # before the snapshot: see the module's doc
        with tempfile.TemporaryDirectory(prefix=".backup-", dir=home.root) as tmp:
            snapshot = Path(tmp) / DATABASE
            _snapshot(db, snapshot, key)
            manifest: dict[str, Any] = {
                "format": FORMAT,
                "version": VERSION,
                "gatepass": __version__,
                "checkpoint_id": checkpoint,
                "created": now.astimezone(UTC).isoformat(),
                "migrations": applied,
                "members": {
                    DATABASE: {"size": snapshot.stat().st_size, "sha256": _sha256(snapshot)}
                },
            }
            sealed = Path(tmp) / SEALED
            sealed.write_bytes(seal(files, key, bound(manifest)))
            manifest["members"][SEALED] = {"size": sealed.stat().st_size, "sha256": _sha256(sealed)}
            target = _write_new(dest_folder, checkpoint, now, manifest, snapshot, sealed)
        removed = prune(dest_folder, checkpoint, keep, target)
        size = target.stat().st_size
        with write(db):
            set_meta(db, LAST_BACKUP, to_db(now))
            detail = {"path": str(target), "size": size, "removed": [p.name for p in removed]}
            record_audit(db, actor, "backup.write", detail)
    finally:
        if own:
            db.close()
    log.info(
        "backup of %s written to %s (%d bytes), %d old ones removed",
        home.root,
        target,
        size,
        len(removed),
    )
    return BackupResult(target, size, now, removed)


def _write_new(
    folder: Path,
    checkpoint: str,
    now: datetime,
    manifest: dict[str, Any],
    snapshot: Path,
    sealed: Path,
) -> Path:
    """Write the zip whole under the first free name (never replacing a file)."""
    for n in range(1, 10):
        target = folder / backup_name(checkpoint, now, n)
        if target.exists():
            continue
        try:
            with whole_file(target, private=True, replace=False) as temp:
                _write_zip(temp, manifest, snapshot, sealed)
        except FileExistsError:
            continue
        return target
    raise UserError(tr("Too many backups within one second in {path}: try again.", path=folder))


def _write_zip(path: Path, manifest: dict[str, Any], snapshot: Path, sealed: Path) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        zf.writestr(MANIFEST, json.dumps(manifest, indent=1, sort_keys=True))
        zf.write(snapshot, DATABASE)
        zf.write(sealed, SEALED)


def _snapshot(db: Database, path: Path, key: bytes) -> None:
    """Copy ``db`` into a new file at ``path`` with SQLite's backup API, in one step
    (one read transaction: a consistent snapshot; writers go on meanwhile in WAL mode),
    encrypted with ``key``; then check the copy."""
    target = open_connection(path, key, timeout=5)
    try:
        db.conn.backup(target)
        rows = target.execute("PRAGMA quick_check").fetchall()
        target.execute("PRAGMA journal_mode = DELETE")  # one file, no -wal beside it
    finally:
        target.close()
    if rows != [("ok",)]:
        raise EnvironmentFault(
            tr("The backup's copy of the database did not check out; nothing was written.")
        )
    owner_only(path)


# --- putting one back ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Checked:
    manifest: dict[str, Any]
    created: datetime
    checkpoint: str


def _refused(file: Path, why: str) -> BackupRefused:
    return BackupRefused(
        tr("The backup {path} cannot be restored: {why} Nothing was changed.", path=file, why=why)
    )


def _read_manifest(zf: zipfile.ZipFile, file: Path) -> _Checked:
    try:
        manifest = json.loads(zf.read(MANIFEST))
        ok = manifest.get("format") == FORMAT and isinstance(manifest.get("members"), dict)
    except (KeyError, ValueError, AttributeError):
        ok = False
    if not ok:
        raise _refused(file, tr("it is not a Gatepass backup."))
    if not isinstance(manifest.get("version"), int) or manifest["version"] > VERSION:
        raise _refused(
            file,
            tr("it was written by a newer Gatepass ({version}).", version=manifest.get("gatepass")),
        )
    names = set(zf.namelist())
    members = manifest["members"]
    if (
        set(members) != set(MEMBERS)
        or names != {MANIFEST, *MEMBERS}
        or not all(_stored_as_listed(zf.getinfo(name), members[name]) for name in MEMBERS)
    ):
        raise _refused(file, tr("its contents are not what its list says."))
    try:
        created = datetime.fromisoformat(str(manifest["created"]))
        checkpoint = str(manifest["checkpoint_id"])
    except (KeyError, ValueError) as exc:
        raise _refused(file, tr("it is not a Gatepass backup.")) from exc
    return _Checked(manifest, created, checkpoint)


def _stored_as_listed(info: zipfile.ZipInfo, listed: Any) -> bool:
    """A member stored as written (not compressed: what is unpacked is no bigger than
    the file) at the size the manifest lists."""
    return (
        isinstance(listed, dict)
        and info.compress_type == zipfile.ZIP_STORED
        and info.file_size == info.compress_size == listed.get("size")
    )


def _extract_checked(
    zf: zipfile.ZipFile, name: str, want: dict[str, Any], to: Path, file: Path
) -> None:
    digest = hashlib.sha256()
    try:
        with zf.open(name) as src, to.open("wb") as out:
            for chunk in iter(lambda: src.read(1 << 20), b""):
                digest.update(chunk)
                out.write(chunk)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:  # a zip CRC error, a short file
        if isinstance(exc, OSError) and not isinstance(exc, zipfile.BadZipFile) and exc.errno:
            raise file_fault(exc, to) from exc
        raise _refused(file, tr("it is damaged or was changed.")) from exc
    if digest.hexdigest() != want.get("sha256"):
        raise _refused(file, tr("it is damaged or was changed."))


def _key_for(database: Path, home: Home) -> bytes:
    """The key that opens the backup's database: the ways the home's own is found
    (memory, KIOSK_DB_KEY, the keyring, the unlock card asked for at a terminal)."""
    tried = False
    for key in db_key.candidates(home.database):
        tried = True
        conn = open_connection(database, key, timeout=1)
        try:
            if keyed(conn):
                return key
        finally:
            conn.close()
    if tried:
        raise BackupRefused(
            tr(
                "No key on this computer opens the backup: scan the unlock card of the "
                "checkpoint it was made of (or set {name} to its text), then try again.",
                name=db_key.KEY_ENV,
            )
        )
    raise db_key.locked(home.database)


def _check_database(database: Path, key: bytes, file: Path, checked: _Checked) -> None:
    from kiosk.store.schema import MIGRATIONS, migrations

    conn = open_connection(database, key, timeout=1)
    try:
        try:
            rows = conn.execute("PRAGMA quick_check").fetchall()
        except sqlite3.DatabaseError as exc:
            raise _refused(file, tr("its database is damaged.")) from exc
        if rows != [("ok",)]:
            raise _refused(file, tr("its database is damaged."))
    finally:
        conn.close()
    db = Database(open_connection(database, key, timeout=1), execute_plugins=False)
    try:
        applied = [m.name for m in migrations.applied(db)]
        if not applied:
            raise _refused(file, tr("its database holds no checkpoint."))
        unknown = [name for name in applied if name not in MIGRATIONS]
        if unknown:
            raise _refused(
                file,
                tr(
                    "it was made by a newer version of Gatepass (changes this version does "
                    "not know: {names}). Restore it with that version or a later one.",
                    names=", ".join(unknown),
                ),
            )
        if get_meta(db, "checkpoint_id") != checked.checkpoint:
            raise _refused(file, tr("its database is another checkpoint's than its list says."))
    finally:
        db.close()


def _in_use(home: Home) -> bool:
    """Whether a program (a gate window, the office) has the home's database open: it
    would go on writing to the file put aside. A database no key here opens, or a
    damaged one, is taken as not in use (nothing here could open it either)."""
    path = home.database
    if not path.exists():
        return False
    for key in db_key.candidates(path, ask=False):
        conn = open_connection(path, key, timeout=0.2)
        try:
            if not keyed(conn):
                continue
            conn.isolation_level = None
            try:
                conn.execute("PRAGMA locking_mode = EXCLUSIVE")
                conn.execute("BEGIN EXCLUSIVE")
            except sqlite3.OperationalError:
                return True
            conn.execute("COMMIT")
            return False
        except sqlite3.DatabaseError:
            return False
        finally:
            conn.close()
    return False


def occupied(home: Home) -> bool:
    """Whether the home holds a checkpoint (a database, keys, anchors or settings)."""
    if home.database.exists() or home.anchors.exists() or home.settings_file.exists():
        return True
    with contextlib.suppress(OSError):
        return any(home.keys_dir.iterdir())
    return False


def restore(
    file: Path,
    home: Home,
    *,
    replace: bool = False,
    check_only: bool = False,
    now: datetime | None = None,
    actor: str = "cli",
) -> RestoreResult:
    """Check the backup ``file`` whole, then make ``home`` its checkpoint (see the
    module's doc). A home holding a checkpoint is replaced only with ``replace`` (it is
    then put aside, not deleted); ``check_only``: check, change nothing."""
    from kiosk.store.anchors import check_log

    file = Path(file)
    now = now or datetime.now(UTC)
    if not file.is_file():
        raise UserError(tr("No backup file at {path}.", path=file))
    if not check_only and occupied(home) and not replace:
        raise UserError(
            tr(
                "The folder {path} holds a checkpoint already. To put the backup in its "
                "place, add --replace (the checkpoint there is kept aside, renamed, not "
                "deleted).",
                path=home.root,
            )
        )
    parent = home.root.parent
    parent.mkdir(parents=True, exist_ok=True)
    placed = False
    work = Path(tempfile.mkdtemp(prefix=f".{home.root.name}.restoring-", dir=parent))
    try:
        os.chmod(work, OWNER_ONLY_DIR)
        new = Home(work)
        try:
            zf = zipfile.ZipFile(file)
        except (zipfile.BadZipFile, OSError) as exc:
            raise _refused(file, tr("it is not a Gatepass backup, or it is damaged.")) from exc
        with zf:
            checked = _read_manifest(zf, file)
            members = checked.manifest["members"]
            (work / "keys").mkdir(mode=OWNER_ONLY_DIR)
            (work / "logs").mkdir(mode=OWNER_ONLY_DIR)
            sealed_path = work / SEALED
            _extract_checked(zf, DATABASE, members[DATABASE], new.database, file)
            _extract_checked(zf, SEALED, members[SEALED], sealed_path, file)
        key = _key_for(new.database, home)
        _check_database(new.database, key, file, checked)
        try:
            files = unseal(sealed_path.read_bytes(), key, bound(checked.manifest))
        except BackupRefused as exc:
            raise _refused(file, str(exc)) from exc
        sealed_path.unlink()
        for name, data in files.items():
            with whole_file(work / name, private=True) as temp:
                temp.write_bytes(data)
        new.tighten()
        db_key.remember(new.database, key)
        db = connect(new.database)  # WAL, pragmas, any migration this version adds
        try:
            check = check_log(db, new, checkpoint_id(db))
            if not check.damaged and not check_only:
                detail = {"file": str(file), "made": to_db(checked.created), "into": str(home.root)}
                record_audit(db, actor, "backup.restore", detail)
        finally:
            db.close()
            db_key.forget(new.database)
        if check.damaged:
            raise _refused(file, " ".join(check.messages()))
        if check_only:
            return RestoreResult(home.root, checked.checkpoint, checked.created, None, True)
        if _in_use(home):
            raise EnvironmentFault(
                tr(
                    "Another program has the checkpoint open (a gate window, the office, a "
                    "command). Close it, then restore again."
                )
            )
        aside = _put_in_place(work, home, now)
        placed = True  # work is the home now
    finally:
        if not placed:
            shutil.rmtree(work, ignore_errors=True)
    db_key.remember(home.database, key)
    log.info("backup %s restored into %s (old home aside: %s)", file, home.root, aside)
    return RestoreResult(home.root, checked.checkpoint, checked.created, aside)


def _put_in_place(work: Path, home: Home, now: datetime) -> Path | None:
    """Rename the checked home ``work`` to ``home.root``; what was there is renamed
    aside first (returned), and put back if the second rename fails."""
    root = home.root
    aside: Path | None = None
    if root.exists():
        if occupied(home):
            aside = root.with_name(f"{root.name}.replaced-{now.astimezone(UTC):%Y%m%dT%H%M%SZ}")
            n = 1
            while aside.exists():
                n += 1
                aside = root.with_name(
                    f"{root.name}.replaced-{now.astimezone(UTC):%Y%m%dT%H%M%SZ}-{n}"
                )
            os.replace(root, aside)
        else:  # an empty home (or the logs a command just made): fill it, database last
            _move_into(work, root)
            return None
    try:
        os.replace(work, root)
    except OSError:
        if aside is not None:
            os.replace(aside, root)
        raise
    with contextlib.suppress(OSError):
        fd = os.open(root.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    return aside


def _move_into(work: Path, root: Path) -> None:
    """Move the checked home ``work`` into the existing folder ``root``, which holds no
    checkpoint: its own files stay; the database comes last (a home without it is no
    checkpoint, so a move cut short leaves none half made)."""
    home = Home(root)
    home.ensure()
    names = sorted(
        (p.relative_to(work) for p in work.rglob("*") if p.is_file()),
        key=lambda rel: rel.name == DATABASE,
    )
    for rel in names:
        os.replace(work / rel, root / rel)
    shutil.rmtree(work, ignore_errors=True)
    home.tighten()
