"""The visit log: facts for ``decide()``, the durable record of every decision,
occupancy read back from the log, and a resident's or visitor's passages.

Facts come from indexed queries only (pass by serial, holder by id, holds by household
or person, last passage by subject (the last recorded), household outings by household
and time), so a decision costs the same with a million visits as with ten.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlite_utils import Database

from kiosk.core.clock import from_db, to_db
from kiosk.core.identity import mask_id_number
from kiosk.core.ids import uuid7
from kiosk.core.keys import Keyring
from kiosk.core.passes import PassKind
from kiosk.core.rules import (
    Direction,
    Encounter,
    Facts,
    Holder,
    HoldFact,
    Level,
    Passage,
    RuleSettings,
    Verdict,
)
from kiosk.store.chain import Link, append
from kiosk.store.db import write
from kiosk.store.passes import check_token
from kiosk.store.register import household_label
from kiosk.store.sql import like_pattern, order_by


def resident_holder(db: Database, resident_id: str) -> Holder | None:
    row = db.execute(
        "SELECT r.id, r.name, r.role, r.active, r.id_number, h.id, h.building, h.unit, h.room, "
        "r.id_masked "
        "FROM residents r JOIN households h ON h.id = r.household_id WHERE r.id = ?",
        [resident_id],
    ).fetchone()
    if row is None:
        return None
    rid, name, role, active, id_number, hid, building, unit, room, masked = row
    return Holder(
        PassKind(role),
        rid,
        name,
        hid,
        household_label(building, unit, room),
        bool(active),
        mask_id_number(id_number) or masked or "",
    )


def visitor_holder(db: Database, visitor_id: str) -> Holder | None:
    row = db.execute(
        "SELECT v.id, v.name, v.id_number, h.id, h.building, h.unit, h.room, v.id_masked "
        "FROM visitors v "
        "LEFT JOIN households h ON h.id = v.destination_household_id WHERE v.id = ?",
        [visitor_id],
    ).fetchone()
    if row is None:
        return None
    vid, name, id_number, hid, building, unit, room, masked = row
    return Holder(
        PassKind.VISITOR,
        vid,
        name,
        hid,
        household_label(building, unit, room),
        True,
        mask_id_number(id_number) or masked or "",
    )


def _holds(db: Database, holder: Holder, now: datetime) -> tuple[HoldFact, ...]:
    if holder.kind is PassKind.VISITOR:
        return ()
    rows = db.execute(
        "SELECT 'household', until, reason FROM holds WHERE household_id = ? AND until > ? "
        "AND lifted_at IS NULL UNION ALL "
        "SELECT 'person', until, reason FROM holds WHERE resident_id = ? AND until > ? "
        "AND lifted_at IS NULL",
        [holder.household_id, to_db(now), holder.id, to_db(now)],
    ).fetchall()
    return tuple(HoldFact(scope, from_db(until), reason) for scope, until, reason in rows)


def effective(alias: str = "visits") -> str:
    """SQL: the row ``alias`` is a passage as it stands: not corrected by a later row,
    and not a correction saying "this was no passage" (docs/architecture.md)."""
    return (
        f"{alias}.reason != 'void' AND NOT EXISTS "
        f"(SELECT 1 FROM visits c WHERE c.corrects = {alias}.id)"
    )


def _subject_column(holder: Holder) -> str:
    return "visitor_id" if holder.kind is PassKind.VISITOR else "resident_id"


RECORDED = "rowid"
"""SQL: the order rows of ``visits`` were recorded in. Its rowid only grows (a new row
takes the largest + 1; the purge deletes the oldest), where ``at`` follows the gate's
wall clock, which can be set back. "The last passage" is the last one recorded, so a
clock jumped back cannot reverse AUTO's directions (docs/architecture.md)."""


def last_passage(db: Database, holder: Holder, checkpoint_id: str) -> Passage | None:
    """The subject's last passage through any gate of the compound: the last recorded
    here (not the latest ``at``), unless another gate's passage, arrived by exchange,
    happened after it (docs/exchange.md: each gate reads its own log in recorded order,
    other gates' passages by their time). ``+rowid``: the planner sorts the subject's
    rows found by its index rather than walk the whole table backwards in rowid order."""
    column = _subject_column(holder)
    row = db.execute(
        f"SELECT direction, at FROM visits WHERE {column} = ? "
        f"AND checkpoint_id = ? AND level = 'pass' AND {effective()} "
        f"ORDER BY +{RECORDED} DESC LIMIT 1",
        [holder.id, checkpoint_id],
    ).fetchone()
    other = db.execute(
        f"SELECT direction, at FROM visits WHERE {column} = ? "
        f"AND checkpoint_id != ? AND level = 'pass' AND {effective()} "
        "ORDER BY at DESC LIMIT 1",
        [holder.id, checkpoint_id],
    ).fetchone()
    if other is not None and (row is None or other[1] > row[1]):
        row = other
    return Passage(Direction(row[0]), from_db(row[1])) if row else None


