"""``kiosk run`` (the gate window on this checkpoint's camera) and ``kiosk office``."""

from __future__ import annotations

import click

from kiosk.cli.context import Context, pass_ctx
from kiosk.core.errors import UserError
from kiosk.core.i18n import tr

window_lang_option = click.option(
    "--lang",
    "window_lang",
    type=click.Choice(["zh_CN", "en"]),
    default=None,
    help="Language of the window. Default: kiosk's --lang, else the language setting, "
    "else the system's.",
)


def window_language(window_lang: str | None = None) -> str | None:
    """The language a window command was given: its own --lang, else kiosk's
    (``kiosk --lang zh_CN demo``); None when neither (the language setting decides).
    Every window command passes it to the window, which otherwise sets its own."""
    return window_lang or click.get_current_context().find_root().params.get("lang")


def _checkpoint_and_language(ctx: Context, window_lang: str | None) -> str | None:
    """The checkpoint must exist; the window's language: ``window_language()``."""
    if not ctx.home.is_initialised():
        raise UserError(tr("No checkpoint in {path}: run 'kiosk init' first.", path=ctx.home.root))
    return window_language(window_lang)


def _guard_name(text: str) -> str:
    from kiosk.core.identity import IdentityError, check_name

    try:
        return check_name(text)
    except IdentityError as exc:
        raise UserError(str(exc)) from None


@click.command("run")
@click.option(
    "--camera",
    default=None,
    metavar="INDEX|PATH",
    help="Webcam index, video file or image folder. Default: the camera setting.",
)
@click.option("--windowed", is_flag=True, help="A normal window instead of full screen.")
@click.option(
    "--guard",
    default=None,
    metavar="NAME",
    help="The guard on duty, signed in at start. Default: asked for as the window opens.",
)
@window_lang_option
@pass_ctx
def run(
    ctx: Context, camera: str | None, windowed: bool, guard: str | None, window_lang: str | None
) -> None:
    """Open the gate window: camera, verdicts, today's counts."""
    lang = _checkpoint_and_language(ctx, window_lang)
    if guard is not None:
        guard = _guard_name(guard)
    from kiosk.ui.app import run_window

    code = run_window(ctx.home, camera=camera, windowed=windowed, lang=lang, guard=guard)
    if code:
        raise SystemExit(code)


@click.command("office")
@window_lang_option
@pass_ctx
def office(ctx: Context, window_lang: str | None) -> None:
    """Open the office (admin PIN): register, passes, holds, visitors, reports, tracing."""
    lang = _checkpoint_and_language(ctx, window_lang)
    from kiosk.ui.app import run_office

    code = run_office(ctx.home, lang=lang)
    if code:
        raise SystemExit(code)


def register(cli: click.Group) -> None:
    cli.add_command(run)
    cli.add_command(office)
