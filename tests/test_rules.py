"""decide(): every rule, table-driven, with a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.core.passes import PassClaims, PassKind
from kiosk.core.rules import (
    Direction,
    DirectionMode,
    Encounter,
    Facts,
    Holder,
    HoldFact,
    Level,
    ManualReason,
    Passage,
    Reason,
    RuleSettings,
    Source,
    Todo,
    TokenStatus,
    decide,
    note_text,
)

NOW = datetime(2026, 3, 3, 6, 0, tzinfo=UTC)  # 14:00 in Beijing
CLAIMS = PassClaims(
    "0A1B2C3D", "3K7Q-9ZD2", PassKind.RESIDENT, NOW - timedelta(days=1), NOW + timedelta(days=29)
)
STAFF_CLAIMS = PassClaims(
    "0A1B2C3D", "0000-0007", PassKind.STAFF, NOW - timedelta(days=1), NOW + timedelta(days=29)
)
VISITOR_CLAIMS = PassClaims(
    "0A1B2C3D", "V000-0001", PassKind.VISITOR, NOW - timedelta(hours=1), NOW + timedelta(hours=23)
)
ZHANG = Holder(PassKind.RESIDENT, "r1", "张三", "h1", "3-2-501")
STAFF = Holder(PassKind.STAFF, "r9", "李四", "h9", "1-1-101")
GUEST = Holder(PassKind.VISITOR, "v1", "王五", "h1", "3-2-501")
SCAN = Encounter(Source.CAMERA, "GP1:...")
BEIJING = ZoneInfo("Asia/Shanghai")
DEFAULT = RuleSettings(timezone=BEIJING)
QUOTA = RuleSettings(quota_enabled=True, quota_outings=1, quota_days=2, timezone=BEIJING)
CURFEW = RuleSettings(
    curfew_enabled=True, curfew_start=time(13, 0), curfew_end=time(15, 0), timezone=BEIJING
)


def valid(holder: Holder = ZHANG, **more: object) -> Facts:
    claims = VISITOR_CLAIMS if holder.kind is PassKind.VISITOR else CLAIMS
    return Facts(token=TokenStatus.VALID, claims=claims, holder=holder, **more)  # type: ignore[arg-type]


HOLD = HoldFact("household", NOW + timedelta(days=5), "close contact")
OLD_HOLD = HoldFact("household", NOW - timedelta(days=1), "over")
WAS_IN = Passage(Direction.IN, NOW - timedelta(hours=2))
WAS_OUT = Passage(Direction.OUT, NOW - timedelta(hours=2))
OUTING = Passage(Direction.OUT, NOW - timedelta(hours=20), "张小三")

CASES = [
    # (id, encounter, facts, settings, mode, level, reason, direction)
    (
        "valid resident",
        SCAN,
        valid(),
        DEFAULT,
        DirectionMode.IN,
        Level.PASS,
        Reason.VALID_PASS,
        Direction.IN,
    ),
    (
        "valid staff",
        SCAN,
        valid(STAFF),
        DEFAULT,
        DirectionMode.OUT,
        Level.PASS,
        Reason.VALID_PASS,
        Direction.OUT,
    ),
    (
        "forged",
        SCAN,
        Facts(token=TokenStatus.FORGED),
        DEFAULT,
        DirectionMode.IN,
        Level.DENY,
        Reason.FORGED,
        Direction.IN,
    ),
    (
        "unknown key",
        SCAN,
        Facts(token=TokenStatus.UNKNOWN_KEY),
        DEFAULT,
        DirectionMode.IN,
        Level.DENY,
        Reason.FORGED,
        Direction.IN,
    ),
    (
        "revoked",
        SCAN,
        Facts(token=TokenStatus.REVOKED, claims=CLAIMS, holder=ZHANG, revoked_reason="lost"),
        DEFAULT,
        DirectionMode.IN,
        Level.DENY,
        Reason.REVOKED,
        Direction.IN,
    ),
    (
        "expired",
        SCAN,
        Facts(token=TokenStatus.EXPIRED, claims=CLAIMS),
        DEFAULT,
        DirectionMode.IN,
        Level.DENY,
        Reason.EXPIRED,
        Direction.IN,
    ),
    (
        "not yet valid",
        SCAN,
        Facts(token=TokenStatus.NOT_YET_VALID, claims=CLAIMS),
        DEFAULT,
        DirectionMode.IN,
        Level.DENY,
        Reason.NOT_YET_VALID,
        Direction.IN,
    ),
    (
        "junk qr",
        SCAN,
        Facts(token=TokenStatus.NOT_GATEPASS),
        DEFAULT,
        DirectionMode.IN,
        Level.CHECK,
        Reason.NOT_A_PASS,
        Direction.IN,
    ),
    (
        "visitor code",
        SCAN,
        valid(GUEST),
        DEFAULT,
        DirectionMode.IN,
        Level.CHECK,
        Reason.VISITOR_CODE,
        Direction.IN,
    ),
    (
        "visitor code with temperature",
        Encounter(Source.CAMERA, "x", 36.5),
        valid(GUEST),
        DEFAULT,
        DirectionMode.IN,
        Level.PASS,
        Reason.VISITOR_ADMITTED,
        Direction.IN,
    ),
    (
        "held going out",
        SCAN,
        valid(holds=(HOLD,)),
        DEFAULT,
        DirectionMode.OUT,
        Level.DENY,
        Reason.HELD,
        Direction.OUT,
    ),
    (
        "held coming home: let in, amber, so the committee hears of it",
        SCAN,
        valid(holds=(HOLD,)),
        DEFAULT,
        DirectionMode.IN,
        Level.CHECK,
        Reason.HELD_RETURNING,
        Direction.IN,
    ),
    (
        "hold over",
        SCAN,
        valid(holds=(OLD_HOLD,)),
        DEFAULT,
        DirectionMode.OUT,
        Level.PASS,
        Reason.VALID_PASS,
        Direction.OUT,
    ),
    (
        "quota off by default",
        SCAN,
        valid(household_outings=(OUTING,)),
        DEFAULT,
        DirectionMode.OUT,
        Level.PASS,
        Reason.VALID_PASS,
        Direction.OUT,
    ),
    (
        "quota used",
        SCAN,
        valid(household_outings=(OUTING,)),
        QUOTA,
        DirectionMode.OUT,
        Level.DENY,
        Reason.QUOTA,
        Direction.OUT,
    ),
    (
        "quota used long ago",
        SCAN,
        valid(household_outings=(Passage(Direction.OUT, NOW - timedelta(days=3)),)),
        QUOTA,
        DirectionMode.OUT,
        Level.PASS,
        Reason.VALID_PASS,
        Direction.OUT,
    ),
    (
        "quota coming home",
        SCAN,
        valid(household_outings=(OUTING,)),
        QUOTA,
        DirectionMode.IN,
        Level.PASS,
        Reason.VALID_PASS,
        Direction.IN,
    ),
    (
        "quota exempts staff",
        SCAN,
        valid(STAFF, household_outings=(OUTING,)),
        QUOTA,
        DirectionMode.OUT,
        Level.PASS,
        Reason.VALID_PASS,
        Direction.OUT,
    ),
    (
        "anti-passback",
        SCAN,
        valid(last_passage=WAS_IN),
        DEFAULT,
        DirectionMode.IN,
        Level.CHECK,
        Reason.ALREADY_INSIDE,
        Direction.IN,
    ),
    (
        "anti-passback off",
        SCAN,
        valid(last_passage=WAS_IN),
        RuleSettings(anti_passback=False, timezone=BEIJING),
        DirectionMode.IN,
        Level.PASS,
        Reason.VALID_PASS,
        Direction.IN,
    ),
    (
        "auto after in goes out",
        SCAN,
        valid(last_passage=WAS_IN),
        DEFAULT,
        DirectionMode.AUTO,
        Level.PASS,
        Reason.VALID_PASS,
        Direction.OUT,
    ),
    (
        "auto after out comes in",
        SCAN,
        valid(last_passage=WAS_OUT),
        DEFAULT,
        DirectionMode.AUTO,
        Level.PASS,
        Reason.VALID_PASS,
        Direction.IN,
    ),
    (
        "auto unknown comes in",
        SCAN,
        valid(),
        DEFAULT,
        DirectionMode.AUTO,
        Level.PASS,
        Reason.VALID_PASS,
        Direction.IN,
    ),
    (
        "fever",
        Encounter(Source.CAMERA, "x", 38.2),
        valid(),
        DEFAULT,
        DirectionMode.IN,
        Level.DENY,
        Reason.FEVER,
        Direction.IN,
    ),
    (
        "at the threshold is fever",
        Encounter(Source.CAMERA, "x", 37.3),
        valid(),
        DEFAULT,
        DirectionMode.IN,
        Level.DENY,
        Reason.FEVER,
        Direction.IN,
    ),
    (
        "normal temperature",
        Encounter(Source.CAMERA, "x", 36.4),
        valid(),
        DEFAULT,
        DirectionMode.IN,
        Level.PASS,
        Reason.VALID_PASS,
        Direction.IN,
    ),
    (
        "mis-measured low",
        Encounter(Source.CAMERA, "x", 33.9),
        valid(),
        DEFAULT,
        DirectionMode.IN,
        Level.CHECK,
        Reason.TEMPERATURE_MISREAD,
        Direction.IN,
    ),
    (
        "mis-measured high",
        Encounter(Source.CAMERA, "x", 43.1),
        valid(),
        DEFAULT,
        DirectionMode.IN,
        Level.CHECK,
        Reason.TEMPERATURE_MISREAD,
        Direction.IN,
    ),
    (
        "forged beats fever",
        Encounter(Source.CAMERA, "x", 39.0),
        Facts(token=TokenStatus.FORGED),
        DEFAULT,
        DirectionMode.IN,
        Level.DENY,
        Reason.FORGED,
        Direction.IN,
    ),
    ("curfew", SCAN, valid(), CURFEW, DirectionMode.OUT, Level.CHECK, Reason.CURFEW, Direction.OUT),
    (
        "curfew exempts staff",
        SCAN,
        valid(STAFF),
        CURFEW,
        DirectionMode.OUT,
        Level.PASS,
        Reason.VALID_PASS,
        Direction.OUT,
    ),
    (
        "deactivated holder",
        SCAN,
        valid(Holder(PassKind.RESIDENT, "r2", "赵六", active=False)),
        DEFAULT,
        DirectionMode.IN,
        Level.DENY,
        Reason.HOLDER_INACTIVE,
        Direction.IN,
    ),
    (
        "resident by hand",
        Encounter(Source.MANUAL, None, note="phone flat"),
        Facts(holder=ZHANG),
        DEFAULT,
        DirectionMode.IN,
        Level.PASS,
        Reason.MANUAL_PASS,
        Direction.IN,
    ),
    (
        "held resident by hand going out",
        Encounter(Source.MANUAL, None),
        Facts(holder=ZHANG, holds=(HOLD,)),
        DEFAULT,
        DirectionMode.OUT,
        Level.DENY,
        Reason.HELD,
        Direction.OUT,
    ),
    (
        "visitor registered",
        Encounter(Source.REGISTER, None, 36.6),
        Facts(holder=GUEST),
        DEFAULT,
        DirectionMode.IN,
        Level.PASS,
        Reason.VISITOR_ADMITTED,
        Direction.IN,
    ),
    (
        "visitor registered with fever",
        Encounter(Source.REGISTER, None, 38.0),
        Facts(holder=GUEST),
        DEFAULT,
        DirectionMode.IN,
        Level.DENY,
        Reason.FEVER,
        Direction.IN,
    ),
    (
        "nobody",
        Encounter(Source.MANUAL, None),
        Facts(),
        DEFAULT,
        DirectionMode.IN,
        Level.CHECK,
        Reason.UNKNOWN_PERSON,
        Direction.IN,
    ),
    (
        "signed pass the register does not know, on a checkpoint holding the register",
        SCAN,
        Facts(token=TokenStatus.VALID, claims=CLAIMS, register_held=True),
        DEFAULT,
        DirectionMode.IN,
        Level.CHECK,
        Reason.NOT_IN_REGISTER,
        Direction.IN,
    ),
    (
        "staff pass the register does not know, going out",
        SCAN,
        Facts(token=TokenStatus.VALID, claims=STAFF_CLAIMS, register_held=True),
        DEFAULT,
        DirectionMode.OUT,
        Level.CHECK,
        Reason.NOT_IN_REGISTER,
        Direction.OUT,
    ),
    (
        "signed pass on a public-keys-only gate (empty register): the signature",
        SCAN,
        Facts(token=TokenStatus.VALID, claims=CLAIMS, register_held=False),
        DEFAULT,
        DirectionMode.IN,
        Level.PASS,
        Reason.VALID_PASS,
        Direction.IN,
    ),
    (
        "visitor code the register does not know: a visitor code as before",
        SCAN,
        Facts(token=TokenStatus.VALID, claims=VISITOR_CLAIMS, register_held=True),
        DEFAULT,
        DirectionMode.IN,
        Level.CHECK,
        Reason.VISITOR_CODE,
        Direction.IN,
    ),
    (
        "pass the register does not know, with a fever: stop",
        Encounter(Source.CAMERA, "GP1:...", 38.5),
        Facts(token=TokenStatus.VALID, claims=CLAIMS, register_held=True),
        DEFAULT,
        DirectionMode.IN,
        Level.DENY,
        Reason.FEVER,
        Direction.IN,
    ),
]


@pytest.mark.parametrize(
    ("encounter", "facts", "settings", "mode", "level", "reason", "direction"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_rule(
    encounter: Encounter,
    facts: Facts,
    settings: RuleSettings,
    mode: DirectionMode,
    level: Level,
    reason: Reason,
    direction: Direction,
) -> None:
    verdict = decide(encounter, facts, NOW, settings, mode)
    assert (verdict.level, verdict.reason, verdict.direction) == (level, reason, direction)
    assert verdict.message()  # every verdict has words for the guard
    assert verdict.reason.value in verdict.reasons


def test_messages_name_what_matters() -> None:
    held = decide(SCAN, valid(holds=(HOLD,)), NOW, DEFAULT, DirectionMode.OUT)
    assert "2026-03-08" in held.message()
    late = RuleSettings(
        curfew_enabled=True, curfew_start=time(22, 0), curfew_end=time(6, 0), timezone=BEIJING
    )
    night = decide(
        SCAN, valid(), datetime(2026, 3, 3, 15, 30, tzinfo=UTC), late, DirectionMode.OUT
    )  # 23:30 in Beijing: over midnight
    assert night.reason is Reason.CURFEW
    quota = decide(SCAN, valid(household_outings=(OUTING,)), NOW, QUOTA, DirectionMode.OUT)
    assert "张小三" in quota.message()
    revoked = decide(
        SCAN,
        Facts(token=TokenStatus.REVOKED, claims=CLAIMS, revoked_reason="lost"),
        NOW,
        DEFAULT,
        DirectionMode.IN,
    )
    assert "lost" in revoked.message()


def test_manual_reason_is_said_in_words() -> None:
    """A manual pass's reason is chosen by key and kept as a code; people read words."""
    for reason, words in (
        (ManualReason.FORGOT_PASS, "forgot the pass"),
        (ManualReason.PHONE_DEAD, "phone dead or lost"),
        (ManualReason.CARD_LOST, "pass card lost or broken"),
    ):
        verdict = decide(
            Encounter(Source.MANUAL, None, note=reason.value),
            Facts(holder=ZHANG),
            NOW,
            DEFAULT,
            DirectionMode.IN,
        )
        assert verdict.reason is Reason.MANUAL_PASS
        assert verdict.message() == f"Let through by hand: {words}"
        assert note_text(reason.value) == reason.label()
    other = decide(
        Encounter(Source.MANUAL, None, note="came back from hospital"),
        Facts(holder=ZHANG),
        NOW,
        DEFAULT,
        DirectionMode.IN,
    )
    assert other.message() == "Let through by hand: came back from hospital"
    assert note_text("came back from hospital") == "came back from hospital"