def household_outings(
    db: Database, household_id: str | None, since: datetime
) -> tuple[Passage, ...]:
    if household_id is None:
        return ()
    rows = db.execute(
        "SELECT v.at, r.name FROM visits v JOIN residents r ON r.id = v.resident_id "
        "WHERE v.household_id = ? AND v.at >= ? AND v.direction = 'out' AND v.level = 'pass' "
        f"AND v.subject_kind = 'resident' AND {effective('v')} ORDER BY v.at",
        [household_id, to_db(since)],
    ).fetchall()
    return tuple(Passage(Direction.OUT, from_db(at), name) for at, name in rows)


def holds_register(db: Database) -> bool:
    """Whether this checkpoint holds the register (it has residents). An office, or a
    gate given the register, knows every resident's and staff pass it should honour; a
    gate that verifies public keys only (``init --public-only``) has none and goes by
    the signature (docs/pass-format.md, "A pass the register does not know")."""
    return bool(db.execute("SELECT EXISTS (SELECT 1 FROM residents)").fetchone()[0])


def load_facts(
    db: Database,
    keyring: Keyring,
    encounter: Encounter,
    *,
    now: datetime,
    settings: RuleSettings,
    checkpoint_id: str,
    holder: Holder | None = None,
) -> Facts:
    """Everything ``decide()`` needs about one encounter.

    ``holder`` is given for encounters without a scanned text (a resident found by hand,
    a visitor just registered).
    """
    token = claims = None
    revoked_reason = ""
    if encounter.text is not None:
        check = check_token(db, keyring, encounter.text, now)
        token, claims = check.status, check.claims
        record = check.record or {}
        revoked_reason = check.detail if check.record else ""
        if record.get("resident_id"):
            holder = resident_holder(db, record["resident_id"])
        elif record.get("visitor_id"):
            holder = visitor_holder(db, record["visitor_id"])
    if holder is None:
        return Facts(
            token=token,
            claims=claims,
            revoked_reason=revoked_reason,
            # asked only of a pass nobody here holds: one look at the residents' first row
            register_held=claims is not None and holds_register(db),
        )
    return Facts(
        token=token,
        claims=claims,
        revoked_reason=revoked_reason,
        holder=holder,
        holds=_holds(db, holder, now),
        last_passage=last_passage(db, holder, checkpoint_id),
        household_outings=household_outings(db, holder.household_id, now - settings.quota_window())
        if settings.quota_enabled and holder.kind is not PassKind.VISITOR
        else (),
    )


@dataclass(frozen=True)
class LoggedVisit:
    id: str
    at: datetime


def visit_row(
    verdict: Verdict,
    encounter: Encounter,
    *,
    now: datetime,
    checkpoint_id: str,
    guard: str = "",
    plate: str = "",
    corrects: str | None = None,
) -> dict[str, Any]:
    """The visit row for one decision, its id (UUIDv7) made here, once."""
    holder = verdict.holder
    kind = holder.kind.value if holder else "unknown"
    return {
        "id": uuid7(),
        "at": to_db(now),
        "checkpoint_id": checkpoint_id,
        "direction": verdict.direction.value,
        "subject_kind": kind,
        "resident_id": holder.id if holder and holder.kind is not PassKind.VISITOR else None,
        "visitor_id": holder.id if holder and holder.kind is PassKind.VISITOR else None,
        "household_id": holder.household_id if holder else None,
        "pass_serial": verdict.serial,
        "level": verdict.level.value,
        "reason": verdict.reason.value,
        "reasons": json.dumps(list(verdict.reasons)),
        "temperature": encounter.temperature,
        "guard": guard,
        "plate": plate,
        "source": encounter.source.value,
        "note": encounter.note,
        "corrects": corrects,
    }


def commit_visit(db: Database, row: dict[str, Any]) -> Link | None:
    """Commit a row from :func:`visit_row` durably (committed, fsynced), chained at the
    log's head (``kiosk.store.chain.append``). Safe to call again with the same row
    after a failure (a busy database): a row already on disk is not written twice.
    Its place in the chain if this call wrote it, else None."""
    with write(db):
        if db.execute("SELECT 1 FROM visits WHERE id = ?", [row["id"]]).fetchone():
            return None
        return append(db, row)


