"""``kiosk exchange``: a compound's office and gates passing each other change sets in
bundle files (docs/exchange.md), and ``kiosk init --join`` (in ``checkpoint.py``)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import click
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.cli.checkpoint import gate_key, issuer_key
from kiosk.cli.context import Context, cli_actor, pass_ctx
from kiosk.core.clock import local, parse_user_time, utcnow
from kiosk.core.errors import UserError
from kiosk.core.i18n import N_, tr
from kiosk.settings import Settings
from kiosk.store.checkpoint import record_audit
from kiosk.store.db import write
from kiosk.store.enrolment import enrol_gate
from kiosk.store.exchange import (
    Exported,
    Imported,
    bundle_file_name,
    compound,
    exchange_folder,
    export_bundle,
    freshness,
    import_bundle,
    news,
    node_named,
    recipients,
    remove_node,
    require_compound,
)

ROLES = {"office": N_("office"), "gate": N_("gate")}
LEVELS = {
    "fresh": N_("fresh"),
    "amber": N_("getting old"),
    "red": N_("too old"),
    "none": N_("none"),
}


def node_key(ctx: Context) -> Ed25519PrivateKey:
    """The key that signs this node's change sets: the office's issuer key, a gate's
    gate key."""
    comp = compound(ctx.db)
    if comp is not None and comp.is_office:
        return issuer_key(ctx)
    return gate_key(ctx)


def _when(moment: object) -> str:
    from datetime import datetime

    if not isinstance(moment, datetime):
        return "-"
    return local(moment).strftime("%Y-%m-%d %H:%M")


@click.group()
def exchange() -> None:
    """Pass change sets between the office and the gates of a compound (USB stick)."""


@exchange.command("enrol")
@click.argument("name")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the gate's enrolment file.",
)
@pass_ctx
def enrol(ctx: Context, name: str, out: Path) -> None:
    """(Office) Enrol a gate called NAME: writes its enrolment file and shows the
    one-time code to type at the gate (kiosk init --join FILE)."""
    key = issuer_key(ctx)
    rules = Settings.load(ctx.home.settings_file).compound_rules()
    done = enrol_gate(ctx.db, ctx.home, key, name, out, now=utcnow(), rules=rules)
    with write(ctx.db):
        record_audit(ctx.db, cli_actor(), "exchange.enrol", {"name": done.name, "node": done.node})
    click.echo(
        tr(
            "Enrolment file for {name}: {path} ({size} bytes).",
            name=done.name,
            path=out,
            size=done.size,
        )
    )
    click.echo(tr("Enrolment code (type it at the gate; shown once): {code}", code=done.code))
    click.echo(tr("Office key fingerprint (the gate shows it too): {fp}", fp=done.fingerprint))


@exchange.command("nodes")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def list_nodes(ctx: Context, as_json: bool) -> None:
    """Each checkpoint of the compound: when it was last heard from, and what it lacks."""
    comp = require_compound(ctx.db)
    found = news(ctx.db)
    settings = Settings.load(ctx.home.settings_file)
    fresh = freshness(ctx.db, utcnow(), settings.office_data_amber())
    if as_json:
        click.echo(
            json.dumps(
                {
                    "compound": comp.id,
                    "role": comp.role,
                    "node": comp.node,
                    "office_data": fresh.as_json(),
                    "nodes": [
                        {
                            "id": n.id,
                            "name": n.name,
                            "role": n.role,
                            "removed": n.removed,
                            "last_news": n.last_news.isoformat() if n.last_news else None,
                            "last_import": n.last_import.isoformat() if n.last_import else None,
                            "last_export": n.last_export.isoformat() if n.last_export else None,
                            "outstanding": n.outstanding,
                        }
                        for n in found
                    ],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    click.echo(tr("Compound {id}; this checkpoint: {role}.", id=comp.id, role=tr(ROLES[comp.role])))
    if fresh.level != "none":
        click.echo(
            tr(
                "Office data as of {when} ({level}).",
                when=_when(fresh.as_of),
                level=tr(LEVELS[fresh.level]),
            )
        )
    for n in found:
        state = tr("removed") if n.removed else tr(ROLES.get(n.role, n.role))
        click.echo(
            tr(
                "{name} ({state}): last news {news}, last bundle from it {imported}, "
                "last bundle for it {exported}, outstanding changes {left}",
                name=n.name,
                state=state,
                news=_when(n.last_news),
                imported=_when(n.last_import),
                exported=_when(n.last_export),
                left="?" if n.outstanding is None else n.outstanding,
            )
        )


@exchange.command("report")
@click.option("--since", help="From this time (YYYY-MM-DD or YYYY-MM-DD HH:MM, local).")
@click.option("--until", "until_", help="Up to this time (exclusive; default now).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object (see docs/cli.md).")
@pass_ctx
def report(ctx: Context, since: str | None, until_: str | None, as_json: bool) -> None:
    """What the gates let through that did not hold once every gate's passages were
    in: people let in twice at two gates, passages on passes revoked before them."""
    from kiosk.store.exchange_report import in_twice, on_revoked

    require_compound(ctx.db)
    until = parse_user_time(until_) if until_ else utcnow()
    start = parse_user_time(since) if since else until - timedelta(days=7)
    twice = in_twice(ctx.db, start, until)
    revoked = on_revoked(ctx.db, start, until)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "in_twice": [
                        {
                            "subject": t.subject,
                            "first_gate": t.first_gate,
                            "first_at": t.first_at.isoformat(),
                            "second_gate": t.second_gate,
                            "second_at": t.second_at.isoformat(),
                            "arrived_at": t.arrived_at.isoformat() if t.arrived_at else None,
                        }
                        for t in twice
                    ],
                    "on_revoked": [
                        {
                            "subject": r.subject,
                            "serial": r.serial,
                            "gate": r.gate,
                            "at": r.at.isoformat(),
                            "revoked_at": r.revoked_at.isoformat(),
                            "reason": r.reason,
                        }
                        for r in revoked
                    ],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    click.echo(tr("Let in twice, at two gates in a row: {n}", n=len(twice)))
    for t in twice:
        click.echo(
            tr(
                "  {name}: in at {first} {first_at}, in again at {second} {second_at}",
                name=t.subject,
                first=t.first_gate,
                first_at=_when(t.first_at),
                second=t.second_gate,
                second_at=_when(t.second_at),
            )
        )
    click.echo(tr("Let through on a pass revoked before: {n}", n=len(revoked)))
    for r in revoked:
        click.echo(
            tr(
                "  {name} ({serial}) at {gate} {at}; revoked {revoked_at}: {reason}",
                name=r.subject,
                serial=r.serial,
                gate=r.gate,
                at=_when(r.at),
                revoked_at=_when(r.revoked_at),
                reason=r.reason,
            )
        )


@exchange.command("remove")
@click.argument("name")
@pass_ctx
def remove(ctx: Context, name: str) -> None:
    """(Office) Remove a gate (a stolen laptop): its key is distrusted everywhere
    after the next exchange, and bundles it writes are refused."""
    node = remove_node(ctx.db, name, now=utcnow())
    with write(ctx.db):
        record_audit(
            ctx.db, cli_actor(), "exchange.remove", {"name": node["name"], "node": node["id"]}
        )
    click.echo(tr("{name} is removed; export for the other gates to tell them.", name=node["name"]))


@exchange.command("export")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(path_type=Path),
    help="The bundle file, or a folder (one bundle per checkpoint).",
)
@click.option(
    "--for",
    "for_node",
    default=None,
    help="The checkpoint it is for (default: the office; at the office, every gate).",
)
@pass_ctx
def export(ctx: Context, out: Path, for_node: str | None) -> None:
    """Write a bundle of what the other checkpoint lacks, sealed for it."""
    key = node_key(ctx)
    now = utcnow()
    rules = Settings.load(ctx.home.settings_file).compound_rules()
    targets = [for_node] if for_node is not None else recipients(ctx.db)
    if not targets:
        raise UserError(tr("No gate has sent its first bundle yet: nothing to export for."))
    many = len(targets) > 1 or out.is_dir()
    if many:
        out.mkdir(parents=True, exist_ok=True)
    for target in targets:
        path = out / bundle_file_name(node_named(ctx.db, target)["name"], now) if many else out
        _say_exported(export_bundle(ctx.db, ctx.home, key, target, path, now=now, rules=rules))


@exchange.command("sync")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@pass_ctx
def sync(ctx: Context, folder: Path) -> None:
    """One exchange through FOLDER (a USB stick): import the bundles there meant for
    this checkpoint, then write this checkpoint's bundles there."""
    rules = Settings.load(ctx.home.settings_file).compound_rules()
    done = exchange_folder(ctx.db, ctx.home, node_key(ctx), folder, now=utcnow(), rules=rules)
    for item in done.imported:
        _say_imported(item)
    for path, why in done.refused:
        click.echo(tr("{path}: {message}", path=path, message=why), err=True)
    for out in done.exported:
        _say_exported(out)
    if done.refused:
        raise SystemExit(2)


