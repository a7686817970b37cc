"""Webcam-like test frames with a QR code in controlled trouble.

Every frame is 1280x720 BGR, made deterministically from a seed: a cluttered
background (the tent, a street), a card or a phone held up by a hand, then the
camera's own faults (defocus, sensor noise, MJPG compression). Each *category* adds
one kind of trouble that gates meet: dim light, glare, tilt, a finger over the code.

Used by the tests, the benchmarks and the demo; ``write_dataset`` writes a folder
of images with ``truth.tsv`` and ``write_video`` an MJPG ``.avi`` made of segments.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import segno

from kiosk.core.csv_cells import csv_writer, read_cell
from kiosk.core.errors import EnvironmentFault, UserError
from kiosk.core.i18n import tr

WIDTH, HEIGHT = 1280, 720
Quad = tuple[tuple[float, float], ...]
FloatImage = np.ndarray

CATEGORIES: tuple[str, ...] = (
    "clean",
    "small",
    "large",
    "tilt",
    "rotation",
    "motion",
    "defocus",
    "noise",
    "dark",
    "glare",
    "phone",
    "inverted",
    "curved",
    "lowcontrast",
    "occluded",
    "jpeg",
    "none",
)

_BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_CHINESE = (
    "门禁通行证：张伟，3栋2单元1201室，有效期至6月30日",
    "社区出入证 李娜 7号楼 凭码通行",
    "访客登记：王芳（快递），到访 12栋，15:00 前离开",
)
_URLS = (
    "https://gate.example.cn/p/{code}",
    "https://wy.example.com/pass?id={code}&c=17",
    "HTTPS://QR.EXAMPLE.CN/G/{code}",
)


@dataclass(frozen=True)
class SynthFrame:
    """One generated frame and what it should decode to."""

    image: np.ndarray
    category: str
    text: str | None
    corners: Quad | None  # the symbol's corners (quiet zone excluded), frame pixels


@dataclass(frozen=True)
class Segment:
    """A stretch of video: ``text`` held up (or none) for ``seconds``, with ``trouble``."""

    text: str | None
    seconds: float
    trouble: str = "clean"


def gatepass_token(rng: np.random.Generator) -> str:
    """A 136-character pass token: ``GP1:`` then 132 Base32 characters."""
    return "GP1:" + "".join(rng.choice(list(_BASE32), size=132))


def random_payload(rng: np.random.Generator) -> str:
    """A realistic payload: mostly pass tokens, also URLs, Chinese text, payment codes."""
    kind = rng.choice(["token", "token", "token", "url", "chinese", "payment"])
    if kind == "token":
        return gatepass_token(rng)
    if kind == "url":
        code = "".join(rng.choice(list("abcdefghjkmnpqrstuvwxyz23456789"), size=16))
        template = str(rng.choice(_URLS))
        return template.format(code=code.upper() if template.isupper() else code)
    if kind == "chinese":
        return str(rng.choice(_CHINESE))
    # A payment-app code: 18 digits starting 25-30 (Alipay) or 10-15 (WeChat)
    prefix = int(rng.choice([int(rng.integers(25, 31)), int(rng.integers(10, 16))]))
    return str(prefix) + "".join(str(d) for d in rng.integers(0, 10, size=16))


def qr_matrix(text: str) -> np.ndarray:
    """The QR symbol as a boolean array (True = dark module), quiet zone excluded."""
    try:
        code = segno.make(text, error="m", micro=False)
    except segno.DataOverflowError as exc:
        raise UserError(
            tr("The text is too long for one QR code ({n} characters).", n=len(text))
        ) from exc
    return np.array([list(row) for row in code.matrix], dtype=bool)


# ---------------------------------------------------------------- background


def _background(rng: np.random.Generator, tricky: bool) -> FloatImage:
    """A cluttered scene: a lit gradient, shapes, signs with writing, maybe tiles."""
    top = rng.uniform(40, 200, size=3)
    bottom = rng.uniform(30, 180, size=3)
    ramp = np.linspace(0.0, 1.0, HEIGHT, dtype=np.float32)[:, None, None]
    img = (top * (1 - ramp) + bottom * ramp) * np.ones((1, WIDTH, 1), np.float32)
    img = img.astype(np.float32)
    for _ in range(int(rng.integers(8, 20))):
        _random_shape(img, rng)
    for _ in range(int(rng.integers(1, 4))):
        _sign(img, rng)
    if tricky or rng.random() < 0.3:
        _tricky_pattern(img, rng)
    sigma = float(rng.uniform(0.8, 2.5))
    return cv2.GaussianBlur(img, (0, 0), sigma)


def _color(rng: np.random.Generator, lo: float = 0, hi: float = 255) -> tuple[float, ...]:
    return tuple(float(v) for v in rng.uniform(lo, hi, size=3))


def _random_shape(img: FloatImage, rng: np.random.Generator) -> None:
    x, y = int(rng.integers(0, WIDTH)), int(rng.integers(0, HEIGHT))
    kind = int(rng.integers(0, 3))
    if kind == 0:
        w, h = int(rng.integers(40, 400)), int(rng.integers(40, 300))
        cv2.rectangle(img, (x, y), (x + w, y + h), _color(rng), -1)
    elif kind == 1:
        cv2.circle(img, (x, y), int(rng.integers(15, 120)), _color(rng), -1)
    else:
        x2, y2 = int(rng.integers(0, WIDTH)), int(rng.integers(0, HEIGHT))
        cv2.line(img, (x, y), (x2, y2), _color(rng), int(rng.integers(2, 14)))


def _sign(img: FloatImage, rng: np.random.Generator) -> None:
    """A light panel with dark writing (notices on the tent, a shop sign)."""
    x, y = int(rng.integers(0, WIDTH - 200)), int(rng.integers(0, HEIGHT - 120))
    w, h = int(rng.integers(160, 420)), int(rng.integers(80, 240))
    cv2.rectangle(img, (x, y), (x + w, y + h), _color(rng, 170, 250), -1)
    ink = _color(rng, 0, 70)
    for line in range(int(rng.integers(2, 7))):
        words = "".join(rng.choice(list("ABCDEFGHKLMNPRSTUVWXYZ0123456789 "), size=14))
        _write(
            img,
            words,
            (x + 8, y + 26 + 28 * line),
            float(rng.uniform(0.5, 0.9)),
            ink,
            int(rng.integers(1, 3)),
        )


def _write(
    img: FloatImage,
    words: str,
    at: tuple[int, int],
    scale: float,
    ink: tuple[float, ...],
    thickness: int,
) -> None:
    """``cv2.putText`` on a float image (OpenCV draws text on 8-bit images only)."""
    (tw, th), base = cv2.getTextSize(words, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    x0, y0 = max(at[0] - 2, 0), max(at[1] - th - 2, 0)
    x1, y1 = min(at[0] + tw + 2, img.shape[1]), min(at[1] + base + 2, img.shape[0])
    if x1 <= x0 or y1 <= y0:
        return
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.putText(
        mask,
        words,
        (at[0] - x0, at[1] - y0),
        cv2.FONT_HERSHEY_SIMPLEX,
        scale,
        255,
        thickness,
        cv2.LINE_AA,
    )
    alpha = (mask.astype(np.float32) / 255)[:, :, None]
    roi = img[y0:y1, x0:x1]
    roi *= 1 - alpha
    roi += alpha * np.array(ink, np.float32)


def _tricky_pattern(img: FloatImage, rng: np.random.Generator) -> None:
    """Things a QR locator may mistake for a code: tiles, a 1D barcode, a square logo."""
    kind = int(rng.integers(0, 3))
    x, y = int(rng.integers(0, WIDTH - 300)), int(rng.integers(0, HEIGHT - 220))
    if kind == 0:
        step = int(rng.integers(10, 40))
        for i in range(0, 300, step):
            for j in range(0, 220, step):
                if (i // step + j // step) % 2 == 0:
                    cv2.rectangle(
                        img, (x + i, y + j), (x + i + step, y + j + step), (20, 20, 20), -1
                    )
    elif kind == 1:
        cv2.rectangle(img, (x, y), (x + 260, y + 120), (245, 245, 245), -1)
        pos = x + 10
        while pos < x + 250:
            bar = int(rng.integers(1, 5))
            cv2.rectangle(img, (pos, y + 10), (pos + bar, y + 110), (15, 15, 15), -1)
            pos += bar + int(rng.integers(1, 5))
    else:
        size = int(rng.integers(40, 110))
        for k, shade in enumerate((15, 245, 15)):
            inset = k * size // 7
            cv2.rectangle(
                img,
                (x + inset, y + inset),
                (x + size - inset, y + size - inset),
                (shade, shade, shade),
                -1,
            )


# ---------------------------------------------------------------- the card


@dataclass
class _Card:
    """A flat picture of what is held up, with where the symbol sits on it."""

    image: FloatImage  # BGR float32
    mask: FloatImage  # float32 0..1, the card's outline
    symbol: Quad  # the symbol's corners on the card image


def _symbol_picture(
    matrix: np.ndarray, module: int, dark: float, light: float, quiet: int = 4
) -> FloatImage:
    n = matrix.shape[0] + 2 * quiet
    grid = np.full((n, n), light, np.float32)
    grid[quiet:-quiet, quiet:-quiet] = np.where(matrix, dark, light)
    return cv2.resize(grid, (n * module, n * module), interpolation=cv2.INTER_NEAREST)


def _paper_card(
    matrix: np.ndarray,
    rng: np.random.Generator,
    dark: float,
    light: float,
    ink: tuple[float, ...] | None = None,
) -> _Card:
    module = 8
    sym = _symbol_picture(matrix, module, dark, light)
    side = sym.shape[0]
    pad_x, pad_top, pad_bottom = int(side * 0.12), int(side * 0.12), int(side * 0.45)
    h, w = side + pad_top + pad_bottom, side + 2 * pad_x
    paper = np.full((h, w, 3), light, np.float32) * rng.uniform(0.93, 1.0, size=3)
    paper[pad_top : pad_top + side, pad_x : pad_x + side] = sym[:, :, None]
    text_ink = ink if ink is not None else (dark, dark, dark)
    for line in range(2):
        _write(
            paper,
            "GATEPASS  " + "".join(rng.choice(list("0123456789"), size=6)),
            (pad_x, pad_top + side + int(pad_bottom * (0.4 + 0.35 * line))),
            side / 420,
            text_ink,
            max(1, side // 160),
        )
    mask = np.zeros((h, w), np.float32)
    cv2.rectangle(mask, (0, 0), (w - 1, h - 1), 1.0, -1)
    q = 4 * module
    symbol = (
        (pad_x + q, pad_top + q),
        (pad_x + side - q, pad_top + q),
        (pad_x + side - q, pad_top + side - q),
        (pad_x + q, pad_top + side - q),
    )
    return _Card(paper, mask, tuple((float(a), float(b)) for a, b in symbol))


def _phone(matrix: np.ndarray, rng: np.random.Generator) -> _Card:
    """A phone showing the code: bezel, bright screen, app header, pixel grid, glare."""
    module = 9
    white = float(rng.uniform(175, 255))
    sym = _symbol_picture(matrix, module, white * 0.08, white, quiet=3)
    side = sym.shape[0]
    sw, sh = int(side * 1.25), int(side * 2.05)
    screen = np.full((sh, sw, 3), white, np.float32) * np.array([1.0, 0.97, 0.95], np.float32)
    header = (np.array(_color(rng, 40, 200), np.float32) * white / 255).tolist()
    cv2.rectangle(screen, (0, 0), (sw, int(sh * 0.14)), header, -1)
    x0, y0 = (sw - side) // 2, int(sh * 0.27)
    screen[y0 : y0 + side, x0 : x0 + side] = sym[:, :, None]
    # The pixel grid (RGB stripes with dark gaps): aliases into moire on the camera
    grid = np.ones((sh, sw, 3), np.float32)
    period = 3
    for ch in range(3):
        grid[:, [i for i in range(sw) if i % period != ch], ch] *= 0.55
    grid[::period, :, :] *= 0.6
    screen *= grid * 1.35
    bezel = int(side * 0.08)
    h, w = sh + 2 * bezel, sw + 2 * bezel
    body = np.full((h, w, 3), float(rng.uniform(10, 40)), np.float32)
    body[bezel : bezel + sh, bezel : bezel + sw] = screen
    _screen_glare(body, rng)
    mask = np.zeros((h, w), np.float32)
    r = int(w * 0.12)
    cv2.rectangle(mask, (r, 0), (w - r, h), 1.0, -1)
    cv2.rectangle(mask, (0, r), (w, h - r), 1.0, -1)
    for cx, cy in ((r, r), (w - r, r), (r, h - r), (w - r, h - r)):
        cv2.circle(mask, (cx, cy), r, 1.0, -1)
    q = 3 * module
    sx, sy = bezel + x0 + q, bezel + y0 + q
    inner = side - 2 * q
    symbol = ((sx, sy), (sx + inner, sy), (sx + inner, sy + inner), (sx, sy + inner))
    return _Card(body, mask, tuple((float(a), float(b)) for a, b in symbol))


def _screen_glare(body: FloatImage, rng: np.random.Generator) -> None:
    """A soft diagonal reflection across part of the glass."""
    h, w = body.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    angle = rng.uniform(0.3, 1.2)
    offset = rng.uniform(0.2, 0.8) * (w + h) / 2
    dist = np.abs(xx * math.cos(angle) + yy * math.sin(angle) - offset)
    band = np.exp(-((dist / (w * rng.uniform(0.06, 0.15))) ** 2)) * rng.uniform(60, 140)
    body += band[:, :, None].astype(np.float32)


def _curve(card: _Card, rng: np.random.Generator) -> _Card:
    """Bend the card round a cylinder (a card flexed in the hand, a bottle label)."""
    h, w = card.mask.shape
    radius = w * rng.uniform(0.55, 0.8)
    half = w / 2
    half_out = radius * math.sin(half / radius)
    u = np.linspace(-half_out, half_out, w, dtype=np.float32)
    theta = np.arcsin(np.clip(u / radius, -1, 1))
    src_x = (radius * theta + half).astype(np.float32)
    depth = radius * (1 - np.cos(theta))  # further away at the edges: smaller
    yscale = 1 / (1 + depth / (w * 2.5))
    v = np.arange(h, dtype=np.float32)[:, None] - h / 2
    map_x = np.broadcast_to(src_x[None, :], (h, w)).astype(np.float32)
    map_y = (v / yscale[None, :] + h / 2).astype(np.float32)
    shade = (0.75 + 0.25 * np.cos(theta))[None, :, None].astype(np.float32)
    image = (
        cv2.remap(card.image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        * shade
    )
    mask = cv2.remap(card.mask, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)

    def forward(x: float, y: float) -> tuple[float, float]:
        t = (x - half) / radius
        d = radius * (1 - math.cos(t))
        return radius * math.sin(t) / (2 * half_out) * w + w / 2, (y - h / 2) * (
            1 / (1 + d / (w * 2.5))
        ) + h / 2

    symbol = tuple(forward(x, y) for x, y in card.symbol)
    return _Card(image.astype(np.float32), mask, symbol)


# ---------------------------------------------------------------- geometry


@dataclass(frozen=True)
class _Pose:
    width: float  # the card's width in frame pixels
    center: tuple[float, float]
    roll: float = 0.0  # in-plane rotation, degrees
    pitch: float = 0.0  # tilt about the horizontal axis, degrees
    yaw: float = 0.0  # tilt about the vertical axis, degrees


def _project(card_shape: tuple[int, int], pose: _Pose) -> np.ndarray:
    """Where the card's corners land in the frame (a pinhole camera, f = 1000 px)."""
    h, w = card_shape
    scale = pose.width / w
    pts = (
        np.array(
            [[-w / 2, -h / 2, 0], [w / 2, -h / 2, 0], [w / 2, h / 2, 0], [-w / 2, h / 2, 0]],
            np.float64,
        )
        * scale
    )
    p, y, r = (math.radians(a) for a in (pose.pitch, pose.yaw, pose.roll))
    rx = np.array([[1, 0, 0], [0, math.cos(p), -math.sin(p)], [0, math.sin(p), math.cos(p)]])
    ry = np.array([[math.cos(y), 0, math.sin(y)], [0, 1, 0], [-math.sin(y), 0, math.cos(y)]])
    rz = np.array([[math.cos(r), -math.sin(r), 0], [math.sin(r), math.cos(r), 0], [0, 0, 1]])
    world = pts @ (rz @ ry @ rx).T
    focal, distance = 1000.0, 1000.0
    z = world[:, 2] + distance
    proj = world[:, :2] * (focal / z)[:, None]
    corners: np.ndarray = (proj + np.array(pose.center)).astype(np.float32)
    return corners


