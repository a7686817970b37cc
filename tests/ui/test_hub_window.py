"""The gate window of a checkpoint enrolled with a hub (issue 14, "The nodes"): it syncs
in the background on a thread and a connection of its own (kiosk.ui.hub_sync), shows
the last sync and what waits to go on its status line, says "away" while the hub is
down (and the scan path goes on), and syncs at once after a DENY. Real homes (an office
and two gates made with the CLI) and a real hub process on PostgreSQL
(tests/hub/conftest.py)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import FAST_HEALTH
from pytestqt.qtbot import QtBot

from kiosk.core.rules import Level, Reason
from kiosk.home import Home
from kiosk.settings import Settings
from kiosk.store.db import connect
from kiosk.store.passes import find_pass
from kiosk.sync.node import sync_status
from kiosk.ui.hub_sync import HubRound, hub_level, hub_text
from kiosk.ui.main_window import MainWindow
from tests.fakes import FakeCamera
from tests.helpers import run
from tests.hub.compound import copy_homes, enrol_with_hub, make_homes
from tests.hub.conftest import hub_dsn, pg_admin, pg_template, start_hub  # noqa: F401
from tests.hub.processes import HubProcess

pytestmark = pytest.mark.gui
slow = pytest.mark.slow  # three homes, a hub process, windows: 5-20 s each

FAST = timedelta(milliseconds=300)  # the window's sync interval in these tests


@dataclass
class Hubbed:
    hub: HubProcess
    office: Path
    north: Path
    south: Path
    passes: list[dict]


@pytest.fixture(scope="module")
def homes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An office with passes and two gates enrolled by stick, made once (copied)."""
    root = tmp_path_factory.mktemp("homes")
    _office, _north, _south, passes = make_homes(root)
    (root / "passes.json").write_text(json.dumps(passes), encoding="utf-8")
    return root


@pytest.fixture
def hubbed(
    tmp_path: Path,
    homes: Path,
    hub_dsn: str,  # noqa: F811
    start_hub: Callable[..., HubProcess],  # noqa: F811
) -> Hubbed:
    """The office and the two gates, all enrolled with a real hub; the office synced."""
    copy_homes(homes, tmp_path)
    office, north, south = tmp_path / "office", tmp_path / "north", tmp_path / "south"
    hub = start_hub()
    enrol_with_hub(hub_dsn, hub.url, office, [north, south])
    passes = json.loads((homes / "passes.json").read_text(encoding="utf-8"))
    return Hubbed(hub, office, north, south, passes)


GateWindowFactory = Callable[..., MainWindow]


@pytest.fixture
def gate_window(qtbot: QtBot) -> Iterator[GateWindowFactory]:
    made: list[MainWindow] = []

    def make(home: Path, **kwargs: object) -> MainWindow:
        window = MainWindow(
            Home(home),
            Settings.load(Home(home).settings_file),
            camera="fake",
            source=FakeCamera(pace=0.05),
            health=FAST_HEALTH,
            demo=True,
            theme="day",
            **kwargs,  # type: ignore[arg-type]
        )
        qtbot.addWidget(window)
        window.resize(1366, 768)
        window.show()
        window.start()
        made.append(window)
        return window

    yield make
    for window in made:
        window.close()
        assert window.service.stop(), "the gate thread did not stop"


def status_of(home: Path):  # type: ignore[no-untyped-def]
    db = connect(Home(home).database)
    try:
        return sync_status(db)
    finally:
        db.close()


def pass_status(home: Path, record: dict) -> str:  # type: ignore[type-arg]
    db = connect(Home(home).database)
    try:
        found = find_pass(db, record["serial"])
        return str(found["status"]) if found else ""
    finally:
        db.close()


