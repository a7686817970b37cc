"""Files that appear whole or not at all: the one way Gatepass writes a file.

:func:`whole_file` hands out a temporary name beside the target (same folder, so the
rename stays on one file system), lets the caller write it by any means (``open``,
``zipfile``, Qt's PDF writer, segno), then syncs it to disk and renames it into place.
If the block fails (a full disk, a cancelled export, a bug), the temporary file is
removed and the target is as it was: a full disk leaves no half a file and no stray
temporary. An ``OSError`` comes out as an :class:`EnvironmentFault`: "the disk is full"
when it is (``ENOSPC``, ``EDQUOT``, or any write error while the disk has almost no
room), else "cannot write" with the system's reason.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

from kiosk.core.errors import EnvironmentFault
from kiosk.core.i18n import tr

__all__ = ["DISK_FULL_BYTES", "disk_full", "disk_is_full", "file_fault", "whole_file"]

DISK_FULL_BYTES = 1024 * 1024
"""Less free space than this on the disk of a failed write: the disk is full."""

_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


def disk_full() -> EnvironmentFault:
    return EnvironmentFault(
        tr("The disk is full. Free some space, then try again; nothing was saved.")
    )


def disk_is_full(path: Path) -> bool:
    """Whether the disk holding ``path`` (a file or folder) has (almost) no space left."""
    folder = path if path.is_dir() else path.parent
    try:
        return shutil.disk_usage(folder).free < DISK_FULL_BYTES
    except OSError:
        return False


def file_fault(exc: OSError, path: Path) -> EnvironmentFault:
    """``exc``, met writing ``path``, in the user's words."""
    if exc.errno in _FULL or disk_is_full(path):
        return disk_full()
    return EnvironmentFault(
        tr("Cannot write {path}: {reason}", path=path, reason=exc.strerror or exc)
    )


def _temporary(target: Path) -> Path:
    # Hidden, marked .tmp, and keeping the suffix for writers that go by it (segno).
    stem = target.name[: -len(target.suffix)] if target.suffix else target.name
    return target.with_name(f".{stem}.{secrets.token_hex(4)}.tmp{target.suffix}")


def _fsync(path: Path, *, folder: bool = False) -> None:
    if folder and os.name != "posix":  # Windows has no folder handles
        return
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        os.fsync(fd)
    except OSError:
        if not folder:  # a folder that cannot be synced (some file systems) is no fault
            raise
    finally:
        os.close(fd)


def _place_new(temp: Path, target: Path) -> None:
    """Rename ``temp`` to ``target`` unless ``target`` exists (``FileExistsError``)."""
    try:
        os.link(temp, target)  # fails if the target exists: never replaces it
    except FileExistsError:
        raise
    except OSError:  # no hard links on this file system (FAT): look, then rename
        if target.exists():
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(target)) from None
        os.replace(temp, target)
    else:
        temp.unlink()


@contextlib.contextmanager
def whole_file(target: Path, *, private: bool = False, replace: bool = True) -> Iterator[Path]:
    """A temporary path to write ``target`` through; renamed to ``target`` when the
    block ends without an error, removed when it does not.

    ``private``: the file is its owner's only (0600) whatever the umask; else it gets
    the mode ``open()`` would give it. ``replace=False``: an existing ``target`` is never
    replaced; ``FileExistsError`` then (the temporary file removed).
    """
    temp = _temporary(target)
    made = False
    try:
        fd = os.open(
            temp,
            os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
            0o600 if private else 0o666,
        )
        made = True
        try:
            if private and hasattr(os, "fchmod"):
                os.fchmod(fd, 0o600)
        finally:
            os.close(fd)
        yield temp
        _fsync(temp)
        if replace:
            os.replace(temp, target)
        else:
            _place_new(temp, target)
        made = False
        with contextlib.suppress(OSError):
            _fsync(target.parent, folder=True)
    except FileExistsError:
        raise
    except OSError as exc:
        raise file_fault(exc, target) from exc
    finally:
        if made:
            with contextlib.suppress(OSError):
                temp.unlink()
