"""The gate's commands: ``kiosk gate`` (the scan path without a window), ``visits``,
``holds``, ``visitors register`` and ``settings``."""

from __future__ import annotations

import json
import signal
import threading
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import click

from kiosk.cli.checkpoint import gate_key
from kiosk.cli.context import Context, cli_actor, pass_ctx
from kiosk.core.clock import from_db, parse_user_time, utcnow
from kiosk.core.errors import UserError
from kiosk.core.i18n import tr
from kiosk.core.identity import mask_id_number, mask_name, mask_phone
from kiosk.core.rules import DirectionMode, Encounter, Source
from kiosk.gate import Decision, Gate, drive
from kiosk.home import Home
from kiosk.settings import PIN_SETTING, SETTINGS, Settings
from kiosk.store.checkpoint import checkpoint_id, record_settings_changes
from kiosk.store.files.trace_export import trace_row, write_trace_xlsx
from kiosk.store.holds import add_hold, lift_hold, list_holds
from kiosk.store.register import household_label
from kiosk.store.visitors import (
    VisitorForm,
    add_visitor,
    issue_visitor_code,
    validate_visitor,
)
from kiosk.store.visits import list_visits, visit_by_id, visitor_holder


def settings_of(ctx: Context) -> Settings:
    return Settings.load(ctx.home.settings_file)


def decision_json(decision: Decision) -> dict[str, Any]:
    """The stable ``kiosk gate --json`` line (documented in docs/cli.md)."""
    verdict = decision.verdict
    holder = verdict.holder
    return {
        "at": decision.at.isoformat(),
        "level": verdict.level.value,
        "reason": verdict.reason.value,
        "reasons": list(verdict.reasons),
        "message": verdict.message(),
        "subject": mask_name(holder.name) if holder else None,
        "household": holder.household if holder else None,
        "direction": verdict.direction.value,
        "serial": verdict.serial,
        "visit_id": decision.visit.id,
        "latency_ms": round(decision.latency_ms, 2) if decision.latency_ms is not None else None,
    }


def print_decision(decision: Decision, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(decision_json(decision), ensure_ascii=False))
        return
    v = decision.verdict
    click.echo(
        f"{decision.at.astimezone():%H:%M:%S} {v.level.value.upper():5} "
        f"{v.direction.value:3} {v.message()}"
    )


def print_waiting(waiting: bool) -> None:
    """What ``kiosk gate`` says while a busy database holds a passage back (stderr, so
    ``--json`` output stays one decision a line)."""
    if waiting:
        click.echo(
            tr("Waiting for the database: another program is writing. The passage will be saved."),
            err=True,
        )
    else:
        click.echo(tr("The database is free again."), err=True)


def print_camera_event(event: object) -> None:
    from kiosk.vision.health import CameraEvent

    if isinstance(event, CameraEvent):
        click.echo(f"{event.state}: {event.message}", err=True)


def run_gate(
    home: Home,
    source: str,
    *,
    direction: str | None,
    decoder: str | None,
    realtime: bool | None,
    loop: bool,
    guard: str,
    as_json: bool,
) -> None:
    """The scan path with no window, printing each decision once it is on disk."""
    from kiosk.vision.decoders import get_decoder
    from kiosk.vision.pipeline import Pipeline
    from kiosk.vision.scanloop import ScanLoop
    from kiosk.vision.sources import open_source

    settings = Settings.load(home.settings_file)
    mode = DirectionMode(direction or settings["direction"])
    live = source.isdigit()
    pipeline = Pipeline(get_decoder(decoder or settings["decoder"]))
    stop = threading.Event()
    with Gate(
        home,
        retention_days=settings["retention_days"],
        mode=mode,
        rules=settings.rules(),
        guard=guard,
        repeat_window_s=settings["repeat_window_s"],
        stop=stop,
        on_wait=print_waiting,
    ) as the_gate:
        frames = open_source(source, realtime=live if realtime is None else realtime, loop=loop)
        scans = ScanLoop(
            frames, pipeline, repeat_window=settings["repeat_window_s"], drop_stale=live or loop
        )
        previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            drive(the_gate, scans, stop, lambda d: print_decision(d, as_json), print_camera_event)
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, previous)
            scans.stop()


