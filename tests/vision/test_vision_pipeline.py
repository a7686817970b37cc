"""The decode pipeline on generated frames of every category and on real photos."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from kiosk.core.errors import UserError
from kiosk.vision import synth
from kiosk.vision.decoders import ZBarDecoder, ZXingDecoder
from kiosk.vision.diagnostics import Diagnostic, frame_stats, region_sharpness, stretch_table
from kiosk.vision.locate import locate, noise_level
from kiosk.vision.pipeline import GEOMETRY_RETRIES, Pipeline, to_gray
from kiosk.vision.samples import labelled_images, matches
from tests.conftest import QR_PHOTOS

ZXING = Pipeline(ZXingDecoder())


def raw_texts(frame: np.ndarray, decoder: ZXingDecoder | ZBarDecoder) -> list[str]:
    return [c.text for c in decoder.decode(to_gray(frame))]


def test_the_pipeline_reads_every_frame_raw_zxing_reads(
    frames_by_category: dict[str, list[synth.SynthFrame]],
) -> None:
    raw = ZXingDecoder()
    missed, read, total = [], 0, 0
    for category, frames in frames_by_category.items():
        for frame in frames:
            got = [c.text for c in ZXING.decode(frame.image).codes]
            total += 1
            read += matches(got, frame.text)
            if matches(raw_texts(frame.image, raw), frame.text) and not matches(got, frame.text):
                missed.append(category)
    assert not missed, f"pipeline lost frames raw zxing-cpp reads: {missed}"
    assert read >= total - 2, f"pipeline read only {read} of {total} generated frames"


def test_no_code_no_false_read(frames_by_category: dict[str, list[synth.SynthFrame]]) -> None:
    for frame in frames_by_category["none"]:
        result = ZXING.decode(frame.image)
        assert result.codes == ()
        assert result.unread == ()


def test_dark_frames_are_rescued_by_a_contrast_stretch(
    trouble_frames: dict[str, list[synth.SynthFrame]],
) -> None:
    frames = trouble_frames["dark"]
    raw = sum(matches(raw_texts(f.image, ZXingDecoder()), f.text) for f in frames)
    piped = sum(matches([c.text for c in ZXING.decode(f.image).codes], f.text) for f in frames)
    assert piped == len(frames)
    assert raw < piped  # the raw decoder misses some of these: the stretch is what reads them


def test_small_codes_are_rescued_by_the_region_retry(
    trouble_frames: dict[str, list[synth.SynthFrame]],
) -> None:
    frames = trouble_frames["small"]
    no_retry = Pipeline(ZXingDecoder(), plan=())
    before = sum(matches([c.text for c in no_retry.decode(f.image).codes], f.text) for f in frames)
    after = sum(matches([c.text for c in ZXING.decode(f.image).codes], f.text) for f in frames)
    assert after > before


def test_codes_read_on_a_retry_have_corners_in_frame_coordinates(
    trouble_frames: dict[str, list[synth.SynthFrame]],
) -> None:
    no_retry = Pipeline(ZXingDecoder(), plan=())
    checked = 0
    for frame in trouble_frames["small"]:
        if no_retry.decode(frame.image).codes:
            continue
        codes = ZXING.decode(frame.image).codes
        if not codes:
            continue
        assert frame.corners is not None
        found = np.array(codes[0].corners)
        truth = np.array(frame.corners)
        side = float(np.linalg.norm(truth[1] - truth[0]))
        # every true corner has a reported corner near it (orientation may differ)
        for corner in truth:
            assert float(np.min(np.linalg.norm(found - corner, axis=1))) < 0.15 * side
        checked += 1
    assert checked >= 1


def test_zbar_pipeline_reads_inverted_codes_that_raw_zbar_cannot(
    frames_by_category: dict[str, list[synth.SynthFrame]],
) -> None:
    zbar = ZBarDecoder()
    if not zbar.available():
        pytest.skip(zbar.unavailable_reason())
    pipeline = Pipeline(zbar)
    for frame in frames_by_category["inverted"]:
        assert not matches(raw_texts(frame.image, zbar), frame.text)
        assert matches([c.text for c in pipeline.decode(frame.image).codes], frame.text)


def _printed(text: str, module: int = 5) -> np.ndarray:
    """A code as printed: black modules on white, 4-module quiet zone, BGR."""
    matrix = synth.qr_matrix(text)
    symbol = np.pad(np.where(matrix, 0, 255).astype(np.uint8), 4, constant_values=255)
    big = cv2.resize(symbol, None, fx=module, fy=module, interpolation=cv2.INTER_NEAREST)
    return cv2.cvtColor(big, cv2.COLOR_GRAY2BGR)


def _canvas(*codes: np.ndarray) -> np.ndarray:
    canvas = np.full((720, 1280, 3), 120, np.uint8)
    for i, code in enumerate(codes):
        h, w = code.shape[:2]
        canvas[100 : 100 + h, 60 + i * 420 : 60 + i * 420 + w] = code
    return canvas


def test_two_different_codes_in_one_frame_both_read() -> None:
    frame = _canvas(_printed("GP1:LEFT"), _printed("GP1:RIGHT"))
    assert sorted(c.text for c in ZXING.decode(frame).codes) == ["GP1:LEFT", "GP1:RIGHT"]


def test_the_same_code_twice_is_one_code() -> None:
    frame = _canvas(_printed("GP1:TWICE"), _printed("GP1:TWICE"))
    assert len(ZXingDecoder().decode(to_gray(frame))) == 2  # the backend sees both
    assert [c.text for c in ZXING.decode(frame).codes] == ["GP1:TWICE"]


def test_grey_and_bgra_input_and_bad_dtype() -> None:
    frame = synth.make_frame("clean", 9)
    gray = cv2.cvtColor(frame.image, cv2.COLOR_BGR2GRAY)
    bgra = cv2.cvtColor(frame.image, cv2.COLOR_BGR2BGRA)
    assert [c.text for c in ZXING.decode(gray).codes] == [frame.text]
    assert [c.text for c in ZXING.decode(bgra).codes] == [frame.text]
    with pytest.raises(UserError):
        ZXING.decode(frame.image.astype(np.float32))


def test_unknown_retry_name_is_refused() -> None:
    with pytest.raises(UserError, match="sharpen"):
        Pipeline(ZXingDecoder(), plan=("wizardry",))


def test_diagnostics_name_the_trouble() -> None:
    night = cv2.convertScaleAbs(synth.make_frame("none", 3).image, alpha=0.1)
    assert ZXING.decode(night).diagnostics == (Diagnostic.TOO_DARK,)
    white = np.full((720, 1280, 3), 252, np.uint8)
    assert ZXING.decode(white).diagnostics == (Diagnostic.TOO_BRIGHT,)
    clean = synth.make_frame("clean", 3)
    assert ZXING.decode(clean.image).diagnostics == ()


def _unreadable(frame: synth.SynthFrame, damage: str) -> np.ndarray:
    """The frame with its code's data area spoilt, finder patterns intact."""
    image = frame.image.copy()
    pts = np.array(frame.corners)
    (x0, y0), (x1, y1) = pts.min(axis=0).astype(int), pts.max(axis=0).astype(int)
    w, h = x1 - x0, y1 - y0
    inner = (slice(y0 + h // 3, y1 - h // 3), slice(x0 + w // 3, x1 - w // 3))
    if damage == "glare":
        image[inner] = 255
    else:
        image[inner] = cv2.GaussianBlur(image, (0, 0), 6)[inner]
    return image


def test_diagnostics_for_a_code_seen_but_not_read() -> None:
    frame = synth.make_frame("clean", 11)
    glared = ZXING.decode(_unreadable(frame, "glare"))
    assert glared.codes == ()
    assert glared.unread
    assert glared.diagnostics[-2:] == (Diagnostic.GLARE, Diagnostic.UNREADABLE)


@pytest.mark.parametrize(("category", "seed"), [("defocus", 4), ("defocus", 9)])
def test_a_blurred_code_asks_to_hold_still(category: str, seed: int) -> None:
    # Seeds where zxing-cpp locates the code but cannot read it even after retries
    result = ZXING.decode(synth.make_frame(category, seed).image)
    assert result.codes == ()
    assert result.diagnostics == (Diagnostic.BLURRED, Diagnostic.UNREADABLE)


def test_sharpness_does_not_depend_on_code_size() -> None:
    small, large = _printed("GP1:SIZE", 3), _printed("GP1:SIZE", 12)
    for code in (small, large):
        gray = to_gray(code)
        sharp = region_sharpness(gray)
        soft = region_sharpness(cv2.GaussianBlur(gray, (0, 0), 3.0))
        assert sharp > 0.3
        assert soft < 0.2


@pytest.mark.skipif(not QR_PHOTOS.is_dir(), reason="no qr-photos folder next to the repo")
def test_real_photos_read_at_least_what_raw_zxing_reads() -> None:
    samples = labelled_images(QR_PHOTOS)
    assert len(samples) > 100
    raw_ok = piped_ok = 0
    lost = []
    for sample in samples:
        image = cv2.imread(str(sample.path), cv2.IMREAD_COLOR)
        assert image is not None, f"cannot read {sample.path} (webp support?)"
        raw = matches(raw_texts(image, ZXingDecoder()), sample.text)
        piped = matches([c.text for c in ZXING.decode(image).codes], sample.text)
        raw_ok += raw
        piped_ok += piped
        if raw and not piped:
            lost.append(sample.path.name)
    assert not lost
    assert piped_ok > raw_ok


def _zbar() -> ZBarDecoder:
    zbar = ZBarDecoder()
    if not zbar.available():
        pytest.skip(zbar.unavailable_reason())
    return zbar


@pytest.mark.parametrize("seed", [623, 637])
def test_zbar_geometry_retries_read_curved_cards_the_plan_misses(seed: int) -> None:
    zbar = _zbar()
    frame = synth.make_frame("curved", seed)
    flat_only = Pipeline(zbar, geometry=(), resample=False)  # (the resampler reads it too)
    assert not matches([c.text for c in flat_only.decode(frame.image).codes], frame.text)
    result = Pipeline(zbar).decode(frame.image)
    assert matches([c.text for c in result.codes], frame.text)
    assert frame.corners is not None  # the code is outlined where it is in the frame
    found = np.array(result.codes[0].corners).mean(axis=0)
    assert np.abs(found - np.array(frame.corners).mean(axis=0)).max() < 40


@pytest.mark.parametrize(
    ("name", "expected"),
    [("upscale3", (867, 867)), ("dewarp300-otsu", (300, 300)), ("unbend-h-clahe", (600, 600))],
)
def test_geometry_retries_shape_the_region(name: str, expected: tuple[int, int]) -> None:
    gray = to_gray(_canvas(_printed("GP-SHAPE")))
    corners = ((100.0, 100.0), (300.0, 100.0), (300.0, 300.0), (100.0, 300.0))
    image = GEOMETRY_RETRIES[name](gray, corners)
    assert image.shape == expected
    assert image.dtype == np.uint8


def test_unknown_geometry_retry_is_refused() -> None:
    with pytest.raises(UserError):
        Pipeline(ZXingDecoder(), geometry=("bogus",))


def test_the_zxing_pipeline_has_no_geometry_retries() -> None:
    assert ZXING.geometry == ()


def test_a_dark_frame_is_located_on_its_stretched_copy() -> None:
    zbar = _zbar()
    frame = synth.make_frame("dark", 2024 * 100_003 + 5)
    gray = to_gray(frame.image)
    stretched = cv2.LUT(gray, stretch_table(frame_stats(gray)))
    assert not locate(stretched)  # the stretch's coarse grey steps break the rings
    assert locate(stretched, stretched=True)  # smoothed first: found
    assert not matches(raw_texts(frame.image, zbar), frame.text)
    assert matches([c.text for c in Pipeline(zbar).decode(frame.image).codes], frame.text)


@pytest.mark.skipif(not QR_PHOTOS.is_dir(), reason="no qr-photos folder next to the repo")
def test_one_pixel_modules_are_not_mistaken_for_sensor_noise() -> None:
    zbar = _zbar()
    path = QR_PHOTOS / "qrcode-5" / "16.png"  # a version-40 code at 1 px per module
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    text = path.with_suffix(".txt").read_text(encoding="utf-8")
    gray = to_gray(image)
    assert noise_level(gray) > 60  # what made the locator blur the code away
    assert locate(gray)
    assert not matches(raw_texts(image, zbar), text)
    assert matches([c.text for c in Pipeline(zbar).decode(image).codes], text)


_DARK_SEED = 2024 * 100_003 + 5  # the bench's dark-0165: a code in near darkness


@pytest.mark.parametrize(
    ("retry", "category", "seed"),
    [
        ("dewarp300-otsu", "dark", _DARK_SEED),
        ("upscale3", "curved", 637),
        ("unbend-h-clahe", "curved", 637),
        ("unbend-v-clahe", "curved", 623),
        ("unbend-h-otsu", "curved", 637),
        ("dewarp300-soften", "dark", _DARK_SEED),
    ],
)
def test_each_geometry_retry_alone_reads_a_frame_the_plan_misses(
    retry: str, category: str, seed: int
) -> None:
    zbar = _zbar()
    frame = synth.make_frame(category, seed)
    without = Pipeline(zbar, geometry=(), resample=False).decode(frame.image).codes
    assert not matches([c.text for c in without], frame.text)
    alone = Pipeline(zbar, geometry=(retry,), resample=False).decode(frame.image).codes
    assert matches([c.text for c in alone], frame.text)


@pytest.mark.skipif(not QR_PHOTOS.is_dir(), reason="no qr-photos folder next to the repo")
def test_the_eroded_dewarp_reads_a_photo_the_rest_miss() -> None:
    zbar = _zbar()
    path = QR_PHOTOS / "qrcode-4" / "41.webp"
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    text = path.with_suffix(".txt").read_text(encoding="utf-8")
    others = tuple(g for g in Pipeline(zbar).geometry if g != "dewarp500-erode")
    rest = Pipeline(zbar, geometry=others, resample=False)  # (the resampler reads it too)
    assert not matches([c.text for c in rest.decode(image).codes], text)
    assert matches([c.text for c in Pipeline(zbar).decode(image).codes], text)
