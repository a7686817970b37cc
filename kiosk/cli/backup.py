"""``kiosk backup`` and ``kiosk restore``: the checkpoint's home in one file, and put
back from it (docs/backup.md)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from kiosk.cli.context import Context, cli_actor, pass_ctx
from kiosk.cli.settings import settings_of
from kiosk.core.clock import utcnow
from kiosk.core.errors import UserError
from kiosk.core.i18n import tr
from kiosk.home import Home


@click.command("backup")
@click.option(
    "--to",
    "folder",
    type=click.Path(file_okay=False),
    default=None,
    help="The folder (or removable drive) to write to. Default: the backup_folder setting.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
@pass_ctx
def backup_command(ctx: Context, folder: str | None, as_json: bool) -> None:
    """Back up the checkpoint (database, keys, signed visit records, settings) into one
    file in FOLDER, encrypted with the database's key; safe while the gate runs. The
    newest backup_keep of this checkpoint's backups there are kept."""
    from kiosk.store.backup import backup

    settings = settings_of(ctx)
    where = folder or settings.backup_folder
    if not where:
        raise UserError(
            tr("Say where to write the backup: --to FOLDER, or set the backup_folder setting.")
        )
    done = backup(
        ctx.home,
        Path(where).expanduser(),
        utcnow(),
        keep=settings.backup_keep,
        db=ctx.db,
        actor=cli_actor(),
    )
    if as_json:
        found = {
            "path": str(done.path),
            "size": done.size,
            "created": done.created.isoformat(),
            "removed": [str(p) for p in done.removed],
        }
        click.echo(json.dumps(found, ensure_ascii=False))
        return
    click.echo(tr("Backup written: {path} ({size} MB).", path=done.path, size=_mb(done.size)))
    if done.removed:
        click.echo(tr("{count} older backup(s) removed.", count=len(done.removed)))


def _mb(size: int) -> str:
    return f"{size / 1e6:.1f}"


@click.command("restore")
@click.argument("file", type=click.Path(dir_okay=False, exists=True))
@click.option(
    "--home",
    "into",
    type=click.Path(file_okay=False),
    default=None,
    help="The checkpoint folder to restore into. Default: the command's home.",
)
@click.option(
    "--replace",
    is_flag=True,
    help="Put the backup in place of the checkpoint there (which is kept aside, renamed).",
)
@click.option("--check-only", is_flag=True, help="Check the backup whole; change nothing.")
@pass_ctx
def restore_command(
    ctx: Context, file: str, into: str | None, replace: bool, check_only: bool
) -> None:
    """Restore a checkpoint from a backup FILE, after checking all of it (its contents,
    its database with the checkpoint's key, its signed visit records). A folder that
    holds a checkpoint is replaced only with --replace; that one is then renamed aside,
    never deleted. Close the gate window and the office first."""
    from kiosk.store.backup import restore

    ctx.close()
    home = Home.resolve(into) if into else ctx.home
    done = restore(Path(file), home, replace=replace, check_only=check_only, actor=cli_actor())
    made = f"{done.created.astimezone():%Y-%m-%d %H:%M}"
    if done.checked_only:
        click.echo(tr("The backup of {time} is whole and can be restored.", time=made))
        return
    click.echo(tr("The backup of {time} is restored into {path}.", time=made, path=done.home))
    if done.replaced_to is not None:
        click.echo(
            tr("The checkpoint that was there is kept aside in {path}.", path=done.replaced_to)
        )
    click.echo(
        tr("To open it without the unlock card on this computer, run 'kiosk db remember-key'.")
    )


def register(cli: click.Group) -> None:
    cli.add_command(backup_command)
    cli.add_command(restore_command)
