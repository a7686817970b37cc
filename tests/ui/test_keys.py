"""No action needs a mouse: every gate action has a key shown on its button, and every
dialog's Tab order reaches each input in the order of the layout, top to bottom and
left to right (issue 10, item 4)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from itertools import pairwise
from pathlib import Path

import pytest
from conftest import ReaderFactory, WindowFactory
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QComboBox,
    QDialog,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QWidget,
)
from pytestqt.qtbot import QtBot

from kiosk.home import Home
from kiosk.settings import Settings
from kiosk.ui.dialogs import (
    ManualPassDialog,
    PinDialog,
    RegistrationDialog,
    SettingsDialog,
    ShiftSummaryDialog,
    SignInDialog,
    VisitorCodeDialog,
)
from kiosk.ui.dialogs.common import open_dialog
from kiosk.ui.main_window import ACTION_KEYS
from kiosk.ui.ops import DbWorker
from tests.helpers import make_checkpoint

pytestmark = pytest.mark.gui

INPUTS = (QLineEdit, QComboBox, QAbstractSpinBox, QAbstractButton, QAbstractItemView)


@pytest.fixture
def home(home_dir: Path) -> Home:
    make_checkpoint(home_dir)
    return Home(home_dir)


def _shown(widget: QWidget, dialog: QDialog) -> bool:
    return widget.isVisibleTo(dialog) and widget.isEnabled() and widget.window() is dialog


def _takes_tab(widget: QWidget) -> bool:
    return bool(widget.focusPolicy().value & Qt.FocusPolicy.TabFocus.value)


def tab_chain(dialog: QDialog, first: QWidget) -> list[QWidget]:
    """The widgets Tab visits from ``first``, once round (QWidget.nextInFocusChain)."""
    chain = [first]
    widget = first.nextInFocusChain()
    while widget is not first and len(chain) < 1000:
        chain.append(widget)
        widget = widget.nextInFocusChain()
    return [
        w
        for w in chain
        if _shown(w, dialog) and _takes_tab(w) and w.focusProxy() is None and isinstance(w, INPUTS)
    ]


def inputs(dialog: QDialog) -> list[QWidget]:
    """Every input on the dialog a guard could use (visible, enabled)."""
    found = [w for w in dialog.findChildren(QWidget) if isinstance(w, INPUTS)]
    return [w for w in found if _shown(w, dialog) and w.focusProxy() is None]


def _where(widget: QWidget, dialog: QDialog) -> tuple[int, int, int]:
    """(y on the dialog, y inside a scroll area or 0, x): a scrolled form's rows sort
    by their place in the form, the scroll area by its place on the dialog."""
    area = widget.parentWidget()
    while area is not None and area is not dialog and not isinstance(area, QScrollArea):
        area = area.parentWidget()
    if isinstance(area, QScrollArea) and area.widget() is not None:
        inner = widget.mapTo(area.widget(), QPoint(0, 0))
        return area.mapTo(dialog, QPoint(0, 0)).y(), inner.y(), inner.x()
    top = widget.mapTo(dialog, QPoint(0, 0))
    return top.y(), 0, top.x()


def assert_follows_layout(chain: list[QWidget], dialog: QDialog) -> None:
    """Each next stop is below the last, or on the same row to its right."""
    for before, after in pairwise(chain):
        y0, inner0, x0 = _where(before, dialog)
        y1, inner1, x1 = _where(after, dialog)
        same_row = abs((y1 + inner1) - (y0 + inner0)) < before.height() / 2 and y0 == y1
        below = (y1, inner1) > (y0, inner0) and not same_row
        assert (same_row and x1 > x0) or below, (
            f"Tab goes from {before!r} ({x0},{y0}+{inner0}) back to {after!r} ({x1},{y1}+{inner1})"
        )


def _settings(home: Home) -> Settings:
    return Settings.load(home.settings_file)


@pytest.fixture
def reader(make_reader: ReaderFactory, home: Home) -> DbWorker:
    return make_reader(home.database)


DIALOGS: dict[str, Callable[[Home, DbWorker], tuple[QDialog, QWidget]]] = {}


def dialog(name: str) -> Callable[[Callable[[Home, DbWorker], QDialog]], None]:
    def register(make: Callable[[Home, DbWorker], QDialog]) -> None:
        def build(home: Home, reader: DbWorker) -> tuple[QDialog, QWidget]:
            made = make(home, reader)
            reader.wait_idle()  # what it reads on the reader is in
            return made, made.fields[0] if hasattr(made, "fields") and made.fields else made

        DIALOGS[name] = build

    return register


@dialog("registration")
def _registration(home: Home, reader: DbWorker) -> QDialog:
    return RegistrationDialog(reader, _settings(home))


@dialog("manual")
def _manual(home: Home, reader: DbWorker) -> QDialog:
    made = ManualPassDialog(reader)
    made.run_search("3-2-501")
    made.note.setEnabled(True)  # "other" chosen: the words field takes part too
    return made


@dialog("sign_in")
def _sign_in(home: Home, reader: DbWorker) -> QDialog:
    return SignInDialog(["Li", "Wang"])


@dialog("shift_summary")
def _summary(home: Home, reader: DbWorker) -> QDialog:
    return ShiftSummaryDialog({"guard": "Li", "since": datetime.now().astimezone()})


@dialog("settings")
def _settings_dialog(home: Home, reader: DbWorker) -> QDialog:
    return SettingsDialog(_settings(home))


@dialog("visitor_code")
def _code(home: Home, reader: DbWorker) -> QDialog:
    return VisitorCodeDialog("GP1:TEST", "2026-12-01 18:00")


@pytest.mark.parametrize("name", sorted(DIALOGS))
def test_tab_reaches_every_input_in_layout_order(
    qtbot: QtBot, home: Home, reader: DbWorker, name: str
) -> None:
    made, first = DIALOGS[name](home, reader)
    qtbot.addWidget(made)
    made.show()
    qtbot.waitExposed(made)
    start = first if isinstance(first, INPUTS) else tab_chain(made, made)[0]
    chain = tab_chain(made, start)
    assert chain[0] is start
    missing = [w for w in inputs(made) if w not in chain]
    assert not missing, f"{name}: not reachable by Tab: {missing}"
    assert len(set(map(id, chain))) == len(chain)
    assert_follows_layout(chain, made)
    buttons = [w for w in chain if isinstance(w, QPushButton)]
    assert [b for b in buttons if b.isDefault()], f"{name}: no default button"


def test_real_tab_presses_follow_the_chain(qtbot: QtBot, home: Home, reader: DbWorker) -> None:
    """Tab itself (not only the chain) walks the registration form in order."""
    made = RegistrationDialog(reader, _settings(home))
    qtbot.addWidget(made)
    made.show()
    qtbot.waitExposed(made)
    made.activateWindow()
    qtbot.waitUntil(made.isActiveWindow)
    first = made.edits["name"]
    first.setFocus()
    chain = tab_chain(made, first)
    seen = [made.focusWidget()]
    for _ in chain[1:]:
        focused = made.focusWidget()
        assert focused is not None
        qtbot.keyClick(focused, Qt.Key.Key_Tab)
        seen.append(made.focusWidget())
    assert seen == chain
    assert [made.edits[n] for n in made.edits] == chain[: len(made.edits)]
    destination = made.edits["destination"]
    destination.setFocus()
    qtbot.keyClicks(destination, "3-2-5")
    reader.wait_idle()  # the matches come from the reader
    assert made.matches.isVisible() and made.matches.count() == 2
    qtbot.keyClick(destination, Qt.Key.Key_Down)  # the second match, from the field
    qtbot.keyClick(destination, Qt.Key.Key_Tab)  # Tab takes it, as Enter does
    assert destination.text() == "3-2-502"
    assert made.focusWidget() is made.edits["reason"]


def test_pin_needs_no_mouse(qtbot: QtBot, reader: DbWorker) -> None:
    """The keypad's buttons take no focus: digits, Backspace, Enter and Esc do it all."""
    made = PinDialog(reader)
    qtbot.addWidget(made)
    made.show()
    qtbot.keyClicks(made, "25809")
    qtbot.keyClick(made, Qt.Key.Key_Backspace)
    with qtbot.waitSignal(made.accepted, timeout=5000):
        qtbot.keyClick(made, Qt.Key.Key_Return)


