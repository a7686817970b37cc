"""What one check of ``kiosk doctor`` found: a stable code, a status, and words."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from kiosk.core.i18n import trc


class Status(enum.StrEnum):
    OK = "ok"
    WARN = "warn"  # works, but will not for long, or not well
    FAIL = "fail"  # stands between this laptop and a working gate
    SKIP = "skip"  # not checked (asked not to, or does not apply here)

    def word(self) -> str:
        """The status as a word for a person (the terminal's and the dialog's)."""
        if self is Status.OK:
            return trc("health check", "OK")
        if self is Status.WARN:
            return trc("health check", "Warning")
        if self is Status.FAIL:
            return trc("health check", "Problem")
        return trc("health check", "Not checked")


@dataclass(frozen=True)
class Finding:
    """``check``: a stable code (``camera``, ``database``...); ``title``, ``message`` and
    ``advice`` in the person's language; ``figures`` for scripts (``--json``)."""

    check: str
    status: Status
    title: str
    message: str
    advice: str = ""
    figures: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "status": self.status.value,
            "title": self.title,
            "message": self.message,
            "advice": self.advice,
            "figures": self.figures,
        }


def exit_code(findings: Iterable[Finding]) -> int:
    """0 when nothing is wrong, 1 when something warns, 2 when something fails."""
    statuses = {f.status for f in findings}
    return 2 if Status.FAIL in statuses else 1 if Status.WARN in statuses else 0
