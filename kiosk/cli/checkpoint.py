"""``kiosk init``, ``kiosk pin`` and ``kiosk keys``: making a checkpoint, its admin PIN,
and moving its public keys."""

from __future__ import annotations

import math
import os
from pathlib import Path

import click
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.cli.context import Context, cli_actor, pass_ctx
from kiosk.cli.db import card_option, hand_over_key
from kiosk.core.atomic import whole_file
from kiosk.core.clock import utcnow
from kiosk.core.errors import UserError
from kiosk.core.i18n import tr, trn
from kiosk.core.keys import (
    bundle_from_json,
    bundle_to_json,
    key_id_of,
    key_is_encrypted,
    load_private_key,
)
from kiosk.core.passes import PassKind
from kiosk.core.pin import hash_pin, is_set, pin_problem
from kiosk.home import Home
from kiosk.settings import move_pin_hash_out
from kiosk.store.checkpoint import (
    create_checkpoint,
    record_audit,
    trust_keys,
    trusted_keys,
)
from kiosk.store.db import connect
from kiosk.store.db_key import KEY_ENV, key_in_use
from kiosk.store.pin_lock import (
    adopt_pin_hash,
    check_pin,
    pin_hash,
    pin_locked_for,
    set_pin_hash,
)

PASSPHRASE_ENV = "KIOSK_KEY_PASSPHRASE"
ADMIN_PIN_ENV = "KIOSK_ADMIN_PIN"
ENROL_CODE_ENV = "KIOSK_ENROL_CODE"


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


def require_unmasking_allowed(ctx: Context) -> None:
    """Unmasked personal data only where this checkpoint's issuer key is (the office).

    The key file is loaded (its passphrase from ``KIOSK_KEY_PASSPHRASE`` or asked for,
    hidden) and its public half must be one this checkpoint trusts as its issuer (a
    key in the ``keys`` table that signs resident passes): an empty, made-up or
    foreign key file is refused. Every ``--unmasked`` goes through here.
    """
    path = ctx.home.private_key
    if not path.exists():
        raise UserError(
            tr("--unmasked needs the issuer's private key on this computer ({path}).", path=path)
        )
    key_id = key_id_of(issuer_key(ctx).public_key())
    issuers = {k.key_id for k in trusted_keys(ctx.db) if PassKind.RESIDENT in k.kinds}
    if key_id not in issuers:
        raise UserError(
            tr(
                "--unmasked refused: the key in {path} is not this checkpoint's issuer key.",
                path=path,
            )
        )


def has_issuer_key(ctx: Context) -> bool:
    return ctx.home.private_key.exists()


def gate_key(ctx: Context) -> Ed25519PrivateKey:
    """The gate's own key, which signs visitor codes only."""
    return load_private_key(ctx.home.gate_key, None)


def _checked_pin(text: str) -> str:
    problem = pin_problem(text)
    if problem:
        raise click.UsageError(problem)  # click.prompt says it and asks again
    return text


def new_admin_pin(given: str | None) -> str:
    """A new admin PIN: ``--pin``, else ``KIOSK_ADMIN_PIN``, else asked twice (hidden).

    A weak or malformed PIN is refused (:func:`kiosk.core.pin.pin_problem`): asked again
    at the terminal, an error otherwise.
    """
    pin = given if given is not None else os.environ.get(ADMIN_PIN_ENV)
    if pin is not None:
        problem = pin_problem(pin)
        if problem:
            raise UserError(problem)
        return pin
    try:
        return str(
            click.prompt(
                tr("New admin PIN (4 to 12 digits)"),
                hide_input=True,
                confirmation_prompt=tr("The new PIN again"),
                value_proc=_checked_pin,
            )
        )
    except click.Abort:
        raise UserError(
            tr("No admin PIN given: type it when asked, or give --pin or {env}.", env=ADMIN_PIN_ENV)
        ) from None


def require_admin_pin(ctx: Context) -> None:
    """The admin PIN, from ``KIOSK_ADMIN_PIN`` or asked for (hidden); refused if wrong."""
    if not is_set(pin_hash(ctx.db)):
        raise UserError(tr("No admin PIN is set here. Set one with 'kiosk pin set' first."))
    refuse_if_pin_locked(ctx)
    given = os.environ.get(ADMIN_PIN_ENV)
    if given is None:
        given = click.prompt(tr("Admin PIN"), hide_input=True, default="", show_default=False)
    if not checked_admin_pin(ctx, given):
        raise UserError(tr("Wrong PIN."))


def refuse_if_pin_locked(ctx: Context) -> None:
    """A clear error while too many wrong PINs lock the checkpoint's PIN checks."""
    left = pin_locked_for(ctx.db)
    if left > 0:
        raise UserError(tr("Too many wrong PINs. Locked for {seconds} s.", seconds=math.ceil(left)))


def checked_admin_pin(ctx: Context, given: str) -> bool:
    """Whether ``given`` is the admin PIN (the hash in the database); a wrong one counts
    towards the lock on disk (:mod:`kiosk.store.pin_lock`), shared with the windows and
    every later run."""
    answer = check_pin(ctx.db, given, cli_actor(), "cli")
    if answer.locked_for > 0:
        raise UserError(
            tr("Too many wrong PINs. Locked for {seconds} s.", seconds=math.ceil(answer.locked_for))
        )
    return answer.right


