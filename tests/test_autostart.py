"""``kiosk autostart on|off|status``: the XDG autostart entry for the gate window."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import run


def test_autostart_writes_and_removes_the_login_entry(
    home_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    entry = tmp_path / "config" / "autostart" / "gatepass.desktop"
    assert "does not start" in run(home_dir, "autostart").stdout
    run(home_dir, "autostart", "on")
    text = entry.read_text(encoding="utf-8")
    assert text.startswith("[Desktop Entry]") and "Exec=" in text and "Terminal=false" in text
    exec_line = next(line for line in text.splitlines() if line.startswith("Exec="))
    assert "gatepass-window" in exec_line or exec_line.endswith("-m kiosk run")
    assert str(entry) in run(home_dir, "autostart", "status").stdout
    run(home_dir, "autostart", "off")
    assert not entry.exists()
