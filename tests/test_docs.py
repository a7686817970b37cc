"""Every command is documented in docs/cli.md, and the README's commands exist."""

from __future__ import annotations

from pathlib import Path

import click

from kiosk.cli import cli

REPO = Path(__file__).resolve().parent.parent


def command_paths(group: click.Group, prefix: str = "kiosk") -> list[str]:
    found = []
    for name, command in sorted(group.commands.items()):
        path = f"{prefix} {name}"
        if isinstance(command, click.Group):
            found += command_paths(command, path)
        else:
            found.append(path)
    return found


def test_every_command_is_in_cli_md() -> None:
    doc = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    missing = [p for p in command_paths(cli) if f"## `{p}" not in doc]
    assert not missing, f"undocumented in docs/cli.md: {missing}"


def test_every_option_is_in_cli_md() -> None:
    doc = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    missing = []

    def walk(group: click.Group, prefix: str) -> None:
        for name, command in group.commands.items():
            if isinstance(command, click.Group):
                walk(command, f"{prefix} {name}")
                continue
            for param in command.params:
                documented = any(opt in doc for opt in param.opts if opt.startswith("--"))
                if isinstance(param, click.Option) and not documented:
                    missing.append(f"{prefix} {name} {param.opts}")

    walk(cli, "kiosk")
    assert not missing, f"options not in docs/cli.md: {missing}"


def test_readme_commands() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "    ./dev demo\n" in readme
    assert "    ./dev test\n" in readme
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert "./dev test" in ci


def test_every_setting_is_documented() -> None:
    from kiosk.settings import SETTINGS

    doc = (REPO / "docs" / "settings.md").read_text(encoding="utf-8")
    missing = [s.name for s in SETTINGS if f"| `{s.name}` |" not in doc]
    assert not missing, f"settings not in docs/settings.md: {missing}"
