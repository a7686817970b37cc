"""The module-grid resampler in front of ZBar, and ZBar's text as the code's bytes."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import segno

from kiosk.vision import pipeline as pipeline_module
from kiosk.vision import resample, synth
from kiosk.vision.decoders import ZBarDecoder, ZXingDecoder
from kiosk.vision.locate import locate
from kiosk.vision.pipeline import Pipeline, to_gray
from kiosk.vision.resample import module_counts, resampled
from kiosk.vision.samples import matches
from tests.conftest import QR_PHOTOS


def _zbar() -> ZBarDecoder:
    zbar = ZBarDecoder()
    if not zbar.available():
        pytest.skip(zbar.unavailable_reason())
    return zbar


def _printed(content: str | bytes, px: int = 6) -> np.ndarray:
    """A clean code, ``px`` pixels a module, 4-module quiet zone."""
    matrix = np.array([list(r) for r in segno.make(content, micro=False).matrix], bool)
    image = np.pad(np.where(matrix, 0, 255).astype(np.uint8), 4, constant_values=255)
    return cv2.resize(image, None, fx=px, fy=px, interpolation=cv2.INTER_NEAREST)


def test_zbar_gives_the_codes_bytes_not_its_charset_guess() -> None:
    # Shift-JIS half-width katakana: ZBar's own conversion took them for Big5/GB text
    # ("蹬靼翌QR"); in binary mode the bytes come back and read as Shift-JIS.
    image = _printed(b"\xc3\xde\xbb\xde\xb2\xddQR")
    codes = _zbar().decode(image)
    assert [c.text for c in codes] == ["ﾃﾞｻﾞｲﾝQR"]
    assert codes[0].raw == b"\xc3\xde\xbb\xde\xb2\xddQR"


def test_zbar_falls_back_to_plain_decoding_when_pyzbar_changes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """pyzbar's private helpers (binary mode) are not its API: if one changes shape,
    the decoder logs it once and goes on with ``pyzbar.decode``, never a crash."""
    import kiosk.vision.decoders as decoders

    zbar = _zbar()

    def changed(*_args: object) -> None:
        raise TypeError("_pixel_data() takes 2 arguments")

    monkeypatch.setattr(decoders, "_zbar_decode_binary", changed)
    assert [c.text for c in zbar.decode(_printed("GP1:FALLBACK"))] == ["GP1:FALLBACK"]
    assert zbar._binary is None  # not tried again on every frame


def test_zbar_still_reads_utf8_text() -> None:
    assert [c.text for c in _zbar().decode(_printed("通行证 Gatepass ✓"))] == ["通行证 Gatepass ✓"]


@pytest.mark.parametrize("length", [10, 60, 130, 300])
def test_the_module_count_is_estimated_from_the_finders(length: int) -> None:
    text = "GP1:" + "A" * length
    modules = 17 + 4 * int(segno.make(text, micro=False).version)
    (region,) = locate(_printed(text, px=4))
    assert region.finders is not None
    assert module_counts(region.finders)[0] == modules


def test_a_clean_redrawing_reads_as_the_code() -> None:
    zbar = _zbar()
    text = "https://example.org/pass/12345"
    photo = cv2.GaussianBlur(_printed(text, px=5), (0, 0), 1.6)  # soft, like a photo
    photo = cv2.warpPerspective(
        photo,
        cv2.getPerspectiveTransform(
            np.float32([[0, 0], [200, 0], [200, 200], [0, 200]]),
            np.float32([[10, 0], [200, 14], [190, 200], [0, 185]]),
        ),
        photo.shape[::-1],
        borderValue=255,
    )
    (region,) = locate(photo)
    assert region.finders is not None
    first = next(resampled(photo, region.finders))
    assert set(np.unique(first)) <= {0, 255}  # a clean black-and-white image
    assert [c.text for c in zbar.decode(first)] == [text]


def test_a_located_but_unread_card_is_read_through_the_resampler() -> None:
    zbar = _zbar()
    frame = synth.make_frame("curved", 2024 * 100_003 + 4)  # generated set, seed 2024
    assert not matches([c.text for c in zbar.decode(to_gray(frame.image))], frame.text)
    without = Pipeline(zbar, resample=False).decode(frame.image)
    assert not matches([c.text for c in without.codes], frame.text)  # every retry fails
    assert without.unread  # ... though the code is located
    result = Pipeline(zbar).decode(frame.image)
    assert matches([c.text for c in result.codes], frame.text)
    assert result.unread == ()


def test_no_locator_hit_means_no_resampling(
    frames_by_category: dict[str, list[synth.SynthFrame]], monkeypatch: pytest.MonkeyPatch
) -> None:
    zbar = _zbar()
    calls = []

    def spy(*args: object, **kwargs: object) -> object:
        calls.append(args)
        return iter(())

    monkeypatch.setattr(pipeline_module, "resampled", spy)
    for frame in frames_by_category["none"]:
        gray = to_gray(frame.image)
        assert not locate(gray)  # nothing finder-like: the resampler must not run
        assert Pipeline(zbar).decode(frame.image).codes == ()
    assert calls == []


def test_only_the_zbar_pipeline_resamples() -> None:
    assert not Pipeline(ZXingDecoder()).resample  # the default path is unchanged
    assert Pipeline(_zbar()).resample
    assert not Pipeline(_zbar(), resample=False).resample


@pytest.mark.skipif(not QR_PHOTOS.is_dir(), reason="no qr-photos folder")
@pytest.mark.parametrize("name", ["fix-finderpattern-order.webp", "estimate-tilt.jpg"])
def test_steep_photos_are_read_through_the_resampler(name: str) -> None:
    zbar = _zbar()
    path = QR_PHOTOS / "qrcode-2" / name
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    text = path.with_suffix(".txt").read_text(encoding="utf-8")
    assert not matches([c.text for c in Pipeline(zbar, resample=False).decode(image).codes], text)
    assert matches([c.text for c in Pipeline(zbar).decode(image).codes], text)


def test_the_edge_refinement_follows_a_bent_grid() -> None:
    # A version-2 code whose columns wave by up to 0.45 module and rows by 0.35, one
    # and a half waves across (a cloth): sampled where a straight grid puts the
    # modules, many data modules come out wrong; where the module edges are, none.
    # (The function patterns are redrawn, not sampled: they are left out.)
    matrix = np.array([list(r) for r in segno.make("GP1:ABCDEFGHIJKLMNOPQRSTUV").matrix], bool)
    n, px = matrix.shape[0], 8
    data = ~resample._function_patterns(n)[0]
    flat = cv2.resize(
        np.where(matrix, 30, 220).astype(np.float32),
        None,
        fx=px,
        fy=px,
        interpolation=cv2.INTER_NEAREST,
    )
    ys, xs = np.mgrid[0 : n * px, 0 : n * px].astype(np.float32)
    wave = 2 * np.pi * 1.5 / (n * px)
    bent = cv2.remap(
        flat,
        xs + 0.45 * px * np.sin(ys * wave),
        ys + 0.35 * px * np.sin(xs * wave),
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    ).astype(np.uint8)
    to_image = np.diag([float(px), float(px), 1.0])  # module coordinates -> pixels
    centres = np.arange(n) * px + px // 2
    plain = bent[np.ix_(centres, centres)] < 125
    refined = resample._refined_cells(bent, to_image, n) < 125
    assert ((plain != matrix) & data).sum() > 10
    assert ((refined != matrix) & data).sum() == 0


@pytest.mark.skipif(not QR_PHOTOS.is_dir(), reason="no qr-photos folder")
def test_codes_printed_on_creased_shirts_are_read_through_the_edge_refinement() -> None:
    zbar = _zbar()
    read = 0
    for name in ("05.webp", "06.webp", "13.webp", "30.webp", "31.webp", "33.webp"):
        path = QR_PHOTOS / "qrcode-4" / name
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        text = path.with_suffix(".txt").read_text(encoding="utf-8")
        assert not matches([c.text for c in zbar.decode(to_gray(image))], text)
        read += matches([c.text for c in Pipeline(zbar).decode(image).codes], text)
    assert read >= 5  # 6 of 6 measured; zxing-cpp reads none of them
