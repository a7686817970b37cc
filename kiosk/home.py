"""A checkpoint's home: the one folder holding its database, keys, settings and logs.

Chosen, in order, by ``--home DIR``, the ``KIOSK_HOME`` environment variable, or the
platform's user-data folder (platformdirs).

On POSIX its files are the owner's only: the folders 0700, the database (and the
``-wal``/``-shm`` SQLite makes beside it, which take the database's mode), settings, keys
and logs 0600. A home made by an older Gatepass is tightened when a command opens it
(:meth:`Home.tighten`). On Windows the folder's ACL (the user's profile) does this job:
nothing is changed there.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "Gatepass"
ENV_VAR = "KIOSK_HOME"
OWNER_ONLY_DIR = 0o700
OWNER_ONLY_FILE = 0o600
DATABASE_SIDE_FILES = ("-wal", "-shm", "-journal")
"""The files SQLite keeps beside the database (with its data in them)."""


def owner_only(path: Path, mode: int = OWNER_ONLY_FILE) -> None:
    """Make ``path`` readable by its owner only (POSIX; a missing file, a file system
    without modes (a FAT USB stick) or Windows: left as it is)."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        if path.stat().st_mode & 0o777 != mode:
            os.chmod(path, mode)


@dataclass(frozen=True)
class Home:
    root: Path

    @classmethod
    def resolve(cls, given: str | os.PathLike[str] | None = None) -> Home:
        if given:
            return cls(Path(given).expanduser().resolve())
        env = os.environ.get(ENV_VAR)
        if env:
            return cls(Path(env).expanduser().resolve())
        return cls(Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)))

    @property
    def database(self) -> Path:
        return self.root / "gatepass.db"

    @property
    def keys_dir(self) -> Path:
        return self.root / "keys"

    @property
    def private_key(self) -> Path:
        return self.keys_dir / "issuer.key"

    @property
    def gate_key(self) -> Path:
        """This gate's own key: signs visitor codes only (never resident passes)."""
        return self.keys_dir / "gate.key"

    @property
    def box_key(self) -> Path:
        """This node's X25519 key: exchange bundles for it are sealed to it
        (docs/exchange.md); made when the checkpoint joins or founds a compound."""
        return self.keys_dir / "box.key"

    @property
    def anchors(self) -> Path:
        """The visit log's signed anchors (``kiosk.store.anchors``): kept outside the
        database, so a database that lost its tail or was edited is found out."""
        return self.root / "visits.anchors"

    @property
    def settings_file(self) -> Path:
        return self.root / "settings.toml"

    @property
    def logs_dir(self) -> Path:
        return self.root / "logs"

    def is_initialised(self) -> bool:
        return self.database.exists()

    def ensure(self) -> None:
        for folder in (self.root, self.keys_dir, self.logs_dir):
            folder.mkdir(mode=OWNER_ONLY_DIR, parents=True, exist_ok=True)
        self.tighten()

    @contextlib.contextmanager
    def kept_only_if_whole(self) -> Iterator[None]:
        """Whatever the block adds to the home (files, folders, the home itself) is taken
        away again if it fails: ``kiosk init`` on a full disk leaves no half a home, and
        running it again after freeing space simply works. What was there before stays."""
        before = self._contents()
        try:
            yield
        except BaseException:
            added = self._contents() - before
            for path in sorted(added, key=lambda p: len(p.parts), reverse=True):  # deepest first
                with contextlib.suppress(OSError):
                    if path.is_dir() and not path.is_symlink():
                        path.rmdir()
                    else:
                        path.unlink()
            raise

    def _contents(self) -> set[Path]:
        if not self.root.exists():
            return set()
        return {self.root, *self.root.rglob("*")}

    def tighten(self) -> None:
        """Make the home's folders and files its owner's only (see the module's doc);
        nothing when the home does not exist."""
        if not self.root.is_dir():
            return
        for folder in (self.root, self.keys_dir, self.logs_dir):
            owner_only(folder, OWNER_ONLY_DIR)
        files = [self.database, self.settings_file, self.anchors]
        files += [self.database.with_name(self.database.name + s) for s in DATABASE_SIDE_FILES]
        for folder in (self.keys_dir, self.logs_dir):
            with contextlib.suppress(OSError):
                files += [f for f in folder.iterdir() if f.is_file()]
        for file in files:
            owner_only(file)
