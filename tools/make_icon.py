"""Draw Gatepass's icon: packaging/icons/gatepass.png (256 px) and gatepass.ico (16 to
256 px). A green rounded square (the PASS colour) with a white gate bar and tick.

    python tools/make_icon.py
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parent.parent / "packaging" / "icons"
GREEN = (17, 105, 47, 255)  # the day theme's PASS text colour
WHITE = (255, 255, 255, 255)


def draw(size: int = 1024) -> Image.Image:
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    pen = ImageDraw.Draw(image)
    s = size / 256
    pen.rounded_rectangle((8 * s, 8 * s, 248 * s, 248 * s), radius=48 * s, fill=GREEN)
    # the gate: a post and a raised bar
    pen.rectangle((40 * s, 150 * s, 64 * s, 216 * s), fill=WHITE)
    pen.line((52 * s, 156 * s, 196 * s, 60 * s), fill=WHITE, width=int(22 * s))
    # the tick
    pen.line(
        ((112 * s, 176 * s), (140 * s, 204 * s), (212 * s, 128 * s)),
        fill=WHITE,
        width=int(24 * s),
        joint="curve",
    )
    return image


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    big = draw()
    big.resize((256, 256), Image.Resampling.LANCZOS).save(OUT / "gatepass.png")
    big.resize((256, 256), Image.Resampling.LANCZOS).save(
        OUT / "gatepass.ico",
        sizes=[(16, 16), (24, 24), (32, 32), (48, 48), (64, 64), (128, 128), (256, 256)],
    )
    print(OUT / "gatepass.png", OUT / "gatepass.ico")


if __name__ == "__main__":
    main()
