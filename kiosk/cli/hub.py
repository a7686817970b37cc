"""``kiosk hub``: the district hub on PostgreSQL (docs/hub.md), and ``kiosk sync``: a
node's syncing with it."""

from __future__ import annotations

import json
import os
import socket
import tempfile
from datetime import date, datetime, timedelta
from pathlib import Path

import click

from kiosk.cli.checkpoint import issuer_key
from kiosk.cli.context import Context, cli_actor, paper_language_option, pass_ctx
from kiosk.cli.exchange import node_key
from kiosk.core.clock import local, utcnow
from kiosk.core.errors import UserError
from kiosk.core.hubwire import HubRefused, certificate_fingerprint
from kiosk.core.i18n import tr
from kiosk.settings import Settings
from kiosk.store.checkpoint import record_audit
from kiosk.store.db import write
from kiosk.store.exchange import compound

DB_HELP = "The hub's PostgreSQL database (a libpq DSN, or GATEPASS_HUB_DB)."


def _connect(dsn: str):  # type: ignore[no-untyped-def]
    import psycopg

    try:
        return psycopg.connect(dsn, autocommit=True)
    except psycopg.OperationalError as exc:
        raise UserError(tr("Cannot reach the hub's database: {error}", error=exc)) from None


def _when(moment: datetime | None) -> str:
    return local(moment).strftime("%Y-%m-%d %H:%M:%S") if moment else "-"


db_option = click.option("--db", "dsn", envvar="GATEPASS_HUB_DB", required=True, help=DB_HELP)


@click.group()
def hub() -> None:
    """The district hub: gates and offices sync through it over the network."""


@hub.command("init")
@db_option
@click.option(
    "--name",
    "names",
    multiple=True,
    help="A host name or address the hub is reached by (its certificate names it). "
    "Repeatable; default: this computer's name, localhost and 127.0.0.1.",
)
def hub_init(dsn: str, names: tuple[str, ...]) -> None:
    """Create (or bring up to date) the hub's schema, its identity and its TLS
    certificate."""
    from kiosk.hub import identity, schema

    with _connect(dsn) as conn:
        ran = schema.migrate(conn)
        with conn.transaction():
            made = identity.create(
                conn, list(names) or [socket.gethostname(), "localhost", "127.0.0.1"]
            )
        ident = identity.load(conn)
    for name in ran:
        click.echo(tr("Applied {name}.", name=name))
    click.echo(tr("The hub's identity was made now.") if made else tr("The hub is set up."))
    click.echo(
        tr(
            "Certificate fingerprint (nodes show it when they enrol): {fp}",
            fp=certificate_fingerprint(ident.certificate_der),
        )
    )


@hub.command("serve")
@db_option
@click.option("--listen", default="0.0.0.0:8443", show_default=True, help="HOST:PORT")
@click.option("--workers", default=1, show_default=True, help="Hub processes to run here.")
@click.option(
    "--retention-days",
    default=28,
    show_default=True,
    type=click.IntRange(1, 3660),
    help="Passages older than this many days are dropped at the hub (a day partition at a time).",
)
@click.option("--rate", default=20.0, show_default=True, help="Requests per second per node.")
def hub_serve(dsn: str, listen: str, workers: int, retention_days: int, rate: float) -> None:
    """Serve the hub over HTTPS (uvicorn) until stopped."""
    import uvicorn

    from kiosk.hub import identity, schema

    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit():
        raise UserError(tr("--listen is HOST:PORT (got {listen}).", listen=listen))
    with _connect(dsn) as conn:
        schema.check(conn)
        ident = identity.load(conn)
    folder = Path(tempfile.mkdtemp(prefix="gatepass-hub-"))
    cert, key = folder / "cert.pem", folder / "key.pem"
    cert.write_text(ident.tls_cert, encoding="ascii")
    key.touch(mode=0o600)
    key.write_text(ident.tls_key, encoding="ascii")
    os.environ["GATEPASS_HUB_DB"] = dsn
    os.environ["GATEPASS_HUB_RETENTION_DAYS"] = str(retention_days)
    os.environ["GATEPASS_HUB_RATE"] = str(rate)
    try:
        uvicorn.run(
            "kiosk.hub.app:app_from_environment",
            factory=True,
            host=host,
            port=int(port),
            workers=workers,
            ssl_certfile=str(cert),
            ssl_keyfile=str(key),
            log_level="info",
            access_log=False,
            # longer than a node's idle keep-alive (httpx: 5 s), so the node always
            # closes an idle connection first: no request sent on a connection the hub
            # is closing ("server disconnected without sending a response")
            timeout_keep_alive=30,
        )
    finally:
        key.unlink(missing_ok=True)
        cert.unlink(missing_ok=True)
        folder.rmdir()


