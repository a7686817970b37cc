"""Every setting, declared once: one typed field of :class:`Settings` each, with its
default, help text, range and choices in the field's metadata. Stored as plain TOML
in the checkpoint's home (``settings.toml``); only values that differ from the
default are written. Unknown or unreadable values fall back to the default with a
warning in the log, so a hand-edited file never stops the gate.

A :class:`Settings` is a frozen value: read a setting as an attribute
(``settings.retention_days``, typed); a change makes a new one
(:meth:`Settings.updated`) that :meth:`Settings.save` writes.

The admin PIN is not a setting: its hash lives in the database, encrypted with it
(:mod:`kiosk.store.pin_lock`). An older Gatepass wrote it here as ``admin_pin_hash``;
:meth:`Settings.load` keeps such a value apart (:attr:`Settings.legacy_pin_hash`),
:func:`move_pin_hash_out` hands it to the database and rewrites the file without it,
and :meth:`Settings.save` never writes it.

The gate's rule defaults live in :class:`kiosk.core.rules.RuleSettings` and the repeat
window's in :data:`kiosk.core.rules.REPEAT_WINDOW_S`; the fields here take
them from there.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import time, timedelta
from pathlib import Path
from typing import Any, TypeVar, get_type_hints

from kiosk.core.atomic import whole_file
from kiosk.core.errors import UserError
from kiosk.core.i18n import N_, tr
from kiosk.core.rules import COMPOUND_RULES, REPEAT_WINDOW_S, DirectionMode, RuleSettings

log = logging.getLogger("kiosk.settings")

T = TypeVar("T")

PIN_SETTING = "admin_pin_hash"
"""Where an older Gatepass kept the admin PIN's hash (in settings.toml); the audit log's
name for a PIN change."""

# (setting name, old value, new value): one change, as the audit log records it.
Change = tuple[str, Any, Any]

_RULES = RuleSettings()  # the rules' defaults, declared in kiosk.core.rules


def _is_time(text: str) -> bool:
    try:
        time.fromisoformat(text)
    except ValueError:
        return False
    return True


def _hh_mm(moment: time) -> str:
    return moment.strftime("%H:%M")


def _setting(
    default: T,
    help: str,
    *,
    choices: tuple[str, ...] = (),
    labels: tuple[str, ...] = (),
    minimum: float | None = None,
    maximum: float | None = None,
    check: Callable[[Any], bool] | None = None,
    secret: bool = False,
) -> T:
    """A field of :class:`Settings`: its default and, in its metadata, the help text
    (``N_``-marked), the choices and the words shown for them, the range, and a
    further ``check`` of a value. A ``secret`` one stays out of the repr (and so out of
    any log line)."""
    metadata = {
        "help": help,
        "choices": choices,
        "labels": labels,
        "minimum": minimum,
        "maximum": maximum,
        "check": check,
    }
    return field(default=default, metadata=metadata, repr=not secret)


@dataclass(frozen=True, kw_only=True)
class Settings:
    """The settings of one checkpoint; ``path`` is its ``settings.toml`` (not a
    setting). Every value is checked when one is made: a wrong one raises
    ``ValueError``."""

    language: str = _setting(
        "",
        N_("Language of the window: zh_CN or en; empty: the system's."),
        choices=("", "zh_CN", "en"),
        labels=(N_("The computer's language"), N_("Chinese (zh_CN)"), N_("English (en)")),
    )
    camera: str = _setting(
        "0", N_("Camera: a webcam index (0, 1, ...) or a video file or image folder.")
    )
    decoder: str = _setting(
        "auto",
        N_("QR decoder: auto, zxing, zbar or opencv."),
        choices=("auto", "zxing", "zbar", "opencv"),
        labels=(
            N_("Automatic (the best one installed)"),
            N_("ZXing decoder"),
            N_("ZBar decoder"),
            N_("OpenCV decoder (always installed)"),
        ),
    )
    # A scanner's keys that type no character never arrive: printable text only.
    scanner_prefix: str = _setting(
        "",
        N_("Text a handheld scanner types before each code, cut off (empty: none)."),
        check=str.isprintable,
    )
    scanner_suffix: str = _setting(
        "",
        N_("Text a handheld scanner types after each code, cut off; it ends the scan."),
        check=str.isprintable,
    )
    direction: str = _setting(
        DirectionMode.AUTO.value,
        N_("Gate direction: in, out, or auto (the opposite of the person's last passage)."),
        choices=("in", "out", "auto"),
        labels=(
            N_("Everyone comes in"),
            N_("Everyone goes out"),
            N_("Automatic (the opposite of the person's last passage)"),
        ),
    )
    repeat_window_s: float = _setting(
        REPEAT_WINDOW_S,
        N_("Seconds during which the same code scanned again is ignored."),
        minimum=0,
        maximum=600,
    )
    fever_threshold: float = _setting(
        _RULES.fever_threshold,
        N_("Body temperature (°C) from which a reading is a fever."),
        minimum=36.0,
        maximum=40.0,
    )
    temperature_min: float = _setting(
        _RULES.temperature_min,
        N_("Readings below this (°C) are refused as mis-measured."),
        minimum=30.0,
        maximum=36.0,
    )
    temperature_max: float = _setting(
        _RULES.temperature_max,
        N_("Readings above this (°C) are refused as mis-measured."),
        minimum=40.0,
        maximum=45.0,
    )
    quota_enabled: bool = _setting(
        _RULES.quota_enabled, N_("Limit how often a household may go out.")
    )
    quota_outings: int = _setting(
        _RULES.quota_outings,
        N_("Outings allowed per household in the quota period."),
        minimum=1,
        maximum=50,
    )
    quota_days: float = _setting(
        _RULES.quota_days,
        N_("Length of the quota period in days."),
        minimum=0.1,
        maximum=30,
    )
    anti_passback: bool = _setting(
        _RULES.anti_passback,
        N_("Flag a pass scanned 'in' while its holder is already inside."),
    )
    curfew_enabled: bool = _setting(_RULES.curfew_enabled, N_("Flag passages during curfew hours."))
    curfew_start: str = _setting(
        _hh_mm(_RULES.curfew_start), N_("Curfew starts (HH:MM)."), check=_is_time
    )
    curfew_end: str = _setting(
        _hh_mm(_RULES.curfew_end), N_("Curfew ends (HH:MM)."), check=_is_time
    )
    visitor_code_hours: int = _setting(
        24,
        N_("How long a visitor code stays valid, in hours."),
        minimum=1,
        maximum=24 * 14,
    )
    visitor_overstay_hours: float = _setting(
        4.0,
        N_("Visitors inside longer than this are listed as overstaying."),
        minimum=0.5,
        maximum=72,
    )
    visitor_id_required: bool = _setting(False, N_("Visitors must give an ID number."))
    retention_days: int = _setting(
        28,
        N_("Visit and visitor records older than this many days are deleted, daily."),
        minimum=1,
        maximum=366,
    )
    backup_folder: str = _setting(
        "",
        N_(
            "Folder (or removable drive) for the daily backup while the gate or office "
            "window runs; empty: no daily backup."
        ),
    )
    backup_keep: int = _setting(
        7,
        N_("How many of this checkpoint's backups the backup folder keeps (the oldest go)."),
        minimum=1,
        maximum=366,
    )
    office_data_amber_hours: float = _setting(
        12.0,
        N_(
            "A gate of a compound shows its office data as old (amber) past this many "
            "hours; red at 48. Scanning goes on either way."
        ),
        minimum=1,
        maximum=47,
    )
    theme: str = _setting(
        "auto",
        N_(
            "Colours of the gate: day, night, or auto (night from 18:00 to 07:00). "
            "F12 switches them and remembers the choice."
        ),
        choices=("auto", "day", "night"),
        labels=(N_("Automatic (night from 18:00 to 07:00)"), N_("Day theme"), N_("Night theme")),
    )
    sounds: bool = _setting(True, N_("A tone for each verdict (pass, check, stop)."))
    speech: bool = _setting(False, N_("Speak the verdict aloud where the computer has a voice."))

    path: Path | None = field(default=None, compare=False, repr=False)
    legacy_pin_hash: str | None = field(default=None, compare=False, repr=False)
    """The admin PIN's hash an older Gatepass left in the file (None: none there);
    never written back (see :func:`move_pin_hash_out`)."""

    def __post_init__(self) -> None:
        for setting in SETTINGS:  # every value as its setting's type, checked
            object.__setattr__(self, setting.name, convert(setting, getattr(self, setting.name)))

    @classmethod
    def load(cls, path: Path) -> Settings:
        raw: dict[str, Any] = {}
        if path.exists():
            try:
                raw = tomllib.loads(path.read_text(encoding="utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
                log.warning("settings file %s unreadable (%s): using defaults", path, exc)
        values = {}
        legacy = raw.pop(PIN_SETTING, None)
        for name, value in raw.items():
            setting = BY_NAME.get(name)
            if setting is None:
                log.warning("unknown setting %r in %s ignored", name, path)
                continue
            try:
                values[name] = convert(setting, value)
            except (ValueError, TypeError):
                log.warning("setting %s=%r invalid: default %r used", name, value, setting.default)
        return cls(**values, path=path, legacy_pin_hash=None if legacy is None else str(legacy))

    def values(self) -> dict[str, Any]:
        """Every setting's value by name, in the declared order."""
        return {s.name: getattr(self, s.name) for s in SETTINGS}

    def updated(self, values: Mapping[str, Any]) -> tuple[Settings, list[Change]]:
        """These settings with ``values`` (by name, as TOML or a person gives them),
        each checked; and the changes that makes. Raises :class:`UserError` for an
        unknown name, the admin PIN (not a setting: kiosk.store.pin_lock) or a wrong value."""
        new: dict[str, Any] = {}
        for name, value in values.items():
            setting = BY_NAME.get(name)
            if name == PIN_SETTING:
                raise UserError(
                    tr(
                        "The admin PIN is not a setting to type: change it with 'kiosk pin set' "
                        "(asks for the current PIN) or in the window's settings."
                    )
                )
            if setting is None:
                raise UserError(tr("No setting called {name}.", name=name))
            try:
                new[name] = convert(setting, value)
            except (ValueError, TypeError):
                raise UserError(
                    tr("{value!r} is not a valid value for {name}.", value=value, name=name)
                ) from None
        old = self.values()
        changes = [(name, old[name], value) for name, value in new.items() if value != old[name]]
        return dataclasses.replace(self, **new), changes

    def save(self) -> None:
        if self.path is None:  # pragma: no cover - programmer error
            raise RuntimeError("settings without a file")
        lines = [
            "# Gatepass settings: only values that differ from the defaults.",
            "# See 'kiosk settings show' for every setting and its meaning.",
        ]
        for name, value in self.values().items():
            if value == BY_NAME[name].default:
                continue
            lines.append(f"{name} = {_toml_value(value)}")
        # Whole or not at all, the owner's only (kiosk.home's rule) whatever the umask.
        with whole_file(self.path, private=True) as temp:
            temp.write_text("\n".join(lines) + "\n", encoding="utf-8")

    def compound_rules(self) -> dict[str, Any]:
        """The rules an office sends its gates (``kiosk.core.rules.COMPOUND_RULES``),
        as JSON values."""
        return {name: getattr(self, name) for name in COMPOUND_RULES}

    def office_data_amber(self) -> timedelta:
        return timedelta(hours=self.office_data_amber_hours)

    def rules(self) -> RuleSettings:
        return RuleSettings().with_values(self.compound_rules())

    def direction_mode(self) -> DirectionMode:
        return DirectionMode(self.direction)


