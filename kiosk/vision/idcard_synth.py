"""Generated webcam frames of a resident ID card's front side, for tests and the bench.

Never photographs of real cards: every card here is drawn. The layout is the current
card's (居民身份证, the side with the photo): the labels 姓名, 性别, 民族, 出生, 住址 and
公民身份号码 in blue, the values in black, a photo area (a neutral silhouette, never a
face), and a tinted background with a fine line pattern. Names include rare characters;
ID numbers are valid (``make_id_number``) or have a wrong check digit.

The card is drawn with Pillow (a dependency of rapidocr-onnxruntime, so present wherever
the reader is; the kiosk never draws cards) in a CJK font found on the machine:
WenQuanYi Micro Hei (CI installs it), Droid Sans Fallback, AR PL UKai/UMing, Noto Sans
CJK, or any ``.ttf/.ttc/.otf`` in the folder ``KIOSK_CARD_FONTS`` names. It is then held
up in a 1280x720 frame at 15-40 cm (the scene and the camera of :mod:`kiosk.vision.synth`)
with one kind of trouble per :data:`KINDS`.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import cv2
import numpy as np

from kiosk.core.identity import check_digit, make_id_number
from kiosk.vision import synth

CARD_W, CARD_H = 856, 540  # 85.6 x 54 mm at 10 px/mm
FOCAL_PX = 914.0  # a 720p webcam with a 70-degree horizontal field of view
KINDS: tuple[str, ...] = ("clean", "tilted", "far", "near", "blur", "glare", "dark", "thumb")

_FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts-droid-fallback/truetype/DroidSansFallback.ttf",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/usr/share/fonts/truetype/arphic/ukai.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
)

_SURNAMES = (
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱",
    "胡", "郭", "何", "林", "罗", "高", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯",
    "邓", "曹", "彭", "曾", "萧", "田", "董", "潘", "袁", "蔡", "蒋", "余", "于", "杜",
    "欧阳", "司马", "上官", "诸葛", "夏侯", "皇甫",
)  # fmt: skip
_RARE_SURNAMES = ("闫", "邝", "訾", "亓", "仝", "逄")
_GIVEN = (
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟",
    "涛", "明", "超", "秀", "霞", "平", "刚", "桂", "英", "华", "建", "国", "文", "辉",
    "玲", "红", "梅", "志", "海", "宇", "子", "涵", "欣", "怡", "浩", "然", "思", "雨",
)  # fmt: skip
# Characters of real given names that common OCR vocabularies and IMEs handle badly
_RARE = (
    "堃", "喆", "燚", "犇", "垚", "淼", "鑫", "彧", "翀", "珺", "婧", "玥", "昇", "璟",
    "晞", "昳", "韡", "赟", "祎", "珏", "琰", "璨", "钰", "旻", "皓", "沅", "芃", "骞",
)  # fmt: skip
RARE_CHARACTERS = frozenset(_RARE + _RARE_SURNAMES)
"""The rare characters names are drawn with (a third of the names have one, far more than
among real names: the bench reports names with and without them apart)."""
_ETHNICITIES = ("汉", "汉", "汉", "汉", "回", "满", "壮", "苗", "维吾尔", "土家", "蒙古", "朝鲜")

# (province, 2-digit code, [(city, 4 more digits of the region code)])
_PLACES: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = (
    ("北京市", "11", (("朝阳区", "0105"), ("海淀区", "0108"), ("东城区", "0101"))),
    ("上海市", "31", (("浦东新区", "0115"), ("徐汇区", "0104"))),
    ("天津市", "12", (("和平区", "0101"), ("南开区", "0104"))),
    ("重庆市", "50", (("渝中区", "0103"), ("万州区", "0101"))),
    ("河北省", "13", (("石家庄市", "0102"), ("保定市", "0602"), ("唐山市", "0202"))),
    ("山西省", "14", (("太原市", "0105"), ("大同市", "0212"))),
    ("内蒙古自治区", "15", (("呼和浩特市", "0102"), ("包头市", "0203"))),
    ("辽宁省", "21", (("沈阳市", "0102"), ("大连市", "0203"))),
    ("吉林省", "22", (("长春市", "0102"),)),
    ("黑龙江省", "23", (("哈尔滨市", "0102"),)),
    ("江苏省", "32", (("南京市", "0102"), ("苏州市", "0505"), ("无锡市", "0213"))),
    ("浙江省", "33", (("杭州市", "0106"), ("宁波市", "0203"), ("温州市", "0302"))),
    ("安徽省", "34", (("合肥市", "0104"),)),
    ("福建省", "35", (("福州市", "0102"), ("厦门市", "0203"))),
    ("江西省", "36", (("南昌市", "0102"),)),
    ("山东省", "37", (("济南市", "0102"), ("青岛市", "0202"))),
    ("河南省", "41", (("郑州市", "0105"), ("洛阳市", "0302"))),
    ("湖北省", "42", (("武汉市", "0106"), ("宜昌市", "0502"))),
    ("湖南省", "43", (("长沙市", "0102"),)),
    ("广东省", "44", (("广州市", "0106"), ("深圳市", "0304"), ("佛山市", "0604"))),
    ("广西壮族自治区", "45", (("南宁市", "0102"), ("桂林市", "0302"))),
    ("海南省", "46", (("海口市", "0105"),)),
    ("四川省", "51", (("成都市", "0104"), ("绵阳市", "0703"))),
    ("贵州省", "52", (("贵阳市", "0102"),)),
    ("云南省", "53", (("昆明市", "0102"),)),
    ("西藏自治区", "54", (("拉萨市", "0102"),)),
    ("陕西省", "61", (("西安市", "0103"),)),
    ("甘肃省", "62", (("兰州市", "0102"),)),
    ("青海省", "63", (("西宁市", "0102"),)),
    ("宁夏回族自治区", "64", (("银川市", "0104"),)),
    ("新疆维吾尔自治区", "65", (("乌鲁木齐市", "0102"),)),
)
_STREETS = ("人民路", "解放路", "中山路", "建设大街", "幸福里", "和平街", "长江路", "朝阳路")
_PLACES_IN_CITY = ("区", "县")
_DISTRICT_WORDS = ("东城", "西湖", "新华", "城关", "鼓楼", "高新", "开发", "滨江")

_BLUE = (170.0, 110.0, 40.0)  # BGR: the labels' blue
_INK = (25.0, 22.0, 20.0)
Quad = tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class CardData:
    """What a card says (the truth a reading is scored against)."""

    name: str
    sex: str  # 男 or 女
    ethnicity: str
    birth: date
    address: str
    id_number: str
    number_valid: bool  # False: the check digit was made wrong on purpose
    province: str
    city: str


@dataclass(frozen=True)
class CardFrame:
    """One generated frame: the picture, its kind, the card on it and where."""

    image: np.ndarray  # 1280x720 BGR uint8
    kind: str
    card: CardData
    corners: Quad  # the card's corners in the frame: top-left, top-right, bottom-right, ...
    font: str


def font_paths() -> list[Path]:
    """The CJK fonts this machine can draw cards with (KIOSK_CARD_FONTS first)."""
    found: list[Path] = []
    folder = os.environ.get("KIOSK_CARD_FONTS")
    if folder:
        for pattern in ("*.ttf", "*.ttc", "*.otf"):
            found.extend(sorted(Path(folder).rglob(pattern)))
    found.extend(Path(p) for p in _FONT_CANDIDATES if Path(p).is_file())
    unique: dict[str, Path] = {}
    for path in found:
        if _draws_digits_and_hanzi(path):
            unique.setdefault(path.name, path)
    return list(unique.values())


def _draws_digits_and_hanzi(path: Path) -> bool:
    """Whether the font has glyphs for digits and Chinese (Droid Sans Fallback lacks
    digits: they would come out as empty boxes)."""
    from PIL import ImageFont

    try:
        font = ImageFont.truetype(str(path), 24)
    except OSError:
        return False
    missing = bytes(font.getmask("\U0010fffd"))
    return all(bytes(font.getmask(ch)) != missing for ch in ("0", "7", "姓", "号"))


def random_card(rng: np.random.Generator, *, valid: bool = True) -> CardData:
    """A card with a plausible name, address and a number agreeing with sex and birth."""
    surname = str(rng.choice(_SURNAMES + _RARE_SURNAMES))
    pool = _GIVEN + _RARE if rng.random() < 0.5 else _GIVEN
    given = "".join(str(rng.choice(pool)) for _ in range(int(rng.integers(1, 3))))
    province, code, cities = _PLACES[int(rng.integers(0, len(_PLACES)))]
    city, more = cities[int(rng.integers(0, len(cities)))]
    birth = date(int(rng.integers(1940, 2008)), int(rng.integers(1, 13)), int(rng.integers(1, 29)))
    seq = int(rng.integers(0, 1000))
    sex = "男" if seq % 2 else "女"
    number = make_id_number(code + more, birth, seq)
    if not valid:
        wrong = [c for c in "0123456789X" if c != check_digit(number[:17])]
        number = number[:17] + str(rng.choice(wrong))
    if province.endswith("市"):  # a municipality: the city's part is a district
        address = province + city
    else:
        district = str(rng.choice(_DISTRICT_WORDS)) + str(rng.choice(_PLACES_IN_CITY))
        address = province + city + district
    address += (
        str(rng.choice(_STREETS))
        + f"{int(rng.integers(1, 400))}号"
        + (
            f"{int(rng.integers(1, 30))}栋{int(rng.integers(101, 2600))}室"
            if rng.random() < 0.7
            else ""
        )
    )
    return CardData(
        name=surname + given,
        sex=sex,
        ethnicity=str(rng.choice(_ETHNICITIES)),
        birth=birth,
        address=address,
        id_number=number,
        number_valid=valid,
        province=province,
        city=city,
    )


# ---------------------------------------------------------------- drawing the card


def _wrap(text: str, per_line: int) -> list[str]:
    return [text[i : i + per_line] for i in range(0, len(text), per_line)]


def render_card(card: CardData, font: Path, rng: np.random.Generator) -> np.ndarray:
    """The card's front, flat, ``CARD_H`` x ``CARD_W`` BGR float32."""
    from PIL import Image, ImageDraw, ImageFont

    tint = np.array(
        [rng.uniform(200, 235), rng.uniform(215, 240), rng.uniform(225, 245)], np.float32
    )
    base = np.ones((CARD_H, CARD_W, 3), np.float32) * tint
    yy, xx = np.mgrid[0:CARD_H, 0:CARD_W].astype(np.float32)
    # The guilloche: fine interfering waves, faint
    wave = np.sin(xx / 7.0 + 6 * np.sin(yy / 41.0)) * np.sin(yy / 9.0 + 4 * np.sin(xx / 57.0))
    base += (wave * rng.uniform(6, 12))[:, :, None] * np.array([0.6, 0.8, 1.0], np.float32)
    glow = np.exp(-(((xx - CARD_W * 0.45) / 260) ** 2 + ((yy - CARD_H * 0.5) / 180) ** 2))
    base += (glow * 12)[:, :, None]
    image = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8)[:, :, ::-1].copy())
    draw = ImageDraw.Draw(image)
    label_font = ImageFont.truetype(str(font), 27)
    value_font = ImageFont.truetype(str(font), 33)
    number_font = ImageFont.truetype(str(font), 38)
    blue = tuple(int(c) for c in _BLUE[::-1])
    ink = tuple(int(c) for c in _INK[::-1])

    def label(x: int, y: int, text: str) -> None:
        draw.text((x, y + 4), text, font=label_font, fill=blue)

    def value(x: int, y: int, text: str) -> None:
        draw.text((x, y), text, font=value_font, fill=ink)

    label(55, 55, "姓  名")
    value(170, 52, card.name)
    label(55, 120, "性  别")
    value(170, 117, card.sex)
    label(270, 120, "民  族")
    value(380, 117, card.ethnicity)
    label(55, 185, "出  生")
    value(170, 182, f"{card.birth.year}")
    label(260, 185, "年")
    value(305, 182, f"{card.birth.month}")
    label(355, 185, "月")
    value(400, 182, f"{card.birth.day}")
    label(450, 185, "日")
    label(55, 250, "住  址")
    for n, line in enumerate(_wrap(card.address, 11)[:3]):
        value(170, 247 + 45 * n, line)
    label(55, 450, "公民身份号码")
    draw.text((260, 444), " ".join([card.id_number]), font=number_font, fill=ink)
    # The photo area: a neutral silhouette on a pale ground (never a face)
    draw.rectangle((590, 60, 810, 330), fill=(236, 236, 232))
    grey = (150, 150, 150)
    draw.ellipse((645, 95, 755, 225), fill=grey)
    draw.pieslice((610, 215, 790, 420), 180, 360, fill=grey)
    draw.rectangle((590, 331, 810, 345), fill=tuple(int(c) for c in tint[::-1]))
    out = np.asarray(image, np.float32)[:, :, ::-1].copy()
    return out