@hub.command("enrol-office")
@db_option
@click.option(
    "--community",
    required=True,
    help="district/sub-district/community the compound belongs to (made as needed).",
)
@click.option("--compound", "compound_name", required=True, help="The compound's name.")
def hub_enrol_office(dsn: str, community: str, compound_name: str) -> None:
    """A one-time code for a compound's office to enrol with this hub."""
    from kiosk.hub import identity, store

    with _connect(dsn) as conn, conn.transaction():
        code = store.add_office_code(conn, community, compound_name, store.now_utc())
        ident = identity.load(conn)
    click.echo(
        tr(
            "Enrolment code for the office of {name} (shown once): {code}",
            name=compound_name,
            code=code,
        )
    )
    click.echo(tr("At the office: kiosk hub join https://HOST:PORT --code {code}", code=code))
    click.echo(
        tr("Certificate fingerprint: {fp}", fp=certificate_fingerprint(ident.certificate_der))
    )


@hub.command("account")
@db_option
@click.option("--area", required=True, help="district[/sub-district[/community]] it may read.")
@click.option("--name", required=True, help="Who holds it (shown in the hub's log).")
def hub_account(dsn: str, area: str, name: str) -> None:
    """A reader account for a street office: reads the reports of the compounds under
    AREA (its token is shown once)."""
    from kiosk.hub import store

    with _connect(dsn) as conn, conn.transaction():
        token = store.add_account(conn, name, area)
    click.echo(tr("Account token for {name} (shown once): {token}", name=name, token=token))


@hub.command("accounts")
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def hub_accounts(dsn: str, as_json: bool) -> None:
    """The reader accounts: id, name, area, when made, when revoked."""
    from kiosk.hub import store

    with _connect(dsn) as conn:
        found = store.accounts(conn)
    if as_json:
        click.echo(json.dumps(found, ensure_ascii=False, indent=2))
        return
    if not found:
        click.echo(tr("No reader accounts."))
    for account in found:
        state = (
            tr("revoked {time}", time=account["revoked_at"][:16].replace("T", " "))
            if account["revoked_at"]
            else tr("in use")
        )
        click.echo(f"{account['id'][:13]}  {account['name']}  {account['area']}  {state}")


@hub.command("revoke-account")
@db_option
@click.argument("which")
def hub_revoke_account(dsn: str, which: str) -> None:
    """Revoke the reader account WHICH (its name, or its id as `kiosk hub accounts`
    shows it): its token is refused from the next request on."""
    from kiosk.hub import store

    with _connect(dsn) as conn, conn.transaction():
        done = store.revoke_account(conn, which, store.now_utc())
    click.echo(tr("Revoked the account {name} ({area}).", name=done["name"], area=done["area"]))


@hub.group("report")
def hub_report() -> None:
    """Reports for the street office."""


@hub_report.command("daily")
@db_option
@click.option("--scope", required=True, help="The area: district[/sub-district[/community]].")
@click.option(
    "--day",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="The day (YYYY-MM-DD; default yesterday).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write to FILE (.pdf, .xlsx or .json); default: JSON on standard output.",
)
@paper_language_option("report_lang", "Language of the report's file.")
def hub_report_daily(
    dsn: str, scope: str, day: datetime | None, out: Path | None, report_lang: str
) -> None:
    """Per compound under SCOPE for one day: passages, visitors, fevers, denials, people
    on hold, overstaying visitors, gates that have not synced."""
    from kiosk.hub import report, report_files, store

    if out is not None:
        report_files.check_suffix(out)  # before the database is asked
    # The day as the report counts it: the hub's local day (report.REPORT_TZ).
    when: date = day.date() if day else (datetime.now(report.REPORT_TZ) - timedelta(days=1)).date()
    with _connect(dsn) as conn:
        area = store.area_path(conn, scope, create=False)
        found = report.daily(conn, area, when)
    if out is None:
        click.echo(json.dumps(found.as_json(), ensure_ascii=False, indent=2))
        return
    report_files.write_report(found, out, lang=report_lang)
    click.echo(tr("Wrote {path}: {count} compounds.", path=out, count=len(found.compounds)))