def test_todo() -> None:
    junk = decide(SCAN, Facts(token=TokenStatus.NOT_GATEPASS), NOW, DEFAULT, DirectionMode.IN)
    assert junk.todo == {Todo.REGISTER, Todo.TAKE_TEMPERATURE}
    fever = decide(Encounter(Source.CAMERA, "x", 39.0), valid(), NOW, DEFAULT, DirectionMode.IN)
    assert Todo.ALERT in fever.todo
    visitor = decide(SCAN, valid(GUEST), NOW, DEFAULT, DirectionMode.IN)
    assert Todo.TAKE_TEMPERATURE in visitor.todo
    ok = decide(SCAN, valid(), NOW, DEFAULT, DirectionMode.IN)
    assert ok.todo == {Todo.CHECK_FACE}
    unknown = decide(
        SCAN,
        Facts(token=TokenStatus.VALID, claims=CLAIMS, register_held=True),
        NOW,
        DEFAULT,
        DirectionMode.IN,
    )
    assert unknown.todo == {Todo.ASK_ID}  # no holder: no face to compare
    assert unknown.message() == "Pass not in the register: ask for ID and call the committee"
    assert unknown.serial == CLAIMS.serial  # the log keeps which pass it was


def test_todo_when_stopped_says_what_to_do_not_compare_the_face() -> None:
    """STOP for home quarantine said "compare the face"; a revoked pass said nothing."""
    held = decide(SCAN, valid(holds=(HOLD,)), NOW, DEFAULT, DirectionMode.OUT)
    assert held.level is Level.DENY
    assert held.todo == {Todo.KEEP_INSIDE}
    revoked = decide(
        SCAN,
        Facts(token=TokenStatus.REVOKED, claims=CLAIMS, revoked_reason="lost"),
        NOW,
        DEFAULT,
        DirectionMode.IN,
    )
    assert revoked.todo == {Todo.KEEP_CARD}
    home = decide(SCAN, valid(holds=(HOLD,)), NOW, DEFAULT, DirectionMode.IN)
    assert home.todo == {Todo.TELL_COMMITTEE, Todo.CHECK_FACE}
    assert "2026-03-08" in home.message()
    over = decide(SCAN, valid(holds=(OLD_HOLD,)), NOW, DEFAULT, DirectionMode.IN)
    assert over.todo == {Todo.CHECK_FACE}  # a hold that is over changes nothing


