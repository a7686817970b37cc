"""The gate's judgement: one pure function, ``decide()``.

``decide(encounter, facts, now, settings, mode)`` takes what was scanned or entered,
the facts the store loaded about it, the clock, the rule settings and the gate's
direction mode, and returns a :class:`Verdict`. No I/O, no clock of its own, never
raises for any input: it is read, tested and changed as one piece.

Every rule that applies is collected as a :class:`Finding`; the verdict's level is the
most severe one (deny > check > pass) and its reason the first finding at that level,
in the order the rules are listed here. All findings are kept for the visit log.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, tzinfo
from typing import Any

from kiosk.core.i18n import N_, tr, tr_in
from kiosk.core.passes import PassClaims, PassKind


class Level(enum.StrEnum):
    PASS = "pass"
    CHECK = "check"
    DENY = "deny"

    @property
    def severity(self) -> int:
        return {"pass": 0, "check": 1, "deny": 2}[self.value]


class Direction(enum.StrEnum):
    IN = "in"
    OUT = "out"


class DirectionMode(enum.StrEnum):
    IN = "in"
    OUT = "out"
    AUTO = "auto"


class Source(enum.StrEnum):
    CAMERA = "camera"
    SCANNER = "scanner"  # a handheld USB scanner typing the code
    MANUAL = "manual"  # a resident found by hand, without their pass
    REGISTER = "register"  # a visitor registered at the gate


class TokenStatus(enum.StrEnum):
    """What a scanned text is, as far as signatures and the register can tell."""

    VALID = "valid"
    FORGED = "forged"
    UNKNOWN_KEY = "unknown_key"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    REVOKED = "revoked"
    NOT_GATEPASS = "not_gatepass"

    def message(self) -> str:
        return tr(_STATUS_MESSAGES[self])


_STATUS_MESSAGES = {
    TokenStatus.VALID: N_("valid"),
    TokenStatus.FORGED: N_("forged: the signature does not match"),
    TokenStatus.UNKNOWN_KEY: N_("signed by a key this checkpoint does not know"),
    TokenStatus.EXPIRED: N_("expired"),
    TokenStatus.NOT_YET_VALID: N_("not yet valid"),
    TokenStatus.REVOKED: N_("revoked"),
    TokenStatus.NOT_GATEPASS: N_("not a Gatepass code"),
}


class Reason(enum.StrEnum):
    VALID_PASS = "valid_pass"
    MANUAL_PASS = "manual_pass"
    VISITOR_ADMITTED = "visitor_admitted"
    VISITOR_CODE = "visitor_code"
    NOT_A_PASS = "not_a_pass"
    FORGED = "forged"
    REVOKED = "revoked"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    HOLDER_INACTIVE = "holder_inactive"
    HELD = "held"
    HELD_RETURNING = "held_returning"
    QUOTA = "quota"
    ALREADY_INSIDE = "already_inside"
    CURFEW = "curfew"
    FEVER = "fever"
    TEMPERATURE_MISREAD = "temperature_misread"
    UNKNOWN_PERSON = "unknown_person"
    NOT_IN_REGISTER = "not_in_register"
    # Corrections (a row whose ``corrects`` names a wrongly recorded passage): never
    # from decide(), only from kiosk.store.corrections.
    VOID = "void"
    WRONG_DIRECTION = "wrong_direction"
    WRONG_PERSON = "wrong_person"


CORRECTIONS = (Reason.VOID, Reason.WRONG_DIRECTION, Reason.WRONG_PERSON)


class Todo(enum.StrEnum):
    TAKE_TEMPERATURE = "take_temperature"
    MEASURE_AGAIN = "measure_again"
    REGISTER = "register"
    CHECK_FACE = "check_face"
    ALERT = "alert"
    KEEP_INSIDE = "keep_inside"  # home quarantine, going out
    KEEP_CARD = "keep_card"  # a revoked pass
    TELL_COMMITTEE = "tell_committee"  # home quarantine, coming home
    SEE_COMMITTEE = "see_committee"  # expired pass, off the register
    ASK_ID = "ask_id"  # a signed pass the register does not know


@dataclass(frozen=True)
class Holder:
    """The person a pass or a manual entry names, as the register knows them."""

    kind: PassKind
    id: str
    name: str
    household_id: str | None = None
    household: str = ""  # label, e.g. 3-2-501
    active: bool = True
    id_number_masked: str = ""


@dataclass(frozen=True)
class HoldFact:
    scope: str  # "household" or "person"
    until: datetime
    reason: str


@dataclass(frozen=True)
class Passage:
    direction: Direction
    at: datetime
    name: str = ""


@dataclass(frozen=True)
class Encounter:
    """What was scanned or entered at the gate."""

    source: Source
    text: str | None = None
    temperature: float | None = None
    note: str = ""


@dataclass(frozen=True)
class Facts:
    """What the store knows about an encounter, loaded in one or two indexed queries."""

    token: TokenStatus | None = None  # None: nothing was scanned (manual, register)
    claims: PassClaims | None = None
    revoked_reason: str = ""
    holder: Holder | None = None
    holds: tuple[HoldFact, ...] = ()
    last_passage: Passage | None = None  # this subject's last passage at this gate
    household_outings: tuple[Passage, ...] = ()  # household's recent "out" passages
    # This checkpoint holds the register (it has residents), so it should know every
    # resident's and staff pass; False on a gate that verifies public keys only.
    register_held: bool = False


REPEAT_WINDOW_S = 5.0
"""The same code seen again within this many seconds is the same passage, not a second
one: the scan loop (the camera) and the gate (a handheld scanner) filter repeats with
it, and it is the default of the ``repeat_window_s`` setting."""


@dataclass(frozen=True)
class RuleSettings:
    """The rules' settings; these defaults are the settings' defaults
    (``kiosk.settings.Settings`` takes them from here)."""

    fever_threshold: float = 37.3
    temperature_min: float = 34.0
    temperature_max: float = 43.0
    quota_enabled: bool = False
    quota_outings: int = 1
    quota_days: float = 2.0
    anti_passback: bool = True
    curfew_enabled: bool = False
    curfew_start: time = time(22, 0)
    curfew_end: time = time(6, 0)
    timezone: tzinfo | None = None  # the gate's local time; None: this computer's

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.timezone)

    def with_values(self, values: Mapping[str, Any]) -> RuleSettings:
        """These rules with ``values`` (by field name, as JSON gives them: the
        compound's rules the office sends its gates). A value of the wrong type is
        left out, never taken half (the gate keeps its own for that rule)."""
        kept: dict[str, Any] = {}
        for name, value in values.items():
            if name not in COMPOUND_RULES:
                continue
            current = getattr(self, name)
            try:
                if isinstance(current, bool):
                    if not isinstance(value, bool):
                        continue
                    kept[name] = value
                elif isinstance(current, time):
                    kept[name] = time.fromisoformat(str(value))
                elif isinstance(current, int):
                    if isinstance(value, bool) or not isinstance(value, int):
                        continue
                    kept[name] = value
                elif isinstance(value, int | float) and not isinstance(value, bool):
                    kept[name] = float(value)
            except ValueError:
                continue
        return dataclasses.replace(self, **kept)

    def quota_window(self) -> timedelta:
        return timedelta(days=self.quota_days)


COMPOUND_RULES = (
    "fever_threshold",
    "temperature_min",
    "temperature_max",
    "quota_enabled",
    "quota_outings",
    "quota_days",
    "anti_passback",
    "curfew_enabled",
    "curfew_start",
    "curfew_end",
)
"""The rules an office sets for every gate of its compound (docs/exchange.md)."""


@dataclass(frozen=True)
class Finding:
    level: Level
    reason: Reason
    message: str  # English message id (translate with tr)
    values: Mapping[str, Any] = field(default_factory=dict)

    def text(self) -> str:
        return tr(self.message, **self.values)


@dataclass(frozen=True)
class Verdict:
    level: Level
    reason: Reason
    direction: Direction
    findings: tuple[Finding, ...]
    todo: frozenset[Todo]
    holder: Holder | None
    serial: str | None

    @property
    def headline(self) -> Finding:
        return next(f for f in self.findings if f.reason is self.reason)

    def message(self) -> str:
        return self.headline.text()

    @property
    def reasons(self) -> tuple[str, ...]:
        return tuple(f.reason.value for f in self.findings)


def resolve_direction(mode: DirectionMode, last: Passage | None) -> Direction:
    """In auto mode: the opposite of the subject's last passage here; in when unknown."""
    if mode is DirectionMode.IN:
        return Direction.IN
    if mode is DirectionMode.OUT:
        return Direction.OUT
    if last is not None and last.direction is Direction.IN:
        return Direction.OUT
    return Direction.IN


def _in_curfew(now: datetime, settings: RuleSettings) -> bool:
    clock = settings.local(now).time()
    start, end = settings.curfew_start, settings.curfew_end
    if start <= end:
        return start <= clock < end
    return clock >= start or clock < end  # over midnight


def _token_findings(facts: Facts, settings: RuleSettings) -> list[Finding]:
    def day(moment: datetime) -> str:
        return settings.local(moment).strftime("%Y-%m-%d")

    token = facts.token
    if token is None or token is TokenStatus.VALID:
        return []
    if token is TokenStatus.NOT_GATEPASS:
        return [
            Finding(Level.CHECK, Reason.NOT_A_PASS, N_("Not a Gatepass pass: register this person"))
        ]
    if token in (TokenStatus.FORGED, TokenStatus.UNKNOWN_KEY):
        return [Finding(Level.DENY, Reason.FORGED, N_("Forged pass: do not let in"))]
    if token is TokenStatus.REVOKED:
        return [
            Finding(
                Level.DENY,
                Reason.REVOKED,
                N_("Pass revoked: {reason}"),
                {"reason": facts.revoked_reason or "-"},
            )
        ]
    claims = facts.claims
    if token is TokenStatus.EXPIRED:
        return [
            Finding(
                Level.DENY,
                Reason.EXPIRED,
                N_("Pass expired on {date}"),
                {"date": day(claims.valid_until) if claims else "-"},
            )
        ]
    return [
        Finding(
            Level.DENY,
            Reason.NOT_YET_VALID,
            N_("Pass not valid until {date}"),
            {"date": day(claims.valid_from) if claims else "-"},
        )
    ]


def _temperature_findings(reading: float | None, settings: RuleSettings) -> list[Finding]:
    if reading is None:
        return []
    if not math.isfinite(reading) or not (
        settings.temperature_min <= reading <= settings.temperature_max
    ):
        return [
            Finding(
                Level.CHECK,
                Reason.TEMPERATURE_MISREAD,
                N_("Temperature {value} is not plausible: measure again"),
                {"value": f"{reading:.1f}" if math.isfinite(reading) else "?"},
            )
        ]
    if reading >= settings.fever_threshold:
        return [
            Finding(
                Level.DENY,
                Reason.FEVER,
                N_("Fever {value} °C: do not let in, call the medical team"),
                {"value": f"{reading:.1f}"},
            )
        ]
    return []


def _resident_findings(
    holder: Holder,
    direction: Direction,
    facts: Facts,
    now: datetime,
    settings: RuleSettings,
) -> list[Finding]:
    def day(moment: datetime) -> str:
        return settings.local(moment).strftime("%Y-%m-%d")

    def minute(moment: datetime) -> str:
        return settings.local(moment).strftime("%m-%d %H:%M")

    found: list[Finding] = []
    if not holder.active:
        found.append(
            Finding(
                Level.DENY,
                Reason.HOLDER_INACTIVE,
                N_("{name} is no longer on the register"),
                {"name": holder.name},
            )
        )
    held = max((h for h in facts.holds if h.until > now), key=lambda h: h.until, default=None)
    if held is not None and direction is Direction.IN:
        # Coming home under home quarantine: let them in (home is where they must be),
        # but amber, so that the committee hears that they were outside.
        found.append(
            Finding(
                Level.CHECK,
                Reason.HELD_RETURNING,
                N_("Home quarantine until {date}: let in to go home; tell the committee"),
                {"date": day(held.until), "reason": held.reason},
            )
        )
    if direction is Direction.OUT:
        if held is not None:
            found.append(
                Finding(
                    Level.DENY,
                    Reason.HELD,
                    N_("Home quarantine until {date}: may not go out"),
                    {"date": day(held.until), "reason": held.reason},
                )
            )
        if settings.quota_enabled and holder.kind is not PassKind.STAFF:
            since = now - settings.quota_window()
            used = sorted((p for p in facts.household_outings if p.at >= since), key=lambda p: p.at)
            if len(used) >= settings.quota_outings:
                last = used[-1]
                found.append(
                    Finding(
                        Level.DENY,
                        Reason.QUOTA,
                        N_("Household outing already used by {name} at {at}"),
                        {"name": last.name or "-", "at": minute(last.at)},
                    )
                )
    if (
        settings.anti_passback
        and direction is Direction.IN
        and facts.last_passage is not None
        and facts.last_passage.direction is Direction.IN
    ):
        found.append(
            Finding(
                Level.CHECK,
                Reason.ALREADY_INSIDE,
                N_("Already inside since {at}: the pass may be shared"),
                {"at": minute(facts.last_passage.at)},
            )
        )
    if settings.curfew_enabled and holder.kind is not PassKind.STAFF and _in_curfew(now, settings):
        found.append(
            Finding(Level.CHECK, Reason.CURFEW, N_("Curfew hours: ask the reason and record it"))
        )
    return found


def _subject_findings(
    encounter: Encounter,
    facts: Facts,
    direction: Direction,
    now: datetime,
    settings: RuleSettings,
) -> list[Finding]:
    holder = facts.holder
    if facts.token not in (None, TokenStatus.VALID):
        return []
    kind = holder.kind if holder else (facts.claims.kind if facts.claims else None)
    if kind is PassKind.VISITOR:
        if encounter.temperature is None:
            return [
                Finding(
                    Level.CHECK,
                    Reason.VISITOR_CODE,
                    N_("Visitor: confirm the details and take the temperature"),
                )
            ]
        return [Finding(Level.PASS, Reason.VISITOR_ADMITTED, N_("Visitor admitted"))]
    if kind is None:
        return [
            Finding(
                Level.CHECK,
                Reason.UNKNOWN_PERSON,
                N_("Unknown person: register and take the temperature"),
            )
        ]
    if holder is None and facts.register_held and kind in (PassKind.RESIDENT, PassKind.STAFF):
        # Signed by a trusted key, but a serial the register does not know: a pass made
        # with a stolen key, or one issued elsewhere; nobody here can say whose it is.
        return [
            Finding(
                Level.CHECK,
                Reason.NOT_IN_REGISTER,
                N_("Pass not in the register: ask for ID and call the committee"),
            )
        ]
    found: list[Finding] = []
    if holder is not None:
        found += _resident_findings(holder, direction, facts, now, settings)
    if encounter.source is Source.MANUAL:
        found.append(_manual_finding(encounter.note))
    else:
        found.append(Finding(Level.PASS, Reason.VALID_PASS, N_("Valid pass")))
    return found


class ManualReason(enum.StrEnum):
    """Why a resident was let through without their pass: chosen by key at the gate
    and recorded as the visit's ``note`` (the code; free text for anything else)."""

    FORGOT_PASS = "forgot_pass"
    PHONE_DEAD = "phone_dead"
    CARD_LOST = "card_lost"

    def label(self) -> str:
        return tr(_MANUAL_LABELS[self])


_MANUAL_LABELS = {
    ManualReason.FORGOT_PASS: N_("Forgot the pass"),
    ManualReason.PHONE_DEAD: N_("Phone dead or lost"),
    ManualReason.CARD_LOST: N_("Pass card lost or broken"),
}
_MANUAL_MESSAGES = {
    ManualReason.FORGOT_PASS: N_("Let through by hand: forgot the pass"),
    ManualReason.PHONE_DEAD: N_("Let through by hand: phone dead or lost"),
    ManualReason.CARD_LOST: N_("Let through by hand: pass card lost or broken"),
}


def note_text(note: str) -> str:
    """A visit's note for people: a manual reason's words, other notes as written."""
    try:
        return ManualReason(note).label()
    except ValueError:
        return note


def _manual_finding(note: str) -> Finding:
    try:
        known = ManualReason(note)
    except ValueError:
        return Finding(
            Level.PASS, Reason.MANUAL_PASS, N_("Let through by hand: {note}"), {"note": note or "-"}
        )
    return Finding(Level.PASS, Reason.MANUAL_PASS, _MANUAL_MESSAGES[known])


def decide(
    encounter: Encounter,
    facts: Facts,
    now: datetime,
    settings: RuleSettings,
    mode: DirectionMode,
) -> Verdict:
    """The verdict for one encounter. Pure; never raises for any input."""
    direction = resolve_direction(mode, facts.last_passage)
    findings = _token_findings(facts, settings)
    findings += _temperature_findings(encounter.temperature, settings)
    findings += _subject_findings(encounter, facts, direction, now, settings)
    if not findings:  # pragma: no cover - every path above adds one
        findings = [
            Finding(
                Level.CHECK,
                Reason.UNKNOWN_PERSON,
                N_("Unknown person: register and take the temperature"),
            )
        ]
    top = max(findings, key=lambda f: f.level.severity)
    reason = next(f for f in findings if f.level is top.level).reason
    return Verdict(
        level=top.level,
        reason=reason,
        direction=direction,
        findings=tuple(findings),
        todo=_todo(encounter, findings, facts),
        holder=facts.holder,
        serial=facts.claims.serial if facts.claims else None,
    )


def _todo(encounter: Encounter, findings: list[Finding], facts: Facts) -> frozenset[Todo]:
    reasons = {f.reason for f in findings}
    todo: set[Todo] = set()
    if Reason.FEVER in reasons:
        todo.add(Todo.ALERT)
    if Reason.TEMPERATURE_MISREAD in reasons:
        todo.add(Todo.MEASURE_AGAIN)
    if reasons & {Reason.NOT_A_PASS, Reason.UNKNOWN_PERSON}:
        todo.add(Todo.REGISTER)
    if encounter.temperature is None and reasons & {
        Reason.NOT_A_PASS,
        Reason.UNKNOWN_PERSON,
        Reason.VISITOR_CODE,
    }:
        todo.add(Todo.TAKE_TEMPERATURE)
    if Reason.HELD in reasons:
        todo.add(Todo.KEEP_INSIDE)
    if Reason.REVOKED in reasons:
        todo.add(Todo.KEEP_CARD)
    if Reason.HELD_RETURNING in reasons:
        todo.add(Todo.TELL_COMMITTEE)
    if reasons & {Reason.EXPIRED, Reason.HOLDER_INACTIVE}:
        todo.add(Todo.SEE_COMMITTEE)
    if Reason.NOT_IN_REGISTER in reasons:
        todo.add(Todo.ASK_ID)
    stopped = any(f.level is Level.DENY for f in findings)  # nobody passes: no face to check
    if not stopped and facts.holder is not None and Reason.VALID_PASS in reasons:
        todo.add(Todo.CHECK_FACE)
    if not stopped and Reason.ALREADY_INSIDE in reasons:
        todo.add(Todo.CHECK_FACE)
    return frozenset(todo)


REASON_LABELS: dict[Reason, str] = {
    Reason.VALID_PASS: N_("Valid pass"),
    Reason.MANUAL_PASS: N_("Let through by hand"),
    Reason.VISITOR_ADMITTED: N_("Visitor admitted"),
    Reason.VISITOR_CODE: N_("Visitor code"),
    Reason.NOT_A_PASS: N_("Not a Gatepass pass"),
    Reason.FORGED: N_("Forged pass"),
    Reason.REVOKED: N_("Revoked pass"),
    Reason.EXPIRED: N_("Expired pass"),
    Reason.NOT_YET_VALID: N_("Pass not yet valid"),
    Reason.HOLDER_INACTIVE: N_("No longer on the register"),
    Reason.HELD: N_("Home quarantine"),
    Reason.HELD_RETURNING: N_("Home quarantine, coming home"),
    Reason.QUOTA: N_("Outing quota used"),
    Reason.ALREADY_INSIDE: N_("Already inside"),
    Reason.CURFEW: N_("Curfew hours"),
    Reason.FEVER: N_("Fever"),
    Reason.TEMPERATURE_MISREAD: N_("Temperature misread"),
    Reason.UNKNOWN_PERSON: N_("Unknown person"),
    Reason.NOT_IN_REGISTER: N_("Pass not in the register"),
    Reason.VOID: N_("Corrected: not a passage"),
    Reason.WRONG_DIRECTION: N_("Corrected: the other direction"),
    Reason.WRONG_PERSON: N_("Corrected: another person"),
}


def reason_label(code: str, lang: str | None = None) -> str:
    """A short name for a reason code (reports, tables), in ``lang`` or the current one."""
    try:
        label = REASON_LABELS[Reason(code)]
    except ValueError:
        return code
    return tr_in(lang, label) if lang else tr(label)
