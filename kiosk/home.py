"""A checkpoint's home: the one folder holding its database, keys, settings and logs.

Chosen, in order, by ``--home DIR``, the ``KIOSK_HOME`` environment variable, or the
platform's user-data folder (platformdirs).
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "Gatepass"
ENV_VAR = "KIOSK_HOME"


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
    def settings_file(self) -> Path:
        return self.root / "settings.toml"

    @property
    def logs_dir(self) -> Path:
        return self.root / "logs"

    def is_initialised(self) -> bool:
        return self.database.exists()

    def ensure(self) -> None:
        for folder in (self.root, self.keys_dir, self.logs_dir):
            folder.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):  # e.g. a FAT USB stick
            os.chmod(self.keys_dir, 0o700)
