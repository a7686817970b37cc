"""The ID card reader: parsing and checks on OCR lines (fast), the locator on generated
frames (fast), end-to-end reads through the real OCR (slow), and ``kiosk idcard read``."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from kiosk.cli import cli
from kiosk.core.identity import check_digit, make_id_number
from kiosk.vision import idcard, idcard_synth
from kiosk.vision.idcard import Field, Line, find_number, locate_card, parse_lines, where_from

TODAY = date(2026, 11, 30)
NUMBER = make_id_number("330106", date(1990, 3, 7), 123)  # odd: male


def lines(*rows: str) -> list[Line]:
    return [Line(text, 0.95, (50.0, 60.0 * i, 600.0, 60.0 * i + 40)) for i, text in enumerate(rows)]


CARD = lines(
    "姓名张三丰",
    "性别男民族汉",
    "出生1990年3月7日",
    "住址浙江省杭州市西湖区",
    "文三路100号",
    f"公民身份号码{NUMBER}",
)


def test_parse_a_whole_card() -> None:
    reading = parse_lines(CARD, today=TODAY)
    assert reading.name.text == "张三丰"
    assert (reading.sex.text, reading.ethnicity.text) == ("男", "汉")
    assert reading.birth.text == "1990-03-07"
    assert reading.address.text == "浙江省杭州市西湖区文三路100号"
    assert reading.valid_id_number == NUMBER
    assert reading.number_ok and reading.sex_agrees and reading.birth_agrees
    assert (reading.province, reading.city) == ("浙江省", "杭州市")
    assert not reading.name.low_confidence


def test_disagreements_and_low_confidence() -> None:
    rows = [*CARD[:1], Line("性别女民族汉", 0.5, CARD[1].box), *CARD[2:]]
    reading = parse_lines(rows, today=TODAY)
    assert reading.sex_agrees is False
    assert reading.sex.low_confidence
    assert reading.birth_agrees is True


def test_wrong_check_digit_is_flagged_never_valid() -> None:
    wrong = NUMBER[:17] + ("0" if NUMBER[17] != "0" else "1")
    reading = parse_lines([*CARD[:5], Line(f"公民身份号码{wrong}", 0.99, CARD[5].box)], today=TODAY)
    assert reading.id_number.text == wrong
    assert not reading.number_ok
    assert reading.valid_id_number is None
    assert reading.number_problem == "check_digit"


def test_unknown_region_is_flagged() -> None:
    first17 = "99" + NUMBER[2:17]
    number = first17 + check_digit(first17)
    reading = parse_lines([Line(number, 0.99, (0, 0, 10, 10))], today=TODAY)
    assert (reading.number_ok, reading.number_problem) == (False, "region")


def test_ocr_confusions_in_the_number() -> None:
    assert find_number("公民身份号码 1101O1199OO3O71234") == "110101199003071234"
    assert find_number("11010119900307123x") == "11010119900307123X"
    assert find_number("12345") is None


@pytest.mark.parametrize(
    ("address", "province", "city"),
    [
        ("北京市朝阳区建国路1号", "北京市", "朝阳区"),
        ("广西壮族自治区南宁市青秀区", "广西壮族自治区", "南宁市"),
        ("新疆维吾尔自治区乌鲁木齐市天山区", "新疆维吾尔自治区", "乌鲁木齐市"),
        ("湖北省恩施土家族苗族自治州恩施市", "湖北省", "恩施土家族苗族自治州"),
        ("某地", "", ""),
    ],
)
def test_where_from(address: str, province: str, city: str) -> None:
    assert where_from(address) == (province, city)


@given(st.text(alphabet="0123456789", min_size=17, max_size=17), st.sampled_from("0123456789X"))
def test_a_wrong_check_digit_is_never_valid(first17: str, last: str) -> None:
    reading = parse_lines([Line(f"公民身份号码{first17}{last}", 0.99, (0, 0, 9, 9))], today=TODAY)
    if last != check_digit(first17):
        assert not reading.number_ok
        assert reading.valid_id_number is None
    else:
        assert reading.number_ok == (reading.number_problem is None)


@pytest.mark.parametrize("kind", ["clean", "near", "tilted"])  # thumb: see docs/idcard.md
def test_locator_finds_the_generated_card(kind: str) -> None:
    hits = 0
    for seed in range(3):
        frame = idcard_synth.make_card_frame(kind, 100 + seed)
        found = locate_card(frame.image)
        truth = np.array(frame.corners)
        if found is not None and float(np.abs(found - truth).max()) < 0.06 * np.ptp(truth[:, 0]):
            hits += 1
    assert hits >= 1  # measured share per kind: bench/bench_idcard.py


def test_generator_is_deterministic_and_agrees_with_itself() -> None:
    a = idcard_synth.make_card_frame("glare", 7)
    b = idcard_synth.make_card_frame("glare", 7)
    assert np.array_equal(a.image, b.image)
    assert a.image.shape == (720, 1280, 3)
    card = a.card
    assert card.number_valid
    assert ("男" if int(card.id_number[16]) % 2 else "女") == card.sex
    assert card.id_number[6:14] == f"{card.birth:%Y%m%d}"
    bad = idcard_synth.make_card_frame("clean", 7, valid=False).card
    assert check_digit(bad.id_number[:17]) != bad.id_number[17]


@pytest.fixture(scope="module")
def card_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("cards")
    out = {}
    frame = idcard_synth.make_card_frame("near", 1)
    out["near"] = folder / "near.png"
    cv2.imwrite(str(out["near"]), frame.image)
    out["junk"] = folder / "junk.png"
    out["junk"].write_bytes(b"not an image")
    out["_number"] = Path(frame.card.id_number)
    return out


@pytest.mark.slow
def test_end_to_end_read_of_a_near_card(caplog: pytest.LogCaptureFixture) -> None:
    from kiosk.vision.idcard import read_card

    frame = idcard_synth.make_card_frame("near", 1)
    with caplog.at_level("DEBUG"):
        reading = read_card(frame.image)
    assert reading.valid_id_number == frame.card.id_number
    assert reading.name.text == frame.card.name
    assert reading.ms > 0
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "ID card read" in logged  # timings and outcomes only:
    assert frame.card.id_number[-6:] not in logged and frame.card.name not in logged


@pytest.mark.slow
def test_end_to_end_a_wrong_check_digit_is_read_but_flagged() -> None:
    from kiosk.vision.idcard import read_card

    frame = idcard_synth.make_card_frame("near", 1, valid=False)
    reading = read_card(frame.image)
    assert reading.id_number.text == frame.card.id_number
    assert reading.valid_id_number is None
    assert reading.number_problem == "check_digit"


@pytest.mark.slow
def test_cli_in_process(card_files: dict[str, Path], home_dir: Path) -> None:
    result = CliRunner().invoke(
        cli, ["--home", str(home_dir), "idcard", "read", "--json", str(card_files["near"])]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    number = str(card_files["_number"])
    assert data["fields"]["id_number"]["text"] == number[:4] + "*" * 10 + number[-4:]
    assert data["number_ok"] is True


@pytest.mark.slow
def test_cli_subprocess_bad_file(card_files: dict[str, Path], home_dir: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "kiosk", "--home", str(home_dir), "--lang", "en", "idcard", "read",
         str(card_files["junk"]), str(card_files["near"])],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert "not an image" in done.stdout
    assert "ID number check: valid" in done.stdout
    assert str(card_files["_number"]) not in done.stdout  # masked


def test_the_ocr_loads_on_first_use_not_at_import() -> None:
    code = (
        "import sys, kiosk.cli, kiosk.vision.idcard; "
        "print([m for m in ('rapidocr_onnxruntime', 'onnxruntime') if m in sys.modules])"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"


def test_cli_unmasked_needs_the_issuer_key(card_files: dict[str, Path], home_dir: Path) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "--home",
            str(home_dir),
            "--lang",
            "en",
            "idcard",
            "read",
            "--unmasked",
            str(card_files["near"]),
        ],
    )
    assert result.exit_code == 2
    assert "private key" in result.stderr


# ---------------------------------------------------------------- the name read again


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("姓名张三丰", "张三丰"),
        ("名张三丰", "张三丰"),  # the label's first half missed
        ("推名马洋娜", "马洋娜"),  # the label's first half misread
        ("性林超", "林超"),  # the label's second half missed, its first misread
        ("男民族汉", ""),  # the row below read in the name's place
        ("女民总维系尔", ""),
        ("性别女", ""),
        ("李名扬", "李名扬"),  # 名 in a name of three is the name's
    ],
)
def test_name_from_a_row(text: str, name: str) -> None:
    assert idcard._name([(text, 0.9)]).text == name


def test_likeliest_name_of_several_readings() -> None:
    pick = idcard._likeliest_name
    assert pick([]) == Field()
    # two readings agreeing beat a likelier single one
    assert pick([Field("刘理", 0.8), Field("刘", 0.99), Field("刘理", 0.7)]).text == "刘理"
    # a reading with the characters another dropped
    assert pick([Field("涛", 0.99), Field("诸葛涛", 0.9)]).text == "诸葛涛"
    assert pick([Field("涛", 0.99), Field("诸葛涛", 0.3)]).text == "涛"
    assert pick([Field("李芳", 0.6), Field("季艳", 0.9)]).text == "季艳"


def test_name_band_right_of_the_label_the_ocr_found() -> None:
    # 姓名 + name found as one line at twice the rectified card's size, moved
    line = Line("姓名王芳", 0.9, (100.0, 100.0, 600.0, 198.0))
    (top, bottom, left, right), *_ = idcard._name_bands([line], card=False)
    assert top < 100 and bottom > 198
    assert left == pytest.approx(100 + 2 * 111, abs=2)  # the label cut off
    assert 600 < right < 700
    assert idcard._name_bands([], card=False) == []
    # on a rectified card with nothing found: where the layout puts it
    assert idcard._name_bands([], card=True) == [idcard.NAME_BAND]


def test_trim_right_cuts_after_the_last_writing() -> None:
    band = np.full((58, 430, 3), 225, np.uint8)
    cv2.putText(band, "AB", (10, 45), cv2.FONT_HERSHEY_SIMPLEX, 1.4, (20, 20, 20), 3)
    trimmed = idcard._trim_right(band)
    assert 60 < trimmed.shape[1] < 140
    blank = np.full((58, 430, 3), 225, np.uint8)
    assert idcard._trim_right(blank).shape == blank.shape


def test_the_generators_common_names_are_in_the_recognisers_dictionary() -> None:
    known = idcard.recogniser_characters()
    common = set("".join(idcard_synth._SURNAMES + idcard_synth._GIVEN))
    assert common <= known
    # rare characters of given names the model cannot output (docs/idcard.md)
    assert sorted(idcard_synth.RARE_CHARACTERS - known) == sorted("旻昳翀赟韡")


@pytest.mark.slow
def test_read_name_from_a_rectified_generated_card() -> None:
    frame = idcard_synth.make_card_frame("near", 0)
    assert not set(frame.card.name) & idcard_synth.RARE_CHARACTERS
    card = idcard.rectify(frame.image, np.array(frame.corners, np.float32))
    # where the layout puts it, and from the line the OCR found
    assert idcard.read_name(card).text == frame.card.name
    lines = idcard.ocr_lines(idcard._normalise_light(card))
    name = idcard.read_name(card, lines)
    assert name.text == frame.card.name
    assert not name.low_confidence