@slow
def test_the_gate_syncs_in_the_background_and_takes_in_a_revocation(
    qtbot: QtBot, hubbed: Hubbed, gate_window: GateWindowFactory
) -> None:
    window = gate_window(hubbed.north, hub_interval=FAST)
    qtbot.waitUntil(lambda: window.hub_label.isVisible(), timeout=20_000)
    assert window.hub_label.text().startswith("Hub: synced ")
    assert window.hub_label.property("level") == "fresh"
    # it goes on by itself, every interval
    rounds = window.hub.rounds
    qtbot.waitUntil(lambda: window.hub.rounds >= rounds + 2, timeout=20_000)
    # a pass revoked at the office reaches the gate through the hub, and the gate takes
    # the new keyring in as after a stick exchange
    revoked = hubbed.passes[1]
    applied: list[int] = []
    window.hub.synced.connect(applied.append)  # after the window's own receiver
    run(hubbed.office, "passes", "revoke", revoked["serial"], "--reason", "lost card")
    run(hubbed.office, "sync", "now")
    qtbot.waitUntil(
        lambda: bool(applied) and pass_status(hubbed.north, revoked) == "revoked", timeout=20_000
    )
    # (the gate's take-in is queued on its worker before this scan)
    window.handle_scanned_text(revoked["token"])
    qtbot.waitUntil(lambda: bool(window.decisions), timeout=10_000)
    assert window.decisions[-1].verdict.level is Level.DENY
    assert window.decisions[-1].verdict.reason is Reason.REVOKED


@slow
def test_a_hub_that_is_away_shows_away_and_the_gate_goes_on(
    qtbot: QtBot, hubbed: Hubbed, gate_window: GateWindowFactory
) -> None:
    window = gate_window(hubbed.north, hub_interval=FAST)
    qtbot.waitUntil(lambda: "synced" in window.hub_label.text(), timeout=20_000)
    hubbed.hub.stop()
    qtbot.waitUntil(lambda: "away since" in window.hub_label.text(), timeout=20_000)
    assert window.hub.failures >= 1
    # the scan path records passages meanwhile, and they wait to go
    before = len(window.decisions)
    window.handle_scanned_text(hubbed.passes[0]["token"])
    qtbot.waitUntil(lambda: len(window.decisions) > before, timeout=10_000)
    assert window.decisions[-1].verdict.level is Level.PASS
    qtbot.waitUntil(lambda: "waiting" in window.hub_label.text(), timeout=10_000)
    assert "Hub: away since " in window.hub_label.text()
    # it backs off: after two failures in a row the next try waits twice the interval
    qtbot.waitUntil(lambda: window.hub.failures >= 2, timeout=20_000)
    assert window.hub.next_delay() > FAST
    # the hub comes back: the passage goes, nothing waits
    hubbed.hub.start()
    qtbot.waitUntil(lambda: "synced" in window.hub_label.text(), timeout=30_000)
    qtbot.waitUntil(lambda: status_of(hubbed.north).waiting_rows == 0, timeout=10_000)


@slow
def test_a_deny_syncs_at_once(qtbot: QtBot, hubbed: Hubbed, gate_window: GateWindowFactory) -> None:
    revoked = hubbed.passes[1]
    run(hubbed.office, "passes", "revoke", revoked["serial"], "--reason", "lost card")
    run(hubbed.office, "sync", "now")
    window = gate_window(hubbed.north, hub_interval=timedelta(minutes=10))
    qtbot.waitUntil(lambda: window.hub.rounds == 1, timeout=20_000)
    assert window.hub_label.text().startswith("Hub: synced ")
    # an ordinary passage waits for the next round (counted as waiting)
    window.handle_scanned_text(hubbed.passes[0]["token"])
    qtbot.waitUntil(lambda: "waiting" in window.hub_label.text(), timeout=10_000)
    assert window.hub.rounds == 1
    # a DENY goes at once, with what waited before it
    window.handle_scanned_text(revoked["token"])
    qtbot.waitUntil(lambda: window.hub.rounds == 2, timeout=20_000)
    assert window.decisions[-1].verdict.level is Level.DENY
    assert window.hub.last is not None and window.hub.last.ok
    assert "waiting" not in window.hub_label.text()
    assert status_of(hubbed.north).waiting_rows == 0


@slow
def test_a_checkpoint_without_a_hub_shows_nothing(
    qtbot: QtBot, tmp_path: Path, homes: Path, gate_window: GateWindowFactory
) -> None:
    copy_homes(homes, tmp_path)
    window = gate_window(tmp_path / "north", hub_interval=FAST)
    qtbot.waitUntil(lambda: window.hub.rounds >= 2, timeout=20_000)
    assert window.hub.joined is False and window.hub_round is None
    assert window.hub_label.isHidden() and window.hub_clock.isHidden()