def store_admin_pin(home: Home, pin: str, actor: str, via: str) -> None:
    """Hash ``pin`` into the database (an older home's hash in settings.toml moved in
    first, then replaced) and write who changed it to the audit log."""
    db = connect(home.database)
    try:
        move_pin_hash_out(home.settings_file, lambda legacy: adopt_pin_hash(db, legacy, actor))
        set_pin_hash(db, hash_pin(pin), actor, via)
    finally:
        db.close()


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
@click.option(
    "--pin",
    default=None,
    help="The admin PIN (4 to 12 digits, not 1234 or 1111). Default: KIOSK_ADMIN_PIN, "
    "else asked for twice.",
)
@card_option("gatepass-unlock-card.pdf")
@click.option(
    "--join",
    "join_file",
    default=None,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A gate joining a compound: the enrolment file the office wrote for it.",
)
@click.option(
    "--code",
    default=None,
    help="The enrolment code shown at the office (default: KIOSK_ENROL_CODE, else asked for).",
)
@pass_ctx
def init(
    ctx: Context,
    name: str,
    passphrase: bool,
    public_only: bool,
    pin: str | None,
    card_out: str,
    join_file: Path | None,
    code: str | None,
) -> None:
    """Create a checkpoint: its folder, its encrypted database and the unlock card, the
    admin PIN and (unless --public-only) the issuer key. With KIOSK_DB_KEY set, the
    database is encrypted with that key and no card is written. With --join, a gate of
    a compound: public keys only, and the office's register from the enrolment file."""
    home = ctx.home
    if home.database.exists():
        raise UserError(tr("A checkpoint already exists at {path}.", path=home.root))
    if join_file is not None:
        public_only = True
        code = code or os.environ.get(ENROL_CODE_ENV) or click.prompt(tr("Enrolment code"))
    admin_pin = new_admin_pin(pin)
    secret: str | None = None
    if passphrase and not public_only:
        secret = os.environ.get(PASSPHRASE_ENV) or click.prompt(
            tr("Passphrase for the new issuer key"),
            hide_input=True,
            confirmation_prompt=True,
        )
    actor = cli_actor()
    with home.kept_only_if_whole():  # a full disk half-way leaves no half a home
        if join_file is not None:
            from kiosk.store.enrolment import join

            opened = join(home, join_file, code or "", now=utcnow(), actor=actor)
            name = str(opened.header["name"])
        else:
            create_checkpoint(home, name, issuer=not public_only, passphrase=secret, actor=actor)
        store_admin_pin(home, admin_pin, actor, "cli")
    click.echo(tr("Checkpoint created at {path}.", path=home.root))
    if join_file is not None:
        click.echo(
            tr(
                "Joined the compound as {name}. Office key fingerprint: {fp} (compare it "
                "with the office's screen).",
                name=name,
                fp=opened.fingerprint,
            )
        )
    if os.environ.get(KEY_ENV, "").strip():
        click.echo(tr("Database encrypted with the key in {name}.", name=KEY_ENV))
    else:
        hand_over_key(home.database, key_in_use(home.database), Path(card_out), name.strip())
    click.echo(tr("Admin PIN set (change it with 'kiosk pin set')."))
    if join_file is not None:
        click.echo(tr("Next: 'kiosk exchange export' here, and import that bundle at the office."))
    elif public_only:
        click.echo(
            tr("No issuer key: import the office's keys with 'kiosk keys import-public FILE'.")
        )
    else:
        click.echo(
            tr("Issuer key: {path} (keep it secret; back it up offline).", path=home.private_key)
        )


@click.group()
def pin() -> None:
    """The admin PIN (opens the gate's settings, the office and exit)."""


@pin.command("set")
@click.option(
    "--pin",
    "new",
    default=None,
    help="The new PIN. Default: KIOSK_ADMIN_PIN, else asked for twice.",
)
@click.option(
    "--issuer-key",
    "with_issuer_key",
    is_flag=True,
    help="Prove it with the issuer key on this computer instead of the current PIN "
    "(a forgotten PIN).",
)
@pass_ctx
def pin_set(ctx: Context, new: str | None, with_issuer_key: bool) -> None:
    """Change the admin PIN: behind the current PIN (asked for) or the issuer key."""
    stored = pin_hash(ctx.db)  # (a clear error when there is no checkpoint here)
    via = "cli"
    if with_issuer_key:
        issuer_key(ctx)  # refuses without the key, or with a wrong passphrase
        via = "cli, issuer key"
    elif is_set(stored):
        refuse_if_pin_locked(ctx)
        current = click.prompt(
            tr("Current admin PIN"), hide_input=True, default="", show_default=False
        )
        if not checked_admin_pin(ctx, current):
            raise UserError(
                tr(
                    "Wrong PIN. Forgotten? 'kiosk pin set --issuer-key' on the committee's "
                    "computer."
                )
            )
    admin_pin = new_admin_pin(new)
    store_admin_pin(ctx.home, admin_pin, cli_actor(), via)
    click.echo(tr("Admin PIN changed."))


@click.group()
def keys() -> None:
    """Public keys: what this checkpoint trusts, and moving them between computers."""


@keys.command("export-public")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@pass_ctx
def export_public(ctx: Context, out: Path) -> None:
    """Write every trusted public key to FILE, for the gates' computers."""
    found = trusted_keys(ctx.db)
    with whole_file(out) as temp:
        temp.write_text(bundle_to_json(found), encoding="utf-8")
    click.echo(
        trn(
            "Wrote {count} public key to {path}.",
            "Wrote {count} public keys to {path}.",
            len(found),
            count=len(found),
            path=out,
        )
    )


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
    cli.add_command(pin)
    cli.add_command(keys)