VISIT_COLUMNS = """
    v.id, v.at, v.checkpoint_id, v.direction, v.subject_kind, v.pass_serial, v.level,
    v.reason, v.reasons, v.temperature, v.guard, v.plate, v.source, v.note, v.corrects,
    (SELECT c.id FROM visits c WHERE c.corrects = v.id) AS corrected_by,
    COALESCE(r.name, vi.name) AS name, h.building, h.unit, h.room
"""


def list_visits(
    db: Database,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = None,
    checkpoint_id: str | None = None,
) -> list[dict[str, Any]]:
    """Passages with their people, oldest first (``limit``: the newest that many).
    ``checkpoint_id``: this gate's only (a gate's recent list; other gates' passages
    that arrived by exchange count for who is inside, not in that list)."""
    where, args = [], []
    if checkpoint_id is not None:
        where.append("v.checkpoint_id = ?")
        args.append(checkpoint_id)
    if since is not None:
        where.append("v.at >= ?")
        args.append(to_db(since))
    if until is not None:
        where.append("v.at < ?")
        args.append(to_db(until))
    sql = (
        f"SELECT {VISIT_COLUMNS} FROM visits v LEFT JOIN residents r ON r.id = v.resident_id "
        "LEFT JOIN visitors vi ON vi.id = v.visitor_id "
        "LEFT JOIN households h ON h.id = v.household_id"
        + (" WHERE " + " AND ".join(where) if where else "")
        + (" ORDER BY v.at DESC, v.id DESC" if limit else " ORDER BY v.at, v.id")
        + (f" LIMIT {int(limit)}" if limit else "")
    )
    rows = list(db.query(sql, args))
    return rows[::-1] if limit else rows


def visit_by_id(db: Database, visit_id: str) -> dict[str, Any] | None:
    """One row of the log as :func:`list_visits` gives it."""
    rows = db.query(
        f"SELECT {VISIT_COLUMNS} FROM visits v LEFT JOIN residents r ON r.id = v.resident_id "
        "LEFT JOIN visitors vi ON vi.id = v.visitor_id "
        "LEFT JOIN households h ON h.id = v.household_id WHERE v.id = ?",
        [visit_id],
    )
    return next(rows, None)


@dataclass(frozen=True)
class Occupancy:
    inside: list[dict[str, Any]]  # subjects whose last passage here was "in"
    visitors_overstaying: list[dict[str, Any]]
    today_in: int
    today_out: int


def occupancy(
    db: Database,
    checkpoint_id: str,
    *,
    now: datetime,
    lookback_days: int = 14,
    overstay: timedelta = timedelta(hours=4),
) -> Occupancy:
    """Who is inside now (by the log), visitors inside longer than ``overstay``, and
    today's passages in and out (local day)."""
    since = to_db(now - timedelta(days=lookback_days))
    rows = db.query(
        f"""
        SELECT subject_kind AS kind, subject AS id, at AS since, name FROM (
            SELECT v.subject_kind, COALESCE(v.resident_id, v.visitor_id) AS subject,
                   v.direction, v.at, COALESCE(r.name, vi.name) AS name,
                   ROW_NUMBER() OVER (PARTITION BY COALESCE(v.resident_id, v.visitor_id)
                                      ORDER BY v.rowid DESC) AS rn
            FROM visits v
            LEFT JOIN residents r ON r.id = v.resident_id
            LEFT JOIN visitors vi ON vi.id = v.visitor_id
            WHERE v.at >= ? AND v.checkpoint_id = ? AND v.level = 'pass'
              AND COALESCE(v.resident_id, v.visitor_id) IS NOT NULL AND {effective("v")}
        ) WHERE rn = 1 AND direction = 'in' ORDER BY at
        """,
        [since, checkpoint_id],
    )
    inside = list(rows)
    overstaying = [
        r for r in inside if r["kind"] == "visitor" and now - from_db(r["since"]) > overstay
    ]
    today = today_passages(db, checkpoint_id, now=now)
    return Occupancy(inside, overstaying, today["in"], today["out"])


def today_passages(db: Database, checkpoint_id: str, *, now: datetime) -> dict[str, int]:
    """Passes in and out here since local midnight: ``{"in": n, "out": m}``."""
    start = now.astimezone().replace(hour=0, minute=0, second=0, microsecond=0)
    counts = dict(
        db.execute(
            "SELECT direction, COUNT(*) FROM visits WHERE at >= ? AND checkpoint_id = ? "
            f"AND level = 'pass' AND {effective()} GROUP BY direction",
            [to_db(start), checkpoint_id],
        ).fetchall()
    )
    return {"in": int(counts.get("in", 0)), "out": int(counts.get("out", 0))}