@click.command()
@click.option(
    "--source",
    "source",
    required=True,
    metavar="SRC",
    help="A webcam index, a video file, or a folder/glob of images.",
)
@click.option(
    "--direction",
    type=click.Choice(["in", "out", "auto"]),
    default=None,
    help="Gate direction (default: the 'direction' setting).",
)
@click.option(
    "--decoder",
    type=click.Choice(["auto", "zxing", "zbar", "opencv"]),
    default=None,
    help="QR decoder (default: the 'decoder' setting).",
)
@click.option(
    "--realtime/--fast",
    default=None,
    help="Pace files at their frame rate (default: webcams only).",
)
@click.option("--guard", default="", help="Name of the guard on duty, recorded with visits.")
@click.option("--json", "as_json", is_flag=True, help="One JSON line per decision.")
@pass_ctx
def gate(
    ctx: Context,
    source: str,
    direction: str | None,
    decoder: str | None,
    realtime: bool | None,
    guard: str,
    as_json: bool,
) -> None:
    """Run the scan path with no window: source -> decode -> decide -> log.

    Runs until the source ends or Ctrl-C. Every decision printed is already on disk; a
    busy database (the office writing) makes it wait and say so, never stop.
    """
    ctx.db  # noqa: B018 - a clear error now if there is no checkpoint
    run_gate(
        ctx.home,
        source,
        direction=direction,
        decoder=decoder,
        realtime=realtime,
        loop=False,
        guard=guard,
        as_json=as_json,
    )


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
    from kiosk.cli.residents import require_unmasking_allowed
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


@click.group()
def report() -> None:
    """Reports for the street office."""


@report.command("daily")
@click.option("--date", "day", default=None, help="The day (YYYY-MM-DD); default today.")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--lang",
    "report_lang",
    type=click.Choice(["zh_CN", "en"]),
    default="zh_CN",
    show_default=True,
    help="Language of the report.",
)
@pass_ctx
def report_daily(ctx: Context, day: str | None, out: Path, report_lang: str) -> None:
    """A one-to-two page PDF: counts, passages per hour, stops and fevers, guards."""
    from datetime import date as date_type

    from kiosk.store.stats import daily_summary
    from kiosk.ui.report_pdf import write_daily_pdf

    try:
        the_day = date_type.fromisoformat(day) if day else date_type.today()
    except ValueError:
        raise UserError(
            tr("cannot read the time {text!r}: use YYYY-MM-DD or YYYY-MM-DD HH:MM", text=day)
        ) from None
    pages = write_daily_pdf(daily_summary(ctx.db, the_day), out, lang=report_lang)
    click.echo(tr("Wrote the report ({pages} page(s)) to {path}.", pages=pages, path=out))


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
        click.echo(tr("Wrote {count} passage(s) to {path}.", count=len(shown), path=out))
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


@click.command()
@click.option(
    "--older-than",
    "days",
    type=int,
    default=None,
    help="Days to keep (default: the retention_days setting).",
)
@pass_ctx
def purge(ctx: Context, days: int | None) -> None:
    """Delete visit and visitor records older than the retention period, for good."""
    from kiosk.store.retention import purge as purge_records

    keep = days if days is not None else settings_of(ctx)["retention_days"]
    report = purge_records(ctx.db, older_than_days=keep, now=utcnow())
    click.echo(
        tr(
            "{visits} visit(s) and {visitors} visitor(s) older than {days} days deleted.",
            visits=report.visits,
            visitors=report.visitors,
            days=keep,
        )
    )


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
        db, form, today=date.today(), id_required=settings["visitor_id_required"]
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
            db, gate_key(ctx), visitor_id, now=now, hours=settings["visitor_code_hours"]
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

    overstay = timedelta(hours=float(settings_of(ctx)["visitor_overstay_hours"]))
    rows = list_visitors(ctx.db, now=utcnow(), overstay=overstay, search=search, limit=limit)
    for row in rows:
        row["phone"] = mask_phone(row["phone"])
        row["id_number"] = mask_id_number(row["id_number"])
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    for row in rows:
        at = from_db(str(row["created_at"])).astimezone()
        where = tr("inside now") if row["inside"] else ""
        line = f"{at:%Y-%m-%d %H:%M}  {row['name']}  {row['phone']}  {row['household'] or ''}"
        click.echo(f"{line}  {where}".rstrip())


@click.group("settings")
def settings_group() -> None:
    """The checkpoint's settings (stored in settings.toml in its home)."""


@settings_group.command("show")
@click.option("--json", "as_json", is_flag=True, help="One JSON object of name: value.")
@pass_ctx
def settings_show(ctx: Context, as_json: bool) -> None:
    """Every setting, its value and what it means."""
    current = settings_of(ctx)
    values = {s.name: current[s.name] for s in SETTINGS}
    values[PIN_SETTING] = bool(values[PIN_SETTING])  # whether one is set; never the hash
    if as_json:
        click.echo(json.dumps(values, ensure_ascii=False))
        return
    for s in SETTINGS:
        click.echo(f"{s.name} = {values[s.name]!r}")
        click.echo(f"    {tr(s.help)}")


@settings_group.command("set")
@click.argument("name")
@click.argument("value")
@pass_ctx
def settings_set(ctx: Context, name: str, value: str) -> None:
    """Change one setting (written to the audit log with who changed it)."""
    db = ctx.db  # the audit log's checkpoint: a clear error when there is none
    current = settings_of(ctx)
    changes = current.update({name: value})
    current.save()
    record_settings_changes(db, cli_actor(), "cli", changes)
    click.echo(f"{name} = {current[name]!r}")


def register(cli: click.Group) -> None:
    for command in (gate, visits, holds, visitors, settings_group, purge, trace, report):
        cli.add_command(command)
