"""A module-grid resampler: a located code redrawn as a clean QR image for a decoder.

ZBar finds a code's finder patterns, fits a grid and samples it with its own
binariser; on a soft, unevenly lit, steeply tilted or crumpled code that fails where
the modules are still plain to see. Here the grid is sampled from the three finder
patterns the locator found (``locate.py``), not by the decoder:

1. the module count N = 17 + 4 x version is estimated from the finder spacing over
   the finder size (a finder is 7 modules wide, the centres are N - 7 apart); the
   nearest version and its neighbours are tried. At a steep angle the right angle
   at the top-left finder can look no squarer than the other two: the other
   choices of corner are tried too when their angles are nearly as square;
2. a map from module coordinates to the image is fitted to the finder centres and
   the corners of the finders' outer squares (a perspective map), or to the
   centres alone (affine); for version 2 and up the alignment pattern is looked
   for near where that map puts it and, when found, the map is refitted with it;
3. the code is warped to a few pixels a module and each module centre averaged —
   where the map puts it, then where the module edges say it is (a comb of
   module-spaced teeth slid along each band of rows and columns: a cloth or a
   crumpled card bends the grid in ways no perspective map follows);
4. each module is called dark or light against the local mean of the module values
   around it (uneven light), or Otsu's threshold over the whole code;
5. the function patterns (finders, separators, timing rows) are drawn as the
   standard defines them — they carry no data — and the grid is rendered black on
   white with a 4-module quiet zone.

The decoder then reads the clean image and does the error correction: a text comes
only from a decode that passed it, never from the sampler. At most
``MAX_REDRAWINGS`` images are made for one code, the likeliest first.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator

import cv2
import numpy as np

from kiosk.vision.locate import Finder

#: At most this many redrawings of one located code (the wins measured on the photos
#: and generated sets came within the first 36; a located code that none reads costs
#: up to ~100 ms with ZBar).
MAX_REDRAWINGS = 48

#: Pixels per module when sampling, when refining the grid, and when drawing.
SAMPLE_PX = 5
REFINE_PX = 8
DRAW_PX = 4
QUIET = 4


def module_counts(finders: tuple[Finder, Finder, Finder], spread: int = 1) -> list[int]:
    """Plausible module counts (21, 25, ... 177), the likeliest first."""
    tl, tr, bl = finders
    module = (tl.size + tr.size + bl.size) / 21.0  # a finder is 7 modules wide
    if module <= 0:
        return []
    span = (math.hypot(tr.x - tl.x, tr.y - tl.y) + math.hypot(bl.x - tl.x, bl.y - tl.y)) / 2
    estimate = span / module + 7.0
    version = round((estimate - 17.0) / 4.0)
    found = []
    for step in range(spread + 1):
        for v in (version - step, version + step) if step else (version,):
            if 1 <= v <= 40 and 17 + 4 * v not in found:
                found.append(17 + 4 * v)
    return found


def _clockwise(corner: Finder, p: Finder, q: Finder) -> tuple[Finder, Finder, Finder]:
    """(top-left, top-right, bottom-left): clockwise in the image (y down)."""
    if (p.x - corner.x) * (q.y - corner.y) - (p.y - corner.y) * (q.x - corner.x) < 0:
        p, q = q, p
    return corner, p, q


def _squareness(corner: Finder, p: Finder, q: Finder) -> float:
    """|cos| of the angle at ``corner``: 0 for the right angle at a code's corner."""
    v1, v2 = (p.x - corner.x, p.y - corner.y), (q.x - corner.x, q.y - corner.y)
    norm = math.hypot(*v1) * math.hypot(*v2)
    return abs(v1[0] * v2[0] + v1[1] * v2[1]) / norm if norm else 1.0


def orderings(
    finders: tuple[Finder, Finder, Finder], slack: float = 0.15
) -> list[tuple[Finder, Finder, Finder]]:
    """The locator's choice of the corner finder first, then the others whose angle is
    nearly as square: at a steep angle to the camera the right angle at a code's
    top-left finder can look no squarer than the angles at the other two."""
    a, b, c = finders
    chosen = _squareness(a, b, c)
    found = [finders]
    for corner, p, q in ((b, a, c), (c, a, b)):
        if _squareness(corner, p, q) <= chosen + slack:
            found.append(_clockwise(corner, p, q))
    return found


Anchors = tuple[list[tuple[float, float]], list[tuple[float, float]]]


