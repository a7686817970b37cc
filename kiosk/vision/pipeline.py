"""The decode pipeline: one cheap pass over the whole frame, retries only where needed.

1. Convert to grey once; whole-frame brightness statistics from a sparse grid.
2. One decoder call on the whole frame. A frame without a code (the gate's common
   case) stops here, bar the statistics: it costs what the raw decoder costs.
3. Nothing read and the frame has too little contrast (night, a dim screen): one
   more call on a contrast-stretched copy.
4. A code located but not read (zxing-cpp reports these; for ZBar and OpenCV a
   cheap finder-pattern locator runs): that region alone is cropped with a margin,
   upscaled, and retried with the variants that measurably lift the read rate
   (see ``docs/vision.md``), stopping at the first that reads. For ZBar, a region
   still unread is then reshaped (upscaled, dewarped to a square, unbent from a
   cylinder) and retried: the geometry retries. A region the locator found and
   that is still unread has its module grid sampled from its finder patterns and
   redrawn clean for ZBar (``resample.py``), which still does the decoding.
5. Diagnostics from the same frame; codes deduplicated by text.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from kiosk.core.errors import UserError
from kiosk.core.i18n import tr
from kiosk.vision import diagnostics as diag
from kiosk.vision.decoders import Code, Decoder, Quad, ZXingDecoder, get_decoder, shift
from kiosk.vision.locate import Located, locate
from kiosk.vision.resample import resampled

log = logging.getLogger("kiosk.vision")

Transform = Callable[[np.ndarray], np.ndarray]

_CLAHE = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(4, 4))


def _unsharp(gray: np.ndarray) -> np.ndarray:
    soft = cv2.GaussianBlur(gray, (0, 0), 2.0)
    return cv2.addWeighted(gray, 2.5, soft, -1.5, 0)


def _invert(gray: np.ndarray) -> np.ndarray:
    return cv2.bitwise_not(gray)


def _gamma(gray: np.ndarray) -> np.ndarray:
    table = (np.linspace(0, 1, 256) ** 0.45 * 255).astype(np.uint8)
    return cv2.LUT(gray, table)


def _clahe(gray: np.ndarray) -> np.ndarray:
    return _CLAHE.apply(gray)


def _identity(gray: np.ndarray) -> np.ndarray:
    return gray


def _soften(gray: np.ndarray) -> np.ndarray:
    return cv2.GaussianBlur(gray, (0, 0), 1.2)


def _median(gray: np.ndarray) -> np.ndarray:
    return cv2.medianBlur(gray, 3)


def _erode(gray: np.ndarray) -> np.ndarray:
    return cv2.erode(gray, np.ones((2, 2), np.uint8))


def _dilate(gray: np.ndarray) -> np.ndarray:
    return cv2.dilate(gray, np.ones((2, 2), np.uint8))


def _otsu(gray: np.ndarray) -> np.ndarray:
    return cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)[1]


def _shrink(gray: np.ndarray) -> np.ndarray:
    return cv2.resize(gray, None, fx=0.6, fy=0.6, interpolation=cv2.INTER_AREA)


@dataclass(frozen=True)
class RegionVariant:
    """One retry of a cropped, upscaled region: a transform, and zxing-cpp options
    (a variant with options is skipped by the other backends)."""

    transform: Transform
    zxing_options: tuple[tuple[str, str], ...] = ()


#: Candidate region retries by name (``bench/bench_decode.py --plan`` measures them).
REGION_VARIANTS: dict[str, RegionVariant] = {
    "plain": RegionVariant(_identity),
    "sharpen": RegionVariant(_unsharp),
    "clahe": RegionVariant(_clahe),
    "gamma": RegionVariant(_gamma),
    "soften": RegionVariant(_soften),
    "median": RegionVariant(_median),
    "erode": RegionVariant(_erode),
    "dilate": RegionVariant(_dilate),
    "shrink": RegionVariant(_shrink),
    "global": RegionVariant(_identity, (("binarizer", "GlobalHistogram"),)),
}

#: The variants kept for each backend, in the order tried: a greedy choice, each
#: adding the most reads not already won (docs/vision.md has the figures). A region
#: the locator saw as light-on-dark is inverted first, for the backends that need it.
DEFAULT_PLANS: dict[str, tuple[str, ...]] = {
    "zxing": ("sharpen", "clahe", "erode"),
    "zbar": ("sharpen", "median", "erode", "dilate", "clahe"),
    "opencv": ("sharpen", "clahe", "dilate", "shrink"),
}


def _dewarp(gray: np.ndarray, corners: Quad, side: int, margin: float) -> np.ndarray:
    """The region seen straight on: its quad mapped to a ``side`` px square, the code
    filling all but ``margin`` of it on each edge (tilt and perspective undone)."""
    m = side * margin
    dst = np.array([[m, m], [side - m, m], [side - m, side - m], [m, side - m]], np.float32)
    matrix = cv2.getPerspectiveTransform(np.array(corners, np.float32), dst)
    return cv2.warpPerspective(
        gray, matrix, (side, side), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE
    )


def _unbend(square: np.ndarray, angle: float, margin: float, vertical: bool) -> np.ndarray:
    """A dewarped square flattened as if the code were printed on a cylinder (a card
    flexed in the hand, a bottle label) whose half-width subtends ``angle`` radians:
    modules near the edges, foreshortened by the bend, are stretched back out."""
    side = square.shape[0]
    half = side / 2 - side * margin
    flat = (np.arange(side, dtype=np.float32) - side / 2) / half
    source = (side / 2 + half * np.sin(flat * angle) / math.sin(angle)).astype(np.float32)
    along = np.broadcast_to(source[None, :], (side, side))
    across = np.broadcast_to(np.arange(side, dtype=np.float32)[:, None], (side, side))
    map_x, map_y = (across.T, along.T) if vertical else (along, across)
    return cv2.remap(
        square,
        np.ascontiguousarray(map_x),
        np.ascontiguousarray(map_y),
        cv2.INTER_CUBIC,
        borderMode=cv2.BORDER_REPLICATE,
    )


Reshape = Callable[[np.ndarray, Quad], np.ndarray]


def _crop(gray: np.ndarray, corners: Quad, margin: float = 0.2) -> np.ndarray:
    box = crop_box(corners, gray.shape, margin)
    return gray[box[1] : box[3], box[0] : box[2]]


def _upscaled(factor: float, max_side: int = 1200) -> Reshape:
    def reshape(gray: np.ndarray, corners: Quad) -> np.ndarray:
        crop = _crop(gray, corners)
        scale = min(factor, max_side / max(crop.shape[:2], default=1))
        if scale <= 1.0:
            return crop
        return cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)

    return reshape


def _dewarped(side: int, then: Transform = lambda g: g) -> Reshape:
    return lambda gray, corners: then(_dewarp(gray, corners, side, 0.12))


def _unbent(side: int, angle: float, vertical: bool, then: Transform = lambda g: g) -> Reshape:
    return lambda gray, corners: then(
        _unbend(_dewarp(gray, corners, side, 0.12), angle, 0.12, vertical)
    )


#: Region retries that change the geometry, not the grey levels, tried (for the
#: backends that list them) when the plan's variants all fail. ZBar samples a code on
#: a regular grid from its finder patterns: it wants ~3+ px per module and modules of
#: one size, which a plain upscale to 360 px does not give a tilted, curved or far code.
GEOMETRY_RETRIES: dict[str, Reshape] = {
    "upscale3": _upscaled(3.0),
    "dewarp300": _dewarped(300),
    "dewarp600": _dewarped(600),
    "dewarp300-otsu": _dewarped(300, _otsu),
    "dewarp300-soften": _dewarped(300, _soften),
    "dewarp500-erode": _dewarped(500, _erode),
    "unbend-h": _unbent(600, 0.6, False),
    "unbend-v": _unbent(600, 0.6, True),
    "unbend-h-clahe": _unbent(600, 0.5, False, _clahe),
    "unbend-h-sharpen": _unbent(600, 0.7, False, _unsharp),
    "unbend-v-clahe": _unbent(600, 0.5, True, _clahe),
    "unbend-h-otsu": _unbent(600, 0.6, False, _otsu),
    "unbend-v-otsu": _unbent(600, 0.6, True, _otsu),
}

#: The geometry retries kept, in the order tried (a greedy choice over the generated
#: set, a held-out generated set and the photos; docs/vision.md has the figures).
DEFAULT_GEOMETRY: dict[str, tuple[str, ...]] = {
    "zbar": (
        "dewarp300-otsu",
        "upscale3",
        "unbend-h-clahe",
        "unbend-v-clahe",
        "unbend-h-otsu",
        "dewarp300-soften",
        "dewarp500-erode",
    ),
}


#: The backends whose pipeline, when every retry of a region the locator found has
#: failed, samples its module grid itself and hands the decoder a clean redrawing
#: (``resample.py``). zxing-cpp samples its own grid from what it located.
RESAMPLE_BACKENDS = frozenset({"zbar"})


@dataclass(frozen=True)
class DecodeResult:
    """What the pipeline got from one frame."""

    codes: tuple[Code, ...]
    diagnostics: tuple[diag.Diagnostic, ...]
    ms: float
    unread: tuple[Quad, ...] = field(default=())  # codes seen but not read (to outline)


def to_gray(frame: np.ndarray) -> np.ndarray:
    """An 8-bit single-channel view of ``frame`` (BGR, BGRA or grey)."""
    if frame.dtype != np.uint8:
        raise UserError(tr("Images must have 8-bit pixels (got {dtype}).", dtype=frame.dtype))
    if frame.ndim == 2:
        return frame
    if frame.ndim == 3 and frame.shape[2] == 3:
        return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    if frame.ndim == 3 and frame.shape[2] == 4:
        return cv2.cvtColor(frame, cv2.COLOR_BGRA2GRAY)
    if frame.ndim == 3 and frame.shape[2] == 1:
        return frame[:, :, 0]
    raise UserError(tr("Unsupported image shape {shape}.", shape=frame.shape))


def crop_box(corners: Quad, shape: tuple[int, ...], margin: float) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) around ``corners`` with ``margin`` times the code's size added."""
    pts = np.array(corners, np.float64)
    (x0, y0), (x1, y1) = pts.min(axis=0), pts.max(axis=0)
    pad = max(x1 - x0, y1 - y0) * margin + 4
    h, w = shape[:2]
    return (
        max(int(x0 - pad), 0),
        max(int(y0 - pad), 0),
        min(int(x1 + pad) + 1, w),
        min(int(y1 + pad) + 1, h),
    )


