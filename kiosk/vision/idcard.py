"""Reading the front side of a resident ID card (居民身份证) in a webcam frame.

Three steps, each usable alone:

* :func:`locate_card` finds the card's quadrilateral in a 720p BGR frame (edges,
  contours, the card's aspect ratio) and :func:`rectify` warps it to ``856x540``;
* the OCR (rapidocr-onnxruntime, PP-OCRv4; loaded on first use, never at import) reads
  the text lines of the rectified card, or of the whole frame when no card was found;
* :func:`parse_lines` turns text lines into fields (姓名, 性别, 民族, 出生, 住址,
  公民身份号码) and checks them: the number against GB 11643 (region, birth date,
  check digit: :func:`kiosk.core.identity.check_id_number`), sex and birth date
  against the number, and the address's province and city.

Nothing of the image is kept or logged: the log gets timings and outcomes only.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from kiosk.core.identity import IdentityError, check_digit, check_id_number

log = logging.getLogger("kiosk.vision.idcard")

CARD_W, CARD_H = 856, 540
LOW_CONFIDENCE = 0.85
"""A field read with a lower OCR score than this is flagged for the guard to look at."""

FIELDS = ("name", "sex", "ethnicity", "birth", "address", "id_number")


@dataclass(frozen=True)
class Line:
    """One line of OCR text: its characters, score (0-1) and box (x0, y0, x1, y1)."""

    text: str
    score: float
    box: tuple[float, float, float, float]

    @property
    def cy(self) -> float:
        return (self.box[1] + self.box[3]) / 2

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]


@dataclass(frozen=True)
class Field:
    """One field as read: the text ("" if not found) and the OCR's confidence."""

    text: str = ""
    confidence: float = 0.0

    @property
    def low_confidence(self) -> bool:
        """Not found, or read with a score under :data:`LOW_CONFIDENCE`."""
        return not self.text or self.confidence < LOW_CONFIDENCE


@dataclass(frozen=True)
class CardReading:
    """What was read from one card, and what the checks say.

    ``id_number.text`` is what the OCR read, normalised; it is a valid number only when
    ``number_ok`` is true: use :attr:`valid_id_number`, which is None otherwise.
    """

    name: Field = field(default_factory=Field)
    sex: Field = field(default_factory=Field)
    ethnicity: Field = field(default_factory=Field)
    birth: Field = field(default_factory=Field)  # YYYY-MM-DD
    address: Field = field(default_factory=Field)
    id_number: Field = field(default_factory=Field)
    number_ok: bool = False
    number_problem: str | None = None  # a kiosk.core.identity.Reason value
    sex_agrees: bool | None = None  # None: sex or number missing
    birth_agrees: bool | None = None
    province: str = ""
    city: str = ""
    located: bool = False  # the card's outline was found (else the whole frame was read)
    card_px: float = 0.0  # the located card's width in frame pixels (under ~300: too far)
    ms: float = 0.0

    @property
    def valid_id_number(self) -> str | None:
        """The number, only if it passes GB 11643's checks."""
        return self.id_number.text if self.number_ok else None

    @property
    def where_from(self) -> str:
        """Province and city of the address (``浙江省杭州市``; ``北京市朝阳区``)."""
        return self.province + self.city

    def fields(self) -> dict[str, Field]:
        return {name: getattr(self, name) for name in FIELDS}


# ---------------------------------------------------------------- parsing text lines

_LABELS = {
    "name": re.compile(r"^姓\s*名"),
    "sex": re.compile(r"^性\s*[别別]"),
    "birth": re.compile(r"^出\s*生"),
    "address": re.compile(r"^住\s*址"),
    "number": re.compile(r"公\s*民\s*身\s*份\s*[号號]\s*[码碼]?|身\s*份\s*[号號]\s*[码碼]"),
}
_ETHNIC_LABEL = re.compile(r"民\s*族")
_SEX = re.compile(r"[男女]")
_BIRTH = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日?")
_BIRTH_LOOSE = re.compile(r"(\d{4})\D{0,3}?(\d{1,2})\D{1,3}?(\d{1,2})")
_DIGITLIKE = str.maketrans({"O": "0", "o": "0", "D": "0", "I": "1", "l": "1", "|": "1", "x": "X"})
_PROVINCE = re.compile(r"^(.{2,3}?省|.{2,8}?自治区|北京市|天津市|上海市|重庆市|香港|澳门|台湾)")
_CITY = re.compile(r"^(.{1,7}?(?:自治州|地区|盟|市|区|县))")