def _say_exported(done: Exported) -> None:
    click.echo(
        tr(
            "{path}: for {name}, {sets} change sets, {rows} rows, {size} bytes.",
            path=done.path,
            name=done.recipient,
            sets=done.change_sets,
            rows=done.rows,
            size=done.size,
        )
    )


def _say_imported(done: Imported) -> None:
    if done.joined:
        click.echo(
            tr("{name} has joined the compound (its keys are now trusted).", name=done.joined)
        )
    click.echo(
        tr(
            "{path}: from {name}, {applied} new rows applied ({sets} change sets; "
            "{waiting} waiting for earlier ones).",
            path=done.path,
            name=done.author,
            applied=done.applied,
            sets=done.change_sets,
            waiting=done.waiting,
        )
    )


@exchange.command("import")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@pass_ctx
def import_(ctx: Context, files: tuple[Path, ...]) -> None:
    """Import bundles (any order; importing one twice changes nothing)."""
    failed = 0
    for path in files:
        try:
            done = import_bundle(ctx.db, ctx.home, path, now=utcnow())
        except UserError as exc:
            failed += 1
            click.echo(tr("{path}: {message}", path=path, message=exc), err=True)
            continue
        _say_imported(done)
    if failed:
        raise SystemExit(2)


def register(cli: click.Group) -> None:
    cli.add_command(exchange)
