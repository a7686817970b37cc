"""The ``kiosk`` command: every office and gate job has a command, so it can be
scripted and tested. Each sub-module adds one group of commands.

Errors: a :class:`~kiosk.core.errors.KioskError` prints one line (in the user's
language) and exits non-zero; anything else is our bug: the traceback goes to the
log file and a one-line apology to the terminal.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

import click

from kiosk import version_text
from kiosk.cli.context import Context, pass_ctx
from kiosk.core.errors import KioskError
from kiosk.core.i18n import set_language, tr
from kiosk.logs import log_file, previous_crash, setup_logging
from kiosk.store import db_key
from kiosk.store.db import environment_fault
from kiosk.store.driver import is_plain

log = logging.getLogger("kiosk.cli")


class KioskGroup(click.Group):
    """Turns expected errors into one clear line; logs the unexpected ones."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KioskError as exc:
            click.echo(tr("error: {message}", message=exc), err=True)
            ctx.exit(exc.exit_code)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except KeyboardInterrupt:
            ctx.exit(130)
        except Exception as exc:
            fault = environment_fault(exc)  # a damaged file, a full disk: the machine's
            if fault is not None:
                log.error("%s in %s", exc, " ".join(sys.argv))
                click.echo(tr("error: {message}", message=fault), err=True)
                ctx.exit(fault.exit_code)
            log.exception("unexpected error in %s", " ".join(sys.argv))
            click.echo(
                tr(
                    "error: something went wrong inside Gatepass (our fault). "
                    "Details are in {log}.",
                    log=log_file(),
                ),
                err=True,
            )
            ctx.exit(70)


# The log file of each program (kiosk.logs): the windows apart from the commands.
PROGRAMS = {"run": "gate", "demo": "gate", "office": "office"}


@click.group(cls=KioskGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--home",
    type=click.Path(file_okay=False),
    envvar="KIOSK_HOME",
    help="The checkpoint's folder (database, keys, settings, logs). "
    "Default: KIOSK_HOME, else the platform's user-data folder.",
)
@click.option(
    "--lang",
    type=click.Choice(["zh_CN", "en"]),
    default=None,
    help="Language of messages. Default: the system's.",
)
@click.version_option(version_text(), prog_name="kiosk", message="%(prog)s %(version)s")
@click.pass_context
def cli(ctx: click.Context, home: str | None, lang: str | None) -> None:
    """Gatepass: the gate kiosk for residential compounds."""
    set_language(lang)
    ctx.obj = Context.create(home)
    setup_logging(ctx.obj.home, program=PROGRAMS.get(ctx.invoked_subcommand or "", "kiosk"))
    ctx.obj.home.tighten()  # a home an older Gatepass made: its files the owner's only
    db_key.ask_with(_ask_for_unlock_card if sys.stdin.isatty() else None)
    if is_plain(ctx.obj.home.database):
        click.echo(
            tr("note: this checkpoint's database is not encrypted: run 'kiosk db encrypt'."),
            err=True,
        )
    crash = previous_crash()
    if crash is not None:  # once: the next start is silent
        click.echo(
            tr(
                "note: Gatepass stopped unexpectedly (a crash) at {when}; the trace is in {path}.",
                when=crash.time_text(),
                path=crash.path,
            ),
            err=True,
        )


def _ask_for_unlock_card(database: Path) -> str | None:
    """At a terminal, when no key opens the database: its unlock card, scanned with a
    USB scanner (which types it) or typed; hidden."""
    click.echo(tr("The database {path} is encrypted and its key is not here.", path=database))
    text: str = click.prompt(
        tr("Scan the unlock card (or type its text)"),
        hide_input=True,
        default="",
        show_default=False,
        err=True,
    )
    return text.strip() or None


def _register() -> None:
    from kiosk.cli import (
        autostart,
        backup,
        checkpoint,
        db,
        demo,
        doctor,
        exchange,
        gate,
        holds,
        hub,
        idcard,
        passes,
        purge,
        report,
        residents,
        settings,
        trace,
        vision,
        visitors,
        visits,
        window,
    )

    for module in (
        checkpoint,
        residents,
        passes,
        vision,
        idcard,
        gate,
        visits,
        holds,
        visitors,
        exchange,
        hub,
        settings,
        purge,
        trace,
        report,
        window,
        demo,
        doctor,
        autostart,
        db,
        backup,
    ):
        module.register(cli)


_register()


def gui_main() -> None:
    """The window with no terminal behind it (the desktop's icon; ``gatepass-window`` of
    the build and of ``[project.gui-scripts]``): the gate on this laptop's checkpoint,
    or the demo where none is set up yet. Given arguments, it is ``kiosk`` itself."""
    if len(sys.argv) <= 1:
        from kiosk.home import Home

        home = Home.resolve(os.environ.get("KIOSK_HOME") or None)
        sys.argv[1:] = ["run"] if home.is_initialised() else ["demo"]
    main()


def main() -> None:
    try:
        cli(prog_name="kiosk")
    finally:
        if "PySide6.QtCore" in sys.modules:  # a command made a Qt application
            from kiosk.ui.qt_app import end_gui_app

            end_gui_app()


__all__ = ["Context", "cli", "gui_main", "main", "pass_ctx"]
