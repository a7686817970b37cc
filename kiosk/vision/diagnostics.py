"""Why a frame does not read: too dark, too bright, glare, blur, code unreadable.

Measured from the same frame the decoder saw, cheaply: the whole-frame statistics
come from a sparse grid of pixels (every 8th row and column: 1/64 of the frame,
a few hundredths of a millisecond); blur and glare are judged only inside the
region where a code was located but not read, at full resolution.

Each finding is a stable :class:`Diagnostic` code (the window and the logs key on
it) with a message for the guard from :func:`message`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import cv2
import numpy as np

from kiosk.core.i18n import N_, tr

Quad = tuple[tuple[float, float], ...]


class Diagnostic(enum.StrEnum):
    """A stable code for one reason a frame reads badly."""

    TOO_DARK = "too_dark"
    TOO_BRIGHT = "too_bright"
    GLARE = "glare"
    BLURRED = "blurred"
    UNREADABLE = "unreadable"


_MESSAGES = {
    Diagnostic.TOO_DARK: N_("Too dark: turn on the light or move the code into the light."),
    Diagnostic.TOO_BRIGHT: N_("Too bright: turn the camera away from the light."),
    Diagnostic.GLARE: N_("Glare on the code: tilt the card or phone a little."),
    Diagnostic.BLURRED: N_("Blurred: hold the code still, a hand's width from the camera."),
    Diagnostic.UNREADABLE: N_(
        "Code seen but not readable: raise the screen brightness or hold the card flat."
    ),
}


def message(diagnostic: Diagnostic) -> str:
    """The guard-facing sentence for ``diagnostic``, in the current language."""
    return tr(_MESSAGES[diagnostic])


@dataclass(frozen=True)
class Thresholds:
    """Where each diagnostic starts. Values are 8-bit grey levels or fractions."""

    dark_p95: int = 60  # 95% of the frame darker than this: too dark
    bright_mean: int = 200  # the frame's mean brighter than this: too bright
    blown: int = 250  # a pixel this bright is blown out
    bright_blown_fraction: float = 0.25  # this much of the frame blown out: too bright
    glare_fraction: float = 0.01  # this much of a located code (and margin) blown: glare
    stretch_range: int = 64  # a frame's 1-99% range below this gets a contrast stretch
    blur_sharpness: float = 0.2  # edges of a located code smeared over > 5 px: blurred


DEFAULT_THRESHOLDS = Thresholds()


@dataclass(frozen=True)
class FrameStats:
    """Whole-frame brightness statistics from a sparse pixel grid."""

    mean: float
    p1: int
    p95: int
    p99: int
    blown_fraction: float

    @property
    def spread(self) -> int:
        return self.p99 - self.p1


_QUANTILES = np.array([0.01, 0.95, 0.99])


def frame_stats(gray: np.ndarray, thresholds: Thresholds = DEFAULT_THRESHOLDS) -> FrameStats:
    """Brightness statistics of ``gray`` from every 8th pixel of every 8th row."""
    sample = np.ascontiguousarray(gray[::8, ::8])
    hist = cv2.calcHist([sample], [0], None, [256], [0, 256]).ravel()
    total = max(float(sample.size), 1.0)
    p1, p95, p99 = (int(v) for v in np.searchsorted(np.cumsum(hist), _QUANTILES * total))
    blown = float(hist[thresholds.blown :].sum()) / total
    return FrameStats(float(cv2.mean(sample)[0]), p1, p95, p99, blown)


def stretch_table(stats: FrameStats) -> np.ndarray:
    """A lookup table spreading the frame's 1-99% range over most of 0-255."""
    lo, hi = stats.p1, max(stats.p99, stats.p1 + 4)
    levels = (np.arange(256, dtype=np.float32) - lo) * (235.0 / (hi - lo)) + 10
    table: np.ndarray = np.clip(levels, 0, 255).astype(np.uint8)
    return table


def needs_stretch(stats: FrameStats, thresholds: Thresholds = DEFAULT_THRESHOLDS) -> bool:
    """Too little contrast for the decoder's binariser (night, fog, a dim screen)."""
    return stats.spread < thresholds.stretch_range or stats.p95 < thresholds.dark_p95


def region_sharpness(crop: np.ndarray) -> float:
    """How steep the code's edges are: about 1 for a one-pixel step, 1/w for edges
    smeared over w pixels; independent of the code's size, brightness and contrast.

    The strongest gradients (98th percentile of the central difference, along the
    blurrier axis: motion smears one way) over the
    contrast between the code's dark and light modules (5th to 95th percentile).
    """
    if crop.size < 64:
        return 0.0
    f = crop.astype(np.float32)
    lo, hi = np.percentile(f, (5, 95))
    if hi - lo < 8.0:
        return 0.0
    gx = np.abs(f[:, 2:] - f[:, :-2]) / 2
    gy = np.abs(f[2:, :] - f[:-2, :]) / 2
    steep = min(float(np.percentile(gx, 98)), float(np.percentile(gy, 98)))
    return steep / float(hi - lo)


def assess(
    stats: FrameStats,
    unread_crops: list[np.ndarray],
    read_any: bool,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> tuple[Diagnostic, ...]:
    """What is wrong with a frame, most useful first; nothing when a code was read."""
    if read_any:
        return ()
    found: list[Diagnostic] = []
    if stats.p95 < thresholds.dark_p95:
        found.append(Diagnostic.TOO_DARK)
    elif (
        stats.mean > thresholds.bright_mean
        or stats.blown_fraction > thresholds.bright_blown_fraction
    ):
        found.append(Diagnostic.TOO_BRIGHT)
    if unread_crops:
        crop = max(unread_crops, key=lambda c: c.size)
        if float(np.mean(crop >= thresholds.blown)) > thresholds.glare_fraction:
            found.append(Diagnostic.GLARE)
        elif region_sharpness(crop) < thresholds.blur_sharpness:
            found.append(Diagnostic.BLURRED)
        found.append(Diagnostic.UNREADABLE)
    return tuple(dict.fromkeys(found))
