"""A cheap QR locator for the backends that do not say where they failed.

zxing-cpp reports codes it located but could not read; ZBar and OpenCV do not. For
them this module finds QR *finder patterns* (the three nested squares in the
corners: dark 7x7, light 5x5, dark 3x3 modules) as three-deep nested contours in an
adaptively thresholded image, in both polarities (light-on-dark codes too), and
groups them in threes forming a right-angled, isosceles triangle: the corners of a
code. The pipeline then retries just those regions.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import cv2
import numpy as np

Quad = tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class Finder:
    """A finder-pattern candidate: its centre, side (pixels) and polarity."""

    x: float
    y: float
    size: float
    inverted: bool
    outline: Quad = ()  # the outer square's four corners, in no particular order


@dataclass(frozen=True)
class Located:
    """A probable code: its four corners and whether it is light-on-dark; from the
    locator also its three finder patterns (top-left, top-right, bottom-left as
    printed, up to a mirror image), which the module-grid resampler starts from."""

    corners: Quad
    inverted: bool
    finders: tuple[Finder, Finder, Finder] | None = None


def _finders_in(binary: np.ndarray, gray: np.ndarray, min_size: float) -> list[Finder]:
    contours, hierarchy = cv2.findContours(binary, cv2.RETR_TREE, cv2.CHAIN_APPROX_SIMPLE)
    if hierarchy is None:
        return []
    tree = hierarchy[0]
    found = []
    for i, contour in enumerate(contours):
        child = int(tree[i][2])
        if child < 0:
            continue
        grandchild = int(tree[child][2])
        if grandchild < 0:
            continue
        finder = _finder(contour, contours[child], contours[grandchild], gray, min_size)
        if finder is not None:
            found.append(finder)
    return found


def _finder(
    outer: np.ndarray, ring: np.ndarray, core: np.ndarray, gray: np.ndarray, min_size: float
) -> Finder | None:
    a_outer = cv2.contourArea(outer)
    a_core = cv2.contourArea(core)
    if a_outer < min_size * min_size or a_core <= 0:
        return None
    ratio = a_outer / a_core  # 49/9 = 5.4 for a square seen straight on
    if not 2.5 < ratio < 12.0:
        return None
    a_ring = cv2.contourArea(ring)
    if not a_core < a_ring < a_outer:
        return None
    (cx, cy), (w, h), _ = cv2.minAreaRect(outer)
    if min(w, h) <= 0 or max(w, h) / min(w, h) > 2.5:
        return None
    if a_outer < 0.5 * w * h:  # not a filled, square-ish blob
        return None
    m = cv2.moments(core)
    if m["m00"] > 0:  # the core's centre is more precise than the outline's
        cx, cy = m["m10"] / m["m00"], m["m01"] / m["m00"]
    x, y, w_box, h_box = cv2.boundingRect(outer)
    box = gray[y : y + h_box, x : x + w_box]
    core_level = float(gray[min(int(cy), gray.shape[0] - 1), min(int(cx), gray.shape[1] - 1)])
    inverted = core_level > float(box.mean())  # a light centre: a light-on-dark code
    poly = cv2.approxPolyDP(outer, 0.08 * cv2.arcLength(outer, True), True).reshape(-1, 2)
    if len(poly) != 4:  # a rounded or broken outline: its bounding rectangle's corners
        poly = cv2.boxPoints(cv2.minAreaRect(outer))
    outline = tuple((float(px), float(py)) for px, py in poly)
    return Finder(float(cx), float(cy), float(math.sqrt(a_outer)), inverted, outline)


def find_finders(
    gray: np.ndarray, min_size: float = 5.0, block: int = 15, offset: int = 7
) -> list[Finder]:
    """Finder-pattern candidates of both polarities in ``gray``.

    A small threshold window (15 px) keeps the 1-module rings of far-away codes apart;
    big codes survive it too, their squares turning into nested outlines.
    """
    dark = cv2.adaptiveThreshold(
        gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, block, offset
    )
    light = cv2.adaptiveThreshold(
        gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, block, -offset
    )
    found = _finders_in(dark, gray, min_size) + _finders_in(light, gray, min_size)
    unique: list[Finder] = []
    for f in sorted(found, key=lambda f: -f.size):  # both passes can see one finder
        if all(math.hypot(f.x - u.x, f.y - u.y) > u.size / 3 for u in unique):
            unique.append(f)
    return unique


def _triangle(
    a: Finder, b: Finder, c: Finder, size_ratio: float = 2.0
) -> tuple[float, Finder, Finder, Finder] | None:
    """(badness, corner, one, other) if the three can be a code's finders, else None."""
    sizes = (a.size, b.size, c.size)
    if not a.inverted == b.inverted == c.inverted or max(sizes) > size_ratio * min(sizes):
        return None
    best: tuple[float, Finder, Finder, Finder] | None = None
    for corner, p, q in ((a, b, c), (b, a, c), (c, a, b)):
        v1 = (p.x - corner.x, p.y - corner.y)
        v2 = (q.x - corner.x, q.y - corner.y)
        d1, d2 = math.hypot(*v1), math.hypot(*v2)
        if min(d1, d2) < 1.9 * corner.size or max(d1, d2) > 1.8 * min(d1, d2):
            continue
        if max(d1, d2) > 30 * corner.size:  # larger than the largest QR (177 modules)
            continue
        cos = (v1[0] * v2[0] + v1[1] * v2[1]) / (d1 * d2)
        if abs(cos) >= 0.45:  # not 90 degrees, even allowing for tilt
            continue
        badness = abs(math.log(d1 / d2)) + abs(cos) + math.log(max(sizes) / min(sizes))
        if best is None or badness < best[0]:
            best = (badness, corner, p, q)
    return best


