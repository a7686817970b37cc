from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import pytest
import zxingcpp

from kiosk.core.keys import key_id_of, load_private_key
from kiosk.core.passes import PassClaims, PassKind, sign_pass
from tests.helpers import make_checkpoint, run, run_json


def test_issue_list_verify(home_dir: Path) -> None:
    make_checkpoint(home_dir, residents=3)
    assert run_json(home_dir, "passes", "issue", "--all", "--json")["skipped"] == 0
    again = run_json(home_dir, "passes", "issue", "--all", "--json")
    assert again == {"issued": [], "skipped": 3}  # idempotent
    rows = run_json(home_dir, "passes", "list", "--json")
    assert len(rows) == 3
    assert {r["kind"] for r in rows} == {"resident", "staff"}
    for r in rows:
        assert set(r) >= {
            "serial",
            "holder",
            "kind",
            "status",
            "valid_from",
            "valid_until",
            "token",
        }
        verdict = run_json(home_dir, "verify", r["token"], "--json")
        assert verdict["status"] == "valid"
        assert verdict["serial"] == r["serial"]
        assert verdict["holder"] == r["holder"]
        # no personal data in the token
        assert r["holder"] not in r["token"]


def test_reissue_revokes_old(home_dir: Path) -> None:
    make_checkpoint(home_dir, residents=1)
    run(home_dir, "passes", "issue", "--all")
    old = run_json(home_dir, "passes", "list", "--json")[0]
    run(home_dir, "passes", "issue", "--all", "--reissue")
    rows = {r["serial"]: r for r in run_json(home_dir, "passes", "list", "--json")}
    assert rows[old["serial"]]["status"] == "revoked"
    result = run(home_dir, "verify", old["token"], "--json", ok=False)
    assert json.loads(result.stdout)["status"] == "revoked"


def test_revoke(home_dir: Path) -> None:
    make_checkpoint(home_dir, residents=1)
    run(home_dir, "passes", "issue", "--all")
    row = run_json(home_dir, "passes", "list", "--json")[0]
    out = run(
        home_dir,
        "passes",
        "revoke",
        row["serial"].lower().replace("-", ""),
        "--reason",
        "lost card",
    ).stdout
    assert "revoked" in out
    result = run(home_dir, "verify", row["token"], "--json", ok=False)
    verdict = json.loads(result.stdout)
    assert (verdict["status"], verdict["detail"]) == ("revoked", "lost card")
    twice = run(home_dir, "passes", "revoke", row["serial"], "--reason", "x", ok=False)
    assert twice.exit_code == 2 and "already revoked" in twice.stderr
    unknown = run(home_dir, "passes", "revoke", "ZZZZ-ZZZZ", "--reason", "x", ok=False)
    assert unknown.exit_code == 2 and "No pass" in unknown.stderr


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("https://example.com/pay?id=1", "not_gatepass"),
        ("GP1:AAAA", "forged"),
        ("", "not_gatepass"),
    ],
)
def test_verify_rejects(home_dir: Path, text: str, status: str) -> None:
    run(home_dir, "init")
    result = run(home_dir, "verify", text, "--json", ok=False)
    assert result.exit_code == 1
    assert json.loads(result.stdout)["status"] == status


def test_verify_expired_and_not_yet_valid(home_dir: Path) -> None:
    run(home_dir, "init")
    key = load_private_key(home_dir / "keys" / "issuer.key", None)
    kid = key_id_of(key.public_key())
    now = datetime.now(UTC).replace(microsecond=0)
    old = sign_pass(
        PassClaims(
            kid, "0000-0001", PassKind.RESIDENT, now - timedelta(days=9), now - timedelta(days=1)
        ),
        key,
    )
    future = sign_pass(
        PassClaims(
            kid, "0000-0002", PassKind.RESIDENT, now + timedelta(days=1), now + timedelta(days=9)
        ),
        key,
    )
    assert (
        json.loads(run(home_dir, "verify", old, "--json", ok=False).stdout)["status"] == "expired"
    )
    assert (
        json.loads(run(home_dir, "verify", future, "--json", ok=False).stdout)["status"]
        == "not_yet_valid"
    )


def test_tampered_pass_is_forged(home_dir: Path) -> None:
    make_checkpoint(home_dir, residents=1)
    run(home_dir, "passes", "issue", "--all")
    token = run_json(home_dir, "passes", "list", "--json")[0]["token"]
    i = 40
    forged = token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1 :]
    result = run(home_dir, "verify", forged, "--json", ok=False)
    assert json.loads(result.stdout)["status"] == "forged"


def test_export_png_and_svg(home_dir: Path, tmp_path: Path) -> None:
    make_checkpoint(home_dir, residents=2)
    run(home_dir, "passes", "issue", "--all")
    rows = run_json(home_dir, "passes", "list", "--json")
    run(home_dir, "passes", "export", "--out", str(tmp_path / "png"))
    run(home_dir, "passes", "export", "--out", str(tmp_path / "svg"), "--format", "svg")
    for r in rows:
        image = cv2.imread(str(tmp_path / "png" / f"{r['serial']}.png"), cv2.IMREAD_GRAYSCALE)
        found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
        assert [c.text for c in found] == [r["token"]]
        assert (tmp_path / "svg" / f"{r['serial']}.svg").exists()


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="needs poppler-utils")
def test_cards_pdf_renders_and_every_qr_decodes(home_dir: Path, tmp_path: Path) -> None:
    make_checkpoint(home_dir, residents=9)  # two pages: 8 + 1
    run(home_dir, "passes", "issue", "--all")
    tokens = {r["token"] for r in run_json(home_dir, "passes", "list", "--json")}
    pdf = tmp_path / "cards.pdf"
    assert "on 2 page(s)" in run(home_dir, "passes", "cards", "--out", str(pdf)).stdout
    subprocess.run(["pdftoppm", "-r", "150", "-png", str(pdf), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page*.png"))
    assert len(pages) == 2
    seen = set()
    for page in pages:
        image = cv2.imread(str(page), cv2.IMREAD_GRAYSCALE)
        seen |= {
            c.text for c in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
        }
    assert seen == tokens
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True).stdout
    assert "yes" in fonts  # the fonts are embedded


def test_cards_with_no_passes(home_dir: Path, tmp_path: Path) -> None:
    run(home_dir, "init")
    result = run(home_dir, "passes", "cards", "--out", str(tmp_path / "c.pdf"), ok=False)
    assert result.exit_code != 0 and "no active passes" in result.stderr


def test_issue_needs_exactly_one_selection(home_dir: Path) -> None:
    run(home_dir, "init")
    result = run(home_dir, "passes", "issue", ok=False)
    assert result.exit_code == 2 and "--all" in result.stderr
    bad_days = run(home_dir, "passes", "issue", "--all", "--days", "0", ok=False)
    assert bad_days.exit_code == 2
