"""Several readings of one ID card, voted into what the registration dialog fills in.

The camera gives many frames of the card the guard holds up; one reading may miss a
character that the next one gets. :class:`CardVote` collects the readings
(:class:`~kiosk.vision.idcard.CardReading`) of one card and says what is settled
(:meth:`CardVote.verdict`). No Qt, no OCR: it only counts.

* **The number** is taken only from readings whose number passed every check
  (``number_ok``), and only when one number was read in :data:`AGREE` readings, or once
  with an OCR confidence of :data:`HIGH_CONFIDENCE` or more, and no other valid number
  was read as often. A number that fails its checks is never taken: when readings give
  one and none gives a valid number, the verdict says so (``number_wrong``), for the
  guard to type it.
* **The name and "where from"** are each the text with the highest summed confidence
  over the readings (a majority weighted by how sure the OCR was). Settled once read
  alike twice, or once with high confidence, or once the number is taken (the card is
  in front of the camera: the best name so far is shown, marked if unsure). Marked
  ``low_confidence`` when the best confidence is under the reader's
  :data:`~kiosk.vision.idcard.LOW_CONFIDENCE` and it was not read alike twice, or when
  another text was read about as often.
* **Sex and birth date** are only checked against the number taken: the verdict says
  when a reading of that number found them disagreeing.
* **Too far**: the latest reading found the card's outline and it is narrower than
  :data:`CLOSER_PX` pixels.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from kiosk.vision.idcard import LOW_CONFIDENCE, CardReading

AGREE = 2
"""Readings that must give the same valid number (unless one is :data:`HIGH_CONFIDENCE`)."""
HIGH_CONFIDENCE = 0.95
CLOSER_PX = 300.0
"""A located card narrower than this in the frame is too far to read well."""


@dataclass(frozen=True)
class Voted:
    """One field's winner: its text, best confidence, how many readings agreed, and
    whether the guard should look at it."""

    text: str = ""
    confidence: float = 0.0
    seen: int = 0
    low_confidence: bool = True
    settled: bool = False


@dataclass(frozen=True)
class CardVerdict:
    """What the readings so far settle."""

    id_number: str | None = None  # only a number that passed its checks, agreed on
    name: Voted = Voted()
    where_from: Voted = Voted()
    number_wrong: bool = False  # numbers were read, none of them passes its checks
    sex_or_birth_disagree: bool = False  # with the number taken
    too_far: bool = False
    readings: int = 0

    @property
    def complete(self) -> bool:
        """The number and the name are in: nothing more to read."""
        return self.id_number is not None and self.name.settled


def _vote(candidates: Iterable[tuple[str, float]], *, number_taken: bool) -> Voted:
    """The text with the highest summed confidence among ``(text, confidence)``."""
    total: dict[str, float] = defaultdict(float)
    best: dict[str, float] = defaultdict(float)
    seen: dict[str, int] = defaultdict(int)
    for text, confidence in candidates:
        if not text:
            continue
        total[text] += confidence
        best[text] = max(best[text], confidence)
        seen[text] += 1
    if not total:
        return Voted()
    winner = max(total, key=lambda t: (total[t], best[t], t))
    rivals = [t for t in total if t != winner and seen[t] * 2 >= seen[winner]]
    agreed = seen[winner] >= AGREE
    low = bool(rivals) or (best[winner] < LOW_CONFIDENCE and not agreed)
    settled = agreed or best[winner] >= HIGH_CONFIDENCE or number_taken
    return Voted(winner, best[winner], seen[winner], low, settled)


def _number(readings: list[CardReading]) -> str | None:
    seen: dict[str, int] = defaultdict(int)
    best: dict[str, float] = defaultdict(float)
    for reading in readings:
        number = reading.valid_id_number
        if number is not None:
            seen[number] += 1
            best[number] = max(best[number], reading.id_number.confidence)
    if not seen:
        return None
    winner = max(seen, key=lambda n: (seen[n], best[n]))
    if any(n != winner and seen[n] == seen[winner] for n in seen):
        return None  # two numbers as often: wait for another reading
    if seen[winner] >= AGREE or best[winner] >= HIGH_CONFIDENCE:
        return winner
    return None


class CardVote:
    """The readings of one card (cleared for a re-read); see the module's docstring."""

    def __init__(self) -> None:
        self.readings: list[CardReading] = []

    def add(self, reading: CardReading) -> CardVerdict:
        self.readings.append(reading)
        return self.verdict()

    def clear(self) -> None:
        self.readings.clear()

    def verdict(self) -> CardVerdict:
        readings = self.readings
        if not readings:
            return CardVerdict()
        number = _number(readings)
        # the name and the place from the readings of the number taken, when one is;
        # a reading with another number is of another card (or misread)
        same: Callable[[CardReading], bool] = (
            (lambda r: r.valid_id_number == number or not r.number_ok)
            if number is not None
            else (lambda r: True)
        )
        mine = [r for r in readings if same(r)]
        name = _vote(((r.name.text, r.name.confidence) for r in mine), number_taken=bool(number))
        place = _vote(
            (
                (r.where_from, min(r.address.confidence, 1.0) if r.address.text else 0.0)
                for r in mine
            ),
            number_taken=bool(number),
        )
        wrong = (
            number is None
            and any(r.id_number.text for r in readings)
            and not any(r.number_ok for r in readings)
        )
        disagree = number is not None and any(
            r.valid_id_number == number and (r.sex_agrees is False or r.birth_agrees is False)
            for r in readings
        )
        last = readings[-1]
        return CardVerdict(
            id_number=number,
            name=name,
            where_from=place,
            number_wrong=wrong,
            sex_or_birth_disagree=disagree,
            too_far=last.located and 0 < last.card_px < CLOSER_PX,
            readings=len(readings),
        )
