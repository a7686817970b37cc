"""``kiosk residents ...``: the register of households and residents.

ID numbers and phones are masked in all output; ``list --unmasked`` shows them only on
a computer holding this checkpoint's issuer key (loaded and checked), and leaves an audit row.
"""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path
from typing import Any

import click

from kiosk.cli.checkpoint import require_unmasking_allowed
from kiosk.cli.context import Context, pass_ctx
from kiosk.core.errors import UserError
from kiosk.core.i18n import tr, trn
from kiosk.core.identity import mask_id_number, mask_phone
from kiosk.store.checkpoint import record_audit
from kiosk.store.files.register_import import ImportReport, apply_plan, read_register
from kiosk.store.register import (
    ROLES,
    add_resident,
    deactivate_resident,
    edit_resident,
    get_resident,
    list_residents,
)


def masked(row: dict[str, Any], field: str) -> str:
    """The masked form a gate of a compound holds instead of the number (or "")."""
    return str(row.get(f"{field}_masked") or "")


def resident_json(row: dict[str, Any], *, unmasked: bool = False) -> dict[str, Any]:
    """The stable ``--json`` shape of a resident (docs/cli.md)."""
    return {
        "id": row["id"],
        "household_id": row["household_id"],
        "household": row["household"],
        "name": row["name"],
        # at a gate of a compound only the masked forms are here (docs/exchange.md)
        "phone": row["phone"] if unmasked else mask_phone(row["phone"]) or masked(row, "phone"),
        "id_number": row["id_number"]
        if unmasked
        else mask_id_number(row["id_number"]) or masked(row, "id"),
        "role": row["role"],
        "active": row["active"],
    }


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def _table(headings: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(_width(r[i]) for r in [headings, *rows]) for i in range(len(headings))]
    return [
        "  ".join(_pad(cell, w) for cell, w in zip(r, widths, strict=True)).rstrip()
        for r in [headings, *rows]
    ]


def _role_text(role: str) -> str:
    return tr("staff") if role == "staff" else tr("resident")


@click.group()
def residents() -> None:
    """The register: import it from a spreadsheet, list, add, edit, deactivate."""


