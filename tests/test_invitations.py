"""Invitations sent ahead: the store (a code valid on one local day, a past day refused,
withdrawal revokes), the gate's verdicts on it, and `kiosk visitors invite |
invitations | withdraw`."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from kiosk.core.errors import UserError
from kiosk.core.keys import load_private_key
from kiosk.core.rules import DirectionMode, Encounter, Level, Reason, Source
from kiosk.gate import Gate
from kiosk.home import Home
from kiosk.store.db import connect
from kiosk.store.invitations import (
    check_invitation,
    get_invitation,
    invite,
    list_invitations,
    validity_day,
    withdraw,
)
from kiosk.store.visitors import VisitorForm
from tests.fakes import FakeClock
from tests.helpers import make_checkpoint, run, run_json

DAY = date(2026, 5, 1)
FORM = VisitorForm(name="Zhao Liu", phone="13800139999", destination="3-2-501", reason="family")


@pytest.fixture
def shanghai(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Local time is China's (UTC+8) for the test."""
    monkeypatch.setenv("TZ", "Asia/Shanghai")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def office(home_dir: Path) -> Path:
    make_checkpoint(home_dir)
    return home_dir


def _invite(home: Path, day: date = DAY, *, now: datetime | None = None) -> dict:
    db = connect(home / "gatepass.db")
    try:
        visitor, problems = check_invitation(db, FORM, day, today=day - timedelta(days=1))
        assert visitor is not None, problems
        key = load_private_key(Home(home).private_key, None)
        when = now or datetime(2026, 4, 29, 9, 0, tzinfo=UTC)
        return invite(db, key, visitor, day, now=when, actor="test")
    finally:
        db.close()


def _scan(home: Path, token: str, at: datetime) -> tuple[Level, Reason]:
    clock = FakeClock(at)
    with Gate(Home(home), clock=clock, monotonic=clock.monotonic, mode=DirectionMode.IN) as gate:
        decision = gate.handle(Encounter(Source.SCANNER, token))
    assert decision is not None
    return decision.verdict.level, decision.verdict.reason


def test_the_code_is_valid_on_its_local_day_only(office: Path, shanghai: None) -> None:
    start, end = validity_day(DAY)
    assert start == datetime(2026, 4, 30, 16, 0, tzinfo=UTC)  # 00:00 in Shanghai
    assert end == datetime(2026, 5, 1, 16, 0, tzinfo=UTC)
    row = _invite(office)
    assert row["invited_for"] == "2026-05-01" and row["status"] == "active"
    assert row["valid_from"].startswith("2026-04-30T16:00:00")
    assert row["valid_until"].startswith("2026-05-01T16:00:00")
    token = str(row["token"])
    # the evening before (beyond the gate's 5 minutes of clock skew): not yet valid
    assert _scan(office, token, start - timedelta(minutes=6)) == (
        Level.DENY,
        Reason.NOT_YET_VALID,
    )
    # on the day, first thing and last thing: a visitor code, CHECK and the temperature
    assert _scan(office, token, start) == (Level.CHECK, Reason.VISITOR_CODE)
    assert _scan(office, token, end - timedelta(seconds=1)) == (Level.CHECK, Reason.VISITOR_CODE)
    # midnight at the end of the day: expired
    assert _scan(office, token, end)[1] is Reason.EXPIRED


def test_a_past_day_is_refused_with_a_clear_message(office: Path) -> None:
    db = connect(office / "gatepass.db")
    try:
        today = date(2026, 5, 2)
        visitor, problems = check_invitation(db, FORM, DAY, today=today)
        assert visitor is None
        assert problems == {
            "date": "2026-05-01 has passed: an invitation is for today or a later day."
        }
        visitor, problems = check_invitation(db, FORM, today, today=today)  # today is fine
        assert visitor is not None and problems == {}
        _visitor, problems = check_invitation(db, VisitorForm("", "1", "9-9-9"), today, today=today)
        assert set(problems) == {"name", "phone", "destination"}  # the visitor form's checks
    finally:
        db.close()


