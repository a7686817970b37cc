"""ID numbers, mobiles, names: checking and masking (kiosk.core.identity)."""

from __future__ import annotations

from datetime import date

import pytest

from kiosk.core import i18n
from kiosk.core.identity import (
    IdentityError,
    Reason,
    check_digit,
    check_id_number,
    check_mobile,
    check_name,
    make_id_number,
    mask_id_number,
    mask_name,
    mask_phone,
)

TODAY = date(2026, 3, 3)


@pytest.mark.parametrize(
    ("region", "birth", "seq"),
    [
        ("110101", date(1990, 3, 7), 451),
        ("310104", date(1900, 1, 1), 0),
        ("440305", date(2000, 2, 29), 999),
        ("650102", TODAY, 12),  # born today
        ("810000", date(1975, 12, 31), 7),
        ("910000", date(1988, 8, 8), 88),
    ],
)
def test_generated_numbers_are_valid(region: str, birth: date, seq: int) -> None:
    number = make_id_number(region, birth, seq)
    assert len(number) == 18
    assert number[6:14] == f"{birth:%Y%m%d}"
    assert check_id_number(number, TODAY) == number


def test_known_number_and_x_check_digit() -> None:
    assert make_id_number("110101", date(1990, 3, 7), 451) == "110101199003074514"
    # A check digit of X, typed in lower case and with spaces, is normalised.
    seq = next(s for s in range(1000) if make_id_number("110101", date(1980, 1, 1), s)[-1] == "X")
    number = make_id_number("110101", date(1980, 1, 1), seq)
    typed = f" {number[:6]} {number[6:14]} {number[14:].lower()} "
    assert check_id_number(typed, TODAY) == number
    assert check_digit(number[:17]) == "X"


def test_full_width_digits_are_accepted() -> None:
    number = make_id_number("110101", date(1990, 3, 7), 451)
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in number)
    assert check_id_number(full_width, TODAY) == number


GOOD = make_id_number("110101", date(1990, 3, 7), 451)
WRONG_CHECK = GOOD[:17] + ("0" if GOOD[17] != "0" else "1")


def _with_check(first17: str) -> str:
    return first17 + check_digit(first17)


@pytest.mark.parametrize(
    ("text", "reason", "message"),
    [
        ("", Reason.LENGTH, "ID number must have 18 characters, not 0"),
        (GOOD[:17], Reason.LENGTH, "ID number must have 18 characters, not 17"),
        (GOOD + "1", Reason.LENGTH, "ID number must have 18 characters, not 19"),
        ("110101900307451", Reason.LENGTH, "15 digits (the old format)"),
        (GOOD[:10] + "A" + GOOD[11:], Reason.CHARACTERS, "only digits"),
        (GOOD[:16] + "X" + GOOD[17], Reason.CHARACTERS, "only digits"),
        (WRONG_CHECK, Reason.CHECK_DIGIT, "ID number check digit is wrong"),
        (_with_check("11010119991332451"), Reason.BIRTH_DATE,
         "ID number has an impossible birth date 19991332"),
        (_with_check("11010119990230451"), Reason.BIRTH_DATE, "impossible birth date 19990230"),
        (_with_check("11010118991231451"), Reason.BIRTH_DATE, "impossible birth date 18991231"),
        (_with_check("11010120260304451"), Reason.BIRTH_DATE, "impossible birth date 20260304"),
        (_with_check("00010119900307451"), Reason.REGION, "unknown region code 000101"),
        (_with_check("99010119900307451"), Reason.REGION, "unknown region code 990101"),
        (_with_check("10010119900307451"), Reason.REGION, "unknown region code 100101"),
    ],
)  # fmt: skip
def test_bad_id_numbers(text: str, reason: Reason, message: str) -> None:
    with pytest.raises(IdentityError) as caught:
        check_id_number(text, TODAY)
    assert caught.value.reason is reason
    assert message in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_messages_are_translated() -> None:
    i18n.set_language("zh_CN")
    with pytest.raises(IdentityError) as caught:
        check_id_number(WRONG_CHECK, TODAY)
    assert str(caught.value) == "身份证号校验位不对"


def test_make_id_number_refuses_nonsense() -> None:
    with pytest.raises(ValueError):
        make_id_number("1101", date(1990, 1, 1), 1)
    with pytest.raises(ValueError):
        make_id_number("110101", date(1990, 1, 1), 1000)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("13812345678", "13812345678"),
        ("138 1234 5678", "13812345678"),
        ("138-1234-5678", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("8613812345678", "13812345678"),
        ("0086-138-1234-5678", "13812345678"),
        ("19912345678", "19912345678"),
        ("１３８１２３４５６７８", "13812345678"),
    ],
)
def test_good_mobiles(text: str, expected: str) -> None:
    assert check_mobile(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "1381234567", "138123456789", "12812345678", "23812345678", "010-62345678",
     "+1 138 1234 5678", "1381234567x", "861381234567"],
)  # fmt: skip
def test_bad_mobiles(text: str) -> None:
    with pytest.raises(IdentityError) as caught:
        check_mobile(text)
    assert caught.value.reason is Reason.PHONE
    assert "not a mainland mobile number" in str(caught.value)


def test_names() -> None:
    assert check_name("  张三  ") == "张三"
    assert check_name("Li \t  Lei") == "Li Lei"
    assert check_name("阿卜杜拉·买买提\u3000") == "阿卜杜拉·买买提"
    assert check_name("x" * 50) == "x" * 50
    for bad, message in (("", "Name is missing"), (" \u3000 ", "Name is missing"),
                         ("x" * 51, "longer than 50")):  # fmt: skip
        with pytest.raises(IdentityError) as caught:
            check_name(bad)
        assert caught.value.reason is Reason.NAME
        assert message in str(caught.value)


@pytest.mark.parametrize(
    ("masker", "text", "expected"),
    [
        (mask_id_number, "110101199003074514", "1101**********4514"),
        (mask_id_number, "11010119900307451X", "1101**********451X"),
        (mask_id_number, "1234", "****"),
        (mask_id_number, None, ""),
        (mask_id_number, "", ""),
        (mask_phone, "13812345678", "138****5678"),
        (mask_phone, "12345", "*****"),
        (mask_phone, None, ""),
        (mask_name, "张三丰", "张*丰"),
        (mask_name, "张三", "张*"),
        (mask_name, "欧阳娜娜", "欧**娜"),
        (mask_name, "张", "*"),
        (mask_name, "Li Lei", "L** L**"),
        (mask_name, "  Anna  ", "A**"),
        (mask_name, None, ""),
        (mask_name, "", ""),
    ],
)
def test_masks(masker: object, text: str | None, expected: str) -> None:
    assert callable(masker)
    assert masker(text) == expected
