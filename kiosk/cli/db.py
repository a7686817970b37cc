"""``kiosk db``: the checkpoint database itself (``db status``: its migrations and
encryption; ``db encrypt``: encrypt one made before encryption; ``db unlock-card``: a new
unlock card; ``db remember-key``: keep the key in the OS keyring)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from kiosk.cli.context import Context, cli_actor, pass_ctx
from kiosk.core.clock import from_db, utcnow
from kiosk.core.errors import EnvironmentFault, UserError
from kiosk.core.i18n import tr
from kiosk.home import owner_only
from kiosk.store import db_key
from kiosk.store.anchors import check_log, damage_hint
from kiosk.store.checkpoint import checkpoint_id, checkpoint_name, record_audit
from kiosk.store.db import connect, is_encrypted
from kiosk.store.driver import is_plain
from kiosk.store.encryption import encrypt_database
from kiosk.store.schema import SchemaStatus, schema_status

F = TypeVar("F", bound=Callable[..., Any])
CHAIN_MIGRATION = "0004_visit_chain"


@click.group("db")
def db_group() -> None:
    """The checkpoint's database."""


def _when(applied_at: str) -> datetime | None:
    """When a migration was applied (sqlite-utils writes UTC ``str(datetime)``);
    None for text that is no time (a hand-made row)."""
    try:
        return from_db(applied_at)
    except ValueError:
        return None


def status_json(home_db: str, status: SchemaStatus, *, encrypted: bool) -> dict[str, Any]:
    """The stable ``kiosk db status --json`` object (documented in docs/cli.md)."""
    applied = []
    for m in status.applied:
        when = _when(m.applied_at)
        applied.append(
            {
                "name": m.name,
                "applied_at": when.isoformat() if when is not None else m.applied_at,
                "known": m.known,
            }
        )
    return {
        "database": home_db,
        "encrypted": encrypted,
        "applied": applied,
        "pending": list(status.pending),
        "unknown": list(status.unknown),
    }


@db_group.command("status")
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
@pass_ctx
def db_status(ctx: Context, as_json: bool) -> None:
    """The migrations applied to the database (name, when), and those pending or
    unknown. The database is looked at, not changed: pending migrations are applied
    by the next command that opens it. Exit code 1 when it was updated by a newer
    Gatepass (migrations this one does not know), which then will not open it."""
    db = connect(ctx.home.database, migrate=False, check=True)
    try:
        status = schema_status(db)
        encrypted = is_encrypted(db)
        chained = CHAIN_MIGRATION not in status.pending and not status.unknown
        check = check_log(db, ctx.home, checkpoint_id(db)) if chained else None
    finally:
        db.close()
    if as_json:
        found = status_json(str(ctx.home.database), status, encrypted=encrypted)
        if check is not None:
            found["visit_log"] = {"damaged": check.damaged, **check.detail()}
        click.echo(json.dumps(found, ensure_ascii=False))
    else:
        click.echo(tr("Database: {path}", path=ctx.home.database))
        if encrypted:
            click.echo("  " + tr("Encrypted (SQLCipher 4, this checkpoint's own key)."))
        else:
            click.echo("  " + tr("NOT encrypted: run 'kiosk db encrypt'."))
        for m in status.applied:
            when = _when(m.applied_at)
            at = f"{when.astimezone():%Y-%m-%d %H:%M}" if when is not None else m.applied_at
            note = "" if m.known else "  " + tr("unknown: made by a newer Gatepass")
            click.echo(f"  {m.name:<28} {at}{note}")
        for name in status.pending:
            click.echo(f"  {name:<28} " + tr("pending: applied when the database is next opened"))
        if status.unknown:
            click.echo(
                tr(
                    "A newer Gatepass updated this database: this version will not open it. "
                    "Use that version or a later one."
                )
            )
        elif status.pending:
            click.echo(tr("{count} migration(s) pending.", count=len(status.pending)))
        else:
            click.echo(tr("Up to date."))
        if check is not None and check.damaged:
            for message in check.messages():
                click.echo(message, err=True)
            click.echo(damage_hint(), err=True)
        elif check is not None:
            click.echo(tr("Visit log: whole since the last signed record."))
    if status.unknown:
        click.get_current_context().exit(1)


def card_option(default: str) -> Callable[[F], F]:
    return click.option(
        "--unlock-card",
        "card_out",
        type=click.Path(dir_okay=False, writable=True),
        default=default,
        show_default=True,
        help="Where to write the unlock card (a PDF to print, then delete).",
    )


def hand_over_key(home_db: Path, key: bytes, card_out: Path, checkpoint: str) -> None:
    """The new key's unlock card (a PDF) and, where there is one, the OS keyring's
    copy; says which, and what to do with the card."""
    from kiosk.ui.printing.unlock_card import write_unlock_card_pdf

    write_unlock_card_pdf(db_key.card_text(key), card_out, checkpoint=checkpoint, made=utcnow())
    owner_only(card_out)
    click.echo(
        tr(
            "Unlock card: {path}. Print it, keep it locked away from this computer, then "
            "delete the file.",
            path=card_out,
        )
    )
    if db_key.save_to_keyring(home_db, key):
        click.echo(tr("This computer's keyring keeps the key: Gatepass opens without the card."))
    else:
        click.echo(
            tr(
                "No keyring on this computer: Gatepass asks for the unlock card at each "
                "start (or reads {name}).",
                name=db_key.KEY_ENV,
            )
        )


@db_group.command("encrypt")
@card_option("gatepass-unlock-card.pdf")
@pass_ctx
def db_encrypt(ctx: Context, card_out: str) -> None:
    """Encrypt a checkpoint made before encryption, with a key of its own. Close the
    gate window and the office first."""
    ctx.close()
    database = ctx.home.database
    if database.exists() and is_plain(database):
        connect(database, check=True).close()  # up to date and whole before it is copied
    key = encrypt_database(database)
    db = connect(database)
    try:
        name = checkpoint_name(db)
        record_audit(db, cli_actor(), "db.encrypt", {"database": str(database)})
    finally:
        db.close()
    click.echo(tr("The database {path} is now encrypted.", path=database))
    hand_over_key(database, key, Path(card_out), name)


@db_group.command("unlock-card")
@card_option("gatepass-unlock-card.pdf")
@pass_ctx
def db_unlock_card(ctx: Context, card_out: str) -> None:
    """A new copy of the unlock card (behind the admin PIN): the database open on this
    computer, its key printed again."""
    from kiosk.cli.checkpoint import require_admin_pin

    database = ctx.home.database
    if is_plain(database):
        raise UserError(tr("The database is not encrypted: run 'kiosk db encrypt'."))
    require_admin_pin(ctx)
    key = db_key.key_in_use(database)
    record_audit(ctx.db, cli_actor(), "db.unlock_card", {"database": str(database)})
    hand_over_key(database, key, Path(card_out), checkpoint_name(ctx.db))


@db_group.command("remember-key")
@pass_ctx
def db_remember_key(ctx: Context) -> None:
    """Keep the database key in this computer's keyring (asks for the unlock card when
    it is not known yet), so that Gatepass opens without the card."""
    ctx.db  # noqa: B018 - opened with the card if need be: the key is then known
    key = db_key.key_in_use(ctx.home.database)
    if not db_key.save_to_keyring(ctx.home.database, key):
        raise EnvironmentFault(tr("There is no keyring on this computer to keep the key."))
    click.echo(tr("This computer's keyring keeps the key: Gatepass opens without the card."))


def register(cli: click.Group) -> None:
    cli.add_command(db_group)
