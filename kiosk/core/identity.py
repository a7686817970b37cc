"""Checking and masking the personal data of the register: ID numbers, mobiles, names.

* ID numbers are mainland resident identity numbers (GB 11643-1999): 18 characters,
  17 digits and a check digit (0-9 or X, ISO 7064 MOD 11-2), a real birth date and a
  province code from GB/T 2260. The old 15-digit numbers are refused: the register
  holds 18-digit numbers only.
* Mobiles are mainland mobile numbers, 11 digits starting 13-19.
* Masking hides most of a value on screens and in exports (``1101**********4514``,
  ``138****5678``, ``张*丰``).

Every error is an :class:`IdentityError` whose ``reason`` says what is wrong and whose
text says it in the user's words.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from enum import StrEnum
from operator import mul

from kiosk.core.i18n import tr

ID_LENGTH = 18
LEGACY_ID_LENGTH = 15
NAME_MAX = 50
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"
_DIGITS = frozenset("0123456789")
PROVINCES = frozenset(
    {
        "11", "12", "13", "14", "15",
        "21", "22", "23",
        "31", "32", "33", "34", "35", "36", "37",
        "41", "42", "43", "44", "45", "46",
        "50", "51", "52", "53", "54",
        "61", "62", "63", "64", "65",
        "71", "81", "82", "83", "91",
    }
)  # fmt: skip
"""Province-level codes of GB/T 2260 (first two digits of an ID number)."""

_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_PHONE_JUNK = str.maketrans("", "", " -()\t")


class Reason(StrEnum):
    """What is wrong with a value (stable names, for code; the text is for people)."""

    LENGTH = "length"
    CHARACTERS = "characters"
    CHECK_DIGIT = "check_digit"
    BIRTH_DATE = "birth_date"
    REGION = "region"
    PHONE = "phone"
    NAME = "name"


class IdentityError(ValueError):
    """A value that is not a valid ID number, mobile or name; ``str()`` says why."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def check_digit(first17: str) -> str:
    """The GB 11643 check character of the first 17 digits."""
    return _CHECK_CHARS[sum(map(mul, map(int, first17), _WEIGHTS)) % 11]


def _compact(text: str) -> str:
    """Full-width digits and letters to ASCII, spaces removed."""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    return "".join(text.split())


def check_id_number(text: str, today: date) -> str:
    """The ID number, normalised, or :class:`IdentityError`.

    Spaces, full-width digits and a lower-case x are tolerated; the result is 18 ASCII
    characters with an upper-case X. ``today`` bounds the birth date.
    """
    number = _compact(text).upper()
    if len(number) == LEGACY_ID_LENGTH and set(number) <= _DIGITS:
        raise IdentityError(
            Reason.LENGTH,
            tr("ID number has 15 digits (the old format); the register needs the 18-digit number"),
        )
    if len(number) != ID_LENGTH:
        raise IdentityError(
            Reason.LENGTH,
            tr("ID number must have 18 characters, not {count}", count=len(number)),
        )
    if not set(number[:17]) <= _DIGITS or number[17] not in "0123456789X":
        raise IdentityError(
            Reason.CHARACTERS,
            tr("ID number may contain only digits, and X as the last character"),
        )
    if number[:2] not in PROVINCES:
        raise IdentityError(
            Reason.REGION,
            tr("ID number has an unknown region code {code}", code=number[:6]),
        )
    born = number[6:14]
    try:
        birth = date(int(born[:4]), int(born[4:6]), int(born[6:]))
    except ValueError:
        birth = None
    if birth is None or birth.year < 1900 or birth > today:
        raise IdentityError(
            Reason.BIRTH_DATE,
            tr("ID number has an impossible birth date {date}", date=born),
        )
    if check_digit(number[:17]) != number[17]:
        raise IdentityError(Reason.CHECK_DIGIT, tr("ID number check digit is wrong"))
    return number


def make_id_number(region: str, birth: date, seq: int) -> str:
    """A valid ID number (for tests, benchmarks and the demo).

    ``region`` is the 6-digit area code, ``seq`` the 3-digit sequence (odd: male).
    """
    if len(region) != 6 or not set(region) <= _DIGITS:
        raise ValueError(f"region must be 6 digits, not {region!r}")
    if not 0 <= seq <= 999:
        raise ValueError(f"seq must be 0..999, not {seq}")
    first17 = f"{region}{birth:%Y%m%d}{seq:03d}"
    return first17 + check_digit(first17)


def check_mobile(text: str) -> str:
    """A mainland mobile number as 11 digits, or :class:`IdentityError`.

    Spaces, dashes and a leading +86, 86 or 0086 are tolerated.
    """
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    number = text.translate(_PHONE_JUNK)
    for prefix in ("+86", "0086", "86"):
        if number.startswith(prefix) and len(number) == 11 + len(prefix):
            number = number[len(prefix) :]
            break
    if not _MOBILE.fullmatch(number):
        raise IdentityError(
            Reason.PHONE,
            tr("Phone is not a mainland mobile number (11 digits starting with 13 to 19)"),
        )
    return number


def check_name(text: str) -> str:
    """The name with its spaces tidied, or :class:`IdentityError`."""
    name = " ".join(text.split())
    if not name:
        raise IdentityError(Reason.NAME, tr("Name is missing"))
    if len(name) > NAME_MAX:
        raise IdentityError(
            Reason.NAME,
            tr("Name is longer than {max} characters", max=NAME_MAX),
        )
    return name


def mask_id_number(text: str | None) -> str:
    """``1101**********4514``: the first 4 and the last 4 characters."""
    if not text:
        return ""
    if len(text) <= 8:
        return "*" * len(text)
    return text[:4] + "*" * (len(text) - 8) + text[-4:]


def mask_phone(text: str | None) -> str:
    """``138****5678``: the first 3 and the last 4 digits."""
    if not text:
        return ""
    if len(text) <= 7:
        return "*" * len(text)
    return text[:3] + "*" * (len(text) - 7) + text[-4:]


def _is_cjk(char: str) -> bool:
    return ord(char) >= 0x2E80


def mask_name(text: str | None) -> str:
    """``张*丰``, ``张*``, ``欧**娜``; Latin names ``L** L**`` (first letter of each word)."""
    if not text:
        return ""
    name = " ".join(text.split())
    if not any(_is_cjk(c) for c in name):
        return " ".join(word[0] + "**" for word in name.split())
    if len(name) == 1:
        return "*"
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]