def _card_mask() -> np.ndarray:
    mask = np.zeros((CARD_H, CARD_W), np.float32)
    r = 32  # rounded corners, 3.2 mm
    cv2.rectangle(mask, (r, 0), (CARD_W - r, CARD_H), 1.0, -1)
    cv2.rectangle(mask, (0, r), (CARD_W, CARD_H - r), 1.0, -1)
    for cx, cy in ((r, r), (CARD_W - r, r), (r, CARD_H - r), (CARD_W - r, CARD_H - r)):
        cv2.circle(mask, (cx, cy), r, 1.0, -1)
    return mask


# ---------------------------------------------------------------- the frame


def _distance_mm(kind: str, rng: np.random.Generator) -> float:
    ranges = {"far": (330.0, 400.0), "near": (150.0, 190.0)}
    lo, hi = ranges.get(kind, (190.0, 300.0))
    return float(rng.uniform(lo, hi))


def _pose(kind: str, rng: np.random.Generator) -> synth._Pose:
    width = 85.6 * FOCAL_PX / _distance_mm(kind, rng)
    tilt = 30.0 if kind == "tilted" else 10.0
    roll = 12.0 if kind == "tilted" else 5.0
    pitch, yaw = (float(rng.uniform(-tilt, tilt)) for _ in range(2))
    if kind == "tilted":  # at least one axis well tilted
        big = float(rng.uniform(20, 30)) * float(rng.choice([-1, 1]))
        pitch, yaw = (big, yaw) if rng.random() < 0.5 else (pitch, big)
    height = width * CARD_H / CARD_W
    mx, my = width * 0.6, height * 0.65
    cx = float(rng.uniform(mx, synth.WIDTH - mx)) if 2 * mx < synth.WIDTH else synth.WIDTH / 2
    cy = float(rng.uniform(my, synth.HEIGHT - my)) if 2 * my < synth.HEIGHT else synth.HEIGHT / 2
    return synth._Pose(width, (cx, cy), float(rng.uniform(-roll, roll)), pitch, yaw)