def test_all_findings_are_kept() -> None:
    verdict = decide(
        Encounter(Source.CAMERA, "x", 38.5), valid(holds=(HOLD,)), NOW, DEFAULT, DirectionMode.OUT
    )
    assert verdict.level is Level.DENY
    assert {"fever", "held", "valid_pass"} <= set(verdict.reasons)


texts = st.text() | st.just("GP1:") | st.from_regex(r"GP1:[A-Z2-7]{0,140}", fullmatch=True)
temps = st.none() | st.floats(allow_nan=True, allow_infinity=True)


@given(
    text=texts,
    temperature=temps,
    token=st.sampled_from([None, *TokenStatus]),
    mode=st.sampled_from(DirectionMode),
    source=st.sampled_from(Source),
    holder=st.sampled_from([None, ZHANG, STAFF, GUEST]),
    last=st.sampled_from([None, WAS_IN, WAS_OUT]),
    register_held=st.booleans(),
)
def test_decide_never_raises(
    text: str,
    temperature: float | None,
    token: TokenStatus | None,
    mode: DirectionMode,
    source: Source,
    holder: Holder | None,
    last: Passage | None,
    register_held: bool,
) -> None:
    facts = Facts(
        token=token,
        claims=CLAIMS if token else None,
        holder=holder,
        register_held=register_held,
        last_passage=last,
        holds=(HOLD,),
        household_outings=(OUTING,),
    )
    verdict = decide(Encounter(source, text, temperature), facts, NOW, QUOTA, mode)
    assert verdict.level in Level
    assert verdict.message()
