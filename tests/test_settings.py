"""The typed settings: declared once (defaults, ranges, choices), read from a hand-edited
file without ever stopping the gate, written back with only what differs."""

from __future__ import annotations

import dataclasses
import logging
from datetime import time
from pathlib import Path

import pytest

from kiosk.core.errors import UserError
from kiosk.core.rules import REPEAT_WINDOW_S, DirectionMode, RuleSettings
from kiosk.settings import BY_NAME, PIN_SETTING, SETTINGS, Settings


def test_every_field_is_declared_with_help_and_a_valid_default() -> None:
    assert [s.name for s in SETTINGS] == list(Settings().values())
    assert "path" not in BY_NAME  # the file is no setting
    for s in SETTINGS:
        assert s.help and s.type in (str, int, float, bool)
        assert isinstance(s.default, s.type), s.name
        assert not s.labels or len(s.labels) == len(s.choices), s.name
    assert BY_NAME["fever_threshold"].minimum == 36.0
    assert BY_NAME["decoder"].choices == ("auto", "zxing", "zbar", "opencv")


def test_the_rule_defaults_and_the_repeat_window_are_declared_once() -> None:
    defaults = Settings()
    assert defaults.rules() == RuleSettings()  # taken from kiosk.core.rules
    assert defaults.repeat_window_s == REPEAT_WINDOW_S == 5.0
    assert defaults.direction_mode() is DirectionMode.AUTO


def test_a_missing_file_gives_the_defaults(tmp_path: Path) -> None:
    loaded = Settings.load(tmp_path / "settings.toml")
    assert loaded == Settings() and loaded.path == tmp_path / "settings.toml"


def test_bad_values_fall_back_to_their_default_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "settings.toml"
    path.write_text(
        "\n".join(
            [
                "fever_threshold = 99.0",  # out of range
                'retention_days = "many"',  # not a number
                'decoder = "quagga"',  # not a choice
                'curfew_start = "25:99"',  # not a time
                "quota_enabled = 3",  # not a yes or no
                'scanner_suffix = "\\u0003"',  # types no character
                "colour = 1",  # no such setting
                "quota_outings = 3",  # good: kept
                'sounds = "off"',  # good: a word for false
            ]
        ),
        encoding="utf-8",
    )
    with caplog.at_level(logging.WARNING, logger="kiosk.settings"):
        loaded = Settings.load(path)
    assert loaded == Settings(quota_outings=3, sounds=False)
    warned = caplog.text
    for name in ("fever_threshold", "retention_days", "decoder", "curfew_start"):
        assert f"setting {name}=" in warned
    assert "unknown setting 'colour'" in warned


def test_an_unreadable_file_gives_the_defaults(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "settings.toml"
    path.write_text("this is = = not toml", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="kiosk.settings"):
        assert Settings.load(path) == Settings()
    assert "unreadable" in caplog.text


@pytest.mark.parametrize(
    ("name", "good", "bad"),
    [
        ("repeat_window_s", ["0", "600", "2.5"], ["-1", "601", "nan", "inf", "soon"]),
        ("quota_outings", ["1", "50"], ["0", "51", "True"]),
        ("visitor_code_hours", ["1", "336"], ["0", "337"]),
        ("temperature_min", ["30", "36"], ["29.9", "36.1"]),
        ("direction", ["in", "out", "auto"], ["sideways", ""]),
        ("language", ["", "zh_CN", "en"], ["fr"]),
        ("curfew_end", ["06:00", "23:59"], ["6 o'clock", "24:00"]),
        ("anti_passback", ["yes", "0", "off"], ["maybe"]),
    ],
)
def test_ranges_and_choices(name: str, good: list[str], bad: list[str]) -> None:
    for value in good:
        Settings().updated({name: value})  # accepted
    for value in bad:
        with pytest.raises(UserError, match=name):
            Settings().updated({name: value})


def test_updated_makes_a_new_value_and_says_what_changed() -> None:
    before = Settings()
    after, changes = before.updated({"fever_threshold": "37.5", "theme": "auto", "sounds": "no"})
    assert changes == [("fever_threshold", 37.3, 37.5), ("sounds", True, False)]  # not theme
    assert (after.fever_threshold, after.sounds) == (37.5, False)
    assert before == Settings()  # unchanged: a frozen value
    with pytest.raises(dataclasses.FrozenInstanceError):
        after.theme = "night"  # type: ignore[misc]


def test_updated_changes_nothing_when_one_value_is_wrong() -> None:
    with pytest.raises(UserError, match="quota_days"):
        Settings().updated({"fever_threshold": "38", "quota_days": "0"})
    with pytest.raises(UserError, match="No setting called nope"):
        Settings().updated({"nope": "1"})
    with pytest.raises(UserError, match="kiosk pin set"):
        Settings().updated({PIN_SETTING: "x"})


def test_a_settings_value_is_checked_when_made() -> None:
    assert Settings(repeat_window_s=2).repeat_window_s == 2.0  # as its type
    assert isinstance(Settings(repeat_window_s=2).repeat_window_s, float)
    with pytest.raises(ValueError):
        Settings(retention_days=0)
    with pytest.raises(ValueError):
        Settings(curfew_start="late")


def test_save_writes_only_what_differs_and_loads_back(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    Settings(path=path).save()
    assert [line for line in path.read_text().splitlines() if not line.startswith("#")] == []
    changed, _ = Settings(path=path).updated(
        {"curfew_start": "21:30", "quota_enabled": "true", "scanner_prefix": ']"Q\\'}
    )
    changed.save()
    written = [line for line in path.read_text().splitlines() if not line.startswith("#")]
    assert written == [
        'scanner_prefix = "]\\"Q\\\\"',
        "quota_enabled = true",
        'curfew_start = "21:30"',
    ]
    loaded = Settings.load(path)
    assert loaded == changed
    assert loaded.rules().curfew_start == time(21, 30) and loaded.rules().quota_enabled


def test_an_older_files_pin_hash_is_kept_apart_and_never_written(tmp_path: Path) -> None:
    """The admin PIN's hash is the database's now: one an older Gatepass left in the file
    is read apart (for kiosk.store.pin_lock.adopt_pin_hash), out of the repr, and gone
    from the file once saved; move_pin_hash_out hands it over first."""
    from kiosk.settings import move_pin_hash_out

    path = tmp_path / "settings.toml"
    path.write_text('retention_days = 14\nadmin_pin_hash = "scrypt$secret"\n')
    loaded = Settings.load(path)
    assert loaded.legacy_pin_hash == "scrypt$secret" and loaded.retention_days == 14
    assert "scrypt$secret" not in repr(loaded)
    kept: list[str] = []
    assert move_pin_hash_out(path, kept.append)
    assert kept == ["scrypt$secret"]
    assert "admin_pin_hash" not in path.read_text() and "retention_days = 14" in path.read_text()
    assert not move_pin_hash_out(path, kept.append) and kept == ["scrypt$secret"]
