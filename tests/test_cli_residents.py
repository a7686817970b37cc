"""``kiosk residents ...`` end to end, in-process (CliRunner)."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from kiosk.cli import cli
from kiosk.core.identity import make_id_number
from kiosk.store.db import connect

ID1 = make_id_number("110101", date(1990, 3, 7), 451)
ID2 = make_id_number("310104", date(1985, 6, 1), 22)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    folder = tmp_path / "home"
    folder.mkdir()
    connect(folder / "gatepass.db", create=True).close()
    return folder


def kiosk(home: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--home", str(home), "residents", *args])


def add(home: Path, *args: str) -> str:
    result = kiosk(home, "add", *args)
    assert result.exit_code == 0, result.output
    return result.stdout.split()[1]  # "Resident <id> added to <household>."


def listed(home: Path, *args: str) -> list[dict[str, object]]:
    result = kiosk(home, "list", "--json", *args)
    assert result.exit_code == 0, result.output
    rows: list[dict[str, object]] = json.loads(result.stdout)
    return rows


def test_add_and_list_masked(home: Path) -> None:
    rid = add(home, "--building", "3", "--unit", "2", "--room", "501", "--name", "张三丰",
              "--phone", "13812345678", "--id-number", ID1)  # fmt: skip
    add(home, "--building", "3", "--room", "502", "--name", "Li Lei", "--role", "staff")
    rows = sorted(listed(home), key=lambda r: str(r["household"]))
    assert rows[0] == {
        "id": rid, "household_id": rows[0]["household_id"], "household": "3-2-501",
        "name": "张三丰", "phone": "138****5678", "id_number": "1101**********4514",
        "role": "resident", "active": True,
    }  # fmt: skip
    assert rows[1]["household"] == "3-502" and rows[1]["role"] == "staff"
    assert rows[1]["phone"] == "" and rows[1]["id_number"] == ""
    text = kiosk(home, "list")
    assert text.exit_code == 0
    assert "ID number" in text.stdout and "张三丰" in text.stdout
    assert "1101**********4514" in text.stdout and "138****5678" in text.stdout
    assert ID1 not in text.stdout and "13812345678" not in text.stdout
    assert "2 residents." in text.stdout


def test_add_refuses_bad_input(home: Path) -> None:
    result = kiosk(home, "add", "--building", "3", "--room", "501", "--name", "张三",
                   "--id-number", ID1[:17] + "0")  # fmt: skip
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: ID number check digit is wrong"
    assert listed(home) == []


def test_list_unmasked_needs_the_issuer_key(home: Path) -> None:
    add(home, "--building", "3", "--room", "501", "--name", "张三", "--id-number", ID1,
        "--phone", "13812345678")  # fmt: skip
    refused = kiosk(home, "list", "--unmasked")
    assert refused.exit_code == 2
    assert "--unmasked needs the issuer's private key" in refused.stderr
    assert "Traceback" not in refused.output
    key = home / "keys" / "issuer.key"
    key.parent.mkdir()
    key.touch()  # a key file that is only there
    refused = kiosk(home, "list", "--unmasked")
    assert refused.exit_code == 2 and "is not a private key file" in refused.stderr
    assert ID1 not in refused.output


def checkpoint(folder: Path, *init: str) -> Path:
    result = CliRunner().invoke(cli, ["--home", str(folder), "init", "--name", "门", *init])
    assert result.exit_code == 0, result.output
    return folder


def test_list_unmasked_loads_and_checks_the_issuer_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KIOSK_KEY_PASSPHRASE", "s3cret")
    office = checkpoint(tmp_path / "office", "--passphrase")
    add(office, "--building", "3", "--room", "501", "--name", "张三", "--id-number", ID1,
        "--phone", "13812345678")  # fmt: skip
    monkeypatch.delenv("KIOSK_KEY_PASSPHRASE", raising=False)
    wrong = CliRunner().invoke(
        cli, ["--home", str(office), "residents", "list", "--unmasked"], input="nope\n"
    )
    assert wrong.exit_code == 2 and "Wrong passphrase" in wrong.stderr
    assert "Passphrase of the issuer key" in wrong.output and "nope" not in wrong.output
    asked = CliRunner().invoke(
        cli, ["--home", str(office), "residents", "list", "--json", "--unmasked"],
        input="s3cret\n",
    )  # fmt: skip
    assert asked.exit_code == 0, asked.output
    assert ID1 in asked.stdout and "13812345678" in asked.stdout
    monkeypatch.setenv("KIOSK_KEY_PASSPHRASE", "s3cret")
    rows = listed(office, "--unmasked")
    assert rows[0]["id_number"] == ID1 and rows[0]["phone"] == "13812345678"
    db = connect(office / "gatepass.db")
    actions = [r[0] for r in db.execute("SELECT action FROM audit")]
    db.close()
    assert actions.count("residents.list_unmasked") == 2
    # The issuer key of another checkpoint, copied in: refused, nothing shown.
    monkeypatch.delenv("KIOSK_KEY_PASSPHRASE")
    other = checkpoint(tmp_path / "other")
    (office / "keys" / "issuer.key").unlink()
    (office / "keys" / "issuer.key").write_bytes((other / "keys" / "issuer.key").read_bytes())
    foreign = kiosk(office, "list", "--unmasked")
    assert foreign.exit_code == 2
    assert "not this checkpoint's issuer key" in foreign.stderr
    assert ID1 not in foreign.output


def test_edit(home: Path) -> None:
    rid = add(home, "--building", "3", "--room", "501", "--name", "张三")
    result = kiosk(home, "edit", rid, "--phone", "139 0000 0000", "--role", "staff")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"Resident {rid} updated: phone, role."
    assert listed(home)[0]["phone"] == "139****0000"
    assert kiosk(home, "edit", rid, "--role", "staff").stdout.strip() == (
        f"Resident {rid} unchanged."
    )
    nothing = kiosk(home, "edit", rid)
    assert nothing.exit_code == 2 and "Nothing to change" in nothing.stderr
    unknown = kiosk(home, "edit", "nope", "--name", "x")
    assert unknown.exit_code == 2 and "No resident with id nope." in unknown.stderr


def test_deactivate(home: Path) -> None:
    rid = add(home, "--building", "3", "--room", "501", "--name", "张三")
    result = kiosk(home, "deactivate", rid, "--reason", "moved out")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"Resident {rid} deactivated: moved out"
    assert listed(home) == []
    everyone = listed(home, "--all")
    assert len(everyone) == 1 and everyone[0]["active"] is False
    assert "deactivated" in kiosk(home, "list", "--all").stdout
    again = kiosk(home, "deactivate", rid, "--reason", "again")
    assert again.exit_code == 2 and "already deactivated" in again.stderr


def _register_csv(path: Path) -> Path:
    rows = [
        ["某某社区居民登记表", "", "", "", ""],
        ["楼号", "房号", "姓名", "手机号", "身份证号"],
        ["3", "501", "张三", "13812345678", ID1],
        ["", "", "", "", ""],
        ["3", "502", "李四", "12345", ID2],
    ]
    with path.open("w", encoding="gbk", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


def test_import_json_and_text(home: Path, tmp_path: Path) -> None:
    path = _register_csv(tmp_path / "登记表.csv")
    dry = kiosk(home, "import", str(path), "--dry-run", "--json")
    assert dry.exit_code == 1  # a row is bad
    report = json.loads(dry.stdout)
    assert report["added"] == 1 and report["written"] is False and report["dry_run"] is True
    assert report["errors"] == [{"row": 5, "reasons": [
        "Phone is not a mainland mobile number (11 digits starting with 13 to 19)"]}]  # fmt: skip
    assert listed(home) == []
    strict = kiosk(home, "import", str(path), "--strict")
    assert strict.exit_code == 1
    assert "Strict: nothing was written because 1 row is bad." in strict.stdout
    assert listed(home) == []
    real = kiosk(home, "import", str(path))
    assert real.exit_code == 1
    assert real.stdout.splitlines() == [
        "Row 5: Phone is not a mainland mobile number (11 digits starting with 13 to 19)",
        "登记表.csv: 1 added, 0 updated, 0 unchanged, 1 bad row(s).",
    ]
    assert [r["name"] for r in listed(home)] == ["张三"]
    again = json.loads(kiosk(home, "import", str(path), "--json").stdout)
    assert (again["added"], again["unchanged"], again["bad"]) == (0, 1, 1)


def test_import_clean_file_exits_0(home: Path, tmp_path: Path) -> None:
    path = tmp_path / "ok.csv"
    path.write_text(f"name,building,room,id\n张三,3,501,{ID1}\n", encoding="utf-8-sig")
    result = kiosk(home, "import", str(path))
    assert result.exit_code == 0, result.output
    assert "1 added" in result.stdout


def test_import_missing_file_is_one_line(home: Path, tmp_path: Path) -> None:
    result = kiosk(home, "import", str(tmp_path / "nope.xlsx"))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: No file ")
    assert "Traceback" not in result.output


def test_without_a_checkpoint(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--home", str(tmp_path / "none"), "residents", "list"])
    assert result.exit_code == 2
    assert "Run 'kiosk init' first" in result.stderr


def test_chinese_headings(home: Path) -> None:
    add(home, "--building", "3", "--room", "501", "--name", "张三")
    result = CliRunner().invoke(cli, ["--home", str(home), "--lang", "zh_CN", "residents",
                                      "list"])  # fmt: skip
    assert result.exit_code == 0
    assert "姓名" in result.stdout and "居民" in result.stdout
