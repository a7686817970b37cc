"""Removable drives (USB sticks) mounted now, for exchanging bundles with one click
(docs/exchange.md). Qt's ``QStorageInfo`` lists the mounted volumes; which of them is
removable is the system's to say: on Linux a volume mounted under ``/media`` or
``/run/media`` (where udisks mounts sticks) and writable; on Windows a drive whose
``GetDriveTypeW`` is ``DRIVE_REMOVABLE``; on macOS a volume under ``/Volumes``.
``KIOSK_EXCHANGE_DIR`` names a folder to use instead (a shared folder, or a test's)."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QStorageInfo

ENV_DIR = "KIOSK_EXCHANGE_DIR"
_MOUNT_ROOTS = ("/media/", "/run/media/", "/Volumes/")
_DRIVE_REMOVABLE = 2


@dataclass(frozen=True)
class Drive:
    path: Path
    label: str  # the volume's name, else its path
    free_bytes: int


def _removable_on_windows(root: str) -> bool:  # pragma: no cover - Windows only
    import ctypes

    return bool(ctypes.windll.kernel32.GetDriveTypeW(root) == _DRIVE_REMOVABLE)  # type: ignore[attr-defined]


def removable_drives() -> list[Drive]:
    """The writable removable drives mounted now (``KIOSK_EXCHANGE_DIR`` first, if set
    and a folder)."""
    found: list[Drive] = []
    forced = os.environ.get(ENV_DIR, "").strip()
    if forced and Path(forced).is_dir():
        found.append(Drive(Path(forced), Path(forced).name or forced, 0))
    for volume in QStorageInfo.mountedVolumes():
        if not (volume.isValid() and volume.isReady()) or volume.isReadOnly():
            continue
        root = volume.rootPath()
        if sys.platform == "win32":
            if not _removable_on_windows(root):
                continue
        elif not root.startswith(_MOUNT_ROOTS):
            continue
        found.append(Drive(Path(root), volume.displayName() or root, volume.bytesAvailable()))
    return found


__all__ = ["ENV_DIR", "Drive", "removable_drives"]
