"""``kiosk init`` and ``kiosk keys``: making a checkpoint and moving its public keys."""

from __future__ import annotations

import os
from pathlib import Path

import click
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.cli.context import Context, pass_ctx
from kiosk.core.errors import UserError
from kiosk.core.i18n import tr
from kiosk.core.keys import (
    bundle_from_json,
    bundle_to_json,
    key_is_encrypted,
    load_private_key,
)
from kiosk.store.checkpoint import create_checkpoint, record_audit, trust_keys, trusted_keys

PASSPHRASE_ENV = "KIOSK_KEY_PASSPHRASE"


def issuer_key(ctx: Context) -> Ed25519PrivateKey:
    """The issuer's private key: a clear error on a public-only checkpoint.

    A passphrase comes from ``KIOSK_KEY_PASSPHRASE`` or is asked for at the terminal.
    """
    path = ctx.home.private_key
    if not path.exists():
        raise UserError(
            tr(
                "This checkpoint holds no issuer key ({path}): passes are issued at the "
                "committee's computer.",
                path=path,
            )
        )
    passphrase = os.environ.get(PASSPHRASE_ENV)
    if passphrase is None and key_is_encrypted(path):
        passphrase = click.prompt(tr("Passphrase of the issuer key"), hide_input=True)
    return load_private_key(path, passphrase)


def has_issuer_key(ctx: Context) -> bool:
    return ctx.home.private_key.exists()


def gate_key(ctx: Context) -> Ed25519PrivateKey:
    """The gate's own key, which signs visitor codes only."""
    return load_private_key(ctx.home.gate_key, None)


@click.command()
@click.option("--name", default="", help="The checkpoint's name, e.g. the compound and gate.")
@click.option(
    "--passphrase/--no-passphrase",
    default=False,
    help="Protect the issuer key with a passphrase (asked for, or KIOSK_KEY_PASSPHRASE).",
)
@click.option(
    "--public-only",
    is_flag=True,
    help="A gate that verifies only: no issuer key; import the office's public keys.",
)
@pass_ctx
def init(ctx: Context, name: str, passphrase: bool, public_only: bool) -> None:
    """Create a checkpoint: its folder, database and (unless --public-only) issuer key."""
    home = ctx.home
    if home.database.exists():
        raise UserError(tr("A checkpoint already exists at {path}.", path=home.root))
    secret: str | None = None
    if passphrase and not public_only:
        secret = os.environ.get(PASSPHRASE_ENV) or click.prompt(
            tr("Passphrase for the new issuer key"),
            hide_input=True,
            confirmation_prompt=True,
        )
    create_checkpoint(home, name, issuer=not public_only, passphrase=secret)
    click.echo(tr("Checkpoint created at {path}.", path=home.root))
    if public_only:
        click.echo(
            tr("No issuer key: import the office's keys with 'kiosk keys import-public FILE'.")
        )
    else:
        click.echo(
            tr("Issuer key: {path} (keep it secret; back it up offline).", path=home.private_key)
        )


@click.group()
def keys() -> None:
    """Public keys: what this checkpoint trusts, and moving them between computers."""


@keys.command("export-public")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@pass_ctx
def export_public(ctx: Context, out: Path) -> None:
    """Write every trusted public key to FILE, for the gates' computers."""
    found = trusted_keys(ctx.db)
    out.write_text(bundle_to_json(found), encoding="utf-8")
    click.echo(tr("Wrote {count} public key(s) to {path}.", count=len(found), path=out))


@keys.command("import-public")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@pass_ctx
def import_public(ctx: Context, file: Path) -> None:
    """Trust the public keys in FILE (written by 'kiosk keys export-public')."""
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(
            tr(
                "Cannot read {path}: {reason}",
                path=file,
                reason=getattr(exc, "strerror", None) or exc,
            )
        ) from None
    bundle = bundle_from_json(text)
    added, known = trust_keys(ctx.db, bundle)
    record_audit(ctx.db, "cli", "keys.import", {"file": file.name, "added": added})
    click.echo(tr("{added} key(s) added, {known} already trusted.", added=added, known=known))


@keys.command("list")
@pass_ctx
def list_keys(ctx: Context) -> None:
    """The public keys this checkpoint trusts."""
    for key in trusted_keys(ctx.db):
        kinds = ",".join(sorted(k.value for k in key.kinds))
        click.echo(f"{key.key_id}  {kinds}  {key.label}")


def register(cli: click.Group) -> None:
    cli.add_command(init)
    cli.add_command(keys)
