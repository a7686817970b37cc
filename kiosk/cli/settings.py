"""``kiosk settings``: the checkpoint's settings (``settings.toml`` in its home)."""

from __future__ import annotations

import json

import click

from kiosk.cli.context import Context, cli_actor, pass_ctx
from kiosk.core.i18n import tr
from kiosk.settings import SETTINGS, Settings
from kiosk.store.checkpoint import record_settings_changes


def settings_of(ctx: Context) -> Settings:
    return Settings.load(ctx.home.settings_file)


@click.group("settings")
def settings_group() -> None:
    """The checkpoint's settings (stored in settings.toml in its home)."""


@settings_group.command("show")
@click.option("--json", "as_json", is_flag=True, help="One JSON object of name: value.")
@pass_ctx
def settings_show(ctx: Context, as_json: bool) -> None:
    """Every setting, its value and what it means."""
    values = settings_of(ctx).values()
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
    current, changes = settings_of(ctx).updated({name: value})
    current.save()
    record_settings_changes(db, cli_actor(), "cli", changes)
    click.echo(f"{name} = {current.values()[name]!r}")


def register(cli: click.Group) -> None:
    cli.add_command(settings_group)
