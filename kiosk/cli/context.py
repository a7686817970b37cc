"""What every command gets: the checkpoint's home, and its database opened lazily."""

from __future__ import annotations

import getpass
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import click
import sqlite_utils

from kiosk.home import Home
from kiosk.settings import move_pin_hash_out
from kiosk.store.db import connect
from kiosk.store.pin_lock import adopt_pin_hash

F = TypeVar("F", bound=Callable[..., Any])


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
            self._db = connect(self.home.database, check=True)
            adopt_settings_pin(self.home, self._db, cli_actor())
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


pass_ctx = click.make_pass_decorator(Context)


def adopt_settings_pin(home: Home, db: sqlite_utils.Database, actor: str) -> None:
    """An older home's admin PIN hash, moved from settings.toml into the database."""
    move_pin_hash_out(home.settings_file, lambda legacy: adopt_pin_hash(db, legacy, actor))


def cli_actor() -> str:
    """Who the audit log names for a command: ``cli:`` and the computer's user name."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no login name and no password entry (a bare container)
        user = "?"
    return f"cli:{user}"


def paper_language_option(dest: str, help: str) -> Callable[[F], F]:
    """``--lang``: the language printed on paper (cards, the daily report), which may
    differ from the terminal's; Chinese unless asked."""
    return click.option(
        "--lang",
        dest,
        type=click.Choice(["zh_CN", "en"]),
        default="zh_CN",
        show_default=True,
        help=help,
    )