def _clean(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def _rows(lines: Sequence[Line]) -> list[list[Line]]:
    """Lines grouped into rows (overlapping vertically), each row left to right."""
    rows: list[list[Line]] = []
    for line in sorted(lines, key=lambda ln: ln.cy):
        if rows:
            last = rows[-1]
            ref = sum(ln.cy for ln in last) / len(last)
            height = max(max(ln.height for ln in last), line.height)
            if abs(line.cy - ref) < 0.45 * height:
                last.append(line)
                continue
        rows.append([line])
    return [sorted(row, key=lambda ln: ln.box[0]) for row in rows]


def _row_text(row: Sequence[Line]) -> tuple[str, float]:
    return "".join(_clean(ln.text) for ln in row), min((ln.score for ln in row), default=0.0)


def find_number(text: str) -> str | None:
    """An 18-character ID number in OCR text (O/o/D read as 0, I/l as 1, x as X).

    A run of more than 18 (the label's last character read as a digit) gives the
    rightmost 18 whose check digit holds, else simply the rightmost 18.
    """
    compact = _clean(text).translate(_DIGITLIKE).upper()
    for match in re.finditer(r"\d{17,}[\dX]?", compact):
        run = match.group(0)
        if len(run) < 18:
            continue
        windows = [run[i : i + 18] for i in range(len(run) - 17)]
        windows = [w for w in windows if "X" not in w[:17]]
        for window in reversed(windows):
            if check_digit(window[:17]) == window[17]:
                return window
        return windows[-1]
    return None


def _label_of(text: str) -> str | None:
    for key, pattern in _LABELS.items():
        if key == "number":
            if pattern.search(text):
                return key
        elif pattern.match(text):
            return key
    return None


def _strip_label(text: str, key: str) -> str:
    return _LABELS[key].sub("", text, count=1)


def _split_rows(lines: Sequence[Line]) -> dict[str, list[tuple[str, float]]]:
    """Row texts by the label that starts them; rows after 住址 until the number are
    the address's continuation; unlabelled rows before any label go by position."""
    found: dict[str, list[tuple[str, float]]] = {}
    current: str | None = None
    unlabelled: list[tuple[str, float]] = []
    for row in _rows(lines):
        text, score = _row_text(row)
        if not text:
            continue
        key = _label_of(text)
        if key is None and find_number(text):
            key = "number"
        if key is not None:
            current = key
            found.setdefault(key, []).append((_strip_label(text, key), score))
        elif current == "address":
            found["address"].append((text, score))
        else:
            unlabelled.append((text, score))
    # Rows whose labels the OCR missed, told apart by what they say
    for text, score in unlabelled:
        key = _kind_of_row(text)
        if key is not None and key not in found:
            found[key] = [(text, score)]
    return found


def _kind_of_row(text: str) -> str | None:
    """Which unlabelled row this is: a date is the birth row, 男/女 the sex row, two to
    six Chinese characters and nothing else the name."""
    if _BIRTH.search(text):
        return "birth"
    if _ETHNIC_LABEL.search(text) or (_SEX.search(text) and len(text) <= 8):
        return "sex"
    if re.fullmatch(r"[\u3400-\u9fff\U00020000-\U0002ffff·]{2,6}", text) and not re.search(
        r"[年月日省市区县路号]", text
    ):
        return "name"
    return None


def near_number(lines: Sequence[Line]) -> list[Line]:
    """The lines on the same card as the ID number line (a whole frame holds other
    writing too): the card reaches about 10 line heights above the number and 6 to the
    left of it. All lines when there is no number."""
    numbers = [ln for ln in lines if find_number(ln.text)]
    if not numbers:
        return list(lines)
    anchor = max(numbers, key=lambda ln: ln.score)
    h = anchor.height
    x0, y0 = anchor.box[0] - 6 * h, anchor.box[1] - 10.5 * h
    x1, y1 = anchor.box[2] + 5 * h, anchor.box[3] + 1.5 * h
    return [ln for ln in lines if x0 <= (ln.box[0] + ln.box[2]) / 2 <= x1 and y0 <= ln.cy <= y1]


def parse_lines(lines: Sequence[Line], *, today: date | None = None) -> CardReading:
    """The fields and checks of a card from its OCR lines, by their labels (no OCR here;
    fast). Lines far from the ID number's line are not the card's and are left out."""
    rows = _split_rows(near_number(lines))
    name = _name(rows.get("name", []))
    sex, ethnicity = _sex_and_ethnicity(rows.get("sex", []))
    birth = _birth(rows.get("birth", []))
    address = _join(rows.get("address", []))
    number = _number(rows.get("number", []))
    return check(
        CardReading(
            name=name, sex=sex, ethnicity=ethnicity, birth=birth, address=address, id_number=number
        ),
        today=today,
    )


# Where each row sits on a rectified card (856x540): its band of heights, and the x
# where the values start (left of it: the printed labels)
_ZONES = (
    ("name", 30, 105, 160),
    ("sex", 105, 170, 160),
    ("birth", 170, 235, 160),
    ("address", 235, 425, 160),
    ("number", 425, 540, 235),
)


def _value_part(line: Line, value_x: float) -> str:
    """The text of ``line`` without its printed label: a line the OCR started in the
    label column (two characters: 姓名, 性别, 出生, 住址) loses its first two."""
    text = _clean(line.text)
    for key in ("name", "sex", "birth", "address"):
        if _LABELS[key].match(text):
            return _LABELS[key].sub("", text, count=1)
    if line.box[0] >= value_x - 40:
        return text
    return text[2:]


def parse_card_lines(lines: Sequence[Line], *, today: date | None = None) -> CardReading:
    """The fields of a rectified card (:func:`rectify`) from its OCR lines, by where they
    sit on the card; labels the OCR ran into the values are cut off by position."""
    rows: dict[str, list[tuple[str, float]]] = {}
    for key, top, bottom, value_x in _ZONES:
        inside = [ln for ln in lines if top <= ln.cy < bottom and ln.box[2] > value_x]
        for row in _rows(inside):
            kept = [ln for ln in row if ln.box[0] < 590 or key == "number"]  # not the photo
            text = "".join(_value_part(ln, value_x) for ln in kept)
            if text:
                rows.setdefault(key, []).append((text, min(ln.score for ln in row)))
    sex, ethnicity = _sex_and_ethnicity(rows.get("sex", []))
    return check(
        CardReading(
            name=_name(rows.get("name", [])),
            sex=sex,
            ethnicity=ethnicity,
            birth=_birth(rows.get("birth", [])),
            address=_join(rows.get("address", [])),
            id_number=_number(rows.get("number", [])),
        ),
        today=today,
    )


def _join(rows: Sequence[tuple[str, float]]) -> Field:
    text = "".join(t for t, _ in rows)
    return Field(text, min((s for _, s in rows), default=0.0)) if text else Field()


def _name(rows: Sequence[tuple[str, float]]) -> Field:
    if not rows:
        return Field()
    text, score = rows[0]
    text = _LABELS["name"].sub("", text, count=1)
    text = re.sub(r"[^\u3400-\u9fff\U00020000-\U0002ffff·]", "", text)
    if _ETHNIC_LABEL.search(text) or _LABELS["sex"].search(text) or text[:1] in ("男", "女"):
        return Field()  # the row below: no surname is 男 or 女
    if text.startswith("名") and len(text) > 2:  # the label's second half
        text = text[1:]
    elif text[1:2] == "名" and len(text) > 3:  # the label, its first half misread
        text = text[2:]
    elif text[:1] in ("姓", "性") and len(text) > 2:  # its second half missed
        text = text[1:]
    return Field(text, score) if text else Field()


def _sex_and_ethnicity(rows: Sequence[tuple[str, float]]) -> tuple[Field, Field]:
    if not rows:
        return Field(), Field()
    text, score = rows[0]
    head, _, tail = _partition_ethnic(text)
    sex = _SEX.search(head)
    ethnic = re.sub(r"[^\u3400-\u9fff]", "", tail)
    return (
        Field(sex.group(0), score) if sex else Field(),
        Field(ethnic, score) if ethnic else Field(),
    )


def _partition_ethnic(text: str) -> tuple[str, str, str]:
    match = _ETHNIC_LABEL.search(text)
    if not match:
        return text, "", ""
    return text[: match.start()], match.group(0), text[match.end() :]


def _birth(rows: Sequence[tuple[str, float]]) -> Field:
    if not rows:
        return Field()
    text, score = rows[0]
    match = _BIRTH.search(text) or _BIRTH_LOOSE.search(text)
    if not match:
        return Field()
    try:
        born = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return Field()
    return Field(born.isoformat(), score)


def _number(rows: Sequence[tuple[str, float]]) -> Field:
    for text, score in rows:
        number = find_number(text)
        if number:
            return Field(number, score)
    return Field()


def where_from(address: str) -> tuple[str, str]:
    """The province and the city at the start of an address; for the four
    municipalities the "city" is the district (北京市, 朝阳区)."""
    text = _clean(address)
    match = _PROVINCE.match(text)
    if not match:
        return "", ""
    province = match.group(1)
    rest = text[len(province) :]
    city = _CITY.match(rest)
    return province, city.group(1) if city else ""


def check(reading: CardReading, *, today: date | None = None) -> CardReading:
    """``reading`` with the checks filled in from its fields."""
    number = reading.id_number.text
    ok, problem = False, None
    if number:
        try:
            check_id_number(number, today or date.today())
            ok = True
        except IdentityError as exc:
            problem = str(exc.reason)
    sex_agrees = birth_agrees = None
    if number and len(number) == 18 and number[:17].isdigit():
        if reading.sex.text:
            sex_agrees = ("男" if int(number[16]) % 2 else "女") == reading.sex.text
        if reading.birth.text:
            birth_agrees = reading.birth.text.replace("-", "") == number[6:14]
    province, city = where_from(reading.address.text)
    return replace(
        reading,
        number_ok=ok,
        number_problem=problem,
        sex_agrees=sex_agrees,
        birth_agrees=birth_agrees,
        province=province,
        city=city,
    )


# ---------------------------------------------------------------- finding the card


def _order(quad: np.ndarray) -> np.ndarray:
    """Corners as top-left, top-right, bottom-right, bottom-left; the long side on top."""
    pts = quad.reshape(4, 2).astype(np.float32)
    centre = pts.mean(axis=0)
    angles = np.arctan2(pts[:, 1] - centre[1], pts[:, 0] - centre[0])
    pts = pts[np.argsort(angles)]  # clockwise in image coordinates, from the left
    start = int(np.argmin(pts.sum(axis=1)))
    pts = np.roll(pts, -start, axis=0)
    top = np.linalg.norm(pts[1] - pts[0]) + np.linalg.norm(pts[2] - pts[3])
    side = np.linalg.norm(pts[3] - pts[0]) + np.linalg.norm(pts[2] - pts[1])
    if side > top:  # held portrait-wise: the top is the left side
        pts = np.roll(pts, 1, axis=0)
    return pts


def _quad_of(contour: np.ndarray) -> np.ndarray | None:
    hull = cv2.convexHull(contour)
    perimeter = cv2.arcLength(hull, True)
    for eps in (0.02, 0.03, 0.045, 0.06, 0.08):
        approx = cv2.approxPolyDP(hull, eps * perimeter, True)
        if len(approx) == 4:
            return np.asarray(approx, np.float32)
    if len(hull) >= 4:  # a corner cut off (a thumb): the smallest rotated rectangle
        return np.asarray(cv2.boxPoints(cv2.minAreaRect(hull)), np.float32)
    return None


def _score(quad: np.ndarray, contour: np.ndarray, frame_area: float) -> float:
    pts = _order(quad)
    top = (np.linalg.norm(pts[1] - pts[0]) + np.linalg.norm(pts[2] - pts[3])) / 2
    side = (np.linalg.norm(pts[3] - pts[0]) + np.linalg.norm(pts[2] - pts[1])) / 2
    if side < 1:
        return 0.0
    aspect = top / side
    area = float(cv2.contourArea(pts))
    if area < 0.015 * frame_area or area > 0.8 * frame_area:
        return 0.0
    if not 1.15 < aspect < 2.3:
        return 0.0
    fill = float(cv2.contourArea(contour)) / max(area, 1.0)
    return area * min(fill, 1.0) ** 2 * float(np.exp(-abs(np.log(aspect / 1.585)) * 2))


def card_candidates(frame: np.ndarray, limit: int = 3) -> list[np.ndarray]:
    """Card-shaped outlines in the frame, the likeliest first (4x2 float32 each: top-left,
    top-right, bottom-right, bottom-left, in frame pixels)."""
    scale = 640.0 / frame.shape[1]
    small = cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    gray = cv2.GaussianBlur(gray, (5, 5), 0)
    area = float(small.shape[0] * small.shape[1])
    scored: list[tuple[float, np.ndarray]] = []
    median = float(np.median(gray))
    for low, high in ((0.33 * median, 0.66 * median + 20), (15.0, 45.0)):
        edges = cv2.Canny(gray, low, high)
        edges = cv2.dilate(edges, np.ones((3, 3), np.uint8))
        contours, _ = cv2.findContours(edges, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
        for contour in contours:
            if cv2.contourArea(contour) < 0.01 * area:
                continue
            quad = _quad_of(contour)
            if quad is None:
                continue
            score = _score(quad, contour, area)
            if score > 0:
                scored.append((score, _order(quad) / scale))
    scored.sort(key=lambda item: -item[0])
    picked: list[np.ndarray] = []
    for _, quad in scored:
        if all(float(np.abs(quad - other).max()) > 8 for other in picked):
            picked.append(quad)
        if len(picked) == limit:
            break
    return picked


def locate_card(frame: np.ndarray) -> np.ndarray | None:
    """The likeliest card outline (see :func:`card_candidates`), or None."""
    found = card_candidates(frame, limit=1)
    return found[0] if found else None


def rectify(frame: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """The card warped flat to ``CARD_W x CARD_H`` (BGR)."""
    target = np.array([[0, 0], [CARD_W, 0], [CARD_W, CARD_H], [0, CARD_H]], np.float32)
    matrix = cv2.getPerspectiveTransform(np.asarray(corners, np.float32), target)
    return np.asarray(cv2.warpPerspective(frame, matrix, (CARD_W, CARD_H), flags=cv2.INTER_CUBIC))


def _normalise_light(image: np.ndarray) -> np.ndarray:
    """Dim or glary cards: stretch the brightness (CLAHE on the lightness)."""
    lab = cv2.cvtColor(image, cv2.COLOR_BGR2LAB)
    clahe = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(4, 4))
    lab[:, :, 0] = clahe.apply(lab[:, :, 0])
    return np.asarray(cv2.cvtColor(lab, cv2.COLOR_LAB2BGR))


# ---------------------------------------------------------------- the OCR engine

_engine: Any = None
_engine_lock = threading.Lock()


def _ocr_engine() -> Any:
    """rapidocr's engine, made on first use (a fraction of a second; not at import)."""
    global _engine
    with _engine_lock:
        if _engine is None:
            started = time.perf_counter()
            from rapidocr_onnxruntime import RapidOCR

            _engine = RapidOCR(print_verbose=False)
            log.info("OCR engine loaded in %.0f ms", (time.perf_counter() - started) * 1000)
        return _engine


def ocr_lines(image: np.ndarray) -> list[Line]:
    """The text lines of a BGR image, by rapidocr (loaded on first use)."""
    engine = _ocr_engine()
    with _engine_lock:  # one inference at a time: onnxruntime uses every core anyway
        result, _ = engine(image, use_cls=False)
    lines = []
    for box, text, score in result or ():
        xs = [float(p[0]) for p in box]
        ys = [float(p[1]) for p in box]
        lines.append(Line(str(text), float(score), (min(xs), min(ys), max(xs), max(ys))))
    return lines


NUMBER_STRIP = np.s_[420:520, 220:720]
"""Where the ID number is on a rectified card, with room for a poor outline."""


def recognise(image: np.ndarray) -> str:
    """The text of one line image (recognition only, no detection: tens of ms)."""
    engine = _ocr_engine()
    with _engine_lock:
        result, _ = engine(image, use_det=False, use_cls=False)
    return "".join(str(item[0]) for item in result or ())


NAME_BAND = (42, 100, 160, 590)
"""Where the name is on a rectified card (top, bottom, left, right): right of its label,
left of the photo."""
_NUMBER_END, _NUMBER_CY = 638.0, 466.5
"""Where the OCR's box of the number's line ends and centres on a card rectified from
its true corners."""
_NAME_X0, _NAME_LINE_H, _NAME_LABEL_W = 49.0, 49.0, 111.0
"""Where the OCR's box of the line 姓名 + name starts, its height, and the label's width
with the gap after it, on the same card."""


def recogniser_characters() -> frozenset[str]:
    """The characters the recogniser can output (its dictionary, kept in the model): a
    name with any other (赟, 韡, 旻, 昳, 翀 among those of given names) is never read
    exactly, whatever the picture."""
    import onnxruntime as ort
    import rapidocr_onnxruntime

    model = Path(rapidocr_onnxruntime.__file__).parent / "models" / "ch_PP-OCRv4_rec_infer.onnx"
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    return frozenset(session.get_modelmeta().custom_metadata_map["character"].splitlines())


def recognise_many(images: Sequence[np.ndarray]) -> list[tuple[str, float]]:
    """Text and score of each of several line images, recognised in one batch."""
    engine = _ocr_engine()
    with _engine_lock:
        results, _ = engine.text_rec(list(images))
    return [(str(text), float(score)) for text, score in results]


def _trim_right(image: np.ndarray) -> np.ndarray:
    """A line image cut 20 px after its last ink: the background's pattern alone past
    the end of a short name makes the recogniser add characters."""
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float32)
    ink = (cv2.GaussianBlur(gray, (0, 0), 15) - gray) > 25
    columns = np.flatnonzero(ink.sum(axis=0) > 2)
    if not len(columns):
        return image
    return image[:, : min(image.shape[1], int(columns[-1]) + 20)]


def _flatten(image: np.ndarray) -> np.ndarray:
    """Dark writing on white: the background (tint, pattern, glare) divided out."""
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float32)
    ground = cv2.morphologyEx(gray, cv2.MORPH_CLOSE, np.ones((15, 15), np.uint8))
    ground = cv2.GaussianBlur(ground, (0, 0), 3)
    ratio = gray / np.maximum(ground, 1.0) * 255
    out = np.clip((ratio - 120) * 255 / 115, 0, 255).astype(np.uint8)
    return np.asarray(cv2.cvtColor(out, cv2.COLOR_GRAY2BGR))