@dataclass(frozen=True)
class OccupancyCounts:
    """What the gate window shows: people and visitors inside, today's passages."""

    inside: int
    visitors_inside: int
    visitors_overstaying: int
    today_in: int
    today_out: int


class LiveOccupancy:
    """Who is inside and today's counts, read from the log once and then kept up to date
    by the gate from its own committed decisions.

    :func:`occupancy` reads two weeks of passages: with millions of visits that is
    seconds, too long to run after every decision on the gate's thread. The rule is the
    same: a subject is inside when their last passage here (a pass, within the
    look-back) was "in". Only this gate writes its checkpoint's visits, so what it is
    told is all there is to know.
    """

    def __init__(
        self,
        db: Database,
        checkpoint_id: str,
        *,
        now: datetime,
        lookback_days: int = 14,
        overstay: timedelta = timedelta(hours=4),
    ) -> None:
        self.checkpoint_id = checkpoint_id
        self.lookback = timedelta(days=lookback_days)
        self.overstay = overstay
        rows = db.execute(
            "SELECT COALESCE(resident_id, visitor_id), subject_kind, direction, at, MAX(rowid) "
            "FROM visits WHERE at >= ? AND checkpoint_id = ? AND level = 'pass' "
            f"AND COALESCE(resident_id, visitor_id) IS NOT NULL AND {effective()} "
            "GROUP BY COALESCE(resident_id, visitor_id)",
            [to_db(now - self.lookback), checkpoint_id],
        ).fetchall()
        # SQLite takes the bare columns from the row that holds MAX(rowid): the last
        # recorded (see RECORDED), as record() keeps it from then on.
        self._last: dict[str, tuple[str, str, datetime]] = {
            subject: (kind, direction, from_db(at)) for subject, kind, direction, at, _ in rows
        }
        self.take_in_others(db, now=now)
        self._day = now.astimezone().date()
        self._today = today_passages(db, checkpoint_id, now=now)
        self._corrections_seen = self._newest_correction(db)

    def take_in_others(self, db: Database, *, now: datetime) -> None:
        """Other gates' passages that arrived by exchange: a subject's passage there
        that happened after their last one known here decides where they are (who is
        inside counts every gate of the compound; docs/exchange.md)."""
        rows = db.execute(
            "SELECT COALESCE(resident_id, visitor_id), subject_kind, direction, at, MAX(at) "
            "FROM visits WHERE at >= ? AND checkpoint_id != ? AND level = 'pass' "
            f"AND COALESCE(resident_id, visitor_id) IS NOT NULL AND {effective()} "
            "GROUP BY COALESCE(resident_id, visitor_id)",
            [to_db(now - self.lookback), self.checkpoint_id],
        ).fetchall()
        for subject, kind, direction, at, _ in rows:
            when = from_db(at)
            known = self._last.get(subject)
            if known is None or when > known[2]:
                self._last[subject] = (kind, direction, when)

    @staticmethod
    def _newest_correction(db: Database) -> str:
        row = db.execute("SELECT MAX(id) FROM visits WHERE corrects IS NOT NULL").fetchone()
        return str(row[0] or "")

    def sync(self, db: Database, *, now: datetime) -> bool:
        """Take in corrections made since the last look (in the window, the office or
        the CLI): a look down the small index of corrections. Whether any were new."""
        rows = db.execute(
            "SELECT c.id, COALESCE(c.resident_id, c.visitor_id), "
            "COALESCE(o.resident_id, o.visitor_id) FROM visits c "
            "JOIN visits o ON o.id = c.corrects "
            "WHERE c.corrects IS NOT NULL AND c.id > ? ORDER BY c.id",
            [self._corrections_seen],
        ).fetchall()
        if not rows:
            return False
        subjects = list(dict.fromkeys(s for _id, *both in rows for s in both if s))
        self.refresh(db, subjects, now=now)
        self._corrections_seen = str(rows[-1][0])
        return True

    def refresh(self, db: Database, subjects: list[str], *, now: datetime) -> None:
        """Read again, from the log, the subjects a correction touched and today's
        counts: a handful of indexed queries, not the two weeks :meth:`__init__` reads."""
        since = to_db(now - self.lookback)
        for subject in subjects:
            row = db.execute(
                "SELECT subject_kind, direction, at FROM visits "
                "WHERE (resident_id = ? OR visitor_id = ?) AND at >= ? AND checkpoint_id = ? "
                f"AND level = 'pass' AND {effective()} ORDER BY {RECORDED} DESC LIMIT 1",
                [subject, subject, since, self.checkpoint_id],
            ).fetchone()
            if row is None:
                self._last.pop(subject, None)
            else:
                self._last[subject] = (row[0], row[1], from_db(row[2]))
        self._day = now.astimezone().date()
        self._today = today_passages(db, self.checkpoint_id, now=now)

    def record(self, verdict: Verdict, at: datetime) -> None:
        """A decision that was just committed at this checkpoint."""
        if verdict.level is not Level.PASS:
            return
        self._roll(at)
        self._today[verdict.direction.value] += 1
        if verdict.holder is not None:
            self._last[verdict.holder.id] = (
                verdict.holder.kind.value,
                verdict.direction.value,
                at,
            )

    def counts(self, now: datetime) -> OccupancyCounts:
        self._roll(now)
        since = now - self.lookback
        inside = [
            (kind, at)
            for kind, direction, at in self._last.values()
            if direction == "in" and at >= since
        ]
        visitors = [at for kind, at in inside if kind == "visitor"]
        return OccupancyCounts(
            inside=len(inside),
            visitors_inside=len(visitors),
            visitors_overstaying=sum(1 for at in visitors if now - at > self.overstay),
            today_in=self._today["in"],
            today_out=self._today["out"],
        )

    def _roll(self, now: datetime) -> None:
        day = now.astimezone().date()
        if day != self._day:
            self._day = day
            self._today = {"in": 0, "out": 0}


