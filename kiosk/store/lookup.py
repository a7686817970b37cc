"""People and households by id, each read once, for reads over many visits.

Joining ``residents``, ``visitors`` and ``households`` to every visit row cost two
thirds of the time of a big export or trace (three B-tree look-ups a row); the same
hundred thousand people come back again and again. :class:`Register` reads each id
once, on first use, or the whole register up front when the visits to come outnumber
the people in it. Memory is bounded by the register, never by the number of visits.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from sqlite_utils import Database

P = TypeVar("P")
H = TypeVar("H")
Text = str | None

_PEOPLE = {
    "residents": "SELECT id, name, id_number, phone FROM residents",
    "visitors": "SELECT id, name, id_number, phone FROM visitors",
}
# A visit naming both a resident and a visitor (the schema allows it): field by field,
# the resident's value first, as COALESCE(r.x, vi.x) in a join would give.
_BOTH = """
    SELECT COALESCE(r.name, vi.name), COALESCE(r.id_number, vi.id_number),
           COALESCE(r.phone, vi.phone)
    FROM (SELECT ? AS rid, ? AS vid) AS k
    LEFT JOIN residents r ON r.id = k.rid
    LEFT JOIN visitors vi ON vi.id = k.vid
"""
_HOUSEHOLDS = "SELECT id, building, unit, room FROM households"


class Register(Generic[P, H]):
    """``person(name, id_number, phone)`` and ``household(building, unit, room)`` of the
    ids visits name, made once per id by the two functions given."""

    def __init__(
        self,
        db: Database,
        person: Callable[[Text, Text, Text], P],
        household: Callable[[Text, Text, Text], H],
    ) -> None:
        self.conn = db.conn
        self.make_person, self.make_household = person, household
        self.nobody, self.nowhere = person(None, None, None), household(None, None, None)
        self.people: dict[str, dict[str, P]] = {table: {} for table in _PEOPLE}
        self.households: dict[str, H] = {}

    def preload(self, visits: int) -> None:
        """Read the whole register now if ``visits`` outnumber the people in it."""
        people = sum(
            self.conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] for table in _PEOPLE
        )
        if visits > people:
            self.load_all()

    def load_all(self) -> None:
        for table, sql in _PEOPLE.items():
            people = self.people[table]
            for pid, name, id_number, phone in self.conn.execute(sql):
                people[pid] = self.make_person(name, id_number, phone)
        for hid, building, unit, room in self.conn.execute(_HOUSEHOLDS):
            self.households[hid] = self.make_household(building, unit, room)

    def person(self, resident_id: Text, visitor_id: Text) -> P:
        if visitor_id is None:
            return self.nobody if resident_id is None else self._one("residents", resident_id)
        if resident_id is None:
            return self._one("visitors", visitor_id)
        name, id_number, phone = self.conn.execute(_BOTH, (resident_id, visitor_id)).fetchone()
        return self.make_person(name, id_number, phone)

    def _one(self, table: str, pid: str) -> P:
        people = self.people[table]
        found = people.get(pid)
        if found is None:
            row = self.conn.execute(f"{_PEOPLE[table]} WHERE id = ?", (pid,)).fetchone()
            found = people[pid] = self.make_person(*row[1:]) if row else self.nobody
        return found

    def household(self, household_id: Text) -> H:
        if household_id is None:
            return self.nowhere
        found = self.households.get(household_id)
        if found is None:
            row = self.conn.execute(f"{_HOUSEHOLDS} WHERE id = ?", (household_id,)).fetchone()
            found = self.households[household_id] = (
                self.make_household(*row[1:]) if row else self.nowhere
            )
        return found
