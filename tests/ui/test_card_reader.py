"""The registration dialog reads the visitor's ID card with the gate's camera
(kiosk.ui.dialogs.card_reader): the real window, its real scan loop playing a
generated picture of a card as the camera, the real OCR."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import cv2
import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from kiosk.core.identity import mask_phone
from kiosk.demo import Demo
from kiosk.ui.dialogs import card_reader
from kiosk.ui.dialogs.common import open_dialog
from kiosk.ui.dialogs.registration import RegistrationDialog
from kiosk.ui.main_window import MainWindow
from kiosk.vision import idcard_synth
from kiosk.vision.idcard_synth import CardFrame
from tests.helpers import make_checkpoint, run
from tests.ui.conftest import WindowFactory

WRONG = "Card number unreadable or wrong: type it"
READ_S = 60_000  # ms: a reading takes 0.5-1.5 s, many times that on a loaded machine


@pytest.fixture(autouse=True)
def readings_ended() -> Iterator[None]:
    """After a test, the reading a closed dialog's thread was in the middle of is
    waited for (the dialog does not wait: it ends on its own within seconds), so that
    the next test's readings do not queue behind it for the OCR."""
    yield
    with card_reader._running_lock:
        threads = list(card_reader._running)
    for ocr in threads:
        ocr.stop()
        ocr.thread.join(60)
        assert not ocr.thread.is_alive()


def card_camera(tmp_path: Path, *, valid: bool = True, seed: int = 1) -> tuple[str, CardFrame]:
    """A card held up close, as a picture file the window plays as its camera."""
    frame = idcard_synth.make_card_frame("near", seed, valid=valid)
    path = tmp_path / f"card-{seed}-{valid}.png"
    cv2.imwrite(str(path), frame.image)
    return str(path), frame


def registration(qtbot: QtBot, window: MainWindow) -> RegistrationDialog:
    qtbot.waitUntil(lambda: window.worker.latest_frame() is not None, timeout=15_000)
    window.open_registration()
    dialog = open_dialog("registration")
    assert isinstance(dialog, RegistrationDialog) and dialog.card_reader is not None
    return dialog