def _glare(frame: np.ndarray, rng: np.random.Generator, corners: np.ndarray) -> None:
    """A lamp's reflection on the laminate: a bright elongated blob over the text."""
    t = rng.uniform(0.15, 0.6, size=2)
    centre = corners[0] + (corners[1] - corners[0]) * t[0] + (corners[3] - corners[0]) * t[1]
    side = float(np.linalg.norm(corners[1] - corners[0]))
    rx, ry = side * rng.uniform(0.08, 0.16), side * rng.uniform(0.04, 0.08)
    angle = rng.uniform(0, math.pi)
    yy, xx = np.mgrid[0 : synth.HEIGHT, 0 : synth.WIDTH].astype(np.float32)
    u = (xx - centre[0]) * math.cos(angle) + (yy - centre[1]) * math.sin(angle)
    v = -(xx - centre[0]) * math.sin(angle) + (yy - centre[1]) * math.cos(angle)
    blob = np.exp(-((u / rx) ** 2 + (v / ry) ** 2)) * rng.uniform(120, 220)
    frame += blob[:, :, None].astype(np.float32)


def _thumb(frame: np.ndarray, rng: np.random.Generator, corners: np.ndarray) -> None:
    """A thumb over one corner of the card, reaching in towards the middle."""
    k = int(rng.integers(0, 4))
    corner, centre = corners[k], corners.mean(axis=0)
    inward = centre - corner
    inward /= float(np.linalg.norm(inward))
    side = float(np.linalg.norm(corners[1] - corners[0]))
    start = corner - inward * side * 0.35
    synth._hand(
        frame,
        rng,
        (float(start[0]), float(start[1])),
        side * float(rng.uniform(0.45, 0.55)),
        math.atan2(float(inward[1]), float(inward[0])),
        side * 0.13,
    )