def _place(frame: FloatImage, card: _Card, pose: _Pose, antialias: float = 1.0) -> Quad:
    """Warp the card into the frame; returns the symbol's corners in frame pixels."""
    h, w = card.mask.shape
    dst = _project((h, w), pose)
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    matrix = cv2.getPerspectiveTransform(src, dst)
    shrink = w / max(pose.width, 1.0)
    image, mask = card.image, card.mask
    if shrink > 1.2 and antialias > 0:
        sigma = 0.45 * shrink * antialias
        image = cv2.GaussianBlur(image, (0, 0), sigma)
        mask = cv2.GaussianBlur(mask, (0, 0), sigma)
    warped = cv2.warpPerspective(image, matrix, (WIDTH, HEIGHT), flags=cv2.INTER_LINEAR)
    alpha = cv2.warpPerspective(mask, matrix, (WIDTH, HEIGHT), flags=cv2.INTER_LINEAR)
    frame *= 1 - alpha[:, :, None]
    frame += warped * alpha[:, :, None]
    sym = np.array(card.symbol, np.float32).reshape(-1, 1, 2)
    out = cv2.perspectiveTransform(sym, matrix).reshape(-1, 2)
    return tuple((float(x), float(y)) for x, y in out)


def _hand(
    frame: FloatImage,
    rng: np.random.Generator,
    at: tuple[float, float],
    length: float,
    angle: float,
    width: float,
) -> None:
    """A finger: a skin-toned capsule with a little shading."""
    skin = np.array([rng.uniform(90, 150), rng.uniform(130, 185), rng.uniform(170, 235)])
    dx, dy = math.cos(angle) * length, math.sin(angle) * length
    thick = max(6, int(width))
    pad = thick + 8
    xs, ys = (at[0], at[0] + dx), (at[1], at[1] + dy)
    x0, x1 = max(int(min(xs)) - pad, 0), min(int(max(xs)) + pad, frame.shape[1])
    y0, y1 = max(int(min(ys)) - pad, 0), min(int(max(ys)) + pad, frame.shape[0])
    if x1 <= x0 or y1 <= y0:
        return
    layer = np.zeros((y1 - y0, x1 - x0), np.float32)
    cv2.line(
        layer,
        (int(at[0]) - x0, int(at[1]) - y0),
        (int(at[0] + dx) - x0, int(at[1] + dy) - y0),
        1.0,
        thick,
    )
    layer = cv2.GaussianBlur(layer, (0, 0), 1.5)
    shade = 0.85 + 0.15 * cv2.GaussianBlur(layer, (0, 0), thick / 3)
    roi = frame[y0:y1, x0:x1]
    roi *= 1 - layer[:, :, None]
    roi += (layer * shade)[:, :, None] * skin.astype(np.float32)


