"""Invitations travel with the compound's exchange: one made at the office (signed with
its issuer key) or at a gate (its gate key) scans at every gate as a visitor code, the
registration filled in; a withdrawal reaches them the same way (docs/invitations.md)."""

from __future__ import annotations

from datetime import date

from kiosk.core.rules import Level, Reason
from kiosk.store.db import connect
from kiosk.store.visitors import VisitorForm, validate_visitor
from kiosk.ui.dialogs.registration import returning_prefill
from tests.helpers import run, run_json
from tests.test_exchange import Compound, c, scan, template  # noqa: F401 (fixtures)


def _invite(home, name: str) -> dict:
    return run_json(home, "visitors", "invite", "--name", name, "--phone", "13800139999",
                    "--destination", "3-2-501", "--date", date.today().isoformat(),
                    "--out", str(home.parent / f"{name}.png"), "--json")  # fmt: skip


def test_an_office_invitation_scans_at_a_gate_and_its_withdrawal_follows(c: Compound) -> None:  # noqa: F811
    made = _invite(c.office, "Zhao Liu")
    c.round()
    assert scan(c.north, made["code"]) == (Level.CHECK, Reason.VISITOR_CODE)
    db = connect(c.north / "gatepass.db")
    try:
        prefill = returning_prefill(db, made["visitor_id"])
        assert prefill is not None
        assert prefill["invited_for"] == date.today().isoformat()
        assert prefill["destination"] == "3-2-501" and prefill["name"] == "Zhao Liu"
        assert prefill["phone"] is None and prefill["phone_masked"] == "138****9999"
        # the dialog's check of a registered visitor asks nothing the gate does not hold
        form = VisitorForm(
            name=prefill["name"], phone="", destination=prefill["destination_household_id"]
        )
        visitor, problems = validate_visitor(
            db, form, today=date.today(), id_required=True, registered=True
        )
        assert visitor is not None, problems
        listed = run_json(c.north, "visitors", "invitations", "--json")
        assert [(r["name"], r["phone"]) for r in listed] == [("Zhao Liu", "138****9999")]
    finally:
        db.close()
    refused = run(c.north, "visitors", "withdraw", made["code_serial"], ok=False)
    assert refused.exit_code == 2 and "made at office: withdraw it there" in refused.output
    run(c.office, "visitors", "withdraw", made["code_serial"])
    c.round()
    for gate in (c.north, c.south):
        assert scan(gate, made["code"]) == (Level.DENY, Reason.REVOKED)


def test_a_gate_invitation_scans_at_the_other_gate(c: Compound) -> None:  # noqa: F811
    made = _invite(c.north, "Qian Qi")
    assert scan(c.north, made["code"]) == (Level.CHECK, Reason.VISITOR_CODE)
    c.round()
    assert scan(c.south, made["code"]) == (Level.CHECK, Reason.VISITOR_CODE)
    run(c.north, "visitors", "withdraw", made["code_serial"])
    c.round()
    assert scan(c.south, made["code"]) == (Level.DENY, Reason.REVOKED)
    states = {
        r["name"]: r["state"] for r in run_json(c.office, "visitors", "invitations", "--json")
    }
    assert states == {"Qian Qi": "withdrawn"}


def test_the_migration_makes_the_outbox_triggers_again_for_the_same_role(c: Compound) -> None:  # noqa: F811
    """What 0006_invitations does at a compound member: the triggers made before the new
    columns (here: a stale one put back) are made again, the office's as the office's
    and a gate's as a gate's, and carry ``invited_for``."""
    from kiosk.store import outbox
    from kiosk.store.db import write

    for home, role in ((c.office, "office"), (c.north, "gate")):
        db = connect(home / "gatepass.db")
        try:
            with write(db):
                db.execute("DROP TRIGGER outbox_visitors_insert")
                db.execute(
                    "CREATE TRIGGER outbox_visitors_insert AFTER INSERT ON visitors "
                    "BEGIN SELECT 1; END"
                )
                assert outbox.reinstall(db)
                assert not outbox.reinstall(db)  # standing as they should
            names = set(outbox.installed(db))
            assert ("outbox_households_insert" in names) is (role == "office")
            sql = db.execute(
                "SELECT sql FROM sqlite_master WHERE name = 'outbox_visitors_insert'"
            ).fetchone()[0]
            assert "invited_for" in sql and "withdrawn_at" in sql
        finally:
            db.close()


def test_a_lone_checkpoint_gets_no_outbox_triggers(tmp_path) -> None:
    from kiosk.store import outbox
    from kiosk.store.db import write
    from tests.helpers import make_checkpoint

    make_checkpoint(tmp_path / "lone", residents=1)
    db = connect(tmp_path / "lone" / "gatepass.db")
    try:
        with write(db):
            assert not outbox.reinstall(db)
        assert outbox.installed(db) == []
    finally:
        db.close()
