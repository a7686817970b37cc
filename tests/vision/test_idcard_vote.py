"""The vote over several readings of one card (kiosk.vision.idcard_vote): no OCR."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from kiosk.core.identity import check_digit
from kiosk.vision.idcard import CardReading, Field
from kiosk.vision.idcard_vote import CLOSER_PX, CardVote

GOOD = "11010519491231002X"
OTHER = "11010519491231003" + check_digit("11010519491231003")
BAD = GOOD[:17] + ("0" if GOOD[17] != "0" else "1")


def reading(
    number: str = GOOD,
    *,
    ok: bool | None = None,
    conf: float = 0.9,
    name: str = "张三",
    name_conf: float = 0.9,
    address: str = "浙江省杭州市西湖区文三路1号",
    sex_agrees: bool | None = True,
    located: bool = True,
    card_px: float = 500.0,
) -> CardReading:
    valid = number in (GOOD, OTHER) if ok is None else ok
    return CardReading(
        name=Field(name, name_conf),
        address=Field(address, 0.9),
        id_number=Field(number, conf),
        number_ok=valid,
        number_problem=None if valid else "check_digit",
        sex_agrees=sex_agrees,
        birth_agrees=True,
        province="浙江省" if address else "",
        city="杭州市" if address else "",
        located=located,
        card_px=card_px,
    )


def test_a_number_is_taken_when_two_readings_agree() -> None:
    vote = CardVote()
    first = vote.add(reading())
    assert first.id_number is None  # once, at 0.9: not yet
    second = vote.add(reading())
    assert second.id_number == GOOD
    assert second.name.text == "张三" and second.name.settled
    assert second.where_from.text == "浙江省杭州市"
    assert second.complete


def test_once_with_high_confidence_is_enough() -> None:
    assert CardVote().add(reading(conf=0.99)).id_number == GOOD


def test_a_wrong_check_digit_is_never_taken_and_said() -> None:
    vote = CardVote()
    for _ in range(5):
        verdict = vote.add(reading(BAD, ok=False, conf=0.99))
    assert verdict.id_number is None and verdict.number_wrong and not verdict.complete


def test_two_valid_numbers_as_often_wait_for_another_reading() -> None:
    vote = CardVote()
    vote.add(reading(GOOD))
    vote.add(reading(OTHER))
    vote.add(reading(GOOD))
    assert vote.verdict().id_number == GOOD
    vote.add(reading(OTHER))
    assert vote.verdict().id_number is None  # 2 against 2
    vote.add(reading(GOOD))
    assert vote.verdict().id_number == GOOD


def test_name_by_weighted_majority_and_marked_when_rivals() -> None:
    vote = CardVote()
    vote.add(reading(name="张三", name_conf=0.7, conf=0.99))
    verdict = vote.add(reading(name="张王", name_conf=0.8, conf=0.99))
    assert verdict.name.text == "张王" and verdict.name.low_confidence  # a rival as often
    vote.add(reading(name="张三", name_conf=0.7, conf=0.99))
    verdict = vote.add(reading(name="张三", name_conf=0.7, conf=0.99))
    assert verdict.name.text == "张三" and not verdict.name.low_confidence


def test_a_low_confidence_name_alone_is_marked() -> None:
    verdict = CardVote().add(reading(name_conf=0.5, conf=0.99))
    assert verdict.name.text == "张三" and verdict.name.low_confidence
    assert verdict.name.settled  # the number is in: the best name so far is shown


def test_sex_disagreeing_with_the_number_is_said() -> None:
    verdict = CardVote().add(reading(conf=0.99, sex_agrees=False))
    assert verdict.sex_or_birth_disagree


def test_too_far_only_for_a_located_small_card() -> None:
    assert CardVote().add(reading(card_px=CLOSER_PX - 50)).too_far
    assert not CardVote().add(reading(card_px=CLOSER_PX + 50)).too_far
    assert not CardVote().add(reading(located=False, card_px=0)).too_far


def test_clear_starts_over() -> None:
    vote = CardVote()
    vote.add(reading(conf=0.99))
    vote.clear()
    assert vote.verdict().id_number is None and vote.verdict().readings == 0


@given(
    st.lists(
        st.tuples(
            st.sampled_from([GOOD, OTHER, BAD, "", "1101051949"]),
            st.floats(0.0, 1.0),
            st.booleans(),
        ),
        max_size=12,
    )
)
def test_only_a_number_that_passed_its_checks_is_ever_taken(
    reads: list[tuple[str, float, bool]],
) -> None:
    vote = CardVote()
    for number, conf, claims_ok in reads:
        ok = claims_ok and number in (GOOD, OTHER)
        verdict = vote.add(reading(number, ok=ok, conf=conf))
        if verdict.id_number is not None:
            assert any(r.number_ok and r.id_number.text == verdict.id_number for r in vote.readings)
            assert verdict.id_number != BAD
            assert not verdict.number_wrong
