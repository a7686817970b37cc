"""``kiosk purge``: retention, visit and visitor records older than the retention
period deleted for good."""

from __future__ import annotations

import click

from kiosk.cli.context import Context, pass_ctx
from kiosk.cli.settings import settings_of
from kiosk.core.clock import utcnow
from kiosk.core.i18n import tr


@click.command()
@click.option(
    "--older-than",
    "days",
    type=int,
    default=None,
    help="Days to keep (default: the retention_days setting).",
)
@click.option(
    "--trust-clock",
    is_flag=True,
    help="Purge even though the clock is in doubt (check it first); ends a held retention.",
)
@pass_ctx
def purge(ctx: Context, days: int | None, trust_clock: bool) -> None:
    """Delete visit and visitor records older than the retention period, for good.

    Refused (exit 2, nothing deleted) when the clock is in doubt: far after the newest
    record, or retention held by a gate that doubted it; --trust-clock overrides."""
    from kiosk.store.retention import (
        ClockInDoubt,
        clock_doubt,
        trust_clock_hint,
        unfinished_note,
    )
    from kiosk.store.retention import purge as purge_records

    keep = days if days is not None else settings_of(ctx).retention_days
    now = utcnow()
    doubt = None if trust_clock else clock_doubt(ctx.db, now)
    if doubt is not None:
        raise ClockInDoubt(f"{doubt} {trust_clock_hint()}")
    report = purge_records(ctx.db, older_than_days=keep, now=now)
    click.echo(
        tr(
            "{visits} visit(s) and {visitors} visitor(s) older than {days} days deleted.",
            visits=report.visits,
            visitors=report.visitors,
            days=keep,
        )
    )
    if report.unfinished:
        click.echo(unfinished_note())


def register(cli: click.Group) -> None:
    cli.add_command(purge)
