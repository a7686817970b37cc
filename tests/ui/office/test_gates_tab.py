"""The office's Gates tab on real compound homes on disk (issue 13, docs/office.md
"Gates"): a lone checkpoint, enrolling a gate through the tab (the file on the USB
stick, the code shown, the gate joins with it), one exchange through the stick, and
removing a gate."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from kiosk.home import Home
from kiosk.settings import Settings
from kiosk.store.db import connect
from kiosk.ui.drives import ENV_DIR, Drive
from kiosk.ui.office import gates_tab
from kiosk.ui.office.context import OfficeContext
from kiosk.ui.office.gates_tab import GatesTab
from tests.helpers import make_checkpoint, run

CODE = re.compile(r"([0-9A-Z]{5}-[0-9A-Z]{5})")


@dataclass
class Homes:
    root: Path
    office: Path
    north: Path
    south: Path
    north_first: Path  # north's first bundle, not yet at the office


def _enrol(office: Path, gate: Path, root: Path) -> None:
    file = root / f"{gate.name}.enrol"
    shown = run(office, "exchange", "enrol", gate.name, "--out", str(file)).output
    code = CODE.search(shown)
    assert code is not None, shown
    run(gate, "init", "--join", str(file), "--code", code.group(1))


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Homes:
    """A lone office, and a compound (office, north, south) where the office has south's
    first bundle but not north's (kept aside, for the stick)."""
    root = tmp_path_factory.mktemp("gates")
    make_checkpoint(root / "lone", residents=3, name="office")
    office, north, south = root / "office", root / "north", root / "south"
    shutil.copytree(root / "lone", office)
    _enrol(office, north, root)
    _enrol(office, south, root)
    first = root / "south-first.gpbundle"
    run(south, "exchange", "export", "--out", str(first))
    run(office, "exchange", "import", str(first))
    north_first = root / "north-first.gpbundle"
    run(north, "exchange", "export", "--out", str(north_first))
    return Homes(root, office, north, south, north_first)


@pytest.fixture
def homes(template: Homes, tmp_path: Path) -> Homes:
    for name in ("lone", "office", "north", "south"):
        shutil.copytree(template.root / name, tmp_path / name)
    shutil.copy(template.north_first, tmp_path / template.north_first.name)
    return Homes(
        tmp_path,
        tmp_path / "office",
        tmp_path / "north",
        tmp_path / "south",
        tmp_path / template.north_first.name,
    )


