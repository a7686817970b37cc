"""The layers of docs/architecture.md, enforced by import-linter's contracts
(``[tool.importlinter]`` in pyproject.toml): inner layers never import outer ones,
through other modules neither, and Qt only inside ``kiosk.ui``."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LINT = "from importlinter.cli import lint_imports_command; lint_imports_command()"


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` on the ``kiosk`` package and the pyproject.toml under ``root``."""
    env = dict(os.environ, PYTHONPATH=str(root), NO_COLOR="1", COLUMNS="200")
    return subprocess.run(
        [sys.executable, "-c", LINT, "--no-cache", str(root / "pyproject.toml")],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def contracts() -> list[dict[str, object]]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    found: list[dict[str, object]] = config["tool"]["importlinter"]["contracts"]
    return found


def test_contracts_kept() -> None:
    result = lint_imports(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_every_layer_has_a_contract() -> None:
    """Each package or module of ``kiosk`` is the subject of a contract, so a new layer
    (or a renamed one) cannot slip past the check."""
    subjects: set[str] = set()
    for contract in contracts():
        for key in ("source_modules", "protected_modules"):
            subjects.update(str(m) for m in contract.get(key, []))  # type: ignore[attr-defined]
    layers = {
        f"kiosk.{p.stem}"
        for p in (REPO / "kiosk").iterdir()
        if (p.suffix == ".py" and p.stem not in ("__init__", "__main__"))
        or (p.is_dir() and (p / "__init__.py").exists())
    }
    assert layers - subjects == set()


def test_every_third_party_import_is_named() -> None:
    """A new third-party import must be placed: named in the contracts, so the layers
    that may not use it say so."""
    import grimp

    named: set[str] = set()
    for contract in contracts():
        for key in ("forbidden_modules", "protected_modules"):
            named.update(str(m) for m in contract.get(key, []))  # type: ignore[attr-defined]
    graph = grimp.build_graph("kiosk", include_external_packages=True, cache_dir=None)
    imported = {
        m.split(".")[0]
        for m in graph.modules
        if not m.startswith("kiosk") and m.split(".")[0] not in sys.stdlib_module_names
    }
    assert imported - named == set()


def test_a_transitive_violation_is_reported(tmp_path: Path) -> None:
    """The contracts see chains: with ``kiosk.home`` reaching into the UI (a lazy import
    inside a function), ``kiosk.store`` breaks its contract too, through the home."""
    root = tmp_path / "src"
    shutil.copytree(
        REPO / "kiosk",
        root / "kiosk",
        ignore=shutil.ignore_patterns("__pycache__", "resources"),
    )
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    with (root / "kiosk" / "home.py").open("a", encoding="utf-8") as f:
        f.write("\n\ndef _probe() -> None:\n    from kiosk.ui import theme  # noqa: F401\n")
    result = lint_imports(root)
    report = result.stdout
    assert result.returncode == 1, report + result.stderr
    name = {c["id"]: c["name"] for c in contracts()}
    assert f"{name['store']} BROKEN" in report
    chain = (
        r"kiosk\.store is not allowed to import kiosk\.ui:\s+"
        r"-\s+kiosk\.store\.\S+ -> kiosk\.home \(l\.\d+\)\s+"
        r"kiosk\.home -> kiosk\.ui\.theme \(l\.\d+\)"
    )
    assert re.search(chain, report), report
    assert f"{name['core']} KEPT" in report