def _anchors(finders: tuple[Finder, Finder, Finder], n: int, outlines: bool) -> Anchors | None:
    """Matching points (module coordinates, image pixels): the finder centres, and
    with ``outlines`` the corners of the finders' outer squares too, each matched to
    the nearest module corner the centres' affine map predicts (None when one lands
    far from any: a rounded or broken outline)."""
    module_pts = [(3.5, 3.5), (n - 3.5, 3.5), (3.5, n - 3.5)]
    image_pts = [(f.x, f.y) for f in finders]
    if not outlines:
        return module_pts, image_pts
    back = np.linalg.inv(_fit(module_pts, image_pts))
    for finder, (ox, oy) in zip(finders, ((0, 0), (n - 7, 0), (0, n - 7)), strict=True):
        if len(finder.outline) != 4:
            return None
        expected = np.array([(ox, oy), (ox + 7, oy), (ox + 7, oy + 7), (ox, oy + 7)], float)
        taken = set()
        for px, py in finder.outline:
            mx, my, w = back @ np.array([px, py, 1.0])
            dist = np.hypot(expected[:, 0] - mx / w, expected[:, 1] - my / w)
            best = int(np.argmin(dist))
            if dist[best] > 2.5 or best in taken:
                return None
            taken.add(best)
            module_pts.append((float(expected[best][0]), float(expected[best][1])))
            image_pts.append((px, py))
    return module_pts, image_pts


def _fit(module_pts: list[tuple[float, float]], image_pts: list[tuple[float, float]]) -> np.ndarray:
    """The 3x3 map from module coordinates to image pixels through the points: affine
    from three, a least-squares perspective map from more."""
    src, dst = np.array(module_pts, np.float32), np.array(image_pts, np.float32)
    if len(src) == 3:
        return np.vstack([cv2.getAffineTransform(src, dst), [0.0, 0.0, 1.0]])
    matrix, _ = cv2.findHomography(src, dst)
    if matrix is None:  # degenerate points: fall back on the centres alone
        return _fit(module_pts[:3], image_pts[:3])
    return np.asarray(matrix, np.float64)


def _warp(gray: np.ndarray, to_image: np.ndarray, n: int, px: int) -> np.ndarray:
    """The code's n x n modules at ``px`` pixels each, through a module -> image map."""
    scale = np.diag([1.0 / px, 1.0 / px, 1.0])  # warped pixel -> module coordinates
    return cv2.warpPerspective(
        gray,
        to_image @ scale,
        (n * px, n * px),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )


def _alignment_template(px: int) -> np.ndarray:
    """The 5 x 5-module alignment pattern as grey levels: dark ring, light ring, dark
    centre."""
    pattern = np.zeros((5, 5), np.float32)
    pattern[1:4, 1:4] = 1.0
    pattern[2, 2] = 0.0
    return cv2.resize(pattern, None, fx=px, fy=px, interpolation=cv2.INTER_NEAREST)


def _alignment(gray: np.ndarray, start: np.ndarray, n: int) -> tuple[float, float] | None:
    """The alignment pattern's centre in the image (versions 2 and up have one at
    n - 6.5 modules on both axes), looked for near where the map ``start`` puts it;
    None when nothing there looks like one."""
    px = SAMPLE_PX
    warped = _warp(gray, start, n, px).astype(np.float32)
    centre = n - 6.5
    reach = 3 + n // 25  # how far the first map may be off, in modules
    lo = max(0, int((centre - 2.5 - reach) * px))
    hi = min(n * px, math.ceil((centre + 2.5 + reach) * px))
    window = warped[lo:hi, lo:hi]
    template = _alignment_template(px)
    if window.shape[0] < template.shape[0] or window.shape[1] < template.shape[1]:
        return None
    score = cv2.matchTemplate(window, template, cv2.TM_CCOEFF_NORMED)
    _, best, _, (bx, by) = cv2.minMaxLoc(score)
    if best < 0.4:
        return None
    ax = (lo + bx) / px + 2.5  # the match's centre, in the start map's module coordinates
    ay = (lo + by) / px + 2.5
    x, y, w = start @ np.array([ax, ay, 1.0])
    return float(x / w), float(y / w)


def _function_patterns(n: int) -> tuple[np.ndarray, np.ndarray]:
    """(mask, dark) of the modules whose colour the standard fixes: the three
    finders with their separators and the two timing rows."""
    mask = np.zeros((n, n), bool)
    dark = np.zeros((n, n), bool)
    finder = np.ones((7, 7), bool)
    finder[1:6, 1:6] = False
    finder[2:5, 2:5] = True
    for y, x in ((0, 0), (0, n - 7), (n - 7, 0)):
        dark[y : y + 7, x : x + 7] = finder
        mask[max(0, y - 1) : y + 8, max(0, x - 1) : x + 8] = True  # finder + separator
    timing = np.arange(8, n - 8)
    mask[6, timing] = mask[timing, 6] = True
    dark[6, timing] = dark[timing, 6] = timing % 2 == 0
    return mask, dark