@dataclass(frozen=True)
class Setting:
    """One field of :class:`Settings` as the settings dialog, ``kiosk settings`` and
    docs/settings.md read it."""

    name: str
    type: type
    default: Any
    help: str
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    labels: tuple[str, ...] = ()  # what a person reads for each choice (N_-marked)
    check: Callable[[Any], bool] | None = None

    def choice_label(self, choice: str) -> str:
        """The words shown for ``choice`` in the reader's language; the stored value
        stays ``choice``."""
        if choice in self.choices and self.labels:
            return tr(self.labels[self.choices.index(choice)])
        return choice


def _declared() -> tuple[Setting, ...]:
    types = get_type_hints(Settings)
    return tuple(
        Setting(f.name, types[f.name], f.default, **f.metadata)
        for f in dataclasses.fields(Settings)
        if "help" in f.metadata
    )


SETTINGS: tuple[Setting, ...] = _declared()
BY_NAME = {s.name: s for s in SETTINGS}


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
    text = str(value).strip()
    text.encode("utf-8")  # a lone surrogate (from a command line's undecodable bytes): ValueError
    return text


def convert(setting: Setting, value: Any) -> Any:
    """``value`` (from TOML or typed by a person) as the setting's type, checked."""
    result = _coerce(setting.type, value)
    if setting.choices and result not in setting.choices:
        raise ValueError(value)
    if setting.minimum is not None and result < setting.minimum:
        raise ValueError(value)
    if setting.maximum is not None and result > setting.maximum:
        raise ValueError(value)
    if setting.check is not None and not setting.check(result):
        raise ValueError(value)
    return result


_TOML_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def _toml_char(char: str) -> str:
    if char in _TOML_ESCAPES:
        return _TOML_ESCAPES[char]
    if char < " " or char == "\x7f":  # TOML allows no control character in a string
        return f"\\u{ord(char):04x}"
    return char


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    # Every character TOML needs escaped, escaped: a control character written as it is
    # made the whole file unreadable at the next start, so every setting (the admin
    # PIN's hash too) fell back to its default (tests/data/fuzz/settings).
    return '"' + "".join(_toml_char(c) for c in str(value)) + '"'


def move_pin_hash_out(path: Path, keep: Callable[[str], object]) -> bool:
    """An older Gatepass kept the admin PIN's hash in the settings file at ``path``: hand
    it to ``keep`` (which puts it into the database, unless that holds one already) and
    rewrite the file without it. False when the file holds none (nothing done)."""
    settings = Settings.load(path)
    if settings.legacy_pin_hash is None:
        return False
    keep(settings.legacy_pin_hash)  # first into the database: the file's copy goes after
    settings.save()
    log.info("the admin PIN's hash moved from %s into the database", path)
    return True
