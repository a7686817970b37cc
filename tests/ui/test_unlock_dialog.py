"""The unlock card at start, when this computer keeps no key: typed in by a USB scanner
(keys, Enter), or held up to the camera; a card of another checkpoint is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from kiosk.core.passes import qr_code
from kiosk.store import db_key
from kiosk.store.db import connect
from kiosk.ui.dialogs.unlock import UnlockDialog


@pytest.fixture
def locked_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, bytes]:
    """A database this program has no key for (made, then forgotten)."""
    monkeypatch.delenv("KIOSK_DB_KEY")
    database = tmp_path / "gatepass.db"
    connect(database, create=True).close()
    key = db_key.key_in_use(database)
    db_key.forget(database)
    return database, key


def test_the_scanner_types_the_card_and_the_records_open(
    qtbot: QtBot, locked_database: tuple[Path, bytes]
) -> None:
    database, key = locked_database
    assert db_key.needs_card(database)
    dialog = UnlockDialog(database)
    qtbot.addWidget(dialog)
    dialog.show()
    QTest.keyClicks(dialog.field, "gpkey1:" + db_key.card_text(key)[7:].lower())  # Caps Lock
    with qtbot.waitSignal(dialog.accepted, timeout=5000):
        QTest.keyClick(dialog.field, Qt.Key.Key_Return)
    assert db_key.key_in_use(database) == key
    assert not db_key.needs_card(database)


def test_another_checkpoints_card_or_a_pass_is_refused_in_words(
    qtbot: QtBot, locked_database: tuple[Path, bytes]
) -> None:
    database, _key = locked_database
    dialog = UnlockDialog(database)
    qtbot.addWidget(dialog)
    dialog.show()
    QTest.keyClicks(dialog.field, db_key.card_text(bytes(32)))
    QTest.keyClick(dialog.field, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "belongs to another checkpoint" in dialog.problem.text())
    assert dialog.isVisible() and dialog.field.text() == ""
    QTest.keyClicks(dialog.field, "GP1.eyJzZXJpYWwiOiAiMTIzNCJ9.sig")  # a pass, not a card
    QTest.keyClick(dialog.field, Qt.Key.Key_Return)
    assert "not a Gatepass unlock card" in dialog.problem.text()
    assert dialog.isVisible()
    with pytest.raises(db_key.DatabaseLocked):
        connect(database)


def test_the_camera_reads_the_card(
    qtbot: QtBot, locked_database: tuple[Path, bytes], tmp_path: Path
) -> None:
    database, key = locked_database
    shots = tmp_path / "shots"
    shots.mkdir()
    qr_code(db_key.card_text(key)).save(str(shots / "card.png"), scale=8, border=4)
    dialog = UnlockDialog(database, camera=str(shots))
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.accepted, timeout=10000):
        dialog.show()
    assert db_key.key_in_use(database) == key
