"""Figures for the street office's daily report, from the visit log."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlite_utils import Database

from kiosk.core.clock import from_db, to_db
from kiosk.core.identity import mask_id_number
from kiosk.store.checkpoint import checkpoint_name
from kiosk.store.register import household_label


@dataclass
class DailySummary:
    day: date
    checkpoint: str
    passed_in: int = 0
    passed_out: int = 0
    residents: int = 0
    visitors: int = 0
    checks: int = 0
    denials: dict[str, int] = field(default_factory=dict)  # reason -> count
    hourly_in: list[int] = field(default_factory=lambda: [0] * 24)
    hourly_out: list[int] = field(default_factory=lambda: [0] * 24)
    notable: list[dict[str, Any]] = field(default_factory=list)  # denials and fevers
    guards: list[str] = field(default_factory=list)


def daily_summary(db: Database, day: date, tz: tzinfo | None = None) -> DailySummary:
    """Everything the daily report shows for one local day (``tz``: the gate's)."""
    start = (
        datetime.combine(day, time(0), tzinfo=tz)
        if tz
        else datetime.combine(day, time(0)).astimezone()
    )
    end = start + timedelta(days=1)
    summary = DailySummary(day, checkpoint_name(db))
    guards: set[str] = set()
    rows = db.execute(
        "SELECT v.at, v.direction, v.level, v.reason, v.subject_kind, v.temperature, v.guard, "
        "COALESCE(r.name, vi.name), COALESCE(r.id_number, vi.id_number), "
        "h.building, h.unit, h.room FROM visits v "
        "LEFT JOIN residents r ON r.id = v.resident_id "
        "LEFT JOIN visitors vi ON vi.id = v.visitor_id "
        "LEFT JOIN households h ON h.id = v.household_id "
        "WHERE v.at >= ? AND v.at < ? ORDER BY v.at",
        [to_db(start), to_db(end)],
    )
    for at, direction, level, reason, kind, temperature, guard, name, id_number, b, u, r in rows:
        moment = from_db(at).astimezone(start.tzinfo)
        if guard:
            guards.add(guard)
        if level == "pass":
            hourly = summary.hourly_in if direction == "in" else summary.hourly_out
            hourly[moment.hour] += 1
            if direction == "in":
                summary.passed_in += 1
            else:
                summary.passed_out += 1
            if kind == "visitor":
                summary.visitors += 1
            else:
                summary.residents += 1
        elif level == "check":
            summary.checks += 1
        else:
            summary.denials[reason] = summary.denials.get(reason, 0) + 1
        if level == "deny" or reason == "fever":
            summary.notable.append(
                {
                    "time": moment.strftime("%H:%M"),
                    "reason": reason,
                    "name": name or "",
                    "household": household_label(b, u, r),
                    "id_number": mask_id_number(id_number),
                    "temperature": temperature,
                }
            )
    summary.guards = sorted(guards)
    return summary