def _overlaps(corners: Quad, codes: Sequence[Code]) -> bool:
    cx = sum(x for x, _ in corners) / len(corners)
    cy = sum(y for _, y in corners) / len(corners)
    for code in codes:
        poly = np.array(code.corners, np.float32).reshape(-1, 1, 2)
        if cv2.pointPolygonTest(poly, (float(cx), float(cy)), False) >= 0:
            return True
    return False


def _area(corners: Quad) -> float:
    return float(cv2.contourArea(np.array(corners, np.float32)))


def _distinct(regions: Sequence[Located]) -> list[Located]:
    """Largest first, without regions whose centre lies inside a larger one."""
    kept: list[Located] = []
    for region in sorted(regions, key=lambda r: -_area(r.corners)):
        cx = sum(x for x, _ in region.corners) / len(region.corners)
        cy = sum(y for _, y in region.corners) / len(region.corners)
        inside = any(
            cv2.pointPolygonTest(
                np.array(k.corners, np.float32).reshape(-1, 1, 2), (float(cx), float(cy)), False
            )
            >= 0
            for k in kept
        )
        if not inside:
            kept.append(region)
    return kept


def dedupe(codes: Sequence[Code]) -> tuple[Code, ...]:
    """One code per text, the first seen kept."""
    seen: dict[str, Code] = {}
    for code in codes:
        seen.setdefault(code.text, code)
    return tuple(seen.values())


