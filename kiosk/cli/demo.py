"""``kiosk demo``: Gatepass on its built-in demo, no webcam and no set-up needed."""

from __future__ import annotations

import tempfile
from pathlib import Path

import click

from kiosk.cli.context import Context, pass_ctx
from kiosk.cli.window import window_language
from kiosk.core.i18n import tr
from kiosk.home import Home


@click.command()
@click.option(
    "--headless", is_flag=True, help="No window: print each decision (the demo video plays once)."
)
@click.option("--json", "as_json", is_flag=True, help="With --headless: JSON lines.")
@pass_ctx
def demo(ctx: Context, headless: bool, as_json: bool) -> None:
    """Run Gatepass on a demo checkpoint and a demo video as the camera.

    The demo checkpoint is made in a temporary folder (deleted afterwards) unless
    --home is given, where it is kept and reused.
    """
    from kiosk.demo import DEMO_PIN, build_demo

    if not headless:
        from kiosk.ui.app import require_screen

        require_screen()  # before the set-up, not after
    explicit = click.get_current_context().find_root().params.get("home")
    with tempfile.TemporaryDirectory(prefix="gatepass-demo-") as tmp:
        home = ctx.home if explicit else Home(Path(tmp) / "home")
        click.echo(tr("Making the demo checkpoint in {path} ...", path=home.root), err=True)
        if headless:
            made = build_demo(home)
        else:
            from kiosk.ui.app import preparing

            text = tr("Preparing the demo: a checkpoint, its residents and a camera video ...")
            with preparing(home, text, lang=window_language()) as progress:
                made = build_demo(home, progress=progress)
        click.echo(tr("The demo's admin PIN is {pin}.", pin=DEMO_PIN), err=True)
        if not explicit:
            from kiosk.logs import setup_logging

            setup_logging(home, program="gate")  # the demo's log goes with its checkpoint
        if headless:
            from kiosk.cli.gate import run_gate

            run_gate(
                home,
                str(made.video),
                direction="auto",
                decoder=None,
                realtime=True,
                loop=False,
                guard="demo",
                as_json=as_json,
            )
            return
        from kiosk.ui.app import run_window

        run_window(home, camera=str(made.video), demo=True, windowed=True, lang=window_language())


def register(cli: click.Group) -> None:
    cli.add_command(demo)
