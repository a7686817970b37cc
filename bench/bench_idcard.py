"""How well the ID card reader reads generated frames of each kind.

    PYTHONPATH=. python bench/bench_idcard.py [--per-kind 10] [--seed 0] [--invalid-share 0.2]

Per kind (clean, tilted, far, near, blur, glare, dark, thumb): the share of frames with
the ID number read exactly and accepted as valid, the name exactly, wrong numbers that
passed the check (target 0), invalid numbers (wrong check digit on the card) reported
valid (target 0), and the median and p95 milliseconds per frame. Targets (issue 15):
number >= 95%, name >= 90%, median < 1000 ms. Set KIOSK_CARD_FONTS to a folder of extra
CJK fonts to draw with more of them.

``--vote N`` measures what the registration dialog fills in instead of one frame: per
card, N frames of it (the same kind, each its own pose, light and noise, as a card held
up for a second or two) read in turn and voted (``kiosk.vision.idcard_vote``, what the
dialog does); the card counts when the vote's number (only ever one that passed its
checks) and name are the card's. Timing columns: the milliseconds of all N readings.

``--engine tesseract`` swaps the OCR for Tesseract 5 (Debian ``tesseract-ocr`` and
``tesseract-ocr-chi-sim``, ``pip install pytesseract``; not a Gatepass dependency) with
the same locator and parser, for the comparison in docs/architecture.md.
"""

from __future__ import annotations

import argparse
import statistics

import numpy as np

from kiosk.vision import idcard
from kiosk.vision.idcard import Line, read_card, recogniser_characters
from kiosk.vision.idcard_synth import KINDS, RARE_CHARACTERS, make_card_frame, random_card
from kiosk.vision.idcard_vote import CardVote


def use_tesseract() -> None:
    """Make the reader use Tesseract (chi_sim) for its lines and its number strip."""
    import pytesseract  # type: ignore[import-untyped]

    def ocr_lines(image: np.ndarray) -> list[Line]:
        data = pytesseract.image_to_data(
            image, lang="chi_sim", config="--psm 11", output_type=pytesseract.Output.DICT
        )
        groups: dict[tuple[int, int, int], list[int]] = {}
        for i, text in enumerate(data["text"]):
            if text.strip() and float(data["conf"][i]) >= 0:
                key = (data["block_num"][i], data["par_num"][i], data["line_num"][i])
                groups.setdefault(key, []).append(i)
        lines = []
        for idx in groups.values():
            x0 = min(data["left"][i] for i in idx)
            y0 = min(data["top"][i] for i in idx)
            x1 = max(data["left"][i] + data["width"][i] for i in idx)
            y1 = max(data["top"][i] + data["height"][i] for i in idx)
            text = "".join(data["text"][i] for i in sorted(idx, key=lambda i: data["left"][i]))
            score = min(float(data["conf"][i]) for i in idx) / 100
            lines.append(Line(text, score, (float(x0), float(y0), float(x1), float(y1))))
        return lines

    def recognise(image: np.ndarray) -> str:
        return str(pytesseract.image_to_string(image, lang="eng", config="--psm 7"))

    def recognise_many(images: list[np.ndarray]) -> list[tuple[str, float]]:
        found = []
        for image in images:
            data = pytesseract.image_to_data(
                image, lang="chi_sim", config="--psm 7", output_type=pytesseract.Output.DICT
            )
            pairs = zip(data["text"], data["conf"], strict=True)
            words = [(t, float(c)) for t, c in pairs if t.strip()]
            text = "".join(t for t, _ in words)
            found.append((text, min((c for _, c in words), default=0.0) / 100))
        return found

    idcard.ocr_lines = ocr_lines  # type: ignore[assignment]
    idcard.recognise_many = recognise_many  # type: ignore[assignment]
    idcard.recognise = recognise  # type: ignore[assignment]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-kind", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--invalid-share", type=float, default=0.2)
    parser.add_argument("--engine", choices=["rapidocr", "tesseract"], default="rapidocr")
    parser.add_argument("--vote", type=int, default=0, metavar="N", help="N frames a card, voted.")
    args = parser.parse_args()
    if args.engine == "tesseract":
        use_tesseract()
    if args.vote:
        vote_main(args.per_kind, args.seed, args.invalid_share, args.vote)
        return
    print(
        f"{'kind':8} {'number':>7} {'name':>6} {'wrong ok':>8} {'bad ok':>6} "
        f"{'median':>7} {'p95':>6}"
    )
    totals = {"n": 0, "valid": 0, "number": 0, "name": 0, "wrong": 0, "bad": 0}
    all_ms: list[float] = []
    by_font: dict[str, list[int]] = {}
    known = recogniser_characters()
    # name read exactly / frames: common characters only, a rare one, one outside the
    # recogniser's dictionary (never readable exactly)
    by_names = {"common": [0, 0], "rare": [0, 0], "unknown": [0, 0]}
    for kind in KINDS:
        counts = dict.fromkeys(totals, 0)
        times: list[float] = []
        for i in range(args.per_kind):
            seed = args.seed * 10_000 + i
            valid = bool(np.random.default_rng([seed, 99]).random() >= args.invalid_share)
            frame = make_card_frame(kind, seed, valid=valid)
            reading = read_card(frame.image)
            times.append(reading.ms)
            truth = frame.card
            counts["n"] += 1
            counts["valid"] += valid
            counts["number"] += valid and reading.valid_id_number == truth.id_number
            # A card whose own number fails its check, read exactly and called valid
            counts["bad"] += not valid and reading.valid_id_number == truth.id_number
            # A number called valid that is not the card's
            counts["wrong"] += reading.valid_id_number not in (None, truth.id_number)
            counts["name"] += reading.name.text == truth.name
            group = (
                "unknown"
                if any(ch not in known for ch in truth.name)
                else "rare"
                if any(ch in RARE_CHARACTERS for ch in truth.name)
                else "common"
            )
            by_names[group][0] += reading.name.text == truth.name
            by_names[group][1] += 1
            tally = by_font.setdefault(frame.font, [0, 0, 0, 0])
            tally[0] += valid and reading.valid_id_number == truth.id_number
            tally[1] += valid
            tally[2] += reading.name.text == truth.name
            tally[3] += 1
        all_ms += times
        for key, value in counts.items():
            totals[key] += value
        print(_row(kind, counts, times))
    print(_row("all", totals, all_ms))
    for font, (number, valid_n, name, n) in sorted(by_font.items()):
        print(f"  {font}: number {number / max(1, valid_n):.0%}, name {name / n:.0%} ({n} frames)")
    print(
        "  names: "
        + ", ".join(f"{group} {hit / max(1, n):.0%} ({n})" for group, (hit, n) in by_names.items())
        + " (common characters, a rare one, one the recogniser cannot output)"
    )
    print(
        "number: share of the valid cards read exactly and called valid; name: of all; "
        "targets: 95%, 90%, 0, 0, median < 1000 ms"
    )


