"""``kiosk gate``: the scan path without a window, printing each decision once it is
on disk."""

from __future__ import annotations

import json
import signal
import threading
from typing import Any

import click

from kiosk.cli.context import Context, pass_ctx
from kiosk.core.i18n import tr
from kiosk.core.identity import mask_name
from kiosk.gate import Decision, Gate, drive
from kiosk.home import Home
from kiosk.settings import Settings
from kiosk.store.anchors import LogCheck, damage_hint
from kiosk.store.retention import trust_clock_hint


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
        "office_data": decision.office_data.as_json() if decision.office_data else None,
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


def print_log_damage(check: LogCheck) -> None:
    """What a start found wrong with the visit log (stderr), and what it means."""
    for message in check.messages():
        click.echo(message, err=True)
    click.echo(damage_hint(), err=True)


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
    from kiosk.vision.sources import open_source

    settings = Settings.load(home.settings_file)
    live = source.isdigit()
    stop = threading.Event()
    with Gate.from_settings(
        home,
        settings,
        direction=direction,
        decoder=decoder,
        guard=guard,
        stop=stop,
        on_wait=print_waiting,
    ) as the_gate:
        if the_gate.retention_held:
            click.echo(the_gate.retention_held, err=True)
        else:  # held for a clock behind the newest passage, or a jump back noticed before
            warning = the_gate.clock_warning()
            if warning is not None:
                click.echo(f"{warning.why} {trust_clock_hint()}", err=True)
        if the_gate.log_damage is not None:
            print_log_damage(the_gate.log_damage)
        frames = open_source(source, realtime=live if realtime is None else realtime, loop=loop)
        scans = the_gate.scan_loop(frames, drop_stale=live or loop)
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


def register(cli: click.Group) -> None:
    cli.add_command(gate)