@residents.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the file and report; write nothing.")
@click.option("--strict", is_flag=True, help="Write nothing if any row is bad.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_ctx
def import_(ctx: Context, file: Path, dry_run: bool, strict: bool, as_json: bool) -> None:
    """Import residents from a CSV or XLSX spreadsheet (see docs/register-import.md).

    Every row is checked first, then the good rows are written in batches (a gate
    keeps logging meanwhile); bad rows are listed with their row number as Excel
    shows it. Importing the same file again changes nothing (and finishes an
    interrupted import). Exit code 1 when any row is bad.

    --json prints {"file", "added", "updated", "unchanged", "inactive", "bad",
    "households_added", "dry_run", "strict", "written",
    "errors": [{"row": N, "reasons": [TEXT, ...]}]}.
    """
    db = ctx.db  # a missing checkpoint is reported before a long read
    plan = read_register(file)
    report = apply_plan(db, plan, strict=strict, dry_run=dry_run)
    if as_json:
        click.echo(json.dumps(report.to_json(), ensure_ascii=False, indent=1))
    else:
        _print_report(report)
    if report.errors:
        click.get_current_context().exit(1)


def _print_report(report: ImportReport) -> None:
    for error in report.errors:
        click.echo(tr("Row {row}: {reasons}", row=error.row, reasons="; ".join(error.reasons)))
    click.echo(
        tr(
            "{file}: {added} added, {updated} updated, {unchanged} unchanged, {bad} bad row(s).",
            file=report.file,
            added=report.added,
            updated=report.updated,
            unchanged=report.unchanged,
            bad=report.bad,
        )
    )
    if report.inactive:
        click.echo(
            trn(
                "{count} row names a deactivated resident: left as it is.",
                "{count} rows name deactivated residents: left as they are.",
                report.inactive,
                count=report.inactive,
            )
        )
    if report.dry_run:
        click.echo(tr("Dry run: nothing was written."))
    elif not report.written:
        click.echo(
            trn(
                "Strict: nothing was written because {bad} row is bad.",
                "Strict: nothing was written because {bad} rows are bad.",
                report.bad,
                bad=report.bad,
            )
        )


@residents.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON array (see docs/cli.md).")
@click.option("--all", "all_", is_flag=True, help="Include deactivated residents.")
@click.option(
    "--unmasked",
    is_flag=True,
    help="Show ID numbers and phones in full (needs the issuer's private key).",
)
@pass_ctx
def list_(ctx: Context, as_json: bool, all_: bool, unmasked: bool) -> None:
    """The residents by household, ID numbers and phones masked.

    --json prints [{"id", "household_id", "household" (label such as 3-2-501), "name",
    "phone" (masked), "id_number" (masked), "role" ("resident" | "staff"),
    "active" (bool)}, ...]; with --unmasked phone and id_number are in full.
    """
    if unmasked:
        require_unmasking_allowed(ctx)
    rows = list_residents(ctx.db, include_inactive=all_)
    if unmasked:
        record_audit(ctx.db, "cli", "residents.list_unmasked", {"count": len(rows)})
    shown = [resident_json(r, unmasked=unmasked) for r in rows]
    if as_json:
        click.echo(json.dumps(shown, ensure_ascii=False, indent=1))
        return
    headings = [tr("Id"), tr("Household"), tr("Name"), tr("Phone"), tr("ID number"), tr("Role")]
    if all_:
        headings.append(tr("Status"))
    table = []
    for r in shown:
        cells = [
            r["id"],
            r["household"],
            r["name"],
            r["phone"],
            r["id_number"],
            _role_text(r["role"]),
        ]
        if all_:
            cells.append(tr("active") if r["active"] else tr("deactivated"))
        table.append(cells)
    for line in _table(headings, table):
        click.echo(line)
    click.echo(trn("{count} resident.", "{count} residents.", len(rows), count=len(rows)))


@residents.command("add")
@click.option("--building", required=True, help="Building number, e.g. 3.")
@click.option("--unit", default="", help="Unit (单元), if the building has units.")
@click.option("--room", required=True, help="Room, e.g. 501.")
@click.option("--name", required=True, help="The resident's name.")
@click.option("--phone", help="Mainland mobile number.")
@click.option("--id-number", help="18-digit resident ID number.")
@click.option("--role", type=click.Choice(ROLES), default="resident", show_default=True)
@pass_ctx
def add(
    ctx: Context,
    building: str,
    unit: str,
    room: str,
    name: str,
    phone: str | None,
    id_number: str | None,
    role: str,
) -> None:
    """Add one resident (the household is made if it is new). Prints the new id."""
    resident_id = add_resident(
        ctx.db,
        building=building,
        unit=unit,
        room=room,
        name=name,
        phone=phone,
        id_number=id_number,
        role=role,
    )
    row = get_resident(ctx.db, resident_id)
    assert row is not None
    click.echo(
        tr("Resident {id} added to {household}.", id=resident_id, household=row["household"])
    )


@residents.command("edit")
@click.argument("resident_id", metavar="ID")
@click.option("--name", help="New name.")
@click.option("--phone", help="New mobile number ('' removes it).")
@click.option("--id-number", help="New ID number ('' removes it).")
@click.option("--role", type=click.Choice(ROLES))
@pass_ctx
def edit(
    ctx: Context,
    resident_id: str,
    name: str | None,
    phone: str | None,
    id_number: str | None,
    role: str | None,
) -> None:
    """Change a resident's name, phone, ID number or role."""
    if all(v is None for v in (name, phone, id_number, role)):
        raise UserError(tr("Nothing to change: give --name, --phone, --id-number or --role."))
    changed = edit_resident(
        ctx.db, resident_id, name=name, phone=phone, id_number=id_number, role=role
    )
    if changed:
        click.echo(
            tr("Resident {id} updated: {fields}.", id=resident_id, fields=", ".join(changed))
        )
    else:
        click.echo(tr("Resident {id} unchanged.", id=resident_id))


@residents.command("deactivate")
@click.argument("resident_id", metavar="ID")
@click.option("--reason", required=True, help="Why (moved out, ...): kept in the audit log.")
@pass_ctx
def deactivate(ctx: Context, resident_id: str, reason: str) -> None:
    """Mark a resident as no longer living here (kept on record, not deleted)."""
    deactivate_resident(ctx.db, resident_id, reason)
    click.echo(tr("Resident {id} deactivated: {reason}", id=resident_id, reason=reason))


def register(cli: click.Group) -> None:
    cli.add_command(residents)
