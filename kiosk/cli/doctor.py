"""``kiosk doctor``: what stands between this laptop and a working gate."""

from __future__ import annotations

import json
import logging

import click

from kiosk.cli.context import Context, pass_ctx
from kiosk.cli.settings import settings_of
from kiosk.core.clock import utcnow
from kiosk.core.i18n import tr
from kiosk.doctor import checks
from kiosk.doctor.findings import Finding, Status, exit_code


@click.command()
@click.option(
    "--json", "as_json", is_flag=True, help="One JSON object: the findings and the exit code."
)
@click.option(
    "--no-camera",
    is_flag=True,
    help="Do not open the camera (while the gate window uses it, check from its Settings).",
)
@click.option("--offline", is_flag=True, help="Do not ask the hub for its clock.")
@pass_ctx
def doctor(ctx: Context, as_json: bool, no_camera: bool, offline: bool) -> None:
    """Check the camera, decoder, database, keys, disk, clock, exchange, sound, fonts
    and screen, and say what to do. Exit code 0: all in order; 1: warnings; 2: a
    problem that stops the gate."""
    settings = settings_of(ctx)
    skipped = Finding("camera", Status.SKIP, tr("Camera"), tr("Not opened (--no-camera)."))
    findings = checks.run(
        ctx.home,
        settings,
        utcnow(),
        camera_check=(lambda: skipped) if no_camera else None,
        ask_hub=not offline,
    )
    from kiosk.ui.app import has_screen, install_qt_logging
    from kiosk.ui.doctor import finding_text, qt_checks
    from kiosk.ui.qt_app import ensure_gui_app

    install_qt_logging()
    qt_log = logging.getLogger("kiosk.qt")
    level = qt_log.level
    qt_log.setLevel(logging.ERROR)  # the audio stack's probes of what it lacks: noise here
    try:
        ensure_gui_app(offscreen=not has_screen())
        findings += qt_checks()
    finally:
        qt_log.setLevel(level)
    code = exit_code(findings)
    if as_json:
        click.echo(
            json.dumps(
                {"exit_code": code, "findings": [f.as_json() for f in findings]},
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        for finding in findings:
            click.echo(finding_text(finding))
    click.get_current_context().exit(code)


def register(cli: click.Group) -> None:
    cli.add_command(doctor)
