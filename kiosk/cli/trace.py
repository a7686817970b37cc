"""``kiosk trace``: contact tracing from the visit log."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from kiosk.cli.context import Context, pass_ctx
from kiosk.core.clock import parse_user_time
from kiosk.core.errors import UserError
from kiosk.core.i18n import tr, trn
from kiosk.store.files.trace_export import trace_row, write_trace_xlsx


@click.command()
@click.option("--from", "from_", help="Who passed from this time ...")
@click.option("--to", "to", help="... up to this time (a date: to the end of that day).")
@click.option("--subject", metavar="ID", help="A resident's or visitor's id: their contacts.")
@click.option(
    "--window",
    "minutes",
    type=int,
    default=15,
    show_default=True,
    help="With --subject: minutes before and after each of their passages.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "xlsx"]),
    default="text",
    show_default=True,
)
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), help="The file for --format xlsx."
)
@pass_ctx
def trace(
    ctx: Context,
    from_: str | None,
    to: str | None,
    subject: str | None,
    minutes: int,
    fmt: str,
    out: Path | None,
) -> None:
    """Contact tracing: who passed between two times, or near one person's passages.

    Names are shown; ID numbers and phones masked.
    """
    from datetime import timedelta

    from kiosk.store.trace import contacts_of, passed_between

    if subject:
        if minutes < 1:
            raise UserError(tr("--window must be at least one minute."))
        rows = contacts_of(ctx.db, subject, timedelta(minutes=minutes))
    elif from_ and to:
        rows = passed_between(ctx.db, parse_user_time(from_), parse_user_time(to, end_of_day=True))
    else:
        raise UserError(tr("Give --from and --to, or --subject."))
    shown = [trace_json(r) for r in rows]
    if fmt == "xlsx":
        if out is None:
            raise UserError(tr("--format xlsx needs --out FILE."))
        write_trace_xlsx(out, shown)
        click.echo(
            trn(
                "Wrote {count} passage to {path}.",
                "Wrote {count} passages to {path}.",
                len(shown),
                count=len(shown),
                path=out,
            )
        )
    elif fmt == "json":
        click.echo(json.dumps(shown, ensure_ascii=False, indent=1))
    else:
        for r in shown:
            click.echo(
                f"{r['time']}  {r['direction']:3} {r['level']:5} {r['name'] or '-'}  "
                f"{r['household']}  {r['phone']}"
            )


def trace_json(r: dict[str, Any]) -> dict[str, Any]:
    """The stable ``kiosk trace --format json`` shape (docs/cli.md), always masked."""
    return trace_row(r)


def register(cli: click.Group) -> None:
    cli.add_command(trace)
