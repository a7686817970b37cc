"""The street office's daily report off the hub (kiosk.hub.report, issue 14): the
figures per compound against a real PostgreSQL, the files ``kiosk hub report daily``
writes (.xlsx, .json, .pdf), and ``GET /v1/reports/daily`` of a real hub process with
an account's token, refused outside the account's area."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from kiosk.core.errors import UserError
from kiosk.core.hubwire import HubRefused, Refusal
from kiosk.core.ids import uuid7
from kiosk.hub import report, store
from kiosk.hub.report_files import write_report
from tests.helpers import run
from tests.hub.processes import ROOT

DAY = date(2026, 3, 3)
SHANGHAI = report.REPORT_TZ
WANGJING = "朝阳区/望京街道"
HUAJIADI = f"{WANGJING}/花家地社区"
NANHU = f"{WANGJING}/南湖社区"
JIANGTAI = "朝阳区/酒仙桥街道/将台社区"  # another sub-district


def at(hour: int, minute: int = 0, day: date = DAY) -> datetime:
    """A moment of ``day`` in the hub's local time (the report's day)."""
    return datetime.combine(day, time(hour, minute), SHANGHAI)


DAY_END = at(0, day=DAY + timedelta(days=1))


def new_id() -> uuid.UUID:
    return uuid.UUID(uuid7())


@dataclass
class Place:
    """A compound made in the hub's database, to add rows to."""

    conn: psycopg.Connection
    id: uuid.UUID
    gate: uuid.UUID = field(default_factory=new_id)

    def passage(
        self,
        when: datetime,
        *,
        direction: str = "in",
        level: str = "pass",
        reason: str = "ok",
        temperature: float | None = None,
        visitor: uuid.UUID | None = None,
        corrects: uuid.UUID | None = None,
    ) -> uuid.UUID:
        passage = new_id()
        self.conn.execute(
            "INSERT INTO passages (id, at, compound, checkpoint, direction, subject_kind, "
            "level, reason, temperature, visitor_id, resident_id, corrects) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [
                passage,
                when,
                self.id,
                self.gate,
                direction,
                "visitor" if visitor else "resident",
                level,
                reason,
                temperature,
                visitor,
                None if visitor else "r-1",
                corrects,
            ],
        )
        return passage

    def hold(
        self,
        until: datetime,
        *,
        created: datetime | None = None,
        lifted: datetime | None = None,
    ) -> None:
        self.conn.execute(
            "INSERT INTO holds (id, compound, household_id, until, lifted_at, created_at) "
            "VALUES (%s, %s, %s, %s, %s, %s)",
            [
                str(new_id()),
                self.id,
                "h-1",
                until,
                lifted,
                created or at(0, day=DAY - timedelta(1)),
            ],
        )

    def gate_node(self, name: str, seen: datetime | None, removed: datetime | None = None) -> None:
        self.conn.execute(
            "INSERT INTO nodes (id, compound, role, name, last_seen, removed_at) "
            "VALUES (%s, %s, 'gate', %s, %s, %s)",
            [new_id(), self.id, name, seen, removed],
        )


def compound(
    conn: psycopg.Connection, community: str, name: str, rules: dict[str, Any] | None = None
) -> Place:
    place = Place(conn, new_id())
    conn.execute(
        "INSERT INTO compounds (id, community, name, rules) VALUES (%s, %s, %s, %s)",
        [place.id, store.area_path(conn, community, create=True), name, json.dumps(rules or {})],
    )
    return place


