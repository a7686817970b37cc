"""Labelled image folders: the benchmarks', the tests' and ``kiosk decode``'s view.

Two layouts are understood:

* a generated set: images plus ``truth.tsv`` (filename, category, text; empty text
  means the frame has no code);
* zxing-style samples: ``N.png`` beside ``N.txt`` holding the expected text (UTF-8),
  the folder's name being the category. Images without a ``.txt`` are skipped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from kiosk.vision.synth import read_truth

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")


@dataclass(frozen=True)
class Sample:
    path: Path
    category: str
    text: str | None  # None: the image holds no code


def normalise(text: str) -> str:
    """Line endings as ``\\n``: sample files were stored with LF, codes often hold CRLF."""
    return text.replace("\r\n", "\n")


def matches(found: Iterable[str], expected: str | None) -> bool:
    """Whether the texts read are right: the expected one among them, or none at all."""
    texts = [normalise(t) for t in found]
    if expected is None:
        return not texts
    return normalise(expected) in texts


def labelled_images(folder: Path) -> list[Sample]:
    """Every labelled image under ``folder`` in a stable order."""
    truth = folder / "truth.tsv"
    if truth.is_file():
        return [Sample(folder / name, category, text) for name, category, text in read_truth(truth)]
    found = []
    for path in sorted(folder.rglob("*")):
        label = path.with_suffix(".txt")
        if path.suffix.lower() in IMAGE_SUFFIXES and label.is_file():
            text = label.read_text(encoding="utf-8")
            found.append(Sample(path, path.parent.name, text))
    return found
