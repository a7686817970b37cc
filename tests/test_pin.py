"""The administrator PIN hash."""

from __future__ import annotations

import pytest

from kiosk.core.pin import hash_pin, is_set, pin_problem, verify_pin


def test_hash_and_verify() -> None:
    stored = hash_pin("2580")
    assert stored.startswith("scrypt$16384$8$1$")
    assert len(stored.split("$")) == 6
    assert verify_pin("2580", stored)
    assert not verify_pin("2581", stored)
    assert not verify_pin("", stored)
    assert hash_pin("2580") != stored  # salted


def test_no_pin_set_opens_nothing() -> None:
    """There is no default PIN: 1234 (the old default) opens nothing."""
    assert not is_set("")
    assert is_set(hash_pin("2580"))
    for guess in ("1234", "0000", ""):
        assert not verify_pin(guess, "")


@pytest.mark.parametrize(
    ("pin", "words"),
    [
        ("123", "4 to 12 digits"),
        ("1234567890123", "4 to 12 digits"),
        ("12a4", "digits only"),
        ("１２３４", "digits only"),  # full-width digits
        ("", "digits only"),
        ("1234", "in order"),
        ("4321", "in order"),
        ("7890", "in order"),
        ("123456", "in order"),
        ("0000", "repeated"),
        ("999999", "repeated"),
        ("1212", "repeated"),
        ("135135", "repeated"),
    ],
)
def test_weak_or_malformed_pins_refused(pin: str, words: str) -> None:
    problem = pin_problem(pin)
    assert problem is not None and words in problem


@pytest.mark.parametrize("pin", ["2580", "1357", "9402", "20240611", "104729", "1243"])
def test_acceptable_pins(pin: str) -> None:
    assert pin_problem(pin) is None


def test_malformed_hash_matches_nothing() -> None:
    for stored in ("x", "scrypt$1$2$3$@@@$###", "md5$1$1$1$AA==$AA==", "scrypt$a$b$c$d$e"):
        assert not verify_pin("1234", stored)