def seed(dsn: str) -> dict[str, Place]:
    """Three compounds: two of 望京街道 (花家地 with its own fever threshold, 37.5; 南湖
    with the default, 37.3) and one of another sub-district, with passages around the
    day, corrections, holds and gates."""
    conn = psycopg.connect(dsn, autocommit=True)
    with conn.transaction():
        store.Partitions().ensure(conn, [DAY + timedelta(days=d) for d in range(-3, 3)])
    with conn.transaction():
        a = compound(conn, HUAJIADI, "幸福里", {"fever_threshold": 37.5})
        b = compound(conn, NANHU, "南湖东园")
        c = compound(conn, JIANGTAI, "将台西路小区")

        # 幸福里: v1 in and out; v2 in with a fever (37.5 here) and still inside at the
        # day's end (overstaying); v3 in late (inside under four hours); a resident at
        # 37.4 (no fever at this compound); a denial; a passage voided by a correction;
        # v4 in, corrected to out (counts once, as the correction).
        v1, v2, v3, v4 = new_id(), new_id(), new_id(), new_id()
        a.passage(at(9), visitor=v1, temperature=36.5)
        a.passage(at(10), visitor=v1, direction="out")
        a.passage(at(10, 30), visitor=v2, temperature=37.5)
        a.passage(at(22), visitor=v3)
        a.passage(at(8), temperature=37.4)
        a.passage(at(11), level="deny", reason="revoked")
        mistaken = a.passage(at(12))
        a.passage(at(12), reason="void", corrects=mistaken)
        wrong = a.passage(at(7), visitor=v4)
        a.passage(at(7), visitor=v4, direction="out", reason="wrong_direction", corrects=wrong)
        # Outside the day, on both sides (its UTC day is the report day's, though).
        a.passage(at(23, 30, DAY - timedelta(days=1)), temperature=39.0)
        a.passage(DAY_END + timedelta(minutes=30), level="deny", reason="revoked")
        a.hold(DAY_END + timedelta(days=5))  # on hold
        a.hold(DAY_END + timedelta(days=5), lifted=at(15))  # lifted that day
        a.hold(at(18))  # over that evening
        a.hold(DAY_END + timedelta(days=5), created=DAY_END + timedelta(hours=1))  # later
        a.gate_node("北门", DAY_END - timedelta(hours=1))
        a.gate_node("南门", DAY_END - timedelta(hours=30))
        a.gate_node("西门", None)
        a.gate_node("旧门", None, removed=at(9))

        # 南湖东园: a reading of exactly 37.3 is a fever at the default threshold.
        b.passage(at(9), temperature=37.3)
        b.passage(at(9, 5), temperature=37.2)
        b.hold(DAY_END + timedelta(days=1))
        b.gate_node("大门", DAY_END - timedelta(hours=2))

        # Another sub-district's compound: never in 望京街道's report.
        for hour in range(6, 12):
            c.passage(at(hour), temperature=38.5, visitor=new_id())
        c.hold(DAY_END + timedelta(days=1))
        c.gate_node("东门", None)
    conn.close()
    return {"a": a, "b": b, "c": c}


def wangjing_report(dsn: str, scope: str = WANGJING) -> report.DailyReport:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return report.daily(conn, store.area_path(conn, scope, create=False), DAY)


def test_figures_per_compound(hub_dsn: str) -> None:
    places = seed(hub_dsn)
    found = wangjing_report(hub_dsn)
    assert found.area == WANGJING
    assert found.day == DAY
    by_name = {c.name: c for c in found.compounds}
    assert set(by_name) == {"幸福里", "南湖东园"}  # not 将台西路小区 (another sub-district)
    a = by_name["幸福里"]
    assert (a.compound, a.community) == (str(places["a"].id), "花家地社区")
    assert (a.passages, a.visitors, a.fevers, a.denials) == (7, 4, 1, 1)
    assert (a.on_hold, a.overstaying, a.gates) == (1, 1, 3)
    assert sorted(a.gates_not_synced) == sorted(["南门", "西门"])
    b = by_name["南湖东园"]
    assert (b.passages, b.visitors, b.fevers, b.denials) == (2, 0, 1, 0)
    assert (b.on_hold, b.overstaying, b.gates, b.gates_not_synced) == (1, 0, 1, [])
    assert found.totals() == {
        "passages": 9,
        "visitors": 4,
        "fevers": 2,
        "denials": 1,
        "on_hold": 2,
        "overstaying": 1,
        "gates_not_synced": 2,
    }
    community = wangjing_report(hub_dsn, NANHU)
    assert [c.name for c in community.compounds] == ["南湖东园"]
    other = wangjing_report(hub_dsn, "朝阳区/酒仙桥街道")
    assert [(c.name, c.passages, c.fevers, c.visitors) for c in other.compounds] == [
        ("将台西路小区", 6, 6, 6)
    ]


def test_a_day_not_over_counts_up_to_now(hub_dsn: str) -> None:
    """For today, "at the day's end" is now: a hold that ends tonight still holds."""
    places = seed(hub_dsn)
    with psycopg.connect(hub_dsn, autocommit=True) as conn:
        area = store.area_path(conn, WANGJING, create=False)
        found = report.daily(conn, area, DAY, now=at(17))
        by_name = {c.name: c for c in found.compounds}
        # 幸福里 at 17:00: the hold till 18:00 holds, the one lifted at 15:00 not.
        assert by_name["幸福里"].on_hold == 2
        # v2 in at 10:30, inside six and a half hours: overstaying; v3 not come yet.
        assert by_name["幸福里"].overstaying == 1
        assert str(places["a"].id) == by_name["幸福里"].compound