_NAME_LINE = re.compile(r"^.名")  # 姓名, its first character maybe misread


def _name_bands(lines: Sequence[Line], card: bool) -> list[tuple[int, int, int, int]]:
    """Where the name may be (top, bottom, left, right): right of the label of the line
    the OCR found starting with 姓名 (or ?名), scaled by that line's height; the line
    nearest to where the name should be, as it is (its label perhaps misread as one
    character, or not found); on a rectified card (``card``), where the layout puts
    it, moved by where the OCR found the number's line (found corners are often 10 px
    off in the frame, 30 on the card)."""
    bands = []
    labelled = [ln for ln in lines if _NAME_LINE.match(_clean(ln.text))]
    if labelled:
        line = min(labelled, key=lambda ln: ln.box[1])
        x0, y0, x1, y1 = line.box
        scale = (y1 - y0) / _NAME_LINE_H
        right = min(x1 + 40 * scale, x0 + (NAME_BAND[3] - _NAME_X0) * scale)
        bands.append((y0 - 5 * scale, y1 + 5 * scale, x0 + _NAME_LABEL_W * scale, right))
    if not card:
        if not labelled and lines:  # the top row near the number is the name's
            x0, y0, x1, y1 = min(lines, key=lambda ln: ln.cy).box
            scale = (y1 - y0) / _NAME_LINE_H
            bands.append((y0 - 5 * scale, y1 + 5 * scale, x0 - 10 * scale, x1 + 40 * scale))
        return [_ints(band) for band in bands]
    top, bottom, left, right = NAME_BAND
    numbers = [ln for ln in lines if find_number(ln.text)]
    dx = dy = 0.0
    if numbers:
        anchor = max(numbers, key=lambda ln: ln.score)
        dx, dy = anchor.box[2] - _NUMBER_END, anchor.cy - _NUMBER_CY
    expected = (top + bottom) / 2 + dy
    near = [ln for ln in lines if abs(ln.cy - expected) < 45 and ln.box[0] < right + dx - 100]
    if near and not labelled:
        x0, y0, x1, y1 = min(near, key=lambda ln: abs(ln.cy - expected)).box
        scale = (y1 - y0) / _NAME_LINE_H
        bands.append((y0 - 5 * scale, y1 + 5 * scale, x0 - 10 * scale, x1 + 40 * scale))
        if x0 < left + dx - 60:  # it starts where the label is: without it too
            bands.append(
                (y0 - 5 * scale, y1 + 5 * scale, x0 + _NAME_LABEL_W * scale, x1 + 40 * scale)
            )
    bands.append((top + dy, bottom + dy, left + dx, right + dx))
    return [_ints(band) for band in bands]


