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