# --- one subject's passages (the office's history and visitor dialogs) -----------------

PASSAGE_SORT_AT = "v.at"
PASSAGE_SORT_DIRECTION = "v.direction"
PASSAGE_SORT_LEVEL = "v.level"
PASSAGE_SORT_TEMPERATURE = "v.temperature"
PASSAGE_SORT_GUARD = "v.guard"
# (resident_id, at) then rowid: exactly the index's order, so no sorting at all
PASSAGE_DEFAULT_ORDER = f"{PASSAGE_SORT_AT} DESC, v.rowid DESC"
PASSAGE_SORTS = frozenset(
    {
        PASSAGE_SORT_AT,
        PASSAGE_SORT_DIRECTION,
        PASSAGE_SORT_LEVEL,
        PASSAGE_SORT_TEMPERATURE,
        PASSAGE_SORT_GUARD,
        "v.rowid",
    }
)


def resident_passages(
    db: Database,
    resident_id: str,
    *,
    search: str = "",
    order: str = PASSAGE_DEFAULT_ORDER,
    limit: int = 200,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """One page of the resident's visit rows: id, at, direction, level, reason,
    reasons, temperature, guard, pass_serial, source, note, corrects, checkpoint_id,
    corrected_by (the id of the row correcting this one, or None).

    ``search`` matches the guard, the pass serial or the note; ``order`` is checked
    against :data:`PASSAGE_SORTS`.
    """
    where = ["v.resident_id = ?"]
    args: list[Any] = [resident_id]
    text = search.strip()
    if text:
        pattern = like_pattern(text)
        where.append(
            "(v.guard LIKE ? ESCAPE '\\' OR v.pass_serial LIKE ? ESCAPE '\\' "
            "OR v.note LIKE ? ESCAPE '\\')"
        )
        args += [pattern, pattern, pattern]
    rows = db.query(
        "SELECT v.id, v.at, v.direction, v.level, v.reason, v.reasons, v.temperature, "
        "v.guard, v.pass_serial, v.source, v.note, v.corrects, v.checkpoint_id, "
        "(SELECT c.id FROM visits c WHERE c.corrects = v.id) AS corrected_by "
        f"FROM visits v WHERE {' AND '.join(where)} "
        f"ORDER BY {order_by(order, PASSAGE_SORTS)} LIMIT ? OFFSET ?",
        [*args, int(limit), int(offset)],
    )
    return list(rows)


def visitor_visits(db: Database, visitor_id: str, limit: int = 500) -> list[dict[str, Any]]:
    """One visitor's passages (any verdict), the newest first: ``id``, ``at``,
    ``direction``, ``level``, ``reason``, ``temperature``, ``guard``, ``source``."""
    return list(
        db.query(
            "SELECT id, at, direction, level, reason, temperature, guard, source FROM visits "
            "WHERE visitor_id = ? ORDER BY at DESC LIMIT ?",
            [visitor_id, int(limit)],
        )
    )


def recent_guards(db: Database, limit: int = 10) -> list[str]:
    """Names of the guards who logged passages, the most recent first."""
    rows = db.execute(
        "SELECT guard, MAX(at) AS last FROM visits WHERE guard != '' "
        "GROUP BY guard ORDER BY last DESC LIMIT ?",
        [limit],
    )
    return [str(r[0]) for r in rows]
