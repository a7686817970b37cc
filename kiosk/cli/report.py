"""``kiosk report``: reports for the street office."""

from __future__ import annotations

from pathlib import Path

import click

from kiosk.cli.context import Context, paper_language_option, pass_ctx
from kiosk.core.errors import UserError
from kiosk.core.i18n import tr


@click.group()
def report() -> None:
    """Reports for the street office."""


@report.command("daily")
@click.option("--date", "day", default=None, help="The day (YYYY-MM-DD); default today.")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@paper_language_option("report_lang", "Language of the report.")
@pass_ctx
def report_daily(ctx: Context, day: str | None, out: Path, report_lang: str) -> None:
    """A one-to-two page PDF: counts, passages per hour, stops and fevers, guards."""
    from datetime import date as date_type

    from kiosk.store.stats import daily_summary
    from kiosk.ui.printing.daily_report import report_written, write_daily_pdf

    try:
        the_day = date_type.fromisoformat(day) if day else date_type.today()
    except ValueError:
        raise UserError(
            tr("cannot read the time {text!r}: use YYYY-MM-DD or YYYY-MM-DD HH:MM", text=day)
        ) from None
    pages = write_daily_pdf(daily_summary(ctx.db, the_day), out, lang=report_lang)
    click.echo(report_written(pages, out))


def register(cli: click.Group) -> None:
    cli.add_command(report)
