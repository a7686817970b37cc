"""Write the kiosk's three verdict tones: kiosk/resources/sounds/{pass,check,stop}.wav.

16-bit mono 22050 Hz, each well under 40 KB. Run once; the WAVs are committed.

    .venv/bin/python tools/make_sounds.py
"""

from __future__ import annotations

import math
import struct
import wave
from pathlib import Path

RATE = 22050
OUT = Path(__file__).resolve().parent.parent / "kiosk" / "resources" / "sounds"


def tone(freq: float, seconds: float, volume: float = 0.6, square: bool = False) -> list[float]:
    n = int(RATE * seconds)
    fade = int(RATE * 0.01)
    samples = []
    for i in range(n):
        value = math.sin(2 * math.pi * freq * i / RATE)
        if square:  # a rough buzz: sine plus odd harmonics
            value = sum(math.sin(2 * math.pi * freq * k * i / RATE) / k for k in (1, 3, 5, 7))
            value *= 0.8
        envelope = min(1.0, i / fade, (n - i) / fade)
        samples.append(volume * envelope * value)
    return samples


def silence(seconds: float) -> list[float]:
    return [0.0] * int(RATE * seconds)


def write(path: Path, samples: list[float]) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        clipped = (max(-1.0, min(1.0, s)) for s in samples)
        out.writeframes(b"".join(struct.pack("<h", int(s * 32767)) for s in clipped))


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    write(OUT / "pass.wav", tone(1760, 0.12) + silence(0.06) + tone(1760, 0.12))
    write(OUT / "check.wav", tone(880, 0.3))
    write(OUT / "stop.wav", tone(220, 0.8, volume=0.7, square=True))
    for name in ("pass", "check", "stop"):
        path = OUT / f"{name}.wav"
        print(f"{path} {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