def _known_retries(names: Sequence[str], known: Mapping[str, object]) -> tuple[str, ...]:
    """``names`` as a tuple; a name not in ``known`` is the user's error."""
    unknown = [name for name in names if name not in known]
    if unknown:
        raise UserError(
            tr(
                "Unknown retry {names}; known: {known}.",
                names=", ".join(unknown),
                known=", ".join(known),
            )
        )
    return tuple(names)


class Pipeline:
    """Decode QR codes in whole camera frames with one backend, plus targeted retries."""

    def __init__(
        self,
        decoder: Decoder | None = None,
        *,
        plan: Sequence[str] | None = None,
        stretch: bool = True,
        target_side: int = 360,
        margin: float = 0.2,
        max_regions: int = 3,
        thresholds: diag.Thresholds = diag.DEFAULT_THRESHOLDS,
        geometry: Sequence[str] | None = None,
        resample: bool | None = None,
    ) -> None:
        self.decoder: Decoder = decoder if decoder is not None else get_decoder("auto")
        chosen = plan if plan is not None else DEFAULT_PLANS.get(self.decoder.name, ("plain",))
        self.plan = _known_retries(chosen, REGION_VARIANTS)
        shapes = geometry if geometry is not None else DEFAULT_GEOMETRY.get(self.decoder.name, ())
        self.geometry = _known_retries(shapes, GEOMETRY_RETRIES)
        self.resample = resample if resample is not None else self.decoder.name in RESAMPLE_BACKENDS
        self.stretch = stretch
        self.target_side = target_side
        self.margin = margin
        self.max_regions = max_regions
        self.thresholds = thresholds
        self._native_unread = isinstance(self.decoder, ZXingDecoder)

    @property
    def name(self) -> str:
        return f"{self.decoder.name}+pipeline"

    def decode(self, frame: np.ndarray) -> DecodeResult:
        """Read every QR code in ``frame`` (BGR or grey, any size)."""
        start = time.perf_counter()
        gray = to_gray(frame)
        first = self.decoder.scan(gray)
        codes = list(first.codes)
        if codes and not first.unread:  # the common good case: nothing more to do
            return DecodeResult(dedupe(codes), (), (time.perf_counter() - start) * 1000)
        stats = diag.frame_stats(gray, self.thresholds)
        regions = [Located(q, False) for q in first.unread]
        source = gray  # what the regions are cut from
        if not codes and self.stretch and diag.needs_stretch(stats, self.thresholds):
            stretched = cv2.LUT(gray, diag.stretch_table(stats))
            again = self.decoder.scan(stretched)
            codes.extend(again.codes)
            regions = regions or [Located(q, False) for q in again.unread]
            if not self._native_unread:
                source = stretched
        if not codes and not regions and not self._native_unread:
            regions = locate(source, self.max_regions, stretched=source is not gray)
        regions = _distinct([r for r in regions if not _overlaps(r.corners, codes)])
        crops = []
        for region in regions[: self.max_regions]:
            box = crop_box(region.corners, gray.shape, self.margin)
            crop = source[box[1] : box[3], box[0] : box[2]]
            crops.append(gray[box[1] : box[3], box[0] : box[2]])
            retried = self._retry(_invert(crop) if region.inverted else crop, box)
            codes.extend(
                retried or self._reshape(source, region) or self._resampled(source, region)
            )
        still = tuple(
            r.corners for r in regions[: self.max_regions] if not _overlaps(r.corners, codes)
        )
        found = dedupe(codes)
        report = diag.assess(stats, crops if still else [], bool(found), self.thresholds)
        return DecodeResult(found, report, (time.perf_counter() - start) * 1000, still)

    def _retry(self, crop: np.ndarray, box: tuple[int, int, int, int]) -> list[Code]:
        """Retry one located region with each variant in the plan until one reads."""
        if crop.size == 0 or not self.plan:
            return []
        scale = min(4.0, max(1.0, self.target_side / max(crop.shape[:2])))
        big = (
            crop
            if scale == 1.0
            else cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
        )
        for name in self.plan:
            found = self._read(big, REGION_VARIANTS[name])
            if found:
                log.debug("region retry %s read %d code(s)", name, len(found))
                return [
                    Code(c.text, c.raw, shift(c.corners, box[0], box[1], scale * sx), c.backend)
                    for c, sx in found
                ]
        return []

    def _reshape(self, source: np.ndarray, region: Located) -> list[Code]:
        """Retry one region with each geometry retry until one reads; the codes get the
        region's corners (the reshaped image has no simple map back to the frame)."""
        for name in self.geometry:
            image = GEOMETRY_RETRIES[name](source, region.corners)
            if region.inverted:
                image = _invert(image)
            found = self.decoder.decode(image)
            if found:
                log.debug("geometry retry %s read %d code(s)", name, len(found))
                return [Code(c.text, c.raw, region.corners, c.backend) for c in found]
        return []

    def _resampled(self, source: np.ndarray, region: Located) -> list[Code]:
        """Read the region's module grid sampled by ``resample.py`` and redrawn clean;
        the codes get the region's corners. Only regions the locator found (it
        knows their finder patterns) are resampled."""
        if not self.resample or region.finders is None:
            return []
        for image in resampled(source, region.finders, region.inverted):
            found = self.decoder.decode(image)
            if found:
                log.debug("module-grid resample read %d code(s)", len(found))
                return [Code(c.text, c.raw, region.corners, c.backend) for c in found]
        return []

    def _read(self, image: np.ndarray, variant: RegionVariant) -> list[tuple[Code, float]]:
        """Codes read from ``variant`` of ``image``, each with the variant's own scale."""
        changed = variant.transform(image)
        sx = changed.shape[1] / image.shape[1]
        if not variant.zxing_options:
            return [(c, sx) for c in self.decoder.decode(changed)]
        if not isinstance(self.decoder, ZXingDecoder):
            return []
        options = {k: self.decoder.option(k, v) for k, v in variant.zxing_options}
        return [(c, sx) for c in self.decoder.scan(changed, want_unread=False, **options).codes]
