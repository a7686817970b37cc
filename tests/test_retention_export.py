"""Retention (records really gone from the file) and the street office's export."""

from __future__ import annotations

import csv
import shutil
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook

from kiosk.core.identity import make_id_number
from kiosk.core.rules import DirectionMode, Encounter, Source
from kiosk.gate import Gate
from kiosk.home import Home
from tests.fakes import FakeClock
from tests.helpers import make_checkpoint, raw_connect, run, run_json
from tests.sqlcipher_pages import plaintext

SECRET_ID = make_id_number("370203", date(1966, 6, 6), 66)


def visitor_visit(home: Path, when: datetime) -> None:
    """A visitor with a known ID number, registered and logged at ``when``."""
    from kiosk.store.visitors import VisitorForm, add_visitor, validate_visitor
    from kiosk.store.visits import visitor_holder

    with Gate(Home(home), clock=FakeClock(when), mode=DirectionMode.IN) as gate:
        valid, problems = validate_visitor(
            gate.db, VisitorForm("老访客", "13912345678", "3-2-501", SECRET_ID), today=date.today()
        )
        assert valid is not None, problems
        visitor_id = add_visitor(gate.db, valid, now=when, checkpoint_id=gate.checkpoint_id)
        gate.handle(
            Encounter(Source.REGISTER, None, 36.5), holder=visitor_holder(gate.db, visitor_id)
        )


def raw_bytes(home: Path) -> bytes:
    """The database's and its WAL's bytes as its key's holder would read them: every
    page decrypted, free pages and old frames included."""
    return plaintext(home)


def test_purge_removes_old_records_from_the_file(home_dir: Path) -> None:
    make_checkpoint(home_dir)
    old = datetime.now(UTC) - timedelta(days=40)
    visitor_visit(home_dir, old)
    run(home_dir, "passes", "issue", "--all")
    token = run_json(home_dir, "passes", "list", "--json")[0]["token"]
    with Gate(Home(home_dir)) as gate:  # a recent passage that must stay
        gate.handle(Encounter(Source.CAMERA, token))
    assert SECRET_ID.encode() in raw_bytes(home_dir)
    out = run(home_dir, "purge").stdout
    assert "1 visit(s) and 1 visitor(s)" in out
    with raw_connect(home_dir / "gatepass.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM visits").fetchone()[0] == 1
        assert conn.execute("SELECT COUNT(*) FROM visitors").fetchone()[0] == 0
        actions = [r[0] for r in conn.execute("SELECT action FROM audit")]
    assert "retention.purge" in actions
    assert SECRET_ID.encode() not in raw_bytes(home_dir)  # gone from the db and the WAL


def test_gate_purges_at_start_when_a_day_was_missed(home_dir: Path) -> None:
    make_checkpoint(home_dir)
    visitor_visit(home_dir, datetime.now(UTC) - timedelta(days=30))
    with Gate(Home(home_dir), retention_days=28):
        pass
    with raw_connect(home_dir / "gatepass.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM visits").fetchone()[0] == 0


def test_export_masks_by_default_and_audits_unmasked(home_dir: Path, tmp_path: Path) -> None:
    make_checkpoint(home_dir)
    visitor_visit(home_dir, datetime.now(UTC) - timedelta(hours=1))
    today = date.today().isoformat()
    masked = tmp_path / "v.csv"
    run(
        home_dir,
        "visits",
        "export",
        "--from",
        "2000-01-01",
        "--to",
        today,
        "--format",
        "csv",
        "--out",
        str(masked),
    )
    with masked.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0][0] == "Time" and len(rows) == 2
    assert SECRET_ID not in masked.read_text(encoding="utf-8-sig")
    assert "13912345678" not in masked.read_text(encoding="utf-8-sig")
    full = tmp_path / "v.xlsx"
    run(
        home_dir,
        "visits",
        "export",
        "--from",
        "2000-01-01",
        "--to",
        today,
        "--out",
        str(full),
        "--unmasked",
    )
    book = load_workbook(full, read_only=True)
    values = [list(r) for r in book.active.iter_rows(values_only=True)]
    book.close()
    assert SECRET_ID in values[1]
    with raw_connect(home_dir / "gatepass.db") as conn:
        assert (
            conn.execute(
                "SELECT COUNT(*) FROM audit WHERE action = 'visits.export.unmasked'"
            ).fetchone()[0]
            == 1
        )