@hub.command("join")
@click.argument("url")
@click.option("--code", required=True, help="The one-time code (from the hub or the office).")
@pass_ctx
def hub_join(ctx: Context, url: str, code: str) -> None:
    """Enrol this checkpoint with the hub at URL (https://host:port). The office gets its
    code from the hub's administrator, a gate from its office (kiosk hub enrol-gate)."""
    from kiosk.sync.node import join_hub

    # a checkpoint in no compound yet founds one as its office, so its node key is the
    # issuer key (node_key gives the gate key until the compound exists)
    key = node_key(ctx) if compound(ctx.db) is not None else issuer_key(ctx)
    done = join_hub(ctx.db, ctx.home, key, url, code, now=utcnow())
    with write(ctx.db):
        record_audit(ctx.db, cli_actor(), "hub.join", {"url": done.url, "role": done.role})
    click.echo(tr("Enrolled with the hub at {url}.", url=done.url))
    click.echo(tr("Its certificate, pinned from now on: {fp}", fp=done.fingerprint))


@hub.command("enrol-gate")
@click.argument("name")
@pass_ctx
def hub_enrol_gate(ctx: Context, name: str) -> None:
    """(Office) A one-time code for the gate NAME to enrol with the hub."""
    from kiosk.sync.node import enrol_gate_code, sync_status

    code = enrol_gate_code(ctx.db, node_key(ctx), name)
    click.echo(tr("Hub enrolment code for {name} (shown once): {code}", name=name, code=code))
    click.echo(
        tr(
            "At the gate: kiosk hub join {url} --code {code}",
            url=sync_status(ctx.db).url,
            code=code,
        )
    )


@click.group()
def sync() -> None:
    """Sync this checkpoint with its hub."""


@sync.command("now")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def sync_now(ctx: Context, as_json: bool) -> None:
    """Sync with the hub once, now: pull what the compound has new, push what is ours."""
    from kiosk.sync.node import sync_once

    comp = compound(ctx.db)
    settings = Settings.load(ctx.home.settings_file)
    rules = settings.compound_rules() if comp is not None and comp.is_office else None
    try:
        done = sync_once(ctx.db, ctx.home, node_key(ctx), rules=rules)
    except HubRefused as exc:
        if as_json:
            click.echo(
                json.dumps(
                    {"ok": False, "reason": exc.reason.value, "error": str(exc)}, ensure_ascii=False
                )
            )
        raise
    if as_json:
        click.echo(json.dumps({"ok": True, **done.as_json()}, ensure_ascii=False))
        return
    click.echo(
        tr(
            "Pulled {sets} change sets ({rows} rows applied, {waiting} waiting); "
            "pushed {pushed} change sets ({pushed_rows} rows).",
            sets=done.pulled_sets,
            rows=done.applied_rows,
            waiting=done.waiting,
            pushed=done.pushed_sets,
            pushed_rows=done.pushed_rows,
        )
    )
    for name in done.joins:
        click.echo(tr("{name} joined through the hub.", name=name))


@sync.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def sync_status_command(ctx: Context, as_json: bool) -> None:
    """The last sync, what is waiting to go, and this computer's clock against the hub's."""
    from kiosk.sync.node import sync_status

    found = sync_status(ctx.db)
    if as_json:
        click.echo(json.dumps(found.as_json(), ensure_ascii=False))
        return
    if not found.joined:
        click.echo(tr("Not enrolled with a hub (kiosk hub join)."))
        return
    click.echo(tr("Hub: {url}", url=found.url))
    click.echo(tr("Last sync: {when}", when=_when(found.last_sync)))
    click.echo(tr("Last good sync: {when}", when=_when(found.last_ok)))
    click.echo(tr("Waiting to go: {count} changes", count=found.waiting_rows))
    if found.error:
        click.echo(tr("Last error: {error}", error=found.error))
    if found.skew_warning:
        click.echo(found.skew_warning)


def register(cli: click.Group) -> None:
    cli.add_command(hub)
    cli.add_command(sync)
