"""``kiosk visitors``: registering a visitor at the gate, and the list of visitors."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import click

from kiosk.cli.checkpoint import gate_key, issuer_key
from kiosk.cli.context import Context, cli_actor, pass_ctx
from kiosk.cli.gate import decision_json
from kiosk.cli.settings import settings_of
from kiosk.core.clock import from_db, utcnow
from kiosk.core.errors import UserError
from kiosk.core.i18n import tr
from kiosk.core.identity import mask_id_number, mask_name, mask_phone
from kiosk.core.rules import DirectionMode, Encounter, Source
from kiosk.gate import Gate
from kiosk.store.checkpoint import checkpoint_id
from kiosk.store.invitations import (
    check_invitation,
    invitation_state,
    invite,
    list_invitations,
    parse_day,
    signs_with_issuer,
    state_text,
    withdraw,
    write_code_image,
)
from kiosk.store.visitors import (
    VisitorForm,
    add_visitor,
    issue_visitor_code,
    validate_visitor,
)
from kiosk.store.visits import visitor_holder


@click.group()
def visitors() -> None:
    """Visitors registered at the gate."""


@visitors.command("register")
@click.option("--name", required=True, help="The visitor's name.")
@click.option("--phone", required=True, help="A mainland mobile number.")
@click.option("--id-number", default="", help="ID number (required if the setting says so).")
@click.option(
    "--destination",
    required=True,
    metavar="HOUSEHOLD",
    help="Household visited: id or label such as 3-2-501.",
)
@click.option("--temperature", required=True, type=float, help="Measured temperature, °C.")
@click.option("--reason", default="", help="Reason for the visit.")
@click.option("--plate", default="", help="Vehicle plate.")
@click.option("--from", "from_place", default="", help="Where the visitor comes from.")
@click.option("--guard", default="", help="Guard on duty.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
@pass_ctx
def visitors_register(
    ctx: Context,
    name: str,
    phone: str,
    id_number: str,
    destination: str,
    temperature: float,
    reason: str,
    plate: str,
    from_place: str,
    guard: str,
    as_json: bool,
) -> None:
    """Register a visitor's entry and print their signed visitor code.

    A fever is recorded as a denial and no code is issued (exit code 1).
    """
    settings = settings_of(ctx)
    rules = settings.rules()
    if not rules.temperature_min <= temperature <= rules.temperature_max:
        raise UserError(
            tr("Temperature {value} is not plausible: measure again", value=f"{temperature:.1f}")
        )
    db = ctx.db
    now = utcnow()
    form = VisitorForm(
        name=name,
        phone=phone,
        destination=destination,
        id_number=id_number,
        reason=reason,
        from_place=from_place,
        plate=plate,
    )
    valid, problems = validate_visitor(
        db, form, today=date.today(), id_required=settings.visitor_id_required
    )
    if valid is None:
        raise UserError("; ".join(problems.values()))
    visitor_id = add_visitor(db, valid, now=now, checkpoint_id=checkpoint_id(db))
    holder = visitor_holder(db, visitor_id)
    with Gate(ctx.home, mode=DirectionMode.IN, rules=rules, guard=guard) as the_gate:
        decision = the_gate.handle(
            Encounter(Source.REGISTER, None, temperature), holder=holder, plate=valid.plate
        )
    assert decision is not None
    token = None
    if decision.verdict.level.value == "pass":
        token = issue_visitor_code(
            db, gate_key(ctx), visitor_id, now=now, hours=settings.visitor_code_hours
        )
    if as_json:
        click.echo(
            json.dumps(
                {
                    **decision_json(decision),
                    "visitor_id": visitor_id,
                    "code": token["token"] if token else None,
                    "code_serial": token["serial"] if token else None,
                    "code_valid_until": token["valid_until"] if token else None,
                },
                ensure_ascii=False,
            )
        )
    else:
        click.echo(decision.verdict.message())
        if token:
            click.echo(
                tr(
                    "Visitor code (valid until {until}):",
                    until=f"{from_db(token['valid_until']).astimezone():%Y-%m-%d %H:%M}",
                )
            )
            click.echo(token["token"])
    if token is None:
        click.get_current_context().exit(1)


@visitors.command("list")
@click.option("--search", default="", help="Part of a name, a host household or a purpose.")
@click.option("--limit", default=200, show_default=True, help="At most this many, newest first.")
@click.option("--json", "as_json", is_flag=True, help="One JSON array.")
@pass_ctx
def visitors_list(ctx: Context, search: str, limit: int, as_json: bool) -> None:
    """Registered visitors, the newest first, phones and ID numbers masked."""
    from kiosk.store.visitors import list_visitors

    overstay = timedelta(hours=settings_of(ctx).visitor_overstay_hours)
    rows = list_visitors(ctx.db, now=utcnow(), overstay=overstay, search=search, limit=limit)
    for row in rows:
        row["phone"] = mask_phone(row["phone"]) or row.pop("phone_masked", None) or ""
        row["id_number"] = mask_id_number(row["id_number"]) or row.pop("id_masked", None) or ""
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    for row in rows:
        at = from_db(str(row["created_at"])).astimezone()
        where = tr("inside now") if row["inside"] else ""
        line = f"{at:%Y-%m-%d %H:%M}  {row['name']}  {row['phone']}  {row['household'] or ''}"
        click.echo(f"{line}  {where}".rstrip())


def _invitation_json(row: dict[str, Any], today: date) -> dict[str, Any]:
    return {
        "visitor_id": row["id"],
        "name": row["name"],
        "phone": mask_phone(row["phone"]) or row["phone_masked"] or "",
        "id_number": mask_id_number(row["id_number"]) or row["id_masked"] or "",
        "household": row["household"],
        "reason": row["reason"],
        "date": row["invited_for"],
        "state": invitation_state(row, today),
        "code_serial": row["serial"],
        "code_valid_from": row["valid_from"],
        "code_valid_until": row["valid_until"],
        "withdrawn_at": row["withdrawn_at"],
    }


@visitors.command("invite")
@click.option("--name", required=True, help="The visitor's name.")
@click.option("--phone", required=True, help="A mainland mobile number.")
@click.option(
    "--destination",
    required=True,
    metavar="HOUSEHOLD",
    help="Household visited: id or label such as 3-2-501.",
)
@click.option(
    "--date", "day_text", required=True, metavar="YYYY-MM-DD", help="The day of the visit."
)
@click.option("--id-number", default="", help="ID number (required if the setting says so).")
@click.option("--reason", default="", help="Reason for the visit.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the code's image (default: invitation-SERIAL.png here).",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
@pass_ctx
def visitors_invite(
    ctx: Context,
    name: str,
    phone: str,
    destination: str,
    day_text: str,
    id_number: str,
    reason: str,
    out: Path | None,
    as_json: bool,
) -> None:
    """Register a visitor ahead for one day and write their visitor code as an image
    to send to their phone. The code is valid on that day only (local time)."""
    settings = settings_of(ctx)
    day = parse_day(day_text)
    db = ctx.db
    form = VisitorForm(
        name=name, phone=phone, destination=destination, id_number=id_number, reason=reason
    )
    today = date.today()
    valid, problems = check_invitation(
        db, form, day, today=today, id_required=settings.visitor_id_required
    )
    if valid is None:
        raise UserError("; ".join(problems.values()))
    key = issuer_key(ctx) if signs_with_issuer(ctx.home) else gate_key(ctx)
    row = invite(db, key, valid, day, now=utcnow(), actor=cli_actor())
    path = write_code_image(str(row["token"]), out or Path(f"invitation-{row['serial']}.png"))
    if as_json:
        click.echo(
            json.dumps(
                {**_invitation_json(row, today), "code": row["token"], "image": str(path)},
                ensure_ascii=False,
            )
        )
        return
    click.echo(
        tr(
            "Invitation for {name} on {day}, visiting {household}: code {serial}.",
            name=mask_name(row["name"]),
            day=row["invited_for"],
            household=row["household"],
            serial=row["serial"],
        )
    )
    click.echo(tr("The code's image is in {path}: send it to the visitor's phone.", path=path))


@visitors.command("invitations")
@click.option(
    "--date", "day_text", default=None, metavar="YYYY-MM-DD", help="Only this day's invitations."
)
@click.option("--all", "show_all", is_flag=True, help="Past days' invitations too.")
@click.option("--json", "as_json", is_flag=True, help="One JSON array.")
@pass_ctx
def visitors_invitations(ctx: Context, day_text: str | None, show_all: bool, as_json: bool) -> None:
    """Invitations from today on (or of one day), phones and ID numbers masked."""
    today = date.today()
    day = parse_day(day_text) if day_text else None
    rows = list_invitations(ctx.db, day=day, since=None if show_all else today)
    if as_json:
        click.echo(json.dumps([_invitation_json(r, today) for r in rows], ensure_ascii=False))
        return
    if not rows:
        click.echo(tr("No invitations."))
        return
    for row in rows:
        item = _invitation_json(row, today)
        click.echo(
            f"{item['date']}  {item['code_serial'] or '-'}  {item['name']}  {item['phone']}  "
            f"{item['household'] or '-'}  {state_text(item['state'])}"
        )


@visitors.command("withdraw")
@click.argument("invitation", metavar="SERIAL|ID")
@pass_ctx
def visitors_withdraw(ctx: Context, invitation: str) -> None:
    """Withdraw an invitation (by its code's serial or the visitor's id): its code is
    revoked here and, after the next exchange, at every gate."""
    row = withdraw(ctx.db, invitation, now=utcnow(), actor=cli_actor())
    click.echo(
        tr(
            "Invitation for {name} on {day} withdrawn: code {serial} revoked.",
            name=mask_name(row["name"]),
            day=row["invited_for"],
            serial=row["serial"],
        )
    )


def register(cli: click.Group) -> None:
    cli.add_command(visitors)
