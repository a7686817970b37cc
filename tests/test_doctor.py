"""``kiosk doctor``: each check on a real home, camera, decoder and database, and the
command's words, JSON and exit code."""

from __future__ import annotations

import json
from collections import namedtuple
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest

from kiosk.core.clock import to_db
from kiosk.doctor import Status, checks, exit_code
from kiosk.doctor.findings import Finding
from kiosk.home import Home
from kiosk.settings import Settings
from kiosk.store.checkpoint import set_meta
from kiosk.store.db import connect, write
from kiosk.sync import node as sync_node
from tests.helpers import make_checkpoint, passage_row, run
from tests.test_damaged_db import damage_middle


def by_check(findings: list[Finding]) -> dict[str, Finding]:
    return {f.check: f for f in findings}


@pytest.fixture
def home(home_dir: Path) -> Home:
    make_checkpoint(home_dir, residents=2)
    return Home(home_dir)


@pytest.fixture
def pictures(tmp_path: Path) -> Path:
    """A camera that is a folder of pictures (the gate's own image source)."""
    folder = tmp_path / "camera"
    folder.mkdir()
    cv2.imwrite(str(folder / "wall.png"), np.full((480, 640, 3), 128, np.uint8))
    return folder


def test_a_whole_checkpoint_is_in_order(home: Home, pictures: Path) -> None:
    settings = Settings(camera=str(pictures))
    found = by_check(checks.run(home, settings, datetime.now(UTC), ask_hub=False))
    assert [
        found[c].status for c in ("camera", "decoder", "database", "keys", "disk", "clock")
    ] == [Status.OK] * 6
    assert found["exchange"].status == Status.SKIP  # a checkpoint on its own
    assert found["camera"].figures["frames"] > 0
    assert found["database"].figures["bytes"] > 0
    assert found["disk"].figures["days"] > 0


def test_a_camera_that_is_not_there_is_a_problem_with_advice(home: Home) -> None:
    finding = checks.camera(Settings(camera="9"), seconds=0.2)
    assert finding.status == Status.FAIL
    assert "Camera 9" in finding.message and finding.advice


@pytest.mark.parametrize("name", ["zxing", "opencv"])
def test_the_decoder_reads_a_code_drawn_here(name: str) -> None:
    finding = checks.decoder(Settings(decoder=name))
    assert finding.status == Status.OK and name in finding.message


def test_no_checkpoint_is_a_problem_and_the_rest_is_still_checked(
    tmp_path: Path, pictures: Path
) -> None:
    found = checks.run(
        Home(tmp_path / "none"), Settings(camera=str(pictures)), datetime.now(UTC), ask_hub=False
    )
    statuses = {f.check: f.status for f in found}
    assert statuses == {"camera": Status.OK, "decoder": Status.OK, "database": Status.FAIL}
    assert "kiosk init" in by_check(found)["database"].advice


def test_a_damaged_database_is_a_problem(home: Home) -> None:
    run(
        home.root,
        "residents",
        "add",
        "--building",
        "9",
        "--unit",
        "1",
        "--room",
        "101",
        "--name",
        "王五",
        "--phone",
        "13800139999",
    )
    damage_middle(home.database)
    finding, db = checks.database(home)
    if db is not None:
        db.close()
    assert finding.status == Status.FAIL
    assert "damaged" in finding.message.lower() or "backup" in finding.advice.lower()


def test_a_missing_or_foreign_key_is_a_problem(home: Home, tmp_path: Path) -> None:
    db = connect(home.database)
    try:
        assert checks.keys(home, db).status == Status.OK
        home.gate_key.rename(tmp_path / "gate.key")
        missing = checks.keys(home, db)
        assert missing.status == Status.FAIL and str(home.gate_key) in missing.message
        other = tmp_path / "other"
        make_checkpoint(other, residents=0)
        (other / "keys" / "gate.key").rename(home.gate_key)  # another checkpoint's key
        assert "trusts" in checks.keys(home, db).message
    finally:
        db.close()


Usage = namedtuple("Usage", "total used free")


