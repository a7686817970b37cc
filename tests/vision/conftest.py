"""Fixtures for the vision tests: generated frames (cached per session), a fake clock."""

from __future__ import annotations

import pytest

from kiosk.vision import synth
from tests.fakes import FakeClock


@pytest.fixture(scope="session")
def frames_by_category() -> dict[str, list[synth.SynthFrame]]:
    """Two generated frames of every category (same seeds every run)."""
    return {c: [synth.make_frame(c, 40 + i) for i in range(2)] for c in synth.CATEGORIES}


@pytest.fixture(scope="session")
def trouble_frames() -> dict[str, list[synth.SynthFrame]]:
    """More frames of the categories where raw decoders miss some."""
    return {c: [synth.make_frame(c, 500 + i) for i in range(6)] for c in ("dark", "small")}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
