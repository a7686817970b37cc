"""The frame generator: deterministic, webcam-shaped, truth that matches the pixels."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import cv2
import numpy as np
import pytest

from kiosk.core.errors import UserError
from kiosk.vision import synth
from kiosk.vision.decoders import ZXingDecoder


def test_same_seed_same_frame_other_seed_other_frame() -> None:
    a = synth.make_frame("glare", 5)
    b = synth.make_frame("glare", 5)
    c = synth.make_frame("glare", 6)
    assert np.array_equal(a.image, b.image) and a.text == b.text
    assert not np.array_equal(a.image, c.image)


def test_every_category_is_a_720p_bgr_frame_with_truth(
    frames_by_category: dict[str, list[synth.SynthFrame]],
) -> None:
    assert set(frames_by_category) == set(synth.CATEGORIES)
    assert len(synth.CATEGORIES) == 17
    for category, frames in frames_by_category.items():
        for frame in frames:
            assert frame.image.shape == (720, 1280, 3) and frame.image.dtype == np.uint8
            assert frame.category == category
            if category == "none":
                assert frame.text is None and frame.corners is None
                continue
            assert frame.text and frame.corners is not None
            pts = np.array(frame.corners)
            assert (pts >= -1).all() and (pts[:, 0] <= 1281).all() and (pts[:, 1] <= 721).all()


def test_the_truth_corners_are_where_a_decoder_finds_the_code() -> None:
    frame = synth.make_frame("tilt", 2)
    codes = ZXingDecoder().decode(cv2.cvtColor(frame.image, cv2.COLOR_BGR2GRAY))
    assert [c.text for c in codes] == [frame.text]
    truth = np.array(frame.corners)
    side = float(np.linalg.norm(truth[1] - truth[0]))
    found = np.array(codes[0].corners)
    assert max(float(np.min(np.linalg.norm(found - t, axis=1))) for t in truth) < 0.08 * side


def test_trouble_is_visible_in_the_pixels() -> None:
    clean = cv2.cvtColor(synth.make_frame("clean", 1).image, cv2.COLOR_BGR2GRAY)
    dark = cv2.cvtColor(synth.make_frame("dark", 1).image, cv2.COLOR_BGR2GRAY)
    inverted = synth.make_frame("inverted", 1)
    assert np.percentile(dark, 99) < 60 < np.percentile(clean, 99)
    # inverted: the card around the code is darker than the code's light modules
    pts = np.array(inverted.corners).astype(int)
    gray = cv2.cvtColor(inverted.image, cv2.COLOR_BGR2GRAY)
    x0, y0 = pts.min(axis=0)
    x1, y1 = pts.max(axis=0)
    quiet = gray[max(y0 - 12, 0) : y0 - 4, x0:x1]
    assert float(quiet.mean()) < float(np.percentile(gray[y0:y1, x0:x1], 90)) - 80


def test_payloads_are_realistic() -> None:
    rng = np.random.default_rng(1)
    token = synth.gatepass_token(rng)
    assert re.fullmatch(r"GP1:[A-Z2-7]{132}", token) and len(token) == 136
    kinds = {synth.random_payload(rng)[:4] for _ in range(200)}
    assert "GP1:" in kinds
    assert any(k.lower().startswith("http") for k in kinds)
    assert any(k.isdigit() for k in kinds)
    assert any(not k.isascii() for k in kinds)


def test_unknown_category_and_overlong_text_are_user_errors() -> None:
    with pytest.raises(UserError, match="clean"):
        synth.make_frame("sepia", 1)
    with pytest.raises(UserError, match="too long"):
        synth.qr_matrix("X" * 8000)


def test_dataset_folder_with_truth(tmp_path: Path) -> None:
    truth = synth.write_dataset(tmp_path / "set", 1, seed=3, categories=("clean", "none"))
    rows = synth.read_truth(truth)
    assert [(name, cat) for name, cat, _ in rows] == [
        ("clean-0000.png", "clean"),
        ("none-0001.png", "none"),
    ]
    assert rows[0][2] == synth.make_frame("clean", 300_009).text
    assert rows[1][2] is None
    for name, _, _ in rows:
        assert cv2.imread(str(tmp_path / "set" / name)) is not None


def test_truth_file_is_spreadsheet_safe_and_reads_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """truth.tsv goes through the one CSV rule (kiosk.core.csv_cells): a text that a
    spreadsheet would take for a formula is quoted in the file and read back as it was."""
    real = synth.make_frame("clean", 1)
    hostile = ['=HYPERLINK("http://x.example")', "@SUM(1)", "-cmd|' /C calc'!A0"]
    fakes = [synth.SynthFrame(real.image, "clean", text, real.corners) for text in hostile]
    monkeypatch.setattr(synth, "frames", lambda *args, **kwargs: iter(fakes))
    truth = synth.write_dataset(tmp_path / "set", 1, categories=("clean",))
    with truth.open(encoding="utf-8", newline="") as fh:
        cells = [row[2] for row in csv.reader(fh, delimiter="\t")][1:]
    assert cells == ["'" + text for text in hostile]
    assert [text for _, _, text in synth.read_truth(truth)] == hostile


def test_video_segments(tmp_path: Path) -> None:
    path = tmp_path / "demo.avi"
    spans = synth.write_video(
        path, [synth.Segment(None, 0.25), synth.Segment("GP1:V", 0.5)], fps=20
    )
    assert spans == [(0, 5, None), (5, 15, "GP1:V")]
    capture = cv2.VideoCapture(str(path))
    assert capture.get(cv2.CAP_PROP_FPS) == pytest.approx(20)
    frames = []
    while True:
        ok, image = capture.read()
        if not ok:
            break
        frames.append(image)
    capture.release()
    assert len(frames) == 15
    assert not np.array_equal(frames[6], frames[7])  # a hand is never quite still
