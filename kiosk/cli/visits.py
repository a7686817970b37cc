"""``kiosk visits``: the visit log (list, correct, export)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from kiosk.cli.context import Context, cli_actor, pass_ctx
from kiosk.core.clock import from_db, parse_user_time, utcnow
from kiosk.core.errors import UserError
from kiosk.core.i18n import tr, trn
from kiosk.core.identity import mask_name
from kiosk.store.anchors import anchor_now
from kiosk.store.checkpoint import checkpoint_id
from kiosk.store.register import household_label
from kiosk.store.visits import list_visits, visit_by_id


@click.group()
def visits() -> None:
    """The visit log."""


@visits.command("correct")
@click.argument("visit_id")
@click.option("--void", "kind", flag_value="void", help="It was no passage at all.")
@click.option(
    "--direction", "kind", flag_value="wrong_direction", help="The person went the other way."
)
@click.option(
    "--person",
    "resident_id",
    metavar="RESIDENT_ID",
    help="It was another resident (their id, from 'residents list').",
)
@click.option("--reason", required=True, help="Why the record is wrong (kept with it).")
@click.option("--json", "as_json", is_flag=True, help="The correcting row as JSON.")
@pass_ctx
def visits_correct(
    ctx: Context,
    visit_id: str,
    kind: str | None,
    resident_id: str | None,
    reason: str,
    as_json: bool,
) -> None:
    """Correct a wrongly recorded passage (behind the admin PIN): adds a row that names it."""
    from kiosk.cli.checkpoint import require_admin_pin
    from kiosk.core.rules import Reason
    from kiosk.store.corrections import correct_visit, correctable

    if (kind is None) == (resident_id is None):
        raise UserError(tr("Say what was wrong: --void, --direction or --person RESIDENT_ID."))
    correctable(ctx.db, visit_id)  # before asking for the PIN
    require_admin_pin(ctx)
    new_id = correct_visit(
        ctx.db,
        visit_id,
        Reason(kind) if kind else Reason.WRONG_PERSON,
        reason=reason,
        actor=cli_actor(),
        now=utcnow(),
        resident_id=resident_id,
    )
    anchor_now(ctx.home, ctx.db, checkpoint_id(ctx.db))  # the log's new head, signed
    row = visit_by_id(ctx.db, new_id)
    if as_json and row is not None:
        click.echo(json.dumps(visit_json(row), ensure_ascii=False))
        return
    click.echo(tr("Corrected: {old} is replaced by {new}.", old=visit_id, new=new_id))


@visits.command("list")
@click.option("--since", help="From this time (YYYY-MM-DD or YYYY-MM-DD HH:MM, local).")
@click.option("--until", "until_", help="Up to this time (exclusive).")
@click.option("--json", "as_json", is_flag=True, help="One JSON array (see docs/cli.md).")
@pass_ctx
def visits_list(ctx: Context, since: str | None, until_: str | None, as_json: bool) -> None:
    """Every recorded decision, oldest first. Names are masked."""
    rows = list_visits(
        ctx.db,
        since=parse_user_time(since) if since else None,
        until=parse_user_time(until_) if until_ else None,
    )
    if as_json:
        click.echo(json.dumps([visit_json(r) for r in rows], ensure_ascii=False, indent=1))
        return
    for r in rows:
        click.echo(
            f"{from_db(r['at']).astimezone():%Y-%m-%d %H:%M:%S} {r['level']:5} "
            f"{r['direction']:3} {r['reason']:<18} {mask_name(r['name'])} "
            f"{household_label(r['building'], r['unit'], r['room'])}  {r['id']}"
            + ("  " + tr("(corrected)") if r["corrected_by"] else "")
        )


def visit_json(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": r["id"],
        "at": r["at"],
        "checkpoint": r["checkpoint_id"],
        "direction": r["direction"],
        "subject_kind": r["subject_kind"],
        "subject": mask_name(r["name"]) if r["name"] else None,
        "household": household_label(r["building"], r["unit"], r["room"]) or None,
        "serial": r["pass_serial"],
        "level": r["level"],
        "reason": r["reason"],
        "reasons": json.loads(r["reasons"]),
        "temperature": r["temperature"],
        "guard": r["guard"],
        "plate": r["plate"],
        "source": r["source"],
        "corrects": r["corrects"],
        "corrected_by": r["corrected_by"],
        "note": r["note"],
    }


@visits.command("export")
@click.option("--from", "from_", required=True, help="From (YYYY-MM-DD or YYYY-MM-DD HH:MM).")
@click.option("--to", "to", required=True, help="Up to (a date: to the end of that day).")
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="xlsx", show_default=True
)
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--unmasked",
    is_flag=True,
    help="ID numbers and phones in full (needs the issuer's private key; audited).",
)
@pass_ctx
def visits_export(ctx: Context, from_: str, to: str, fmt: str, out: Path, unmasked: bool) -> None:
    """The visit log for the street office, as CSV or XLSX (streamed)."""
    from kiosk.cli.checkpoint import require_unmasking_allowed
    from kiosk.store.files.visit_export import export_visits

    if unmasked:
        require_unmasking_allowed(ctx)
    count = export_visits(
        ctx.db,
        out,
        start=parse_user_time(from_),
        end=parse_user_time(to, end_of_day=True),
        fmt=fmt,
        unmasked=unmasked,
    )
    click.echo(tr("Wrote {count} visit(s) to {path}.", count=count, path=out))


@visits.command("verify")
@click.option("--json", "as_json", is_flag=True, help="One JSON object (see docs/cli.md).")
@pass_ctx
def visits_verify(ctx: Context, as_json: bool) -> None:
    """Check the whole visit log: every row's chain from the oldest kept one, and every
    signed anchor since the last loss was recorded. Exit code 1 when it is damaged."""
    from kiosk.store.anchors import check_log, damage_hint

    check = check_log(ctx.db, ctx.home, checkpoint_id(ctx.db), full=True)
    if as_json:
        click.echo(json.dumps({"damaged": check.damaged, "rows": check.rows, **check.detail()}))
    else:
        for message in check.messages():
            click.echo(message)
        if check.no_key:
            click.echo(tr("The checkpoint's own key (keys/gate.key) cannot be read."), err=True)
        if check.damaged:
            click.echo(damage_hint())
        else:
            n = check.rows
            click.echo(
                trn(
                    "The visit log is whole: {count} passage checked.",
                    "The visit log is whole: {count} passages checked.",
                    n,
                    count=n,
                )
            )
    if check.damaged:
        click.get_current_context().exit(1)


def register(cli: click.Group) -> None:
    cli.add_command(visits)
