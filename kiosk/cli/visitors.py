"""``kiosk visitors``: registering a visitor at the gate, and the list of visitors."""

from __future__ import annotations

import json
from datetime import date, timedelta

import click

from kiosk.cli.checkpoint import gate_key
from kiosk.cli.context import Context, pass_ctx
from kiosk.cli.gate import decision_json
from kiosk.cli.settings import settings_of
from kiosk.core.clock import from_db, utcnow
from kiosk.core.errors import UserError
from kiosk.core.i18n import tr
from kiosk.core.identity import mask_id_number, mask_phone
from kiosk.core.rules import DirectionMode, Encounter, Source
from kiosk.gate import Gate
from kiosk.store.checkpoint import checkpoint_id
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


def register(cli: click.Group) -> None:
    cli.add_command(visitors)
