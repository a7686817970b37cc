"""``kiosk autostart``: start the gate window when this user logs in (or no longer)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import click

from kiosk.core.errors import UserError
from kiosk.core.i18n import tr

ENTRY = "gatepass.desktop"


def window_command() -> list[str]:
    """How to start the window with no terminal: the built ``gatepass-window`` beside
    this program, else the installed gui-script, else this Python with ``-m kiosk run``."""
    if getattr(sys, "frozen", False):
        beside = Path(sys.executable).with_name(
            "gatepass-window.exe" if sys.platform == "win32" else "gatepass-window"
        )
        if beside.exists():
            return [str(beside)]
    found = shutil.which("gatepass-window")
    if found:
        return [found]
    return [sys.executable, "-m", "kiosk", "run"]


def autostart_file() -> Path:
    """Where the login session looks: XDG's autostart folder, or Windows' Startup."""
    if sys.platform == "win32":
        appdata = os.environ.get("APPDATA")
        if not appdata:
            raise UserError(tr("APPDATA is not set: cannot find the Startup folder."))
        return (
            Path(appdata)
            / "Microsoft"
            / "Windows"
            / "Start Menu"
            / "Programs"
            / "Startup"
            / "gatepass.cmd"
        )
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "autostart" / ENTRY


def entry_text(command: list[str]) -> str:
    if sys.platform == "win32":
        quoted = " ".join(f'"{part}"' for part in command)
        return f'@echo off\r\nstart "" {quoted}\r\n'
    quoted = " ".join(f'"{part}"' if " " in part else part for part in command)
    return (
        "[Desktop Entry]\nType=Application\nName=Gatepass\nName[zh_CN]=Gatepass 门岗通行\n"
        f"Exec={quoted}\nTerminal=false\nX-GNOME-Autostart-enabled=true\n"
    )


@click.command()
@click.argument("state", type=click.Choice(["on", "off", "status"]), default="status")
def autostart(state: str) -> None:
    """Start the gate window when this user logs in: on, off, or status (default)."""
    path = autostart_file()
    if state == "on":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(entry_text(window_command()), encoding="utf-8")
        click.echo(tr("The gate window starts at login ({path}).", path=path))
    elif state == "off":
        path.unlink(missing_ok=True)
        click.echo(tr("The gate window no longer starts at login."))
    elif path.exists():
        click.echo(tr("The gate window starts at login ({path}).", path=path))
    else:
        click.echo(tr("The gate window does not start at login."))


def register(cli: click.Group) -> None:
    cli.add_command(autostart)