def test_withdrawing_revokes_the_code(office: Path, shanghai: None) -> None:
    row = _invite(office)
    db = connect(office / "gatepass.db")
    try:
        withdrawn = withdraw(db, str(row["serial"]), now=datetime(2026, 4, 30, 1, tzinfo=UTC))
        assert withdrawn["withdrawn_at"] and withdrawn["status"] == "revoked"
        with pytest.raises(UserError, match="already withdrawn"):
            withdraw(db, str(row["id"]), now=datetime(2026, 4, 30, 2, tzinfo=UTC))
        with pytest.raises(UserError, match="No invitation"):
            withdraw(db, "NOPE-NOPE", now=datetime(2026, 4, 30, 2, tzinfo=UTC))
        assert [r["id"] for r in list_invitations(db, day=DAY)] == [row["id"]]
        audit = [r[0] for r in db.execute("SELECT action FROM audit ORDER BY at")]
        assert audit[-2:] == ["visitors.invite", "visitors.withdraw"]
    finally:
        db.close()
    start, _end = validity_day(DAY)
    assert _scan(office, str(row["token"]), start + timedelta(hours=9)) == (
        Level.DENY,
        Reason.REVOKED,
    )


def test_a_registration_is_no_invitation(office: Path) -> None:
    run(office, "visitors", "register", "--name", "Qian Qi", "--phone", "13900001111",
        "--destination", "3-2-502", "--temperature", "36.5")  # fmt: skip
    db = connect(office / "gatepass.db")
    try:
        assert list_invitations(db) == []
        visitor_id = next(db.query("SELECT id FROM visitors"))["id"]
        assert get_invitation(db, visitor_id) is None
        with pytest.raises(UserError, match="No invitation"):
            withdraw(db, visitor_id, now=datetime.now(UTC))
    finally:
        db.close()


# --- the commands -------------------------------------------------------------------


def test_cli_invite_list_withdraw(office: Path, tmp_path: Path) -> None:
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    image = tmp_path / "code.png"
    made = run_json(office, "visitors", "invite", "--name", "Zhao Liu", "--phone",
                    "13800139999", "--destination", "3-2-501", "--date", tomorrow,
                    "--reason", "doctor", "--out", str(image), "--json")  # fmt: skip
    assert image.read_bytes().startswith(b"\x89PNG")
    assert made["image"] == str(image) and made["date"] == tomorrow
    assert made["phone"] == "138****9999" and made["state"] == "expected"
    listed = run_json(office, "visitors", "invitations", "--json")
    assert [(r["name"], r["phone"], r["code_serial"]) for r in listed] == [
        ("Zhao Liu", "138****9999", made["code_serial"])
    ]
    text = run(office, "visitors", "invitations").output
    assert made["code_serial"] in text and "13800139999" not in text and "Expected" in text
    assert run_json(office, "visitors", "invitations", "--date", "2020-01-01", "--json") == []
    out = run(office, "visitors", "withdraw", made["code_serial"]).output
    assert f"code {made['code_serial']} revoked" in out
    assert run_json(office, "visitors", "invitations", "--json")[0]["state"] == "withdrawn"
    serial = made["code_serial"]
    passes = {p["serial"]: p for p in run_json(office, "passes", "list", "--json")}
    assert passes[serial]["status"] == "revoked"
    again = run(office, "visitors", "withdraw", serial, ok=False)
    assert again.exit_code == 2 and "already withdrawn" in again.output


def test_cli_invite_refusals_are_sentences(office: Path, tmp_path: Path) -> None:
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    args = ["visitors", "invite", "--name", "Zhao Liu", "--phone", "13800139999",
            "--destination", "3-2-501", "--out", str(tmp_path / "x.png")]  # fmt: skip
    past = run(office, *args, "--date", yesterday, ok=False)
    assert past.exit_code == 2 and "has passed" in past.output and "Traceback" not in past.output
    bad = run(office, *args, "--date", "1 May", ok=False)
    assert bad.exit_code == 2 and "YYYY-MM-DD" in bad.output
    assert not (tmp_path / "x.png").exists()


def test_cli_invite_default_image_name(office: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    made = run_json(office, "visitors", "invite", "--name", "Zhao Liu", "--phone",
                    "13800139999", "--destination", "3-2-501", "--date",
                    date.today().isoformat(), "--json")  # fmt: skip
    assert (tmp_path / f"invitation-{made['code_serial']}.png").exists()


def test_the_purge_keeps_an_invitation_until_its_day_is_old(office: Path) -> None:
    """An invitation made long ahead is not an old record before its day has come."""
    from kiosk.store.retention import purge

    made = _invite(office, DAY, now=datetime(2026, 1, 1, 9, tzinfo=UTC))  # four months ahead
    db = connect(office / "gatepass.db")
    try:
        purge(db, older_than_days=30, now=datetime(2026, 4, 30, 9, tzinfo=UTC), gap_s=0)
        assert get_invitation(db, str(made["id"])) is not None
        purge(db, older_than_days=30, now=datetime(2026, 6, 15, 9, tzinfo=UTC), gap_s=0)
        assert get_invitation(db, str(made["id"])) is None
    finally:
        db.close()
