"""A resident's passages through the gate, newest first, a page at a time.

Read with the ``visits_resident_at`` index (resident, time): a page of one person's
history costs the same on five million visits as on fifty.
"""

from __future__ import annotations

from typing import Any

from sqlite_utils import Database

from kiosk.store.order import like_pattern, order_by

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
    cursor = db.execute(
        "SELECT v.id, v.at, v.direction, v.level, v.reason, v.reasons, v.temperature, "
        "v.guard, v.pass_serial, v.source, v.note, v.corrects, v.checkpoint_id, "
        "(SELECT c.id FROM visits c WHERE c.corrects = v.id) AS corrected_by "
        f"FROM visits v WHERE {' AND '.join(where)} "
        f"ORDER BY {order_by(order, PASSAGE_SORTS)} LIMIT ? OFFSET ?",
        [*args, int(limit), int(offset)],
    )
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor]
