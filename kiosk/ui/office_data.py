"""What a gate of a compound tells its guard about the exchange (docs/ui.md, "Office
data"): how old its office data is, the other gates' last news, and what one exchange
through a USB stick did, in the guard's words.

:func:`read_office_data` reads the database: the gate's worker calls it (its thread
owns the connection) and sends the :class:`OfficeData` to the window, which only
formats it with the functions below.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlite_utils import Database

from kiosk.core.i18n import tr, trn
from kiosk.store.exchange import (
    FolderExchange,
    Freshness,
    compound,
    freshness,
    news,
    office_rules,
)

OFFICE_DATA_CHECK_S = 60
"""How often (status ticks of a second) the window asks the worker for the age again."""


@dataclass(frozen=True)
class GateNews:
    """Another gate of the compound and the newest of its rows applied here."""

    name: str
    last_news: datetime | None


@dataclass(frozen=True)
class OfficeData:
    """How old this gate's office data is, and what it has heard from the other gates."""

    freshness: Freshness
    gates: tuple[GateNews, ...]
    at: datetime  # when it was read (the gate's clock)
    rules: Mapping[str, Any] = field(default_factory=dict)  # the office's, by setting name


def read_office_data(db: Database, now: datetime, amber: timedelta) -> OfficeData | None:
    """The gate's office data now; None at a lone checkpoint or at the office (the
    window then shows nothing)."""
    comp = compound(db)
    if comp is None or comp.is_office:
        return None
    gates = tuple(
        GateNews(n.name, n.last_news) for n in news(db) if n.role == "gate" and not n.removed
    )
    return OfficeData(freshness(db, now, amber), gates, now, office_rules(db))


def age_text(fresh: Freshness) -> str:
    """ "Office data: 35 min old", "Office data: 14 h old", "No office data yet"."""
    if fresh.age is None:
        return tr("No office data yet")
    minutes = int(fresh.age.total_seconds() // 60)
    if minutes < 60:
        return tr("Office data: {n} min old", n=minutes)
    hours = minutes // 60
    if hours < 48:
        return tr("Office data: {n} h old", n=hours)
    return tr("Office data: {n} days old", n=hours // 24)


def _when(at: datetime, now: datetime) -> str:
    local, today = at.astimezone(), now.astimezone().date()
    return local.strftime("%H:%M") if local.date() == today else local.strftime("%m-%d %H:%M")


def gates_text(data: OfficeData) -> str:
    """One line per other gate: "south: last news 10:32" (what this gate does not know
    of what happened there since)."""
    lines = []
    for gate in data.gates:
        if gate.last_news is None:
            lines.append(tr("{gate}: no news yet", gate=gate.name))
        else:
            when = _when(gate.last_news, data.at)
            lines.append(tr("{gate}: last news {time}", gate=gate.name, time=when))
    return "\n".join(lines)


def exchange_report(done: FolderExchange) -> list[str]:
    """What one exchange did, line by line, for the guard."""
    lines = []
    for got in done.imported:
        if got.applied:
            lines.append(
                trn(
                    "Taken in from {author}: {rows} change.",
                    "Taken in from {author}: {rows} changes.",
                    got.applied,
                    author=got.author,
                    rows=got.applied,
                )
            )
        else:
            lines.append(tr("From {author}: nothing new (taken in before).", author=got.author))
        if got.waiting:
            lines.append(
                trn(
                    "{n} change set from {author} waits for earlier ones (next exchange).",
                    "{n} change sets from {author} wait for earlier ones (next exchange).",
                    got.waiting,
                    n=got.waiting,
                    author=got.author,
                )
            )
    for path, why in done.refused:
        lines.append(tr("Refused {file}: {why}", file=path.name, why=why))
    if not done.imported and not done.refused:
        lines.append(tr("No bundle for this gate on the stick."))
    for out in done.exported:
        lines.append(
            trn(
                "Written for {recipient}: {file} ({rows} change). Take the stick to {recipient}.",
                "Written for {recipient}: {file} ({rows} changes). Take the stick to {recipient}.",
                out.rows,
                recipient=out.recipient,
                file=out.path.name,
                rows=out.rows,
            )
        )
    return lines


__all__ = [
    "OFFICE_DATA_CHECK_S",
    "GateNews",
    "OfficeData",
    "age_text",
    "exchange_report",
    "gates_text",
    "read_office_data",
]