def test_unmasked_export_needs_the_private_key(tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    run(gate, "init", "--public-only")
    result = run(
        gate,
        "visits",
        "export",
        "--from",
        "2000-01-01",
        "--to",
        "2000-01-02",
        "--out",
        str(tmp_path / "x.csv"),
        "--unmasked",
        ok=False,
    )
    assert result.exit_code == 2 and "private key" in result.stderr
    export = ["visits", "export", "--from", "2000-01-01", "--to", "2000-01-02",
              "--out", str(tmp_path / "x.csv"), "--unmasked"]  # fmt: skip
    (gate / "keys" / "issuer.key").touch()  # only there: refused
    result = run(gate, *export, ok=False)
    assert result.exit_code == 2 and "is not a private key file" in result.stderr
    office = tmp_path / "office"
    run(office, "init")  # a real issuer key, but not one this gate trusts
    (gate / "keys" / "issuer.key").write_bytes((office / "keys" / "issuer.key").read_bytes())
    result = run(gate, *export, ok=False)
    assert result.exit_code == 2 and "not this checkpoint's issuer key" in result.stderr
    assert not (tmp_path / "x.csv").exists()


def test_trace_between_times_and_contacts_of_a_person(home_dir: Path, tmp_path: Path) -> None:
    make_checkpoint(home_dir, residents=3)
    run(home_dir, "passes", "issue", "--all")
    passes = run_json(home_dir, "passes", "list", "--json")
    base = datetime.now(UTC) - timedelta(hours=5)
    clock = FakeClock(base)
    with Gate(Home(home_dir), clock=clock, mode=DirectionMode.IN) as gate:
        ids = []
        for minutes, p in ((0, passes[0]), (10, passes[1]), (120, passes[2])):
            clock.now = base + timedelta(minutes=minutes)
            decision = gate.handle(Encounter(Source.CAMERA, p["token"]))
            assert decision is not None and decision.verdict.holder is not None
            ids.append(decision.verdict.holder.id)
    everyone = run_json(
        home_dir,
        "trace",
        "--from",
        "2000-01-01",
        "--to",
        date.today().isoformat(),
        "--format",
        "json",
    )
    assert [r["name"] for r in everyone] == [p["holder"] for p in passes]
    assert all("*" in r["phone"] for r in everyone)  # masked
    near = run_json(home_dir, "trace", "--subject", ids[0], "--window", "15", "--format", "json")
    assert [r["name"] for r in near] == [passes[1]["holder"]]  # 10 min after; not 120
    out = tmp_path / "trace.xlsx"
    run(
        home_dir,
        "trace",
        "--subject",
        ids[0],
        "--window",
        "180",
        "--format",
        "xlsx",
        "--out",
        str(out),
    )
    book = load_workbook(out, read_only=True)
    assert len(list(book.active.iter_rows(values_only=True))) == 3  # header + 2 contacts
    book.close()
    nobody = run(home_dir, "trace", "--subject", "no-such-id", ok=False)
    assert nobody.exit_code == 2
    neither = run(home_dir, "trace", ok=False)
    assert neither.exit_code == 2


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils")
def test_daily_report_pdf(home_dir: Path, tmp_path: Path) -> None:
    make_checkpoint(home_dir, residents=2, name="幸福里 2号门")
    run(home_dir, "passes", "issue", "--all")
    passes = run_json(home_dir, "passes", "list", "--json")
    run(home_dir, "passes", "revoke", passes[1]["serial"], "--reason", "lost")
    with Gate(Home(home_dir), mode=DirectionMode.IN, guard="李师傅") as gate:
        gate.handle(Encounter(Source.CAMERA, passes[0]["token"]))
        gate.handle(Encounter(Source.CAMERA, passes[1]["token"]))
    visitor_visit(home_dir, datetime.now(UTC))
    out = tmp_path / "daily.pdf"
    assert "(1 page)" in run(home_dir, "report", "daily", "--out", str(out)).stdout
    text = subprocess.run(
        ["pdftotext", str(out), "-"], capture_output=True, text=True, check=True
    ).stdout
    for expected in (
        "卡口每日报表",
        "幸福里 2号门",
        "进：2",
        "已吊销的通行证",
        "李师傅",
        "每小时通行人次",
    ):
        assert expected in text, expected
    fonts = subprocess.run(["pdffonts", str(out)], capture_output=True, text=True).stdout
    assert "yes" in fonts
    english = tmp_path / "daily-en.pdf"
    run(home_dir, "report", "daily", "--out", str(english), "--lang", "en")
    assert (
        "Daily gate report"
        in subprocess.run(
            ["pdftotext", str(english), "-"], capture_output=True, text=True, check=True
        ).stdout
    )


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils")
def test_daily_report_stays_within_two_pages_and_keeps_every_fever(tmp_path: Path) -> None:
    """A bad day (300 stops, 5 fevers late in the day) still gives the street office
    at most two pages; every fever is listed and the rest are counted."""
    from kiosk.store.stats import DailySummary
    from kiosk.ui.printing.daily_report import write_daily_pdf

    summary = DailySummary(date(2026, 3, 3), "幸福里 2号门", denials={"revoked": 300})
    for i in range(300):
        summary.notable.append(
            {
                "time": f"{8 + i // 60:02d}:{i % 60:02d}",
                "reason": "revoked",
                "name": f"住户{i}",
                "household": "3-2-501",
                "id_number": "",
                "temperature": None,
            }
        )
    for i in range(5):
        summary.notable.append(
            {
                "time": f"23:0{i}",
                "reason": "fever",
                "name": f"发热{i}",
                "household": "5-1-301",
                "id_number": "",
                "temperature": 38.5,
            }
        )
    out = tmp_path / "bad-day.pdf"
    assert write_daily_pdf(summary, out, lang="en") <= 2
    text = subprocess.run(
        ["pdftotext", str(out), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert all(f"发热{i}" in text for i in range(5))
    assert "more; the visit log export lists them all" in text
    info = subprocess.run(["pdfinfo", str(out)], capture_output=True, text=True).stdout
    pages = [line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")]
    assert pages in (["1"], ["2"])  # what a viewer counts, not what we think we wrote


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="needs poppler-utils")
def test_daily_report_stays_inside_its_margins(tmp_path: Path) -> None:
    """Rendered as a viewer shows it, every mark of the report (the chart's axis
    included) lies inside the 18 mm side margins: nothing runs off the paper."""
    import cv2
    import numpy as np

    from kiosk.store.stats import DailySummary
    from kiosk.ui.printing.daily_report import write_daily_pdf

    summary = DailySummary(date(2026, 3, 3), "幸福里 2号门", passed_in=3, passed_out=2)
    summary.hourly_in[23] = 3
    out = tmp_path / "report.pdf"
    write_daily_pdf(summary, out, lang="en")
    subprocess.run(
        ["pdftoppm", "-r", "100", "-png", "-f", "1", "-l", "1", str(out), str(tmp_path / "page")],
        check=True,
    )
    image = cv2.imread(str(tmp_path / "page-1.png"), cv2.IMREAD_GRAYSCALE)
    columns = np.where((image < 200).any(axis=0))[0]
    mm = 210 / image.shape[1]
    assert columns.min() * mm > 16 and columns.max() * mm < 194


HOSTILE_NAME = '=HYPERLINK("http://x.example/?a","open")'
HOSTILE_PLATE = "@SUM(1)"
HOSTILE_GUARD = "-cmd|' /C calc'!A0"


def test_csv_export_neutralises_formulas(home_dir: Path, tmp_path: Path) -> None:
    """A name, plate or guard typed as a formula reaches the CSV as text: a ``'`` in
    front (OWASP); the temperature stays a number; the XLSX keeps the text as it is."""
    from kiosk.store.visitors import VisitorForm, add_visitor, validate_visitor
    from kiosk.store.visits import visitor_holder

    make_checkpoint(home_dir)
    when = datetime.now(UTC) - timedelta(hours=1)
    with Gate(Home(home_dir), clock=FakeClock(when), guard=HOSTILE_GUARD) as gate:
        valid, problems = validate_visitor(
            gate.db,
            VisitorForm(HOSTILE_NAME, "13912345678", "3-2-501", SECRET_ID),
            today=date.today(),
        )
        assert valid is not None, problems
        visitor_id = add_visitor(gate.db, valid, now=when, checkpoint_id=gate.checkpoint_id)
        gate.handle(
            Encounter(Source.REGISTER, None, 36.5),
            holder=visitor_holder(gate.db, visitor_id),
            plate=HOSTILE_PLATE,
        )
    out = {}
    for fmt in ("csv", "xlsx"):
        out[fmt] = tmp_path / f"v.{fmt}"
        run(
            home_dir,
            "visits",
            "export",
            "--from",
            "2000-01-01",
            "--to",
            date.today().isoformat(),
            "--format",
            fmt,
            "--out",
            str(out[fmt]),
        )
    with out["csv"].open(encoding="utf-8-sig", newline="") as fh:
        header, row = list(csv.reader(fh))
    cell = dict(zip(header, row, strict=True))
    assert cell["Name"] == "'" + HOSTILE_NAME
    assert cell["Plate"] == "'" + HOSTILE_PLATE
    assert cell["Guard"] == "'" + HOSTILE_GUARD
    assert cell["Temperature"] == "36.5"
    assert not any(value.startswith(("=", "+", "-", "@", "\t", "\r")) for value in row)
    book = load_workbook(out["xlsx"], read_only=True)
    values = [list(r) for r in book.active.iter_rows(values_only=True)]
    book.close()
    assert {HOSTILE_NAME, HOSTILE_PLATE, HOSTILE_GUARD} <= set(values[1])  # text cells there


def test_a_clock_far_ahead_purges_nothing_until_an_admin_says_so(
    home_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_checkpoint(home_dir)
    now = datetime.now(UTC)
    for hours in reversed(range(7)):  # in time order: a clock set back would be doubted
        visitor_visit(home_dir, now - timedelta(hours=hours + 1))
    ahead = now + timedelta(days=400)

    def visits() -> int:
        with raw_connect(home_dir / "gatepass.db") as conn:
            return int(conn.execute("SELECT COUNT(*) FROM visits").fetchone()[0])

    with Gate(Home(home_dir), clock=FakeClock(ahead), retention_days=28) as gate:
        assert gate.retention_held and "400 days after the newest record" in gate.retention_held
    assert visits() == 7
    # Held: a later start (say, visits written under the wrong clock since) purges nothing.
    with Gate(
        Home(home_dir), clock=FakeClock(ahead + timedelta(days=1)), retention_days=28
    ) as gate:
        assert gate.retention_held and "on hold" in gate.retention_held
    assert visits() == 7
    monkeypatch.setattr("kiosk.cli.purge.utcnow", lambda: ahead)
    refused = run(home_dir, "purge", ok=False)
    assert refused.exit_code == 2 and "--trust-clock" in refused.stderr
    assert visits() == 7
    out = run(home_dir, "purge", "--trust-clock").stdout
    assert "7 visit(s)" in out and visits() == 0
    with raw_connect(home_dir / "gatepass.db") as conn:
        actions = [r[0] for r in conn.execute("SELECT action FROM audit")]
        assert "retention.held" in actions
        assert conn.execute("SELECT COUNT(*) FROM meta WHERE key = 'purge_held'").fetchone()[0] == 0
    with Gate(Home(home_dir), clock=FakeClock(ahead), retention_days=28) as gate:
        assert gate.retention_held is None  # the admin trusted this clock


def test_a_purge_while_another_program_reads_says_so_and_is_finished_later(
    home_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kiosk.store.retention import PURGE_UNFINISHED

    monkeypatch.setenv("KIOSK_BUSY_TIMEOUT_MS", "200")
    make_checkpoint(home_dir)
    visitor_visit(home_dir, datetime.now(UTC) - timedelta(days=40))
    reader = raw_connect(home_dir / "gatepass.db")
    reader.execute("BEGIN")
    assert reader.execute("SELECT COUNT(*) FROM visits").fetchone()[0] == 1  # holds its pages
    out = run(home_dir, "purge").stdout
    assert "1 visit(s) and 1 visitor(s)" in out
    assert "leave the file when the other program closes the checkpoint" in out
    assert SECRET_ID.encode() in raw_bytes(home_dir)  # still there: said, not hidden
    with Gate(Home(home_dir), retention_days=28) as gate:  # the reader still reads
        assert gate.purge_unfinished
    reader.rollback()
    reader.close()
    with Gate(Home(home_dir), retention_days=28) as gate:  # the next start finishes it
        assert not gate.purge_unfinished
    assert SECRET_ID.encode() not in raw_bytes(home_dir)
    with raw_connect(home_dir / "gatepass.db") as conn:
        assert (
            conn.execute("SELECT 1 FROM meta WHERE key = ?", [PURGE_UNFINISHED]).fetchone() is None
        )


def test_a_running_gate_finishes_a_purge_once_the_reader_lets_go(
    home_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KIOSK_BUSY_TIMEOUT_MS", "200")
    make_checkpoint(home_dir)
    visitor_visit(home_dir, datetime.now(UTC) - timedelta(days=40))
    reader = raw_connect(home_dir / "gatepass.db")
    reader.execute("BEGIN")
    reader.execute("SELECT COUNT(*) FROM visits").fetchone()
    ticks = [0.0]
    with Gate(Home(home_dir), retention_days=28, monotonic=lambda: ticks[0]) as gate:
        assert gate.purge_unfinished  # its own start-up purge met the reader
        assert SECRET_ID.encode() in raw_bytes(home_dir)
        reader.rollback()
        reader.close()
        gate._purge_if_due()  # too soon: not tried again yet
        assert gate.purge_unfinished
        ticks[0] += 61
        gate._purge_if_due()  # the next purge check
        assert not gate.purge_unfinished
        assert SECRET_ID.encode() not in raw_bytes(home_dir)


def test_why_retention_is_held_is_told_in_the_language_of_whoever_reads_it(
    home_dir: Path,
) -> None:
    """A hold written by a gate in English (``kiosk gate`` in an English terminal) is
    told in Chinese by a window in Chinese: the audit keeps the message and its values."""
    from kiosk.core.i18n import set_language
    from kiosk.store.db import connect
    from kiosk.store.retention import held_why

    make_checkpoint(home_dir)
    visitor_visit(home_dir, datetime.now(UTC))
    set_language("en")
    try:
        with Gate(Home(home_dir), clock=FakeClock(datetime.now(UTC) - timedelta(hours=3))):
            pass  # started behind the newest passage: held
        db = connect(home_dir / "gatepass.db")
        try:
            assert "before the newest recorded passage" in held_why(db)
            set_language("zh_CN")
            assert "早于最新记录的通行" in held_why(db)
        finally:
            db.close()
    finally:
        set_language("en")  # as tests/conftest.py sets it
