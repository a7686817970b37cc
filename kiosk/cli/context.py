"""What every command gets: the checkpoint's home, and its database opened lazily."""

from __future__ import annotations

import getpass
from dataclasses import dataclass, field

import click
import sqlite_utils

from kiosk.home import Home
from kiosk.store.db import connect


@dataclass
class Context:
    home: Home
    _db: sqlite_utils.Database | None = field(default=None, repr=False)

    @classmethod
    def create(cls, home: str | None) -> Context:
        ctx = cls(Home.resolve(home))
        click.get_current_context().call_on_close(ctx.close)
        return ctx

    @property
    def db(self) -> sqlite_utils.Database:
        """The database of an initialised checkpoint (a clear error if there is none)."""
        if self._db is None:
            self._db = connect(self.home.database)
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


pass_ctx = click.make_pass_decorator(Context)


def cli_actor() -> str:
    """Who the audit log names for a command: ``cli:`` and the computer's user name."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no login name and no password entry (a bare container)
        user = "?"
    return f"cli:{user}"
