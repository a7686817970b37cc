"""An office and two gates enrolled with a real hub: the compound of issue 13's tests
(``tests/test_exchange.py``), now syncing over HTTPS."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from kiosk.store.checkpoint import set_meta
from kiosk.store.db import connect, write
from tests.helpers import make_checkpoint, run, run_json
from tests.hub.processes import HubProcess

STICK_CODE = re.compile(r"([0-9A-Z]{5}-[0-9A-Z]{5})\b")
HUB_CODE = re.compile(r"([0-9A-Z]{5}-[0-9A-Z]{5}-[0-9A-Z]{5})")
COMMUNITY = "朝阳区/望京街道/花家地社区"


def code_in(text: str, pattern: re.Pattern[str]) -> str:
    found = pattern.search(text)
    assert found is not None, text
    return found.group(1)


@dataclass
class HubCompound:
    root: Path
    office: Path
    north: Path
    south: Path
    passes: list[dict]

    def sync(self, home: Path, ok: bool = True) -> dict:
        result = run(home, "sync", "now", "--json", ok=ok)
        import json

        return json.loads(result.stdout.splitlines()[-1]) if result.stdout else {}

    def round(self) -> None:
        """Everyone syncs, the office last and first (gates' news reaches both)."""
        for home in (self.north, self.south, self.office, self.north, self.south):
            self.sync(home)


def make_homes(root: Path, residents: int = 4) -> tuple[Path, Path, Path, list[dict]]:
    """An office with a register and passes, and two gates enrolled by enrolment file
    (the stick), before any hub."""
    office, north, south = root / "office", root / "north", root / "south"
    make_checkpoint(office, residents=residents, name="office")
    run(office, "passes", "issue", "--all")
    passes = run_json(office, "passes", "list", "--json")
    for gate in (north, south):
        file = root / f"{gate.name}.enrol"
        shown = run(office, "exchange", "enrol", gate.name, "--out", str(file)).output
        run(gate, "init", "--join", str(file), "--code", code_in(shown, STICK_CODE))
    return office, north, south, passes


def enrol_with_hub(dsn: str, url: str, office: Path, gates: list[Path]) -> None:
    shown = run(
        office,
        "hub",
        "enrol-office",
        "--db",
        dsn,
        "--community",
        COMMUNITY,
        "--compound",
        "幸福里",
    ).output
    run(office, "hub", "join", url, "--code", code_in(shown, HUB_CODE))
    run(office, "sync", "now")
    for gate in gates:
        shown = run(office, "hub", "enrol-gate", gate.name).output
        run(gate, "hub", "join", url, "--code", code_in(shown, HUB_CODE))


def copy_homes(src: Path, dst: Path) -> None:
    for name in ("office", "north", "south"):
        shutil.copytree(src / name, dst / name)


class Hubs:
    def __init__(self, dsn: str, port: int, root: Path) -> None:
        self.dsn, self.port, self.root = dsn, port, root
        self.running: list[HubProcess] = []

    def start(self, port: int | None = None) -> HubProcess:
        hub = HubProcess(
            self.dsn, port or self.port, self.root / f"hub{len(self.running)}.log"
        ).start()
        self.running.append(hub)
        return hub

    def stop(self) -> None:
        for hub in self.running:
            hub.stop()


def point_at(home: Path, hub: HubProcess) -> None:
    db = connect(home / "gatepass.db")
    try:
        with write(db):
            set_meta(db, "hub.url", hub.url)
    finally:
        db.close()


def node_id(home: Path) -> str:
    return str(run_json(home, "exchange", "nodes", "--json")["node"])
