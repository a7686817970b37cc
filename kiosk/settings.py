"""Every setting, declared once: name, type, default, help. Stored as plain TOML in
the checkpoint's home (``settings.toml``); only values that differ from the default
are written. Unknown or unreadable values fall back to the default with a warning in
the log, so a hand-edited file never stops the gate.
"""

from __future__ import annotations

import logging
import math
import os
import tomllib
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from typing import Any

from kiosk.core.errors import UserError
from kiosk.core.i18n import N_, tr
from kiosk.core.rules import DirectionMode, RuleSettings

log = logging.getLogger("kiosk.settings")


@dataclass(frozen=True)
class Setting:
    name: str
    type: type
    default: Any
    help: str
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    labels: tuple[str, ...] = ()  # what a person reads for each choice (N_-marked)

    def choice_label(self, choice: str) -> str:
        """The words shown for ``choice`` in the reader's language; the stored value
        stays ``choice``."""
        if choice in self.choices and self.labels:
            return tr(self.labels[self.choices.index(choice)])
        return choice


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "language",
        str,
        "",
        N_("Language of the window: zh_CN or en; empty: the system's."),
        ("", "zh_CN", "en"),
        labels=(N_("The computer's language"), N_("Chinese (zh_CN)"), N_("English (en)")),
    ),
    Setting(
        "camera",
        str,
        "0",
        N_("Camera: a webcam index (0, 1, ...) or a video file or image folder."),
    ),
    Setting(
        "decoder",
        str,
        "auto",
        N_("QR decoder: auto, zxing, zbar or opencv."),
        ("auto", "zxing", "zbar", "opencv"),
        labels=(
            N_("Automatic (the best one installed)"),
            N_("ZXing decoder"),
            N_("ZBar decoder"),
            N_("OpenCV decoder (always installed)"),
        ),
    ),
    Setting(
        "scanner_prefix",
        str,
        "",
        N_("Text a handheld scanner types before each code, cut off (empty: none)."),
    ),
    Setting(
        "scanner_suffix",
        str,
        "",
        N_("Text a handheld scanner types after each code, cut off; it ends the scan."),
    ),
    Setting(
        "direction",
        str,
        "auto",
        N_("Gate direction: in, out, or auto (the opposite of the person's last passage)."),
        ("in", "out", "auto"),
        labels=(
            N_("Everyone comes in"),
            N_("Everyone goes out"),
            N_("Automatic (the opposite of the person's last passage)"),
        ),
    ),
    Setting(
        "repeat_window_s",
        float,
        5.0,
        N_("Seconds during which the same code scanned again is ignored."),
        minimum=0,
        maximum=600,
    ),
    Setting(
        "fever_threshold",
        float,
        37.3,
        N_("Body temperature (°C) from which a reading is a fever."),
        minimum=36.0,
        maximum=40.0,
    ),
    Setting(
        "temperature_min",
        float,
        34.0,
        N_("Readings below this (°C) are refused as mis-measured."),
        minimum=30.0,
        maximum=36.0,
    ),
    Setting(
        "temperature_max",
        float,
        43.0,
        N_("Readings above this (°C) are refused as mis-measured."),
        minimum=40.0,
        maximum=45.0,
    ),
    Setting("quota_enabled", bool, False, N_("Limit how often a household may go out.")),
    Setting(
        "quota_outings",
        int,
        1,
        N_("Outings allowed per household in the quota period."),
        minimum=1,
        maximum=50,
    ),
    Setting(
        "quota_days", float, 2.0, N_("Length of the quota period in days."), minimum=0.1, maximum=30
    ),
    Setting(
        "anti_passback",
        bool,
        True,
        N_("Flag a pass scanned 'in' while its holder is already inside."),
    ),
    Setting("curfew_enabled", bool, False, N_("Flag passages during curfew hours.")),
    Setting("curfew_start", str, "22:00", N_("Curfew starts (HH:MM).")),
    Setting("curfew_end", str, "06:00", N_("Curfew ends (HH:MM).")),
    Setting(
        "visitor_code_hours",
        int,
        24,
        N_("How long a visitor code stays valid, in hours."),
        minimum=1,
        maximum=24 * 14,
    ),
    Setting(
        "visitor_overstay_hours",
        float,
        4.0,
        N_("Visitors inside longer than this are listed as overstaying."),
        minimum=0.5,
        maximum=72,
    ),
    Setting("visitor_id_required", bool, False, N_("Visitors must give an ID number.")),
    Setting(
        "retention_days",
        int,
        28,
        N_("Visit and visitor records older than this many days are deleted, daily."),
        minimum=1,
        maximum=366,
    ),
    Setting(
        "theme",
        str,
        "auto",
        N_(
            "Colours of the gate: day, night, or auto (night from 18:00 to 07:00). "
            "F12 switches them and remembers the choice."
        ),
        ("auto", "day", "night"),
        labels=(N_("Automatic (night from 18:00 to 07:00)"), N_("Day theme"), N_("Night theme")),
    ),
    Setting("sounds", bool, True, N_("A tone for each verdict (pass, check, stop).")),
    Setting("speech", bool, False, N_("Speak the verdict aloud where the computer has a voice.")),
    Setting(
        "admin_pin_hash",
        str,
        "",
        N_(
            "The administrator PIN, hashed; set by 'kiosk init', changed with 'kiosk pin set' "
            "or in the settings dialog, never with 'settings set'. Empty: no PIN opens anything."
        ),
    ),
)

