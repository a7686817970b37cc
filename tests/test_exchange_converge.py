"""Whatever the order of exports and imports (duplicates, stale bundles, relays through
the other gate), an office and two gates that finally exchange everything hold the same
facts (docs/exchange.md, "Change sets": applying is idempotent and order-independent).

One compound is enrolled once per module (office, north, south, each gate's first bundle
imported at the office and the office's reply at each gate) and copied per example.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.core.clock import utcnow
from kiosk.core.identity import make_id_number
from kiosk.core.keys import load_private_key
from kiosk.home import Home
from kiosk.store.checkpoint import checkpoint_id
from kiosk.store.db import connect
from kiosk.store.visitors import ValidVisitor, add_visitor, issue_visitor_code
from kiosk.store.visits import commit_visit
from tests.helpers import make_checkpoint, passage_row, run

NODES = ("office", "north", "south")
GATES = ("north", "south")


def _enrol(root: Path, office: Path, gate: str) -> Path:
    """Enrol and join ``gate``; its home."""
    enrol = root / f"{gate}.enrol"
    out = run(office, "exchange", "enrol", gate, "--out", str(enrol)).output
    code = re.search(r"([0-9A-Z]{5}-[0-9A-Z]{5})", out)
    assert code is not None, out
    home = root / gate
    run(home, "init", "--join", str(enrol), "--code", code.group(1))
    return home


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An office with residents and passes, north and south joined, all keys known
    everywhere."""
    root = tmp_path_factory.mktemp("compound")
    office = root / "office"
    make_checkpoint(office, residents=4, name="office")
    run(office, "passes", "issue", "--all")
    for gate in GATES:
        home = _enrol(root, office, gate)
        first = root / f"{gate}-first.gpbundle"
        run(home, "exchange", "export", "--out", str(first))
        run(office, "exchange", "import", str(first))
    for gate in GATES:
        reply = root / f"office-{gate}.gpbundle"
        run(office, "exchange", "export", "--for", gate, "--out", str(reply))
        run(root / gate, "exchange", "import", str(reply))
    return root


@dataclass
class World:
    """One example's copy of the compound, and the bundle files written so far."""

    root: Path
    bundles: list[Path] = field(default_factory=list)
    passages: dict[str, str] = field(default_factory=dict)  # visit id -> gate
    counter: int = 0

    def home(self, node: str) -> Path:
        return self.root / node

    def next(self) -> int:
        self.counter += 1
        return self.counter


def _copy(template: Path, dest: Path) -> World:
    for node in NODES:
        shutil.copytree(template / node, dest / node)
    return World(dest)


