"""``kiosk db``: the checkpoint database itself (``db status``: its migrations)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import click

from kiosk.cli.context import Context, pass_ctx
from kiosk.core.clock import from_db
from kiosk.core.i18n import tr
from kiosk.store.anchors import check_log, damage_hint
from kiosk.store.checkpoint import checkpoint_id
from kiosk.store.db import connect
from kiosk.store.schema import SchemaStatus, schema_status

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


def status_json(home_db: str, status: SchemaStatus) -> dict[str, Any]:
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
        chained = CHAIN_MIGRATION not in status.pending and not status.unknown
        check = check_log(db, ctx.home, checkpoint_id(db)) if chained else None
    finally:
        db.close()
    if as_json:
        found = status_json(str(ctx.home.database), status)
        if check is not None:
            found["visit_log"] = {"damaged": check.damaged, **check.detail()}
        click.echo(json.dumps(found, ensure_ascii=False))
    else:
        click.echo(tr("Database: {path}", path=ctx.home.database))
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


def register(cli: click.Group) -> None:
    cli.add_command(db_group)
