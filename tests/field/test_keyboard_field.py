"""Keyboard only, on a real X server: a guard with no mouse registers a new and a
returning visitor, lets a resident through by hand (picking the person and the
reason), and, with no camera, reads what still works (issue 10, items 4-6).

Typing is a person's (120 ms a key: not a scanner burst); keys are real X key events
from xdotool. Keystrokes are counted as the guard would press them (``Strokes``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from kiosk.core.identity import make_id_number
from kiosk.home import Home
from kiosk.store.db import connect
from kiosk.store.register import search_residents
from tests.field.conftest import (
    FieldCheckpoint,
    KioskApp,
    KioskAppFactory,
    Xdo,
    dump,
    kiosk_env,
    wait_for,
)
from tests.helpers import raw_connect, run, run_json

HUMAN_MS = 240  # xdotool --delay: 120 ms between keys, a brisk person (a scanner: 2-40 ms)
ID_NUMBER = make_id_number("110101", date(1990, 5, 17), 123)


@dataclass
class Strokes:
    """The guard's keys, counted as pressed (a typed character is one key)."""

    xdo: Xdo
    count: int = 0
    log: list[str] = field(default_factory=list)

    def type(self, text: str) -> None:
        self.xdo.type(text, delay_ms=HUMAN_MS)
        self.count += len(text)
        self.log.append(text)

    def key(self, *keys: str) -> None:
        self.xdo.key(*keys, delay_ms=HUMAN_MS)
        self.count += len(keys)
        self.log.extend(keys)


def open_by_key(app: KioskApp, key: str, title: str, strokes: Strokes) -> str:
    """Press ``key`` on the gate and give the dialog called ``title`` the keyboard."""
    app.focus()
    strokes.key(key)
    dialog = app.xdo.wait_window(title, timeout=20)
    app.xdo.focus(dialog)
    return dialog


def gate_log(home: Path) -> str:
    path = home / "logs" / "gate.log"
    return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""


def start_gate(kiosk_app: KioskAppFactory, home: Path) -> KioskApp:
    """The gate up, its worker started (the camera tried: camera 97 is missing)."""
    app = kiosk_app(home)
    app.wait_ready()
    assert wait_for(lambda: "camera lost" in gate_log(home), timeout=30), app.stderr()
    return app


def recorded(home: Path, column: str) -> list[Any]:
    """One column of the visit log, oldest first, read from the database itself."""
    db = raw_connect(Home(home).database)
    try:
        return [row[0] for row in db.execute(f"SELECT {column} FROM visits ORDER BY at")]
    finally:
        db.close()


def search_residents_of(home: Path, text: str) -> list[dict[str, Any]]:
    """The residents the manual dialog lists for ``text``, in its order."""
    db = connect(Home(home).database)
    try:
        return search_residents(db, text)
    finally:
        db.close()