KINDS = {"registration": "registration", "manual": "manual", "shift": "shift", "admin": "pin"}


def test_every_gate_action_has_its_key_on_its_button(
    qtbot: QtBot, make_window: WindowFactory
) -> None:
    window = make_window()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    assert len(window.action_buttons) == len(ACTION_KEYS)
    for button, (action, key) in zip(window.action_buttons, ACTION_KEYS.items(), strict=True):
        name = f"F{int(key) - int(Qt.Key.Key_F1) + 1}"
        assert f"({name})" in button.text(), button.text()
        assert button.shortcut().toString() == name
        qtbot.keyClick(window, key)  # the button's shortcut: it clicks (animated) soon
        qtbot.waitUntil(lambda a=action: open_dialog(KINDS[a]) is not None, timeout=3000)
        opened = open_dialog(KINDS[action])
        assert opened is not None and opened.isVisible(), f"{name} opened nothing"
        qtbot.keyClick(opened, Qt.Key.Key_Escape)
        assert open_dialog(KINDS[action]) is None
        window.activateWindow()
        qtbot.waitUntil(window.isActiveWindow)
    used = [int(k) for k in ACTION_KEYS.values()]
    taken = [Qt.Key.Key_F1, Qt.Key.Key_F2, Qt.Key.Key_F3, Qt.Key.Key_F8, Qt.Key.Key_F12]
    assert len(set(used)) == len(used) and not set(used) & {int(k) for k in taken}