def test_files(hub_dsn: str, tmp_path: Path) -> None:
    import openpyxl

    seed(hub_dsn)
    found = wangjing_report(hub_dsn)
    xlsx = tmp_path / "daily.xlsx"
    write_report(found, xlsx, lang="zh_CN")
    book = openpyxl.load_workbook(xlsx, read_only=True)
    rows = [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
    book.close()  # a read-only workbook keeps its file open until closed
    assert len(rows[0]) == 10
    body = {r[0]: r for r in rows[1:4]}
    assert body["幸福里"][1:9] == ["花家地社区", 7, 4, 1, 1, 1, 1, 3]
    assert sorted(str(body["幸福里"][9]).split("、")) == sorted(["南门", "西门"])
    assert body["南湖东园"][2:9] == [2, 0, 1, 0, 1, 0, 1]
    totals = rows[3]
    assert totals[2:10] == [9, 4, 2, 1, 2, 1, 4, 2]
    assert any(WANGJING in str(r[0]) and "2026-03-03" in str(r[0]) for r in rows[4:] if r)

    english = tmp_path / "daily-en.xlsx"
    write_report(found, english, lang="en")
    header = next(openpyxl.load_workbook(english).worksheets[0].iter_rows(values_only=True))
    assert header[0] == "Compound" and header[-1] == "Gates not synced"

    as_json = tmp_path / "daily.json"
    write_report(found, as_json)
    text = as_json.read_text(encoding="utf-8")
    assert "幸福里" in text  # not \\u escapes
    assert json.loads(text) == json.loads(json.dumps(found.as_json()))

    with pytest.raises(UserError, match=r"\.csv"):
        write_report(found, tmp_path / "daily.csv")
    assert not (tmp_path / "daily.csv").exists()


def test_cli_writes_each_format(hub_dsn: str, tmp_path: Path) -> None:
    import openpyxl

    seed(hub_dsn)
    args = ["hub", "report", "daily", "--db", hub_dsn, "--scope", WANGJING, "--day", "2026-03-03"]
    home = tmp_path / "home"
    xlsx, pdf, as_json = tmp_path / "r.xlsx", tmp_path / "r.pdf", tmp_path / "r.json"
    assert "2" in run(home, *args, "--out", str(xlsx)).output
    rows = list(openpyxl.load_workbook(xlsx).worksheets[0].iter_rows(values_only=True))
    assert rows[0][0] in ("小区", "Compound")  # the paper's language (Chinese once translated)
    assert {rows[1][0], rows[2][0]} == {"幸福里", "南湖东园"}

    run(home, *args, "--out", str(as_json))
    figures = json.loads(as_json.read_text(encoding="utf-8"))
    assert figures["area"] == WANGJING and figures["day"] == "2026-03-03"
    assert figures["totals"]["passages"] == 9
    assert len(figures["compounds"]) == 2

    printed = json.loads(run(home, *args).stdout)
    assert printed["totals"] == figures["totals"]

    run(home, *args, "--out", str(pdf), "--lang", "en")
    assert pdf.read_bytes().startswith(b"%PDF")
    if shutil.which("pdftotext") is not None:
        text = subprocess.run(
            ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
        ).stdout
        for expected in (
            "Daily report of the compounds",
            WANGJING,
            "2026-03-03",
            "幸福里",
            "南湖东园",
            "花家地社区",
            "Gates not synced",
            "Total",
        ):
            assert expected in text, (expected, text)
        assert "将台西路小区" not in text
    zh = tmp_path / "r-zh.pdf"
    run(home, *args, "--out", str(zh))
    if shutil.which("pdffonts") is not None:
        fonts = subprocess.run(["pdffonts", str(zh)], capture_output=True, text=True).stdout
        assert "yes" in fonts  # the CJK font embedded

    refused = run(home, *args, "--out", str(tmp_path / "r.docx"), ok=False)
    assert refused.exit_code != 0
    assert ".docx" in refused.output
    assert not (tmp_path / "r.docx").exists()


@pytest.mark.slow
def test_api_answers_within_the_accounts_area(hub_dsn: str, start_hub: Any, tmp_path: Path) -> None:
    import httpx

    seed(hub_dsn)
    with psycopg.connect(hub_dsn, autocommit=True) as conn:
        token = store.add_account(conn, "望京街道办", WANGJING)
    hub = start_hub()
    with httpx.Client(base_url=hub.url, verify=False, timeout=30) as client:

        def daily(scope: str, bearer: str = token) -> httpx.Response:
            return client.get(
                "/v1/reports/daily",
                params={"scope": scope, "day": "2026-03-03"},
                headers={"Authorization": f"Bearer {bearer}"},
            )

        own = daily(WANGJING)
        assert own.status_code == 200, own.text
        body = own.json()
        assert body["area"] == WANGJING
        assert {c["name"] for c in body["compounds"]} == {"幸福里", "南湖东园"}
        assert body["totals"]["fevers"] == 2
        assert body == json.loads(json.dumps(wangjing_report(hub_dsn).as_json())) | {
            "made_at": body["made_at"]
        }

        own_default = daily("")  # no scope: the account's own area
        assert own_default.status_code == 200
        assert own_default.json()["area"] == WANGJING

        sub = daily(NANHU)
        assert sub.status_code == 200, sub.text
        assert [c["name"] for c in sub.json()["compounds"]] == ["南湖东园"]

        for scope in ("朝阳区/酒仙桥街道", JIANGTAI, "朝阳区", "朝阳区/无此街道"):
            refused = daily(scope)
            assert refused.status_code == 403, (scope, refused.text)
            assert refused.json()["refused"] == "scope"

        bad = daily(WANGJING, bearer="not-a-token")
        assert (bad.status_code, bad.json()["refused"]) == (401, "account")
        none = client.get("/v1/reports/daily", params={"scope": WANGJING, "day": "2026-03-03"})
        assert none.status_code == 401

        # revoked with the CLI: its token is refused from the next request on, and only it
        home, db = tmp_path / "home", ("--db", hub_dsn)
        other = run(home, "hub", "account", *db, "--area", NANHU, "--name", "望京街道办")
        other_token = other.output.strip().rsplit(" ", 1)[-1]
        both = json.loads(run(home, "hub", "accounts", *db, "--json").stdout)
        assert [a["area"] for a in both] == [NANHU, WANGJING]
        twice = run(home, "hub", "revoke-account", *db, "望京街道办", ok=False)
        assert twice.exit_code != 0 and "2" in twice.output
        done = run(home, "hub", "revoke-account", *db, both[1]["id"][:13])
        assert WANGJING in done.output
        gone = daily(WANGJING)
        assert (gone.status_code, gone.json()["refused"]) == (401, "account")
        assert daily(NANHU, bearer=other_token).status_code == 200
        listed = run(home, "hub", "accounts", *db).output
        assert listed.count("望京街道办") == 2 and "revoked" in listed


def test_account_made_by_the_cli_reads_its_area(hub_dsn: str, tmp_path: Path) -> None:
    """``kiosk hub account`` makes the token the API takes (checked here without a
    server: the same functions the endpoint calls)."""
    seed(hub_dsn)
    shown = run(
        tmp_path / "home",
        "hub",
        "account",
        "--db",
        hub_dsn,
        "--area",
        WANGJING,
        "--name",
        "望京街道办",
    ).output
    token = shown.strip().rsplit(" ", 1)[-1]
    with psycopg.connect(hub_dsn, autocommit=True) as conn:
        account = store.account_of(conn, token)
        area = report.scope_area(conn, NANHU, account)
        assert [c.name for c in report.daily(conn, area, DAY).compounds] == ["南湖东园"]
        with pytest.raises(HubRefused) as refused:
            report.scope_area(conn, JIANGTAI, account)
        assert refused.value.reason is Refusal.SCOPE


def test_the_hub_loads_no_qt_but_for_a_pdf(hub_dsn: str, tmp_path: Path) -> None:
    """A hub server never loads Qt: the report's files but the PDF are written without
    it (the import-linter contract ``hub`` lets only the PDF reach kiosk.ui)."""
    import sys

    seed(hub_dsn)
    code = (
        "import sys, psycopg\n"
        "from datetime import date\n"
        "from pathlib import Path\n"
        "import kiosk.hub.app\n"
        "from kiosk.hub import report, store\n"
        "from kiosk.hub.report_files import write_report\n"
        f"conn = psycopg.connect({hub_dsn!r}, autocommit=True)\n"
        f"found = report.daily(conn, store.area_path(conn, {WANGJING!r}, create=False), "
        "date(2026, 3, 3))\n"
        f"write_report(found, Path({str(tmp_path / 'r.xlsx')!r}))\n"
        f"write_report(found, Path({str(tmp_path / 'r.json')!r}))\n"
        "print(sorted(m for m in sys.modules if m.startswith(('PySide6', 'kiosk.ui'))))\n"
    )
    shown = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    assert shown.strip() == "[]"
    assert (tmp_path / "r.xlsx").exists() and (tmp_path / "r.json").exists()