def make_card_frame(
    kind: str,
    seed: int,
    card: CardData | None = None,
    *,
    valid: bool = True,
    fonts: list[Path] | None = None,
) -> CardFrame:
    """One 1280x720 BGR frame of ``kind`` with a card held up; deterministic per seed."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; known: {', '.join(KINDS)}")
    rng = np.random.default_rng([seed, KINDS.index(kind), 15])
    choices = fonts if fonts is not None else font_paths()
    if not choices:
        raise RuntimeError("no CJK font found (install fonts-wqy-microhei)")
    font = choices[int(rng.integers(0, len(choices)))]
    data = card if card is not None else random_card(rng, valid=valid)
    frame = synth._background(rng, tricky=False)
    flat = synth._Card(render_card(data, font, rng), _card_mask(), ((0.0, 0.0),) * 4)
    pose = _pose(kind, rng)
    synth._place(frame, flat, pose)
    corners = synth._project((CARD_H, CARD_W), pose).astype(np.float64)
    if kind == "thumb":
        _thumb(frame, rng, corners)
    else:  # fingers at the card's bottom edge, clear of the text
        bottom = (corners[2] + corners[3]) / 2
        down = bottom - corners.mean(axis=0)
        down /= max(float(np.linalg.norm(down)), 1e-6)
        side = float(np.linalg.norm(corners[1] - corners[0]))
        start = bottom + down * side * 0.3
        synth._hand(
            frame,
            rng,
            (float(start[0]), float(start[1])),
            side * 0.2,
            math.atan2(float(down[1]), float(down[0])),
            side * 0.1,
        )
    if kind == "glare":
        _glare(frame, rng, corners)
    image = _camera(kind, frame, rng)
    quad = tuple((float(x), float(y)) for x, y in corners)
    return CardFrame(image, kind, data, quad, font.name)


def _camera(kind: str, frame: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    if kind == "blur":
        return synth._camera(synth._motion_blur(frame, rng), rng)
    if kind == "dark":
        return synth._camera(
            frame, rng, gain=float(rng.uniform(0.25, 0.4)), noise=float(rng.uniform(2.5, 4.0))
        )
    return synth._camera(frame, rng, quality=int(rng.integers(75, 92)))
