"""``kiosk passes ...`` and ``kiosk verify``: issuing, listing, revoking, printing and
checking passes."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from kiosk.cli.checkpoint import issuer_key
from kiosk.cli.context import Context, paper_language_option, pass_ctx
from kiosk.core.atomic import whole_file
from kiosk.core.clock import from_db, utcnow
from kiosk.core.errors import UserError
from kiosk.core.i18n import tr
from kiosk.core.passes import QR_BORDER, qr_code
from kiosk.core.rules import TokenStatus
from kiosk.store.checkpoint import checkpoint_name, load_keyring
from kiosk.store.passes import (
    check_token,
    issue_passes,
    list_passes,
    resident_ids_for,
    revoke_pass,
)
from kiosk.store.register import household_label


def _day(text: str | None) -> str:
    return from_db(text).astimezone().strftime("%Y-%m-%d") if text else ""


def _day_of(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d")


def pass_json(row: dict[str, Any]) -> dict[str, Any]:
    """The stable ``--json`` shape of a pass (documented in docs/cli.md)."""
    return {
        "serial": row["serial"],
        "holder": row["holder"],
        "household": household_label(row["building"], row["unit"], row["room"]),
        "kind": row["kind"],
        "status": row["status"],
        "valid_from": row["valid_from"],
        "valid_until": row["valid_until"],
        "key_id": row["key_id"],
        "revoked_reason": row["revoked_reason"],
        "revoked_at": row["revoked_at"],
        "token": row["token"],
    }


@click.group()
def passes() -> None:
    """Issue, list, revoke, export and print passes."""


@passes.command("issue")
@click.option("--all", "all_", is_flag=True, help="Every active resident.")
@click.option("--resident", metavar="ID", help="One resident, by id.")
@click.option("--household", metavar="ID|LABEL", help="Everyone in a household (id or 3-2-501).")
@click.option("--days", default=30, show_default=True, type=int, help="How long passes last.")
@click.option("--reissue", is_flag=True, help="Revoke passes still good and issue new ones.")
@click.option("--json", "as_json", is_flag=True, help="Print the issued passes as JSON.")
@pass_ctx
def issue(
    ctx: Context,
    all_: bool,
    resident: str | None,
    household: str | None,
    days: int,
    reissue: bool,
    as_json: bool,
) -> None:
    """Issue signed passes to residents (skips those already holding a good one)."""
    if sum(bool(x) for x in (all_, resident, household)) != 1:
        raise UserError(tr("Say whom to issue passes for: --all, --resident or --household."))
    key = issuer_key(ctx)
    ids = resident_ids_for(ctx.db, all_=all_, resident=resident, household=household)
    report = issue_passes(ctx.db, key, ids, days=days, now=utcnow(), reissue=reissue)
    if as_json:
        click.echo(
            json.dumps({"issued": [r["serial"] for r in report.issued], "skipped": report.skipped})
        )
        return
    click.echo(
        tr(
            "{issued} pass(es) issued, {skipped} resident(s) already hold a good pass.",
            issued=len(report.issued),
            skipped=report.skipped,
        )
    )


@passes.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON array (see docs/cli.md).")
@click.option("--status", type=click.Choice(["active", "revoked"]), help="Only these.")
@pass_ctx
def list_(ctx: Context, as_json: bool, status: str | None) -> None:
    """Every pass: serial, holder, kind, status, validity and token text."""
    rows = list_passes(ctx.db, status=status)
    if as_json:
        click.echo(json.dumps([pass_json(r) for r in rows], ensure_ascii=False, indent=1))
        return
    for r in rows:
        label = household_label(r["building"], r["unit"], r["room"])
        status_text = tr("revoked") if r["status"] == "revoked" else tr("active")
        click.echo(
            f"{r['serial']}  {r['kind']:<8} {status_text:<8} {_day(r['valid_from'])}"
            f"..{_day(r['valid_until'])}  {label:<10} {r['holder'] or ''}"
        )
        click.echo(f"    {r['token']}")


@passes.command("revoke")
@click.argument("serial")
@click.option("--reason", required=True, help="Why: kept with the pass and shown at the gate.")
@pass_ctx
def revoke(ctx: Context, serial: str, reason: str) -> None:
    """Revoke a pass: the gate will stop it, showing the reason."""
    row = revoke_pass(ctx.db, serial, reason, now=utcnow())
    click.echo(tr("Pass {serial} revoked: {reason}", serial=row["serial"], reason=reason))


@passes.command("export")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--format", "fmt", type=click.Choice(["png", "svg"]), default="png", show_default=True
)
@pass_ctx
def export(ctx: Context, out: Path, fmt: str) -> None:
    """One QR image per active pass, named SERIAL.png (or .svg)."""
    rows = list_passes(ctx.db, status="active")
    out.mkdir(parents=True, exist_ok=True)
    made: list[Path] = []
    try:
        for r in rows:
            image = out / f"{r['serial']}.{fmt}"
            new = not image.exists()
            with whole_file(image) as temp:
                qr_code(r["token"]).save(str(temp), kind=fmt, scale=8, border=QR_BORDER)
            if new:
                made.append(image)
    except BaseException:  # a full disk half-way: no half a set of images either
        for image in made:
            image.unlink(missing_ok=True)
        raise
    click.echo(tr("Wrote {count} QR image(s) to {path}.", count=len(rows), path=out))


@passes.command("cards")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@paper_language_option("card_lang", "Language printed on the cards.")
@pass_ctx
def cards(ctx: Context, out: Path, card_lang: str) -> None:
    """A PDF of wallet-size cards for every active pass, eight to an A4 page."""
    from kiosk.ui.printing.cards import card_from_pass, write_cards_pdf

    rows = sorted(
        list_passes(ctx.db, status="active"),
        key=lambda r: (r["building"] or "", r["unit"] or "", r["room"] or "", r["holder"] or ""),
    )
    items = [card_from_pass(r, card_lang) for r in rows]
    pages = write_cards_pdf(items, out, compound=checkpoint_name(ctx.db), lang=card_lang)
    click.echo(
        tr(
            "Wrote {count} card(s) on {pages} page(s) to {path}.",
            count=len(items),
            pages=pages,
            path=out,
        )
    )


@click.command()
@click.argument("text")
@click.option("--json", "as_json", is_flag=True, help="One JSON object (see docs/cli.md).")
@pass_ctx
def verify(ctx: Context, text: str, as_json: bool) -> None:
    """Check a scanned code. Exit 0 when it is a valid pass, 1 otherwise."""
    result = check_token(ctx.db, load_keyring(ctx.db), text, utcnow())
    record = result.record or {}
    claims = result.claims
    if as_json:
        click.echo(
            json.dumps(
                {
                    "status": result.status.value,
                    "message": result.status.message(),
                    "detail": result.detail,
                    "serial": claims.serial if claims else None,
                    "kind": claims.kind.value if claims else None,
                    "key_id": claims.key_id if claims else None,
                    "valid_from": claims.valid_from.isoformat() if claims else None,
                    "valid_until": claims.valid_until.isoformat() if claims else None,
                    "holder": record.get("holder"),
                    "household": household_label(
                        record.get("building"), record.get("unit"), record.get("room")
                    )
                    or None,
                },
                ensure_ascii=False,
            )
        )
    else:
        line = result.status.message()
        if claims:
            line += f"  {claims.serial} {claims.kind.value}"
            line += f" {_day_of(claims.valid_from)}..{_day_of(claims.valid_until)}"
        if record.get("holder"):
            line += f"  {record['holder']}"
        if result.status is TokenStatus.REVOKED and result.detail:
            line += f"  ({result.detail})"
        click.echo(line)
    if result.status is not TokenStatus.VALID:
        ctx_exit = click.get_current_context()
        ctx_exit.exit(1)


def register(cli: click.Group) -> None:
    cli.add_command(passes)
    cli.add_command(verify)