def _ints(band: tuple[float, float, float, float]) -> tuple[int, int, int, int]:
    top, bottom, left, right = band
    return int(top), int(bottom), int(left), int(right)


def _crop(image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray | None:
    top, bottom, left, right = box
    top, left = max(0, top), max(0, left)
    bottom, right = min(image.shape[0], bottom), min(image.shape[1], right)
    if bottom - top < 8 or right - left < 16:
        return None
    return image[top:bottom, left:right]


def read_name(image: np.ndarray, lines: Sequence[Line] = (), *, card: bool = True) -> Field:
    """The name in ``image``, a rectified card (:func:`rectify`, before
    :func:`_normalise_light`, which makes the small writing worse) or, with ``card``
    false, any picture of one, recognised again from where ``lines`` (the OCR's lines
    of ``image``) put it, without its label: as it is and with the background
    flattened; of these readings the likeliest (:func:`_likeliest_name`; recognition
    only, one batch, about 70 ms)."""
    crops = [_crop(image, band) for band in _name_bands(lines, card)]
    images = []
    for crop in crops:
        if crop is not None:
            images += [_trim_right(crop), _trim_right(_flatten(crop))]
    found = [_name([(text, score)]) for text, score in recognise_many(images)] if images else []
    return _likeliest_name([f for f in found if f.text])


def _likeliest_name(found: Sequence[Field]) -> Field:
    """Of several readings of the name: one two readings agree on, else the likeliest;
    a reading that is another with characters more (the recogniser drops characters it
    is unsure of far more often than it adds any) is preferred to it."""
    if not found:
        return Field()
    for i, one in enumerate(found):
        for other in found[i + 1 :]:
            if one.text == other.text:
                return Field(one.text, max(one.confidence, other.confidence))
    best = max(found, key=lambda f: f.confidence)
    longer = [f for f in found if len(f.text) > len(best.text) and best.text in f.text]
    if longer and max(f.confidence for f in longer) >= 0.5:
        return max(longer, key=lambda f: f.confidence)
    return best


def _read_outline(frame: np.ndarray, today: date | None) -> CardReading | None:
    """Read the card through its outline: rectified, the layout tells the fields apart."""
    tried = 0
    for corners in card_candidates(frame, limit=6):
        flat = rectify(frame, corners)
        card = _normalise_light(flat)
        # A card has its number where the layout puts it: one cheap recognition of that
        # strip tells a card from a notice on the wall before the full read
        strip = recognise(card[NUMBER_STRIP]).translate(_DIGITLIKE)
        if sum(ch.isdigit() for ch in strip) < 12:
            continue
        lines = ocr_lines(card)
        reading = parse_card_lines(lines, today=today)
        name = _likeliest_name([f for f in (reading.name, read_name(flat, lines)) if f.text])
        reading = replace(reading, name=name)
        if reading.number_ok or (reading.id_number.text and reading.name.text):
            top = float(np.linalg.norm(corners[1] - corners[0]))
            bottom = float(np.linalg.norm(corners[2] - corners[3]))
            return _with(reading, located=True, card_px=(top + bottom) / 2)
        tried += 1
        if tried == 2:  # two full reads of wrong outlines: read the whole frame instead
            break
    return None


def _read_around_number(frame: np.ndarray, today: date | None) -> CardReading:
    """No outline: read the whole frame, then once more the card's region around the
    number's line, enlarged so that its writing is as tall as the OCR reads best."""
    lines = ocr_lines(frame)
    whole = parse_lines(lines, today=today)
    numbers = [ln for ln in lines if find_number(ln.text)]
    if not numbers:
        return whole
    anchor = max(numbers, key=lambda ln: ln.score)
    h = anchor.height
    x0 = int(max(0, anchor.box[0] - 6 * h))
    y0 = int(max(0, anchor.box[1] - 11 * h))
    x1 = int(min(frame.shape[1], anchor.box[2] + 5 * h))
    y1 = int(min(frame.shape[0], anchor.box[3] + 1.5 * h))
    scale = min(3.0, max(1.0, 48.0 / max(h, 1.0)))
    if scale < 1.3:
        return whole
    crop = cv2.resize(frame[y0:y1, x0:x1], None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    lines = ocr_lines(_normalise_light(crop))
    closer = parse_lines(lines, today=today)
    name = read_name(crop, near_number(lines), card=False)
    closer = replace(closer, name=_likeliest_name([f for f in (closer.name, name) if f.text]))
    found = sum(1 for f in closer.fields().values() if f.text)
    if closer.number_ok >= whole.number_ok and found >= sum(
        1 for f in whole.fields().values() if f.text
    ):
        return closer
    return whole


def read_card(frame: np.ndarray, *, today: date | None = None) -> CardReading:
    """Find, read and check the card in a BGR frame (any size; a 720p webcam frame)."""
    started = time.perf_counter()
    if frame.ndim == 2:
        frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    reading = _read_outline(frame, today) or _read_around_number(frame, today)
    ms = (time.perf_counter() - started) * 1000
    reading = _with(reading, ms=ms)
    log.info(
        "ID card read: located=%s fields=%d number_ok=%s ms=%.0f",
        reading.located,
        sum(1 for f in reading.fields().values() if f.text),
        reading.number_ok,
        ms,
    )
    return reading


def _with(reading: CardReading, **changes: Any) -> CardReading:
    return replace(reading, **changes)