def _corners(corner: Finder, p: Finder, q: Finder) -> Quad:
    """The code's outline: the finder centres pushed out by half a finder (3.5 modules)."""
    fourth = (p.x + q.x - corner.x, p.y + q.y - corner.y)
    pts = np.array([(corner.x, corner.y), (p.x, p.y), fourth, (q.x, q.y)], np.float64)
    centre = pts.mean(axis=0)
    out = []
    for pt in pts:
        d = pt - centre
        n = float(np.linalg.norm(d)) or 1.0
        out.append(tuple(float(v) for v in pt + d / n * corner.size * 0.75))
    return tuple((x, y) for x, y in out)


def noise_level(gray: np.ndarray) -> float:
    """The sensor noise's standard deviation, from neighbouring pixels on a sparse grid
    (the median difference ignores the edges of the scene)."""
    left = gray[::8, :-1:8].astype(np.int16)
    right = gray[::8, 1::8].astype(np.int16)
    return float(np.median(np.abs(left - right))) * 1.4826 / math.sqrt(2)


def locate(gray: np.ndarray, max_codes: int = 3, *, stretched: bool = False) -> list[Located]:
    """Probable QR codes in ``gray``, biggest first (at most ``max_codes``).

    Two threshold windows: 15 px first (far, small codes), then 31 px when that
    finds no code (a phone's pixel grid breaks the small window's rings).
    """
    sigma = noise_level(gray)
    if stretched:  # a contrast-stretched dark frame: a few grey levels spread apart
        gray = cv2.GaussianBlur(gray, (0, 0), 1.5)
    elif 6.0 < sigma < 60.0:  # a grainy picture: speckles would make a million tiny contours
        # (60 and more is no sensor's noise but 1-px detail: a dense code's modules)
        gray = cv2.GaussianBlur(gray, (0, 0), min(2.0, max(1.0, sigma / 10)))
    seen = []
    for block in (15, 31):
        finders = find_finders(gray, block=block)
        found = _group(finders, max_codes)
        if found:
            return found
        seen.append(finders)
    for finders in seen:  # a code seen at a steep angle: its near finder looks bigger
        if len(finders) >= 3:
            found = _group(finders, max_codes, PERSPECTIVE_SIZE_RATIO)
            if found:
                return found
    return []


#: How much bigger than the others a finder may look when no code is found otherwise
#: (a card held at a steep angle to the camera); 2 on the first tries.
PERSPECTIVE_SIZE_RATIO = 3.0


def _group(finders: list[Finder], max_codes: int, size_ratio: float = 2.0) -> list[Located]:
    """The best-fitting triangles of finders that share no finder, best first."""
    finders = sorted(finders, key=lambda f: -f.size)[:20]
    candidates = []
    for i, j, k in itertools.combinations(range(len(finders)), 3):
        tri = _triangle(finders[i], finders[j], finders[k], size_ratio)
        if tri is not None:
            candidates.append((tri[0], (i, j, k), tri[1:]))
    candidates.sort(key=lambda c: c[0])
    found: list[Located] = []
    used: set[int] = set()
    for _, members, (corner, p, q) in candidates:
        if used & set(members):
            continue
        right, below = p, q  # clockwise in the image (y down): top-right, then bottom-left
        if (p.x - corner.x) * (q.y - corner.y) - (p.y - corner.y) * (q.x - corner.x) < 0:
            right, below = q, p
        found.append(Located(_corners(corner, p, q), corner.inverted, (corner, right, below)))
        used |= set(members)
        if len(found) >= max_codes:
            break
    return found
