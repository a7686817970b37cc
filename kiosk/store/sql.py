"""``ORDER BY`` for the office's tables, checked against a whitelist.

The office's sortable tables hand the store an order such as
``"holder DESC, p.rowid DESC"`` (a column's SQL, then the default order). Only
expressions a query lists as sortable are let into the SQL; anything else is a bug
and raises :class:`ValueError`.
"""

from __future__ import annotations

from collections.abc import Collection

_WAYS = ("ASC", "DESC")


def _terms(order: str) -> list[str]:
    """``order`` split at the commas outside parentheses."""
    terms: list[str] = []
    depth = 0
    current = ""
    for char in order:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            terms.append(current.strip())
            current = ""
        else:
            current += char
    terms.append(current.strip())
    return terms


def order_by(order: str, allowed: Collection[str]) -> str:
    """``order`` rebuilt from ``allowed`` expressions, each ``ASC`` or ``DESC``."""
    checked: list[str] = []
    for term in _terms(order):
        expression, way = term, "ASC"
        head, _, tail = term.rpartition(" ")
        if tail.upper() in _WAYS:
            expression, way = head.strip(), tail.upper()
        if expression not in allowed:
            raise ValueError(f"cannot sort by {expression!r}")
        checked.append(f"{expression} {way}")
    return ", ".join(checked)


def like_pattern(text: str) -> str:
    """``%text%`` with LIKE's wildcards escaped (use with ``ESCAPE '\\'``)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