@pytest.fixture
def stick(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The USB stick: a folder named by KIOSK_EXCHANGE_DIR, the only drive seen."""
    folder = tmp_path / "stick"
    folder.mkdir()
    monkeypatch.setenv(ENV_DIR, str(folder))
    monkeypatch.setattr(gates_tab, "removable_drives", lambda: [Drive(folder, "STICK", 0)])
    return folder


Opener = Iterator[list[OfficeContext]]


@pytest.fixture
def contexts() -> Opener:
    made: list[OfficeContext] = []
    yield made
    for ctx in made:
        ctx.close()


def open_tab(qtbot: QtBot, home: Path, contexts: list[OfficeContext]) -> GatesTab:
    h = Home(home)
    ctx = OfficeContext.open(h, Settings.load(h.settings_file), actor="test-clerk")
    contexts.append(ctx)
    tab = GatesTab(ctx)
    qtbot.addWidget(tab)
    tab.resize(1366, 700)
    tab.show()
    assert ctx.wait_idle()
    assert tab.loaded
    return tab


def states(tab: GatesTab) -> dict[str, str]:
    return {row.name: row.state for row in tab.view.rows}


def audit(home: Path, action: str) -> list[dict[str, object]]:
    db = connect(Home(home).database)
    try:
        rows = db.execute("SELECT detail FROM audit WHERE action = ?", [action]).fetchall()
        return [json.loads(r[0]) for r in rows]
    finally:
        db.close()


def keyboard_reachable(button: QWidget) -> bool:
    return bool(button.focusPolicy() & Qt.FocusPolicy.TabFocus)


def test_lone_checkpoint_explains_and_offers_enrolment(
    qtbot: QtBot, homes: Homes, contexts: list[OfficeContext]
) -> None:
    tab = open_tab(qtbot, homes.root / "lone", contexts)
    assert tab.view.compound is None
    assert "on its own" in tab.intro.text()
    assert tab.table.isHidden()
    assert tab.enrol_button.isVisible() and tab.enrol_button.isEnabled()
    assert keyboard_reachable(tab.enrol_button)
    assert tab.exchange_button.isHidden() and tab.remove_button.isHidden()


def test_enrolment_through_the_tab(
    qtbot: QtBot, homes: Homes, stick: Path, contexts: list[OfficeContext]
) -> None:
    lone = homes.root / "lone"
    tab = open_tab(qtbot, lone, contexts)
    tab.open_enrol()
    dialog = tab.name_dialog
    assert dialog is not None
    dialog.submit()  # no name yet: said, not accepted
    assert dialog.isVisible() and dialog.problem.text()
    qtbot.keyClicks(dialog.name, "east gate")
    qtbot.keyClick(dialog.name, Qt.Key.Key_Return)
    assert tab.ctx.wait_idle()
    shown = tab.code_dialog
    assert shown is not None
    code = shown.code.text()
    assert CODE.fullmatch(code)
    [file] = stick.iterdir()
    assert file.name == "gatepass-enrol-east-gate.enrol"
    assert shown.enrolment.fingerprint in shown.fingerprint.text()
    assert states(tab) == {"office": "here", "east gate": "waiting"}
    assert tab.exchange_button.isVisible() and keyboard_reachable(tab.exchange_button)
    assert audit(lone, "exchange.enrol")[0]["name"] == "east gate"
    joined = run(homes.root / "east", "init", "--join", str(file), "--code", code).output
    assert shown.enrolment.fingerprint in joined
    shown.close()


def test_exchange_button_imports_and_writes_one_bundle_per_gate(
    qtbot: QtBot, homes: Homes, stick: Path, contexts: list[OfficeContext]
) -> None:
    shutil.copy(homes.north_first, stick / homes.north_first.name)
    tab = open_tab(qtbot, homes.office, contexts)
    assert states(tab) == {"office": "here", "north": "waiting", "south": "joined"}
    qtbot.mouseClick(tab.exchange_button, Qt.MouseButton.LeftButton)
    assert tab.ctx.wait_idle()
    assert states(tab) == {"office": "here", "north": "joined", "south": "joined"}
    said = tab.message.text()
    assert "north has joined the compound" in said
    assert "For north:" in said and "For south:" in said
    written = sorted(p.name.split("-")[2] for p in stick.glob("gatepass-for-*.gpbundle"))
    assert written == ["north", "south"]
    [for_north] = stick.glob("gatepass-for-north-*.gpbundle")
    run(homes.north, "exchange", "import", str(for_north))
    north = next(r for r in tab.view.rows if r.name == "north")
    assert north.last_import is not None and north.last_export is not None


def test_exchange_without_a_stick_says_so(
    qtbot: QtBot,
    homes: Homes,
    contexts: list[OfficeContext],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(gates_tab, "removable_drives", lambda: [])
    tab = open_tab(qtbot, homes.office, contexts)
    tab.exchange()
    assert "No USB stick found" in tab.message.text()


def test_exchange_asks_which_of_several_sticks(
    qtbot: QtBot, homes: Homes, contexts: list[OfficeContext], monkeypatch: pytest.MonkeyPatch
) -> None:
    one, two = homes.root / "one", homes.root / "two"
    one.mkdir(), two.mkdir()
    drives = [Drive(one, "ONE", 0), Drive(two, "TWO", 0)]
    monkeypatch.setattr(gates_tab, "removable_drives", lambda: drives)
    asked: list[int] = []
    tab = open_tab(qtbot, homes.office, contexts)
    tab.choose_drive = lambda _parent, found: asked.append(len(found)) or found[1]
    tab.exchange()
    assert tab.ctx.wait_idle()
    assert asked == [2]
    assert not list(one.iterdir())
    assert [p.name.split("-")[2] for p in two.iterdir()] == ["south"]


def test_remove_a_gate(qtbot: QtBot, homes: Homes, contexts: list[OfficeContext]) -> None:
    tab = open_tab(qtbot, homes.office, contexts)
    assert not tab.remove_button.isEnabled()  # nothing selected
    tab.table.selectRow(0)  # the office itself
    assert not tab.remove_button.isEnabled()
    south = [r.name for r in tab.view.rows].index("south")
    tab.table.selectRow(south)
    assert tab.remove_button.isEnabled() and keyboard_reachable(tab.remove_button)
    questions: list[str] = []
    tab.confirm = lambda _parent, question: questions.append(question) or True
    qtbot.mouseClick(tab.remove_button, Qt.MouseButton.LeftButton)
    assert tab.ctx.wait_idle()
    assert "distrusts its key" in questions[0]
    assert states(tab)["south"] == "removed"
    assert "is removed" in tab.message.text()
    assert audit(homes.office, "exchange.remove")[0]["name"] == "south"
    tab.table.selectRow(south)
    assert not tab.remove_button.isEnabled()


def test_a_damaged_bundle_is_refused_with_its_reason(
    qtbot: QtBot, homes: Homes, stick: Path, contexts: list[OfficeContext]
) -> None:
    (stick / "gatepass-for-office-broken.gpbundle").write_bytes(b"not a bundle at all")
    tab = open_tab(qtbot, homes.office, contexts)
    tab.exchange()
    assert tab.ctx.wait_idle()
    said = tab.message.text()
    assert "Refused gatepass-for-office-broken.gpbundle:" in said
    assert "Nothing of it was imported." in said
    assert tab.message.property("role") == "error"
    assert "For south:" in said  # the exchange went on for the rest


def test_a_gates_own_office_exchanges_with_its_gate_key(
    qtbot: QtBot, homes: Homes, stick: Path, contexts: list[OfficeContext]
) -> None:
    tab = open_tab(qtbot, homes.south, contexts)
    assert tab.view.compound is not None and not tab.view.compound.is_office
    assert "at the office" in tab.intro.text()
    assert tab.enrol_button.isHidden() and tab.remove_button.isHidden()
    assert tab.exchange_button.isVisible()
    qtbot.mouseClick(tab.exchange_button, Qt.MouseButton.LeftButton)
    assert tab.ctx.wait_idle()
    [for_office] = stick.glob("gatepass-for-*.gpbundle")
    shown = run(homes.office, "exchange", "import", str(for_office)).output
    assert "from south" in shown
