"""The decoder backends: reading, corners in frame coordinates, a missing ZBar."""

from __future__ import annotations

import sys

import cv2
import numpy as np
import pytest

from kiosk.core.errors import UserError
from kiosk.vision import decoders, synth
from kiosk.vision.decoders import (
    Code,
    OpenCVDecoder,
    ZBarDecoder,
    ZXingDecoder,
    bytes_to_text,
    get_decoder,
)
from kiosk.vision.pipeline import Pipeline


def gray_of(frame: synth.SynthFrame) -> np.ndarray:
    return cv2.cvtColor(frame.image, cv2.COLOR_BGR2GRAY)


def corner_error(code: Code, truth: tuple[tuple[float, float], ...]) -> float:
    """The largest distance from a true corner to the nearest reported corner."""
    found = np.array(code.corners)
    return max(float(np.min(np.linalg.norm(found - np.array(t), axis=1))) for t in truth)


@pytest.mark.parametrize("backend", [ZXingDecoder, ZBarDecoder, OpenCVDecoder])
def test_each_backend_reads_a_clean_frame_with_corners_on_the_code(backend: type) -> None:
    decoder = backend()
    if not decoder.available():
        pytest.skip(decoder.unavailable_reason())
    frame = synth.make_frame("clean", 3, text="GP1:" + "A2B3C4D5" * 16 + "QRST")
    codes = decoder.decode(gray_of(frame))
    assert [c.text for c in codes] == [frame.text]
    code = codes[0]
    assert code.backend == decoder.name
    assert code.raw == frame.text.encode()
    assert len(code.corners) == 4
    assert frame.corners is not None
    side = float(np.linalg.norm(np.subtract(frame.corners[1], frame.corners[0])))
    assert corner_error(code, frame.corners) < 0.08 * side


@pytest.mark.parametrize("backend", [ZXingDecoder, ZBarDecoder, OpenCVDecoder])
def test_each_backend_reads_utf8_chinese(backend: type) -> None:
    decoder = backend()
    if not decoder.available():
        pytest.skip(decoder.unavailable_reason())
    text = "门禁通行证：张伟，3栋2单元"
    codes = decoder.decode(gray_of(synth.make_frame("clean", 4, text=text)))
    assert [c.text for c in codes] == [text]


def test_zxing_reports_located_but_unread_codes() -> None:
    frame = synth.make_frame("clean", 5)
    gray = gray_of(frame)
    x0, y0 = (int(v) for v in np.min(frame.corners, axis=0))
    x1, y1 = (int(v) for v in np.max(frame.corners, axis=0))
    # Wipe the middle of the symbol: the finder patterns stay, the data goes
    cx, cy, w = (x0 + x1) // 2, (y0 + y1) // 2, (x1 - x0) // 3
    gray[cy - w : cy + w, cx - w : cx + w] = 128
    scan = ZXingDecoder().scan(gray)
    assert scan.codes == []
    assert len(scan.unread) == 1
    centre = np.mean(scan.unread[0], axis=0)
    assert abs(centre[0] - (x0 + x1) / 2) < w and abs(centre[1] - (y0 + y1) / 2) < w


def test_a_frame_without_code_gives_nothing() -> None:
    gray = gray_of(synth.make_frame("none", 1))
    for decoder in map(decoders.make_decoder, decoders.DECODER_NAMES[1:]):  # auto aside
        if decoder.available():
            assert decoder.decode(gray) == [], decoder.name


def test_zbar_without_its_library_reports_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    # None in sys.modules makes ``import pyzbar.pyzbar`` raise ImportError, as a
    # machine without libzbar0 does (pyzbar raises ImportError when it cannot load it)
    monkeypatch.setitem(sys.modules, "pyzbar.pyzbar", None)
    zbar = ZBarDecoder()
    assert not zbar.available()
    assert "libzbar0" in zbar.unavailable_reason()
    assert zbar.decode(np.zeros((50, 50), np.uint8)) == []
    assert get_decoder("auto").name == "zxing"
    assert get_decoder("zbar").name == "zxing"  # falls back, the gate keeps working
    with pytest.raises(UserError, match="libzbar0"):
        get_decoder("zbar", strict=True)
    # The pipeline runs on with the fallback
    frame = synth.make_frame("clean", 6)
    assert [c.text for c in Pipeline(get_decoder("zbar")).decode(frame.image).codes] == [frame.text]


def test_pyzbar_missing_entirely_says_pip_install(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(name: str) -> object:
        raise ModuleNotFoundError("No module named 'pyzbar'", name="pyzbar")

    monkeypatch.setattr(decoders.importlib, "import_module", refuse)
    reason = ZBarDecoder().unavailable_reason()
    assert "pip install gatepass-kiosk[zbar]" in reason


def test_unknown_decoder_is_a_user_error() -> None:
    with pytest.raises(UserError, match="zxing, zbar, opencv"):
        get_decoder("quirc")


def test_bytes_to_text_falls_back_from_utf8() -> None:
    assert bytes_to_text("门".encode()) == "门"
    assert bytes_to_text("モバイル".encode("shift_jis")) == "モバイル"
    assert bytes_to_text(b"caf\xe9\xff") == "café\xff"