PIN_SETTING = "admin_pin_hash"

# (setting name, old value, new value): one change, as the audit log records it.
Change = tuple[str, Any, Any]

BY_NAME = {s.name: s for s in SETTINGS}


def _parse_time(text: str) -> time:
    return time.fromisoformat(text)


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def _coerce(kind: type, value: Any) -> Any:
    if kind is bool:
        if isinstance(value, bool):
            return value
        word = str(value).strip().lower()
        if word in _TRUE or word in _FALSE:
            return word in _TRUE
        raise ValueError(value)
    if kind in (int, float):
        if isinstance(value, bool):
            raise ValueError(value)
        number = kind(value)
        if not math.isfinite(number):
            raise ValueError(value)
        return number
    return str(value).strip()


def convert(setting: Setting, value: Any) -> Any:
    """``value`` (from TOML or typed by a person) as the setting's type, checked."""
    result = _coerce(setting.type, value)
    if setting.choices and result not in setting.choices:
        raise ValueError(value)
    if setting.minimum is not None and result < setting.minimum:
        raise ValueError(value)
    if setting.maximum is not None and result > setting.maximum:
        raise ValueError(value)
    if setting.name in ("curfew_start", "curfew_end"):
        _parse_time(result)
    if setting.name in ("scanner_prefix", "scanner_suffix") and not result.isprintable():
        raise ValueError(value)  # a scanner's keys that type no character never arrive
    return result


class Settings:
    """The settings of one checkpoint, read from and written to its home."""

    def __init__(self, values: dict[str, Any] | None = None, path: Path | None = None):
        self.path = path
        self._values = {s.name: s.default for s in SETTINGS}
        for name, value in (values or {}).items():
            self._values[name] = value

    @classmethod
    def load(cls, path: Path) -> Settings:
        raw: dict[str, Any] = {}
        if path.exists():
            try:
                raw = tomllib.loads(path.read_text(encoding="utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
                log.warning("settings file %s unreadable (%s): using defaults", path, exc)
        values = {}
        for name, value in raw.items():
            setting = BY_NAME.get(name)
            if setting is None:
                log.warning("unknown setting %r in %s ignored", name, path)
                continue
            try:
                values[name] = convert(setting, value)
            except (ValueError, TypeError):
                log.warning("setting %s=%r invalid: default %r used", name, value, setting.default)
        return cls(values, path)

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def set(self, name: str, value: Any) -> None:
        setting = BY_NAME.get(name)
        if setting is None:
            raise UserError(tr("No setting called {name}.", name=name))
        if name == PIN_SETTING:
            raise UserError(
                tr(
                    "The admin PIN is not a setting to type: change it with 'kiosk pin set' "
                    "(asks for the current PIN) or in the window's settings."
                )
            )
        try:
            self._values[name] = convert(setting, value)
        except (ValueError, TypeError):
            raise UserError(
                tr("{value!r} is not a valid value for {name}.", value=value, name=name)
            ) from None

    def set_pin_hash(self, pin_hash: str) -> None:
        """Store a new PIN's hash (from :func:`kiosk.core.pin.hash_pin`); save() writes it."""
        self._values[PIN_SETTING] = pin_hash

    def update(self, values: dict[str, Any]) -> list[Change]:
        """Set every value that differs (checked like :meth:`set`); the changes made."""
        changes: list[Change] = []
        for name, value in values.items():
            old = self._values.get(name)
            self.set(name, value)  # refuses an unknown name first
            if self[name] != old:
                changes.append((name, old, self[name]))
        return changes

    def save(self) -> None:
        if self.path is None:  # pragma: no cover - programmer error
            raise RuntimeError("settings without a file")
        lines = [
            "# Gatepass settings: only values that differ from the defaults.",
            "# See 'kiosk settings show' for every setting and its meaning.",
        ]
        for s in SETTINGS:
            value = self._values[s.name]
            if value == s.default:
                continue
            lines.append(f"{s.name} = {_toml_value(value)}")
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
        os.replace(tmp, self.path)

    def rules(self) -> RuleSettings:
        return RuleSettings(
            fever_threshold=self["fever_threshold"],
            temperature_min=self["temperature_min"],
            temperature_max=self["temperature_max"],
            quota_enabled=self["quota_enabled"],
            quota_outings=self["quota_outings"],
            quota_days=self["quota_days"],
            anti_passback=self["anti_passback"],
            curfew_enabled=self["curfew_enabled"],
            curfew_start=_parse_time(self["curfew_start"]),
            curfew_end=_parse_time(self["curfew_end"]),
        )

    def direction_mode(self) -> DirectionMode:
        return DirectionMode(self["direction"])


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    escaped = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