def test_disk_space_is_counted_in_days_of_passages(
    home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = connect(home.database)
    try:
        plenty = checks.disk(home, db, datetime.now(UTC))
        assert plenty.status == Status.OK
        per_day = checks.BUSY_DAY_FLOOR * checks.PASSAGE_BYTES * checks.SPACE_FACTOR
        monkeypatch.setattr(checks.shutil, "disk_usage", lambda _p: Usage(0, 0, per_day * 30))
        month = checks.disk(home, db, datetime.now(UTC))
        assert month.status == Status.WARN and month.figures["days"] == 30
        monkeypatch.setattr(checks.shutil, "disk_usage", lambda _p: Usage(0, 0, per_day * 2))
        assert checks.disk(home, db, datetime.now(UTC)).status == Status.FAIL
    finally:
        db.close()


def test_a_clock_behind_the_newest_passage_is_a_problem(home: Home) -> None:
    db = connect(home.database)
    try:
        gate = db.execute("SELECT value FROM meta WHERE key = 'checkpoint_id'").fetchone()[0]
        resident = db.execute("SELECT id FROM residents LIMIT 1").fetchone()[0]
        row = passage_row(gate, "resident", resident, None, "in")
        with write(db):
            db.table("visits").insert(row)
        newest = datetime.fromisoformat(row["at"].replace("Z", "+00:00"))
        assert checks.clock(db, newest, ask_hub=False).status == Status.OK
        behind = checks.clock(db, newest - timedelta(hours=2), ask_hub=False)
        assert behind.status == Status.FAIL
        assert "before the newest recorded passage" in behind.message
    finally:
        db.close()


def test_a_hub_out_of_reach_is_judged_by_the_skew_of_the_last_sync(
    home: Home, tmp_path: Path
) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hub")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    db = connect(home.database)
    try:
        with write(db):
            set_meta(db, sync_node.URL, "https://127.0.0.1:9")  # nothing listens there
            set_meta(db, sync_node.CERT, cert.public_bytes(serialization.Encoding.PEM).decode())
            set_meta(db, sync_node.SKEW, "-300")
            set_meta(db, sync_node.LAST_OK, to_db(now - timedelta(minutes=3)))
        off = checks.clock(db, now)
        assert off.status == Status.WARN and "5 minutes" in off.message
        assert off.figures["hub_skew_from"] == "last_sync"
    finally:
        db.close()


def test_exit_codes() -> None:
    ok = Finding("a", Status.OK, "", "")
    warn = Finding("b", Status.WARN, "", "")
    fail = Finding("c", Status.FAIL, "", "")
    skip = Finding("d", Status.SKIP, "", "")
    assert [exit_code(f) for f in ([ok, skip], [ok, warn], [warn, fail, ok])] == [0, 1, 2]


def test_the_command_says_what_to_do_in_words_and_json(home: Home, pictures: Path) -> None:
    run(home.root, "settings", "set", "camera", str(pictures))
    done = run(home.root, "doctor", "--offline", "--json", ok=False)
    report = json.loads(done.stdout)
    assert (
        done.exit_code
        == report["exit_code"]
        == exit_code([Finding(f["check"], Status(f["status"]), "", "") for f in report["findings"]])
    )
    checks_seen = [f["check"] for f in report["findings"]]
    assert checks_seen == [
        "camera",
        "decoder",
        "database",
        "keys",
        "disk",
        "clock",
        "exchange",
        "backup",
        "sound",
        "fonts",
        "screen",
    ]
    assert report["exit_code"] in (0, 1)  # sound may be missing here; nothing fails
    text = run(home.root, "--lang", "zh_CN", "doctor", "--offline", "--no-camera", ok=False)
    assert "【未检查】摄像头" in text.stdout


def test_the_command_fails_with_advice_where_nothing_is_set_up(tmp_path: Path) -> None:
    done = run(tmp_path / "empty", "doctor", "--offline", "--no-camera", ok=False)
    assert done.exit_code == 2
    assert "kiosk init" in done.stdout


def test_the_backup_check_follows_the_last_backup(home: Home, tmp_path: Path) -> None:
    drive = tmp_path / "drive"
    db = connect(home.database)
    try:
        now = datetime.now(UTC)
        never = checks.backup(db, Settings(), now)
        assert never.status == Status.WARN and "kiosk backup" in never.advice
        missing = checks.backup(db, Settings(backup_folder=str(drive)), now)
        assert missing.status == Status.WARN and "plugged in" in missing.message
        drive.mkdir()
        run(home.root, "backup", "--to", str(drive))
        fresh = checks.backup(db, Settings(backup_folder=str(drive)), datetime.now(UTC))
        assert fresh.status == Status.OK and fresh.figures["days"] == 0
        late = checks.backup(db, Settings(backup_folder=str(drive)), now + timedelta(days=3))
        assert late.status == Status.WARN and "3.0 days" in late.message
    finally:
        db.close()