def vote_main(per_kind: int, seed0: int, invalid_share: float, frames: int) -> None:
    """Per card, ``frames`` frames voted as the registration dialog votes them."""
    print(f"{frames} frames a card, voted")
    print(
        f"{'kind':8} {'number':>7} {'name':>6} {'wrong ok':>8} {'bad ok':>6} "
        f"{'median':>7} {'p95':>6}"
    )
    totals = {"n": 0, "valid": 0, "number": 0, "name": 0, "wrong": 0, "bad": 0}
    all_ms: list[float] = []
    for kind in KINDS:
        counts = dict.fromkeys(totals, 0)
        times: list[float] = []
        for i in range(per_kind):
            seed = seed0 * 10_000 + i
            rng = np.random.default_rng([seed, 77])
            valid = bool(rng.random() >= invalid_share)
            card = random_card(rng, valid=valid)
            vote = CardVote()
            spent = 0.0
            for j in range(frames):
                reading = read_card(make_card_frame(kind, seed * 100 + j, card).image)
                spent += reading.ms
                verdict = vote.add(reading)
            times.append(spent)
            counts["n"] += 1
            counts["valid"] += valid
            counts["number"] += valid and verdict.id_number == card.id_number
            counts["bad"] += not valid and verdict.id_number == card.id_number
            counts["wrong"] += verdict.id_number not in (None, card.id_number)
            counts["name"] += verdict.name.text == card.name
        all_ms += times
        for key, value in counts.items():
            totals[key] += value
        print(_row(kind, counts, times))
    print(_row("all", totals, all_ms))


def _row(kind: str, counts: dict[str, int], times: list[float]) -> str:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return (
        f"{kind:8} {counts['number'] / max(1, counts['valid']):7.0%} "
        f"{counts['name'] / max(1, counts['n']):6.0%} {counts['wrong']:8d} {counts['bad']:6d} "
        f"{statistics.median(times):7.0f} {p95:6.0f}"
    )


if __name__ == "__main__":
    main()
