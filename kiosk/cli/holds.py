"""``kiosk holds``: home quarantine of a household or a person."""

from __future__ import annotations

import json

import click

from kiosk.cli.context import Context, pass_ctx
from kiosk.core.clock import from_db, parse_user_time, utcnow
from kiosk.core.i18n import tr
from kiosk.core.identity import mask_name
from kiosk.store.holds import add_hold, lift_hold, list_holds
from kiosk.store.register import household_label


@click.group()
def holds() -> None:
    """Home quarantine: a household or a person may come home but not go out."""


@holds.command("add")
@click.option("--household", metavar="ID|LABEL", help="A household, by id or label (3-2-501).")
@click.option("--resident", metavar="ID", help="One resident, by id.")
@click.option("--until", "until_", required=True, help="Last day (YYYY-MM-DD) or a time.")
@click.option("--reason", required=True, help="Why (kept in the record).")
@pass_ctx
def holds_add(
    ctx: Context, household: str | None, resident: str | None, until_: str, reason: str
) -> None:
    """Put a household or a resident under home quarantine until a date (inclusive)."""
    end = parse_user_time(until_, end_of_day=True)
    row = add_hold(
        ctx.db, household=household, resident=resident, until=end, reason=reason, now=utcnow()
    )
    click.echo(
        tr("Hold {id} until {until}.", id=row["id"], until=f"{end.astimezone():%Y-%m-%d %H:%M}")
    )


@holds.command("list")
@click.option("--all", "all_", is_flag=True, help="Also holds that ended or were lifted.")
@click.option("--json", "as_json", is_flag=True, help="One JSON array.")
@pass_ctx
def holds_list(ctx: Context, all_: bool, as_json: bool) -> None:
    """Current holds."""
    rows = list_holds(ctx.db, now=utcnow(), include_past=all_)
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "id": r["id"],
                        "until": r["until"],
                        "reason": r["reason"],
                        "household": household_label(r["building"], r["unit"], r["room"]),
                        "resident": mask_name(r["name"]) if r["name"] else None,
                        "lifted_at": r["lifted_at"],
                    }
                    for r in rows
                ],
                ensure_ascii=False,
                indent=1,
            )
        )
        return
    for r in rows:
        who = mask_name(r["name"]) if r["name"] else ""
        click.echo(
            f"{r['id']}  {from_db(r['until']).astimezone():%Y-%m-%d %H:%M}  "
            f"{household_label(r['building'], r['unit'], r['room'])} {who}  {r['reason']}"
        )


@holds.command("lift")
@click.argument("hold_id")
@pass_ctx
def holds_lift(ctx: Context, hold_id: str) -> None:
    """End a hold early."""
    lift_hold(ctx.db, hold_id, now=utcnow())
    click.echo(tr("Hold {id} lifted.", id=hold_id))


def register(cli: click.Group) -> None:
    cli.add_command(holds)
