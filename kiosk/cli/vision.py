"""Camera and QR commands: ``kiosk decode`` and ``kiosk cameras``.

Neither needs a checkpoint: they never open the checkpoint's database.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import click
import cv2
import numpy as np

from kiosk.core.i18n import tr
from kiosk.vision.decoders import DECODER_NAMES, get_decoder, make_decoder
from kiosk.vision.diagnostics import message
from kiosk.vision.pipeline import DecodeResult, Pipeline
from kiosk.vision.sources import list_cameras


def register(cli: click.Group) -> None:
    cli.add_command(decode)
    cli.add_command(cameras)


def _load(path: Path) -> tuple[np.ndarray | None, str | None]:
    """The image's pixels, or None and why not."""
    if not path.exists():
        return None, tr("file not found")
    if not path.is_file():
        return None, tr("not a file")
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        return None, tr("not an image that can be read (PNG, JPEG, WebP, BMP, TIFF)")
    return image, None


class ImageFiles:
    """The images of ``paths`` in order, as (path, pixels); a file that cannot be read
    is reported (a JSON line with ``--json``) and skipped, and :attr:`failed` is set.
    One loop for the commands that read image files (``decode``, ``idcard read``)."""

    def __init__(self, paths: tuple[Path, ...], *, as_json: bool) -> None:
        self.paths = paths
        self.as_json = as_json
        self.failed = False

    def __iter__(self) -> Iterator[tuple[Path, np.ndarray]]:
        for path in self.paths:
            image, error = _load(path)
            if image is None or error is not None:
                self.failed = True
                if self.as_json:
                    line = json.dumps({"path": str(path), "error": error or ""}, ensure_ascii=False)
                    click.echo(line)
                else:
                    click.echo(f"{path}: " + tr("error: {message}", message=error or ""))
                continue
            yield path, image


def _as_json(path: Path, result: DecodeResult) -> str:
    return json.dumps(
        {
            "path": str(path),
            "codes": [
                {
                    "text": code.text,
                    "corners": [[round(x, 1), round(y, 1)] for x, y in code.corners],
                }
                for code in result.codes
            ],
            "ms": round(result.ms, 2),
        },
        ensure_ascii=False,
    )


def _as_line(path: Path, result: DecodeResult) -> str:
    timing = tr("{ms} ms", ms=f"{result.ms:.1f}")
    if result.codes:
        texts = " | ".join(code.text for code in result.codes)
        return f"{path}: {texts} ({timing})"
    hints = " ".join(message(d) for d in result.diagnostics)
    return f"{path}: " + tr("no code") + f" ({timing})" + (f" {hints}" if hints else "")


@click.command()
@click.option(
    "--decoder",
    "decoder_name",
    type=click.Choice(DECODER_NAMES),
    default="auto",
    show_default=True,
    help="QR backend (auto: the best available, zxing-cpp).",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="One JSON object per image per line: path, codes (text, corners), ms.",
)
@click.argument("images", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.pass_context
def decode(ctx: click.Context, decoder_name: str, as_json: bool, images: tuple[Path, ...]) -> None:
    """Read the QR codes in image files (photos, screenshots, camera frames).

    Exit status 1 when a file could not be read; the other files are still decoded.
    """
    decoder = get_decoder(decoder_name)
    if decoder_name != "auto" and decoder.name != decoder_name:
        unavailable = make_decoder(decoder_name)
        click.echo(
            tr(
                "The {name} decoder is not available ({reason}); using {used}.",
                name=decoder_name,
                reason=unavailable.unavailable_reason(),
                used=decoder.name,
            ),
            err=True,
        )
    pipeline = Pipeline(decoder)
    files = ImageFiles(images, as_json=as_json)
    for path, image in files:
        result = pipeline.decode(image)
        click.echo(_as_json(path, result) if as_json else _as_line(path, result))
    if files.failed:
        ctx.exit(1)


@click.command()
def cameras() -> None:
    """List the webcams that can be opened (numbers 0-9), with their resolution."""
    found = list_cameras(10)
    if not found:
        click.echo(
            tr(
                "No camera found (tried numbers 0 to 9). Plug one in, or close the "
                "program that is using it."
            )
        )
        return
    for cam in found:
        click.echo(
            tr(
                "camera {index}: {width}x{height} ({backend})",
                index=cam.index,
                width=cam.width,
                height=cam.height,
                backend=cam.backend,
            )
        )