@pytest.mark.slow
def test_the_card_fills_name_number_and_from_then_the_phone_has_the_focus(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    camera, card = card_camera(tmp_path)
    window = make_window(camera=camera)
    with caplog.at_level(logging.DEBUG):
        dialog = registration(qtbot, window)
        reader = dialog.card_reader
        assert reader is not None
        qtbot.waitUntil(lambda: dialog.edits["id_number"].text() != "", timeout=READ_S)
        qtbot.waitUntil(lambda: not reader.reading, timeout=READ_S)  # read: it stops
    assert dialog.edits["id_number"].text() == card.card.id_number
    assert dialog.edits["name"].text() == card.card.name
    assert dialog.edits["from_place"].text() == card.card.province + card.card.city
    assert dialog.focusWidget() is dialog.edits["phone"]
    assert "not stored" in reader.privacy.text()
    assert "F4" in reader.reread_button.text()
    # nothing of the card in the log: no name, no number
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "ID card read" in logged
    assert card.card.name not in logged and card.card.id_number[-6:] not in logged
    dialog.reject()


@pytest.mark.slow
def test_a_wrong_check_digit_is_never_filled_and_said(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path
) -> None:
    camera, _card = card_camera(tmp_path, valid=False)
    window = make_window(camera=camera)
    dialog = registration(qtbot, window)
    problem = dialog.problems["id_number"]
    qtbot.waitUntil(lambda: problem.text() == WRONG, timeout=READ_S)
    assert problem.isVisible()
    qtbot.waitUntil(
        lambda: dialog.card_reader is not None and dialog.card_reader.vote.verdict().readings >= 3,
        timeout=READ_S,
    )
    assert dialog.edits["id_number"].text() == ""
    assert dialog.card_reader is not None and dialog.card_reader.reading  # still trying
    dialog.reject()
    assert not dialog.card_reader.reading  # closed: stopped


@pytest.mark.slow
def test_what_the_guard_typed_stays_and_f2_reads_again(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path
) -> None:
    camera, card = card_camera(tmp_path)
    window = make_window(camera=camera)
    dialog = registration(qtbot, window)
    reader = dialog.card_reader
    assert reader is not None
    qtbot.keyClicks(dialog.edits["name"], "Typed Name")
    qtbot.waitUntil(lambda: not reader.reading, timeout=READ_S)
    assert dialog.edits["name"].text() == "Typed Name"  # never replaced
    assert dialog.edits["id_number"].text() == card.card.id_number
    assert "name" not in reader.filled
    # F4: what the card filled is cleared and read again; the guard's text stays
    mode = window.mode
    qtbot.keyClick(dialog.edits["phone"], Qt.Key.Key_F4)
    assert reader.reading
    assert window.mode == mode  # the gate's direction keys are the gate's
    assert dialog.edits["id_number"].text() == ""
    assert dialog.edits["name"].text() == "Typed Name"
    qtbot.waitUntil(lambda: dialog.edits["id_number"].text() != "", timeout=READ_S)
    assert dialog.edits["id_number"].text() == card.card.id_number
    dialog.reject()


@pytest.mark.slow
def test_the_card_of_a_visitor_who_came_before_recognises_them(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path, demo: Demo
) -> None:
    camera, card = card_camera(tmp_path)
    run(
        demo.home.root, "visitors", "register", "--name", card.card.name,
        "--phone", "13800138000", "--id-number", card.card.id_number,
        "--destination", "3-2-501", "--temperature", "36.5",
    )  # fmt: skip
    window = make_window(camera=camera)
    dialog = registration(qtbot, window)
    qtbot.waitUntil(lambda: dialog.visitor_id is not None, timeout=READ_S)
    assert dialog.edits["phone"].isReadOnly()
    assert dialog.edits["phone"].text() == mask_phone("13800138000")
    qtbot.waitUntil(lambda: dialog.focusWidget() is dialog.edits["temperature"], timeout=5_000)
    dialog.reject()


def test_a_returning_visitor_is_not_read(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path
) -> None:
    camera, _card = card_camera(tmp_path)
    window = make_window(camera=camera)
    qtbot.waitUntil(lambda: window.worker.latest_frame() is not None, timeout=15_000)
    dialog = RegistrationDialog(
        window.reader,
        window.settings,
        {"visitor_id": "v1", "name": "周敏"},
        window,
        frames=window.worker.latest_frame,
    )
    qtbot.addWidget(dialog)
    assert dialog.card_reader is None
    dialog.reject()


def test_with_no_camera_picture_the_form_says_so_instead_of_asking_for_the_card(
    qtbot: QtBot, make_window: WindowFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A gate whose camera gives no picture (none plugged in, or failed) does not ask
    the guard to hold the card up: after a moment it says to type the details; F4 tries
    the camera again."""
    monkeypatch.setattr(card_reader, "NO_CAMERA_MS", 200)
    window = make_window()
    dialog = RegistrationDialog(window.reader, window.settings, {}, window, frames=lambda: None)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    reader = dialog.card_reader
    assert reader is not None and reader.reading
    assert "Hold the visitor's ID card" in reader.status.text()
    qtbot.waitUntil(lambda: not reader.reading, timeout=5_000)
    assert "No camera picture" in reader.status.text()
    qtbot.keyClick(dialog.edits["phone"], Qt.Key.Key_F4)
    assert reader.reading and "Hold the visitor's ID card" in reader.status.text()
    dialog.reject()


STARTS_THE_GATE = """
import sys, time
from pathlib import Path
from PySide6.QtWidgets import QApplication
from kiosk.home import Home
from kiosk.settings import Settings
from kiosk.ui.main_window import MainWindow

app = QApplication([])
home = Home(Path(sys.argv[1]))
window = MainWindow(home, Settings.load(home.settings_file), camera=sys.argv[2], demo=True)
window.show()
window.start()
deadline = time.monotonic() + 30
while window.worker.latest_frame() is None and time.monotonic() < deadline:
    app.processEvents()
    time.sleep(0.02)
assert window.worker.latest_frame() is not None, "the camera never gave a frame"
print([m for m in ("rapidocr_onnxruntime", "onnxruntime") if m in sys.modules])
window.close()
window.service.stop()
"""


def test_starting_the_gate_does_not_load_the_ocr(tmp_path: Path, home_dir: Path) -> None:
    """The gate with a card in front of its camera starts without the OCR: it loads
    when the registration dialog first reads a card."""
    make_checkpoint(home_dir)
    camera, _card = card_camera(tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", STARTS_THE_GATE, str(home_dir), camera],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"


EXITS_WHILE_READING = """
import itertools, sys, time
from kiosk.ui.dialogs import card_reader
from kiosk.vision.idcard_synth import make_card_frame
from kiosk.vision.sources import Frame

image = make_card_frame("near", 1).image
count = itertools.count()
readings = []

def frames():
    n = next(count)
    return Frame(image, float(n), n)

card_reader._OcrThread(frames, readings.append).start()
while not readings:
    time.sleep(0.05)
time.sleep(card_reader.READ_EVERY_S + 0.1)  # into the next reading
print("exiting", flush=True)
"""


@pytest.mark.slow
def test_exiting_while_a_card_is_read_ends_cleanly() -> None:
    """A reading under way as the program exits is waited for: a thread left inside
    onnxruntime as the interpreter goes down aborts the process."""
    done = subprocess.run(
        [sys.executable, "-c", EXITS_WHILE_READING],
        capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert "exiting" in done.stdout
    assert done.returncode == 0, done.stderr[-2000:]
    assert "terminate called" not in done.stderr
