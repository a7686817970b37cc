"""The layer rule, enforced: inner layers never import outer ones, and no Qt below ui."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

KIOSK = Path(__file__).resolve().parent.parent / "kiosk"

# package -> prefixes it must never import
FORBIDDEN = {
    "core": (
        "PySide6",
        "cv2",
        "zxingcpp",
        "pyzbar",
        "numpy",
        "sqlite_utils",
        "sqlite3",
        "kiosk.store",
        "kiosk.vision",
        "kiosk.ui",
        "kiosk.cli",
        "kiosk.gate",
    ),
    "store": (
        "PySide6",
        "cv2",
        "zxingcpp",
        "pyzbar",
        "kiosk.vision",
        "kiosk.ui",
        "kiosk.cli",
        "kiosk.gate",
    ),
    "vision": (
        "PySide6",
        "sqlite_utils",
        "sqlite3",
        "kiosk.store",
        "kiosk.ui",
        "kiosk.cli",
        "kiosk.gate",
    ),
}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports(layer: str) -> None:
    bad = []
    for path in sorted((KIOSK / layer).rglob("*.py")):
        for name in imports_of(path):
            if any(name == p or name.startswith(p + ".") for p in FORBIDDEN[layer]):
                bad.append(f"{path.relative_to(KIOSK.parent)} imports {name}")
    assert not bad, "\n".join(bad)


def test_qt_only_under_ui() -> None:
    bad = []
    for path in sorted(KIOSK.rglob("*.py")):
        rel = path.relative_to(KIOSK)
        if rel.parts[0] in ("ui",):
            continue
        for name in imports_of(path):
            if name.startswith("PySide6.QtWidgets"):
                bad.append(f"{rel} imports {name}")
    assert not bad, "\n".join(bad)