def _query(home: Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    db = connect(home / "gatepass.db")
    try:
        return [tuple(r) for r in db.execute(sql, params or []).fetchall()]
    finally:
        db.close()


# --- operations ------------------------------------------------------------------------------


def add_resident(world: World, n: int) -> None:
    i = world.next()
    run(
        world.home("office"),
        "residents",
        "add",
        "--building",
        "7",
        "--room",
        f"{100 + n % 3}",
        "--name",
        f"新人{i}",
        "--id-number",
        make_id_number("110101", date(1990, 1, 1 + i % 28), 100 + i),
    )


def revoke_pass(world: World, n: int) -> None:
    active = _query(
        world.home("office"), "SELECT serial FROM passes WHERE status = 'active' ORDER BY serial"
    )
    if active:
        serial = active[n % len(active)][0]
        run(world.home("office"), "passes", "revoke", serial, "--reason", "lost")


def issue_passes(world: World, n: int) -> None:
    run(world.home("office"), "passes", "issue", "--all")


def add_hold(world: World, n: int) -> None:
    households = _query(world.home("office"), "SELECT id FROM households ORDER BY id")
    household = households[n % len(households)][0]
    until = (utcnow() + timedelta(days=3)).strftime("%Y-%m-%d")
    run(
        world.home("office"),
        "holds",
        "add",
        "--household",
        household,
        "--until",
        until,
        "--reason",
        "quarantine",
    )


def lift_hold(world: World, n: int) -> None:
    open_ = _query(world.home("office"), "SELECT id FROM holds WHERE lifted_at IS NULL ORDER BY id")
    if open_:
        run(world.home("office"), "holds", "lift", open_[n % len(open_)][0])


def passage(world: World, gate: str, n: int) -> None:
    """A resident or visitor the gate knows passes it (a row as the gate records one)."""
    db = connect(world.home(gate) / "gatepass.db")
    try:
        people = db.execute(
            "SELECT 'resident', id, household_id FROM residents UNION ALL "
            "SELECT 'visitor', id, destination_household_id FROM visitors ORDER BY 2"
        ).fetchall()
        kind, subject, household = people[n % len(people)]
        direction = "in" if n % 2 else "out"
        row = passage_row(checkpoint_id(db), kind, subject, household, direction)
        commit_visit(db, row)
    finally:
        db.close()
    world.passages[row["id"]] = gate


def register_visitor(world: World, gate: str, n: int) -> None:
    db = connect(world.home(gate) / "gatepass.db")
    try:
        households = db.execute("SELECT id FROM households ORDER BY id").fetchall()
        i = world.next()
        visitor = ValidVisitor(
            f"访客{i}",
            f"139{i:08d}",
            make_id_number("110101", date(1985, 1, 1 + i % 28), 200 + i),
            households[n % len(households)][0],
            "visit",
            "",
            "",
        )
        visitor_id = add_visitor(db, visitor, now=utcnow(), checkpoint_id=checkpoint_id(db))
        if n % 2:  # and a visitor code (a pass of kind visitor, signed by the gate's key)
            key = load_private_key(Home(world.home(gate)).gate_key, None)
            issue_visitor_code(db, key, visitor_id, now=utcnow(), hours=4)
    finally:
        db.close()


def export(world: World, writer: str, reader: str) -> Path:
    out = world.root / f"{world.next():04d}-{writer}-for-{reader}.gpbundle"
    run(world.home(writer), "exchange", "export", "--for", reader, "--out", str(out))
    world.bundles.append(out)
    return out


def import_(world: World, reader: str, bundle: Path) -> None:
    """Import at ``reader`` if it is the bundle's recipient (another's is refused whole)."""
    if bundle.name.endswith(f"-for-{reader}.gpbundle"):
        run(world.home(reader), "exchange", "import", str(bundle))
    else:
        assert run(world.home(reader), "exchange", "import", str(bundle), ok=False).exit_code == 2


OFFICE_OPS = {
    "add_resident": add_resident,
    "revoke_pass": revoke_pass,
    "issue_passes": issue_passes,
    "add_hold": add_hold,
    "lift_hold": lift_hold,
}
PAIRS = [(w, r) for w in NODES for r in NODES if w != r]

operation = st.one_of(
    st.tuples(st.just("office"), st.sampled_from(sorted(OFFICE_OPS)), st.integers(0, 50)),
    st.tuples(st.just("passage"), st.sampled_from(GATES), st.integers(0, 50)),
    st.tuples(st.just("visitor"), st.sampled_from(GATES), st.integers(0, 50)),
    st.tuples(st.just("export"), st.sampled_from(PAIRS), st.integers(0, 50)),
    st.tuples(st.just("import"), st.sampled_from(NODES), st.integers(0, 1000)),
)


def apply(world: World, op: tuple[str, Any, int]) -> None:
    what, arg, n = op
    if what == "office":
        OFFICE_OPS[arg](world, n)
    elif what == "passage":
        passage(world, arg, n)
    elif what == "visitor":
        register_visitor(world, arg, n)
    elif what == "export":
        export(world, *arg)
    elif world.bundles:  # import one bundle written so far, any of them, again or not
        import_(world, arg, world.bundles[n % len(world.bundles)])


def full_round(world: World) -> None:
    for _ in range(2):
        written = [export(world, w, r) for w, r in PAIRS]
        for bundle in written:
            reader = bundle.stem.rsplit("-for-", 1)[1]
            import_(world, reader, bundle)


# --- what must agree ---------------------------------------------------------------------------

SHARED = {
    "visits": "SELECT id FROM visits",
    "visitors": "SELECT id, name, destination_household_id, checkpoint_id FROM visitors",
    "passes": "SELECT serial, status FROM passes",
    "holds": "SELECT id, lifted_at FROM holds",
    "residents": "SELECT id, name, active FROM residents",
    "households": "SELECT id, building, unit, room FROM households",
}


def state(home: Path) -> dict[str, set[tuple[Any, ...]]]:
    return {name: set(_query(home, sql)) for name, sql in SHARED.items()}


def assert_converged(world: World) -> None:
    office = state(world.home("office"))
    for gate in GATES:
        found = state(world.home(gate))
        for name in SHARED:
            assert found[name] == office[name], (gate, name, found[name] ^ office[name])
    for node in NODES:
        waiting = _query(world.home(node), "SELECT count(*) FROM change_sets WHERE applied = 0")
        assert waiting == [(0,)], node
    counts = dict(
        _query(world.home("office"), "SELECT id, count(*) FROM visits GROUP BY id HAVING 1")
    )
    for visit_id in world.passages:
        assert counts.get(visit_id) == 1, visit_id


@pytest.fixture
def fresh(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A factory of fresh copies of the template (one per hypothesis example)."""

    def make() -> World:
        return _copy(template, tmp_path_factory.mktemp("example"))

    yield make


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(operation, max_size=25))
def test_any_order_of_exchanges_converges(fresh: Any, ops: list[tuple[str, Any, int]]) -> None:
    world = fresh()
    for op in ops:
        apply(world, op)
    full_round(world)
    assert_converged(world)


def test_passes_issued_before_enrolment_reach_the_gates_with_their_kind(template: Path) -> None:
    """The example that failed first: a pass row's own ``kind`` column (resident, staff)
    was overwritten by the change-set row's ``kind`` ("pass"), so a gate joining an
    office that had issued passes could not apply them (CHECK constraint failed)."""
    sql = "SELECT serial, kind, status, token FROM passes"
    office = set(_query(template / "office", sql))
    assert {kind for _, kind, _, _ in office} == {"resident", "staff"}
    for gate in GATES:
        assert set(_query(template / gate, sql)) == office


def test_a_round_of_everything_converges(fresh: Any) -> None:
    """One explicit example with every operation, in a bad order."""
    world = fresh()
    ops: list[tuple[str, Any, int]] = [
        ("passage", "north", 1),
        ("export", ("north", "south"), 0),
        ("office", "add_resident", 0),
        ("office", "issue_passes", 0),
        ("visitor", "south", 3),
        ("passage", "south", 3),
        ("export", ("south", "north"), 0),
        ("office", "revoke_pass", 1),
        ("office", "add_hold", 0),
        ("export", ("office", "north"), 0),
        ("office", "lift_hold", 0),
        ("export", ("north", "office"), 0),
        ("import", "office", 3),
        ("import", "north", 2),
        ("import", "north", 0),
        ("import", "south", 0),
        ("import", "south", 1),
        ("import", "office", 3),
    ]
    for op in ops:
        apply(world, op)
    full_round(world)
    assert_converged(world)
    found = state(world.home("south"))
    assert len(found["visits"]) == 2 and len(found["visitors"]) == 1
    assert {s for _, s in found["passes"]} == {"active", "revoked"}
    codes = "SELECT serial, kind, token FROM passes WHERE visitor_id IS NOT NULL"
    assert len(_query(world.home("office"), codes)) == 1
    assert {row[1] for row in _query(world.home("north"), codes)} == {"visitor"}
    assert len(found["holds"]) == 1 and all(lifted for _, lifted in found["holds"])