@slow
def test_the_office_syncs_at_once_after_a_revocation(qtbot: QtBot, hubbed: Hubbed) -> None:
    from kiosk.ui.office.window import OfficeWindow

    home = Home(hubbed.office)
    window = OfficeWindow(
        home, Settings.load(home.settings_file), hub_interval=timedelta(minutes=10)
    )
    qtbot.addWidget(window)
    window.resize(1366, 768)
    window.show()
    try:
        qtbot.waitUntil(lambda: window.hub.rounds == 1, timeout=20_000)
        assert window.hub_label.isVisible()
        assert window.hub_label.text().startswith("Hub: synced ")
        revoked = hubbed.passes[2]
        window.passes.revoke(revoked["serial"], "lost card")
        qtbot.waitUntil(lambda: window.hub.rounds == 2, timeout=20_000)
        assert window.hub.last is not None and window.hub.last.ok
        assert status_of(hubbed.office).waiting_rows == 0
        # the gate hears of it at its next sync
        run(hubbed.south, "sync", "now")
        assert pass_status(hubbed.south, revoked) == "revoked"
    finally:
        window.close()
        window.shut()


@slow
def test_the_office_beside_the_gate_window_shares_its_sync(
    qtbot: QtBot, hubbed: Hubbed, gate_window: GateWindowFactory
) -> None:
    """At the committee's computer the office opens beside the gate window: one sync
    for the checkpoint, the gate window's, and a revocation there syncs at once."""
    from kiosk.ui.dialogs.admin import open_office

    gate = gate_window(hubbed.office, hub_interval=timedelta(minutes=10))
    qtbot.waitUntil(lambda: gate.hub.rounds == 1, timeout=20_000)
    open_office(gate)
    office = gate.office
    assert office.hub is gate.hub
    assert office.hub_label.text().startswith("Hub: synced ")
    office.passes.revoke(hubbed.passes[3]["serial"], "lost card")
    qtbot.waitUntil(lambda: gate.hub.rounds == 2, timeout=20_000)
    assert status_of(hubbed.office).waiting_rows == 0
    office.close()  # the gate window goes on syncing
    gate.hub.sync_soon()
    qtbot.waitUntil(lambda: gate.hub.rounds == 3, timeout=20_000)


# --- the words and the colours, without a hub -----------------------------------------------


def _round(**status: object) -> HubRound:
    from kiosk.sync.node import SyncStatus

    fields: dict[str, object] = dict(
        joined=True,
        url="https://hub:8443",
        last_sync=None,
        last_ok=None,
        error=None,
        reason=None,
        waiting_rows=0,
        skew=timedelta(0),
        skew_warning=None,
    )
    problem = str(status.pop("problem", ""))
    fields.update(status)
    return HubRound(SyncStatus(**fields), problem=problem)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("age", "level"),
    [
        (timedelta(minutes=2), "fresh"),
        (timedelta(minutes=11), "amber"),
        (timedelta(hours=2), "red"),
    ],
)
def test_the_hub_label_ages_like_the_office_data(age: timedelta, level: str) -> None:
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    found = _round(last_ok=now - age, last_sync=now - age, waiting_rows=3)
    assert hub_level(found, now) == level
    assert hub_text(found, now).startswith("Hub: synced ")
    assert hub_text(found, now).endswith(" · 3 waiting")


def test_the_hub_label_says_away_and_refused() -> None:
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    away = _round(
        last_ok=now - timedelta(minutes=12),
        last_sync=now,
        error="x",
        reason="unavailable",
        waiting_rows=12,
        problem="x",
    )
    assert hub_text(away, now).startswith("Hub: away since ")
    assert hub_text(away, now).endswith("12 waiting")
    assert hub_level(away, now) == "amber"
    never = _round(last_sync=now, error="x", reason="unavailable", problem="x")
    assert hub_text(never, now) == "Hub: away, never synced"
    assert hub_level(never, now) == "red"
    refused = _round(last_ok=now, last_sync=now, error="x", reason="removed", problem="x")
    assert hub_text(refused, now).startswith("Hub: not syncing since ")
    assert hub_text(_round(), now) == "Hub: not synced yet"