def _thresholded(cells: np.ndarray, n: int) -> Iterator[np.ndarray]:
    """Dark-module maps of the module means: local mean, then Otsu."""
    window = max(5, (n // 4) | 1)
    local = cv2.blur(cells, (window, window), borderType=cv2.BORDER_REFLECT)
    yield cells < local
    low, high = float(cells.min()), float(cells.max())
    levels = ((cells - low) * (255.0 / ((high - low) or 1.0))).astype(np.uint8)
    otsu, _ = cv2.threshold(levels, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    yield levels < otsu


def _edge_shifts(edges: np.ndarray, n: int, band: int = 3, run: int = 6) -> np.ndarray:
    """Per module, how far (pixels along x) the module boundaries in ``edges`` — the
    x-gradient of the code warped to ``REFINE_PX`` a module — lie from the grid's.

    In each band of ``band`` module rows and run of ``run`` module columns, a comb
    of teeth one module apart is slid by up to half a module; the offset catching
    the most edge wins. The offsets are smoothed, each weighted by how clearly it
    won (a run without edges says nothing), and spread over the modules.
    """
    px = REFINE_PX
    offsets = np.arange(-(px // 2), px // 2 + 1)
    bands, runs = -(-n // band), -(-n // run)
    sums = np.add.reduceat(edges[: n * px], np.arange(bands) * band * px, axis=0)
    profiles = np.pad(sums, ((0, 0), (0, 1)))  # a zero column for teeth off the edge
    teeth = np.arange(n + 1)[:, None] * px + offsets[None, :]  # (tooth, offset)
    teeth = np.where((teeth >= 0) & (teeth < edges.shape[1]), teeth, edges.shape[1])
    caught = profiles[:, teeth]  # (band, tooth, offset)
    cumulative = np.concatenate([np.zeros_like(caught[:, :1]), caught.cumsum(axis=1)], axis=1)
    starts = np.arange(runs) * run
    ends = np.minimum(starts + run, n) + 1  # a run's teeth: its modules' edges, both ends
    scores = cumulative[:, ends] - cumulative[:, starts]  # (band, run, offset)
    best = offsets[np.argmax(scores, axis=2)].astype(np.float32)
    weight = (scores.max(axis=2) - np.median(scores, axis=2)).astype(np.float32)
    smooth = cv2.GaussianBlur(best * weight, (3, 3), 0) / np.maximum(
        cv2.GaussianBlur(weight, (3, 3), 0), 1e-6
    )
    return np.asarray(cv2.resize(smooth, (n, n), interpolation=cv2.INTER_LINEAR), np.float32)


def _refined_cells(source: np.ndarray, to_image: np.ndarray, n: int) -> np.ndarray:
    """Module means sampled where the module edges are, not where the map puts them:
    a cloth or a crumpled card bends the grid in ways no perspective map follows, so
    each module centre is moved by the shifts of the edges around it (both axes)."""
    px = REFINE_PX
    warped = _warp(source, to_image, n, px).astype(np.float32)
    soft = cv2.GaussianBlur(warped, (0, 0), 1.0)
    along_x = _edge_shifts(np.abs(cv2.Sobel(soft, cv2.CV_32F, 1, 0)), n)
    along_y = _edge_shifts(np.abs(cv2.Sobel(soft, cv2.CV_32F, 0, 1)).T, n).T
    centres = (np.arange(n, dtype=np.float32) + 0.5) * px
    map_x = (centres[None, :] + along_x).astype(np.float32)
    map_y = (centres[:, None] + along_y).astype(np.float32)
    middle = cv2.blur(warped, (3, 3))
    return cv2.remap(middle, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def render(dark: np.ndarray, px: int = DRAW_PX, quiet: int = QUIET) -> np.ndarray:
    """A clean QR image: dark modules black, the rest and a quiet zone white."""
    image = np.where(dark, 0, 255).astype(np.uint8)
    image = np.pad(image, quiet, constant_values=255)
    return cv2.resize(image, None, fx=px, fy=px, interpolation=cv2.INTER_NEAREST)


def resampled(
    gray: np.ndarray, finders: tuple[Finder, Finder, Finder], inverted: bool = False
) -> Iterator[np.ndarray]:
    """Clean redrawings of the code whose finder patterns are ``finders``, the
    likeliest first: for each choice of the corner finder and each plausible module
    count, the grids through the finder outlines and through the finder centres
    (each refined by the alignment pattern when found), sampled where the grid puts
    the modules and where their edges are, thresholded two ways."""
    source = cv2.bitwise_not(gray) if inverted else gray
    made = (image for ordered in orderings(finders) for image in _redrawn(source, ordered))
    yield from itertools.islice(made, MAX_REDRAWINGS)


def _redrawn(source: np.ndarray, finders: tuple[Finder, Finder, Finder]) -> Iterator[np.ndarray]:
    for n in module_counts(finders):
        maps = []
        for outlines in (True, False):
            anchors = _anchors(finders, n, outlines)
            if anchors is None:
                continue
            start = _fit(*anchors)
            point = _alignment(source, start, n) if n >= 25 else None
            if point is not None:
                centre = n - 6.5
                maps.append(_fit(anchors[0] + [(centre, centre)], anchors[1] + [point]))
            maps.append(start)
        mask, fixed = _function_patterns(n)
        for to_image in maps:
            warped = _warp(source, to_image, n, SAMPLE_PX).astype(np.float32)
            middle = cv2.blur(warped, (3, 3))  # the central 3 x 3 pixels of each module
            centres = np.arange(n) * SAMPLE_PX + SAMPLE_PX // 2
            cells = middle[np.ix_(centres, centres)]
            for dark in _thresholded(cells, n):
                yield render(np.where(mask, fixed, dark))
            for dark in _thresholded(_refined_cells(source, to_image, n), n):
                yield render(np.where(mask, fixed, dark))
