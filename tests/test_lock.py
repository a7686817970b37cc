"""The lock files agree with each other and with pyproject.toml's measured PySide6 range."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s\\]+)", re.MULTILINE)


def pins(name: str) -> dict[str, str]:
    text = (ROOT / "requirements" / name).read_text(encoding="utf-8")
    found = {canonicalize_name(n): v for n, v in PIN.findall(text)}
    requirements = re.findall(r"^[A-Za-z0-9]", text, re.MULTILINE)  # one line each
    assert len(requirements) == len(found), f"{name}: a requirement without an exact pin"
    assert text.count("--hash=sha256:") >= len(found), f"{name}: a pin without a hash"
    return found


def dependencies() -> dict[str, Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    found = [Requirement(r) for r in project["dependencies"]]
    return {canonicalize_name(r.name): r for r in found}


def test_the_kiosk_lock_pins_what_the_dev_lock_pins() -> None:
    kiosk, dev = pins("kiosk.lock"), pins("dev.lock")
    assert {n: dev.get(n) for n in kiosk} == kiosk


def test_the_full_opencv_wheel_stays_out() -> None:
    """rapidocr-onnxruntime asks for opencv-python; its Qt plugins clash with PySide6
    and it shares the cv2 folder with opencv-python-headless (requirements/README.md)."""
    for lock in ("kiosk.lock", "dev.lock"):
        locked = pins(lock)
        assert "opencv-python" not in locked, lock
        assert "opencv-python-headless" in locked, lock
    import cv2

    assert not (Path(cv2.__file__).parent / "qt").exists(), "the full OpenCV wheel is installed"


def test_the_locks_hold_every_dependency_within_its_range() -> None:
    for lock in ("kiosk.lock", "dev.lock"):
        locked = pins(lock)
        for name, requirement in dependencies().items():
            assert name in locked, f"{lock} lacks {name}"
            assert requirement.specifier.contains(locked[name]), (lock, name, locked[name])


def test_pyside6_6_12_0_is_not_allowed() -> None:
    """6.12.0 loses a reference to None on every call that returns nothing (measured:
    docs/architecture.md, "Why these PySide6 versions")."""
    deps = dependencies()
    for name in ("pyside6-essentials", "pyside6-addons"):
        assert not deps[name].specifier.contains("6.12.0")
        assert deps[name].specifier.contains("6.11.3")
