"""Gatepass: the gate kiosk for residential compounds under lockdown."""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files

__version__ = "0.1.0"

BUILD_INFO = "build_info.json"


@cache
def build_info() -> dict[str, str]:
    """What ``./dev build`` wrote into a built program (``kiosk/build_info.json``:
    ``commit``, ``date``, ``platform``); empty when running from the source."""
    try:
        text = files(__name__).joinpath(BUILD_INFO).read_text(encoding="utf-8")
        found = json.loads(text)
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}


def version_text() -> str:
    """The version and the build: ``0.1.0 (build 90408de, 2026-11-30, linux-x86_64)``,
    or ``0.1.0 (from source)``."""
    info = build_info()
    if not info:
        return f"{__version__} (from source)"
    parts = [f"build {info.get('commit', '?')}", info.get("date", ""), info.get("platform", "")]
    return f"{__version__} ({', '.join(p for p in parts if p)})"
