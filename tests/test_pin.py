"""The administrator PIN hash."""

from __future__ import annotations

from kiosk.core.pin import DEFAULT_PIN, hash_pin, is_default, is_valid_pin, verify_pin


def test_hash_and_verify() -> None:
    stored = hash_pin("2580")
    assert stored.startswith("scrypt$16384$8$1$")
    assert len(stored.split("$")) == 6
    assert verify_pin("2580", stored)
    assert not verify_pin("2581", stored)
    assert not verify_pin("", stored)
    assert hash_pin("2580") != stored  # salted


def test_default_pin_when_none_is_set() -> None:
    assert is_default("")
    assert verify_pin(DEFAULT_PIN, "")
    assert not verify_pin("0000", "")


def test_malformed_hash_matches_nothing() -> None:
    for stored in ("x", "scrypt$1$2$3$@@@$###", "md5$1$1$1$AA==$AA==", "scrypt$a$b$c$d$e"):
        assert not verify_pin("1234", stored)


def test_valid_pins() -> None:
    assert is_valid_pin("1234")
    assert not is_valid_pin("123")
    assert not is_valid_pin("12a4")
    assert not is_valid_pin("１２３４")