def visitors(home: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = run_json(home, "visitors", "list", "--json")
    return rows


def test_new_visitor_registered_by_keyboard_only(
    kiosk_app: KioskAppFactory, field_checkpoint: FieldCheckpoint, xdo: Xdo
) -> None:
    home = field_checkpoint.home
    app = start_gate(kiosk_app, home)
    keys = Strokes(xdo)
    open_by_key(app, "F5", "Register a visitor", keys)
    keys.type("zhao liu")
    keys.key("Tab")
    keys.type("13800139999")
    keys.key("Tab")
    keys.type(ID_NUMBER)
    keys.key("Tab")
    keys.type("3-2-5")  # in part: Down picks the second match, Tab takes it
    keys.key("Down", "Tab")
    keys.type("family")
    keys.key("Tab", "Tab", "Tab")  # from, plate: empty
    keys.type("36.6")
    keys.key("Return")
    rows = app.wait_visits(1)
    assert len(rows) == 1, dump(rows) + app.stderr()
    [visit] = rows
    assert visit["source"] == "register" and visit["level"] == "pass", dump(visit)
    assert visit["household"] == "3-2-502" and visit["temperature"] == 36.6
    [visitor] = visitors(home)
    assert visitor["name"] == "zhao liu"
    assert visitor["household"] == "3-2-502"
    assert visitor["phone"] == "138****9999"
    assert xdo.wait_window("Visitor code", timeout=20)  # the new code, large on screen
    assert app.alive(), app.stderr()
    print(f"new visitor, keyboard only: {keys.count} keys")


def test_returning_visitor_registered_by_keyboard_only(
    kiosk_app: KioskAppFactory, field_checkpoint: FieldCheckpoint, xdo: Xdo
) -> None:
    home = field_checkpoint.home
    first = json.loads(
        run(
            home, "visitors", "register", "--name", "Zhao Liu", "--phone", "13800139999",
            "--id-number", ID_NUMBER, "--destination", "3-2-501", "--temperature", "36.5",
            "--json",
        ).stdout
    )  # fmt: skip
    app = start_gate(kiosk_app, home)
    keys = Strokes(xdo)
    open_by_key(app, "F5", "Register a visitor", keys)
    keys.key("Tab")  # past the name: the phone says who it is
    keys.type("13800139999")
    keys.key("Return")  # known: the rest is filled in, on to the temperature
    keys.type("36.7")
    keys.key("Return")
    rows = app.wait_visits(2)
    assert len(rows) == 2, dump(rows) + app.stderr()
    newest = max(rows, key=lambda r: str(r["at"]))
    assert newest["source"] == "register" and newest["level"] == "pass", dump(newest)
    assert newest["temperature"] == 36.7
    assert recorded(home, "visitor_id") == [first["visitor_id"]] * 2
    listed = visitors(home)
    assert [v["id"] for v in listed] == [first["visitor_id"]], dump(listed)  # no new visitor
    assert app.alive(), app.stderr()
    assert keys.count == 19, keys.log  # F5 Tab, 11 digits, Enter, 36.7, Enter
    print(f"returning visitor, keyboard only: {keys.count} keys")


def test_manual_pass_picks_the_second_resident_and_a_reason(
    kiosk_app: KioskAppFactory, field_checkpoint: FieldCheckpoint, xdo: Xdo
) -> None:
    home = field_checkpoint.home
    app = start_gate(kiosk_app, home)
    keys = Strokes(xdo)
    open_by_key(app, "F6", "Let a resident through by hand", keys)
    keys.type("3-2-501")
    keys.key("Return")  # the household's residents, the first highlighted
    keys.key("Down", "Return")  # the second is the one at the gate
    keys.key("2")  # phone dead or lost
    rows = app.wait_visits(1)
    assert len(rows) == 1, dump(rows) + app.stderr()
    [visit] = rows
    assert visit["source"] == "manual" and visit["level"] == "pass", dump(visit)
    assert visit["note"] == "phone_dead"
    assert visit["household"] == "3-2-501"
    second = [r["id"] for r in search_residents_of(home, "3-2-501")][1]
    assert recorded(home, "resident_id") == [second]  # the second, not the first
    assert app.alive(), app.stderr()
    assert keys.count == 12, keys.log


DRIVER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from PySide6.QtWidgets import QApplication
    from kiosk.home import Home
    from kiosk.settings import Settings
    from kiosk.ui.main_window import MainWindow
    from kiosk.vision.health import HealthPolicy

    app = QApplication(sys.argv)
    home = Home(Path(sys.argv[1]))
    window = MainWindow(home, Settings.load(home.settings_file), camera="97", sound=False,
                        health=HealthPolicy(backoff_start=0.2, backoff_max=0.4))
    window.resize(1366, 768)
    window.show()
    window.start()
    deadline = time.monotonic() + 30
    while window.camera_state != "lost" and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.02)
    for _ in range(20):
        app.processEvents()
        time.sleep(0.02)
    window.grab().save(sys.argv[2])
    print(json.dumps({
        "state": window.camera_state,
        "banner": window.banner.text() if window.banner.isVisible() else "",
        "preview": window.preview.notice,
        "idle": [window.verdict.idle_en.text(), window.verdict.idle_zh.text()],
        "status": window.status.text(),
        "buttons": [b.text() for b in window.action_buttons],
        "frames": window.preview.frames_shown,
    }))
    window.close()
    """
)


def test_no_camera_screen_says_what_still_works(
    kiosk_app: KioskAppFactory, field_checkpoint: FieldCheckpoint, xdo: Xdo, tmp_path: Path
) -> None:
    """Camera 97 does not exist: the real window (xcb) tells the guard, everywhere the
    same, that the scanner and the keys still work; and they do."""
    home = field_checkpoint.home
    shot = tmp_path / "window.png"
    done = subprocess.run(
        [sys.executable, "-c", DRIVER, str(home), str(shot)],
        env={**kiosk_env(xdo.display), "PYTHONPATH": os.getcwd()},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["state"] == "lost", seen
    for words in ("No camera", "handheld scanner", "F6", "F5", "by itself"):
        assert words in seen["banner"], seen
    assert "kiosk cameras" not in json.dumps(seen)
    assert "handheld scanner" in seen["preview"] and "Starting" not in seen["preview"]
    assert seen["idle"][0] == "Scan your pass with the handheld scanner", seen
    assert "retrying" in seen["status"]
    assert seen["frames"] == 0
    assert [b.split("(")[-1] for b in seen["buttons"]] == ["F5)", "F6)", "F7)", "F10)"]
    assert shot.stat().st_size > 0

    # the real program: the banner is up, and the keys it names work
    app = start_gate(kiosk_app, home)
    screen = xdo.screenshot(tmp_path / "no-camera.png")
    if screen is not None:
        copy = os.environ.get("KIOSK_FIELD_SHOTS")
        if copy:
            Path(copy).mkdir(parents=True, exist_ok=True)
            (Path(copy) / "no-camera.png").write_bytes(screen.read_bytes())
    keys = Strokes(xdo)
    open_by_key(app, "F6", "Let a resident through by hand", keys)
    keys.type("3-2-502")
    keys.key("Return", "Return", "1")
    rows = app.wait_visits(1)
    assert [r["note"] for r in rows] == ["forgot_pass"], dump(rows) + app.stderr()
    assert app.alive(), app.stderr()


def test_every_gate_key_opens_its_dialog_and_esc_closes_it(
    kiosk_app: KioskAppFactory, field_checkpoint: FieldCheckpoint, xdo: Xdo
) -> None:
    """F5, F6, F7, F8 and F10 through the X server's keyboard (F10 is a menu key to some
    toolkits: not here); Esc closes each; nothing is recorded. A guard is signed in
    (``--guard``), so F7 opens the end of their shift, and F8 asks for the PIN first."""
    app = start_gate(kiosk_app, field_checkpoint.home)
    keys = Strokes(xdo)
    for key, title in (
        ("F5", "Register a visitor"),
        ("F6", "Let a resident through by hand"),
        ("F7", "End of shift"),
        ("F8", "Admin PIN to correct"),
        ("F10", "Administrator PIN"),
    ):
        dialog = open_by_key(app, key, title, keys)
        keys.key("Escape")
        assert wait_for(lambda d=dialog, t=title: d not in xdo.windows(t), timeout=10), key
    assert app.alive(), app.stderr()
    assert app.visits() == []