# ---------------------------------------------------------------- camera


def _camera(
    frame: FloatImage,
    rng: np.random.Generator,
    *,
    blur: float = 0.0,
    noise: float = 3.0,
    gain: float = 1.0,
    quality: int = 85,
) -> np.ndarray:
    """Optics, exposure, sensor noise, quantisation, then the webcam's MJPG encoder."""
    sigma = max(blur, float(rng.uniform(0.5, 0.9)))
    frame = cv2.GaussianBlur(frame, (0, 0), sigma)
    frame = frame * gain
    grain = _gaussian(frame.shape, noise, rng)
    img = np.clip(frame + grain, 0, 255).astype(np.uint8)
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:  # pragma: no cover - the JPEG codec is built in
        raise EnvironmentFault(tr("OpenCV cannot encode JPEG images on this machine."))
    decoded = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    if decoded is None:  # pragma: no cover - a buffer just encoded decodes
        raise EnvironmentFault(tr("OpenCV cannot encode JPEG images on this machine."))
    return np.asarray(decoded)


def _gaussian(shape: tuple[int, ...], sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Gaussian noise of ``shape`` (float32), seeded from ``rng``; OpenCV's generator,
    several times faster than numpy's for a whole frame."""
    flat = np.empty((int(np.prod(shape[:-1])), int(shape[-1])), np.float32)
    cv2.setRNGSeed(int(rng.integers(0, 2**31 - 1)))
    cv2.randn(flat, np.zeros(1), np.full(1, sigma))
    return flat.reshape(shape)


def _motion_blur(frame: FloatImage, rng: np.random.Generator) -> FloatImage:
    length = int(rng.integers(5, 13))
    kernel = np.zeros((length, length), np.float32)
    kernel[length // 2, :] = 1.0
    rot = cv2.getRotationMatrix2D(
        (length / 2 - 0.5, length / 2 - 0.5), float(rng.uniform(0, 180)), 1.0
    )
    turned = np.asarray(cv2.warpAffine(kernel, rot, (length, length)), np.float32)
    turned /= max(float(turned.sum()), 1e-6)
    return np.asarray(cv2.filter2D(frame, -1, turned))


def _defocus(frame: FloatImage, rng: np.random.Generator) -> FloatImage:
    radius = int(rng.integers(3, 6))
    kernel = np.zeros((2 * radius + 1, 2 * radius + 1), np.float32)
    cv2.circle(kernel, (radius, radius), radius, 1.0, -1)
    return cv2.filter2D(frame, -1, kernel / float(kernel.sum()))


def _glare(frame: FloatImage, rng: np.random.Generator, corners: Quad) -> None:
    """A specular blob (a lamp on a laminated card) over part of the symbol."""
    pts = np.array(corners)
    side = float(np.linalg.norm(pts[1] - pts[0]))
    t = rng.uniform(0.2, 0.8, size=2)
    cx = pts[0] + (pts[1] - pts[0]) * t[0] + (pts[3] - pts[0]) * t[1]
    radius = side * rng.uniform(0.08, 0.14)
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    d2 = ((xx - cx[0]) ** 2 + (yy - cx[1]) ** 2) / (radius**2)
    blob = np.exp(-d2 * 0.7) * 420
    frame += blob[:, :, None].astype(np.float32)


# ---------------------------------------------------------------- categories


def _pose(
    rng: np.random.Generator, card_w: float, *, tilt: float = 12.0, roll: float = 8.0
) -> _Pose:
    margin = card_w * 0.75
    cx = float(rng.uniform(margin, WIDTH - margin)) if 2 * margin < WIDTH else WIDTH / 2
    cy = float(rng.uniform(min(margin, HEIGHT / 2), max(HEIGHT - margin, HEIGHT / 2)))
    return _Pose(
        width=card_w,
        center=(cx, cy),
        roll=float(rng.uniform(-roll, roll)),
        pitch=float(rng.uniform(-tilt, tilt)),
        yaw=float(rng.uniform(-tilt, tilt)),
    )


def _symbol_width(rng: np.random.Generator, category: str) -> float:
    """How wide the symbol (without quiet zone) appears, in frame pixels."""
    ranges = {
        "small": (60, 100),
        "large": (430, 560),
        "phone": (170, 300),
        "curved": (200, 320),
        "tilt": (200, 300),
    }
    lo, hi = ranges.get(category, (170, 330))
    return float(rng.uniform(lo, hi))


def _make_card(category: str, matrix: np.ndarray, rng: np.random.Generator) -> _Card:
    if category == "phone":
        return _phone(matrix, rng)
    if category == "inverted":
        dark = float(rng.uniform(15, 55))
        return _paper_card(
            matrix, rng, dark=float(rng.uniform(190, 235)), light=dark, ink=(230.0, 230.0, 230.0)
        )
    if category == "lowcontrast":
        light = float(rng.uniform(150, 200))
        return _paper_card(matrix, rng, dark=light - float(rng.uniform(28, 45)), light=light)
    card = _paper_card(
        matrix, rng, dark=float(rng.uniform(10, 45)), light=float(rng.uniform(200, 245))
    )
    return _curve(card, rng) if category == "curved" else card


def _scene_pose(category: str, rng: np.random.Generator, card: _Card, symbol_w: float) -> _Pose:
    sym = np.array(card.symbol)
    card_w = symbol_w * card.mask.shape[1] / float(np.linalg.norm(sym[1] - sym[0]))
    if category == "tilt":
        base = _pose(rng, card_w, tilt=5.0)
        big = float(rng.uniform(38, 52)) * float(rng.choice([-1, 1]))
        if rng.random() < 0.5:
            return _Pose(base.width, base.center, base.roll, pitch=big, yaw=base.yaw)
        return _Pose(base.width, base.center, base.roll, pitch=base.pitch, yaw=big)
    if category == "rotation":
        base = _pose(rng, card_w)
        return _Pose(base.width, base.center, float(rng.uniform(20, 340)), base.pitch, base.yaw)
    if category == "large":
        base = _pose(rng, card_w, tilt=6.0)
        return _Pose(
            base.width,
            (WIDTH / 2 + float(rng.uniform(-150, 150)), HEIGHT / 2 + card_w * 0.12),
            base.roll,
            base.pitch,
            base.yaw,
        )
    return _pose(rng, card_w)


def _camera_for(category: str, frame: FloatImage, rng: np.random.Generator) -> np.ndarray:
    if category == "motion":
        return _camera(_motion_blur(frame, rng), rng)
    if category == "defocus":
        return _camera(_defocus(frame, rng), rng)
    if category == "noise":
        return _camera(frame, rng, noise=float(rng.uniform(18, 30)))
    if category == "dark":
        return _camera(
            frame,
            rng,
            gain=float(rng.uniform(0.06, 0.14)),
            noise=float(rng.uniform(2.0, 3.5)),
            quality=80,
        )
    if category == "jpeg":
        return _camera(frame, rng, quality=int(rng.integers(6, 14)))
    return _camera(frame, rng, quality=int(rng.integers(75, 92)))


def make_frame(category: str, seed: int, text: str | None = None) -> SynthFrame:
    """One 1280x720 BGR frame of ``category``; the same seed gives the same frame."""
    if category not in CATEGORIES:
        raise UserError(
            tr(
                "Unknown frame category {name!r}; known: {known}.",
                name=category,
                known=", ".join(CATEGORIES),
            )
        )
    rng = np.random.default_rng([seed, CATEGORIES.index(category)])
    frame = _background(rng, tricky=category == "none")
    if category == "none":
        if rng.random() < 0.5:
            _hand(
                frame,
                rng,
                (float(rng.uniform(300, 900)), HEIGHT + 10.0),
                260.0,
                -math.pi / 2 + float(rng.uniform(-0.4, 0.4)),
                70.0,
            )
        return SynthFrame(_camera_for("clean", frame, rng), category, None, None)
    payload = text if text is not None else random_payload(rng)
    card = _make_card(category, qr_matrix(payload), rng)
    pose = _scene_pose(category, rng, card, _symbol_width(rng, category))
    corners = _place(frame, card, pose, antialias=0.35 if category == "phone" else 1.0)
    _holding_hand(frame, rng, category, corners)
    if category == "glare":
        _glare(frame, rng, corners)
    return SynthFrame(_camera_for(category, frame, rng), category, payload, corners)


def _holding_hand(
    frame: FloatImage, rng: np.random.Generator, category: str, corners: Quad
) -> None:
    pts = np.array(corners)
    side = float(np.linalg.norm(pts[1] - pts[0]))
    if category == "occluded":
        # A fingertip reaching a little way in over one edge of the symbol
        edge = int(rng.integers(0, 4))
        a, b = pts[edge], pts[(edge + 1) % 4]
        t = float(rng.uniform(0.35, 0.65))
        tip = a + (b - a) * t
        inward = pts.mean(axis=0) - tip
        inward /= float(np.linalg.norm(inward))
        depth = side * float(rng.uniform(0.07, 0.12))
        start = tip - inward * side * 0.9
        end = tip + inward * depth
        length = float(np.linalg.norm(end - start))
        _hand(
            frame,
            rng,
            (float(start[0]), float(start[1])),
            length,
            math.atan2(float(inward[1]), float(inward[0])),
            side * float(rng.uniform(0.2, 0.3)),
        )
        return
    # Otherwise a thumb at the bottom of the card, clear of the symbol
    bottom = (pts[2] + pts[3]) / 2
    down = bottom - pts.mean(axis=0)
    down /= max(float(np.linalg.norm(down)), 1e-6)
    start = bottom + down * side * 0.55
    _hand(
        frame,
        rng,
        (float(start[0]), float(start[1])),
        side * 0.3,
        math.atan2(float(down[1]), float(down[0])),
        side * 0.16,
    )


# ---------------------------------------------------------------- datasets


def frames(
    per_category: int, seed: int = 0, categories: Sequence[str] = CATEGORIES
) -> Iterable[SynthFrame]:
    """``per_category`` frames of each category, in a stable order."""
    for category in categories:
        for i in range(per_category):
            yield make_frame(category, seed * 100_003 + i)


def write_dataset(
    folder: Path, per_category: int, seed: int = 0, categories: Sequence[str] = CATEGORIES
) -> Path:
    """Write ``<category>-<n>.png`` images and ``truth.tsv`` (file, category, text)."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for n, item in enumerate(frames(per_category, seed, categories)):
        name = f"{item.category}-{n:04d}.png"
        if not cv2.imwrite(str(folder / name), item.image):
            raise EnvironmentFault(
                tr("Cannot write {path}: check the disk and the folder.", path=folder / name)
            )
        rows.append((name, item.category, item.text or ""))
    truth = folder / "truth.tsv"
    with truth.open("w", encoding="utf-8", newline="") as fh:
        writer = csv_writer(fh, delimiter="\t", lineterminator="\n")
        writer.writerow(("filename", "category", "text"))
        writer.writerows(rows)
    return truth


def read_truth(path: Path) -> list[tuple[str, str, str | None]]:
    """The rows of a ``truth.tsv``: (filename, category, text or None)."""
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh, delimiter="\t")
        next(reader, None)
        return [
            (row[0], row[1], read_cell(row[2]) if len(row) > 2 and row[2] else None)
            for row in reader
        ]


def write_video(
    path: Path,
    segments: Sequence[Segment | tuple[str | None, float, str]],
    fps: float = 30.0,
    seed: int = 0,
    progress: Callable[[float], None] | None = None,
) -> list[tuple[int, int, str | None]]:
    """Write an MJPG ``.avi``; returns (first frame, end frame, text) per segment.

    Within a segment the card drifts a little from frame to frame (a hand is never
    still), so consecutive frames differ as a live camera's do. ``progress`` is told
    the share of frames written (0 to 1) after each frame.
    """
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, (WIDTH, HEIGHT))
    if not writer.isOpened():
        raise EnvironmentFault(
            tr(
                "Cannot write the video {path}: this OpenCV has no MJPG "
                "encoder, or the folder is not writable.",
                path=path,
            )
        )
    spans = []
    index = 0
    noise = SensorNoise(np.random.default_rng([seed, 7]))
    parts = [raw if isinstance(raw, Segment) else Segment(*raw) for raw in segments]
    total = sum(max(1, round(seg.seconds * fps)) for seg in parts)
    try:
        for number, seg in enumerate(parts):
            count = max(1, round(seg.seconds * fps))
            base = make_frame(seg.trouble if seg.text else "none", seed * 1_000 + number, seg.text)
            drifts = [_drift(base.image, d, seed + number) for d in range(min(DRIFTS, count))]
            for k in range(count):
                writer.write(noise.add(drifts[k % len(drifts)]))
                if progress is not None:
                    progress((index + k + 1) / total)
            spans.append((index, index + count, seg.text))
            index += count
    finally:
        writer.release()
    return spans


DRIFTS = 8  # positions of a segment's card, a pixel or two apart, cycled through


def _drift(image: np.ndarray, k: int, seed: int) -> np.ndarray:
    """The frame moved by a pixel or two (sub-pixel: the edges blend)."""
    rng = np.random.default_rng([seed, k])
    dx, dy = (float(v) for v in rng.uniform(-1.5, 1.5, size=2))
    shifted: np.ndarray = cv2.warpAffine(
        image,
        np.array([[1, 0, dx], [0, 1, dy]], np.float32),
        (image.shape[1], image.shape[0]),
        borderMode=cv2.BORDER_REPLICATE,
    )
    return shifted


class SensorNoise:
    """Fresh sensor noise (sigma 2) on each frame, cheaply: a random window of one
    larger field of noise, added with saturation. A fresh field per frame cost three
    times the rest of the frame's making (the demo video took 25-32 s)."""

    PAD = 64

    def __init__(self, rng: np.random.Generator, sigma: float = 2.0) -> None:
        field = np.rint(_gaussian((HEIGHT + self.PAD, WIDTH + self.PAD, 3), sigma, rng))
        self._up = np.clip(field, 0, 255).astype(np.uint8)
        self._down = np.clip(-field, 0, 255).astype(np.uint8)
        self._rng = rng

    def add(self, image: np.ndarray) -> np.ndarray:
        h, w = image.shape[:2]
        if h > HEIGHT + self.PAD or w > WIDTH + self.PAD:  # pragma: no cover - our frames fit
            raise ValueError(f"frame {w}x{h} larger than the noise field")
        y, x = (int(v) for v in self._rng.integers(0, self.PAD, size=2))
        out: np.ndarray = cv2.add(image, self._up[y : y + h, x : x + w])
        cv2.subtract(out, self._down[y : y + h, x : x + w], dst=out)
        return out
