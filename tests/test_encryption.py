"""The database encrypted at rest: what a copied file gives away (nothing), where the
key comes from (memory, KIOSK_DB_KEY, the OS keyring, the unlock card), the card as
printed and scanned, and ``kiosk db encrypt`` for a checkpoint made before."""

from __future__ import annotations

import os
import sqlite3 as stdlib_sqlite3  # what a thief's tools use
import subprocess
import sys
from pathlib import Path

import cv2
import keyring
import pytest
from keyring.backend import KeyringBackend

from kiosk.core.errors import EnvironmentFault, UserError
from kiosk.store import db_key
from kiosk.store.db import connect
from kiosk.store.driver import PLAIN_HEADER, is_plain, open_connection
from kiosk.vision.decoders import get_decoder
from tests.helpers import TEST_DB_KEY, make_checkpoint, run, run_json
from tests.sqlcipher_pages import plaintext

SECRET_NAME = "张三"


class MemoryKeyring(KeyringBackend):
    """A keyring held in this process (the machines running the tests have no OS
    keyring): it goes through keyring's own API, as the Windows, macOS and Secret
    Service backends do."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.entries.pop((service, username), None)


@pytest.fixture
def no_key_at_hand(monkeypatch: pytest.MonkeyPatch) -> None:
    """No KIOSK_DB_KEY: keys come from init, memory, the keyring or a card only."""
    monkeypatch.delenv("KIOSK_DB_KEY")


@pytest.fixture
def memory_keyring() -> MemoryKeyring:
    before = keyring.get_keyring()
    ring = MemoryKeyring()
    keyring.set_keyring(ring)
    yield ring  # type: ignore[misc]
    keyring.set_keyring(before)


def _checkpoint_with_a_resident(home: Path) -> None:
    run(home, "init", "--name", "幸福里", "--unlock-card", str(home.parent / "card.pdf"))
    run(
        home,
        "residents",
        "add",
        "--building",
        "1",
        "--unit",
        "1",
        "--room",
        "101",
        "--name",
        SECRET_NAME,
        "--id-number",
        "110101199003074514",
        "--phone",
        "13800138000",
    )


def test_a_copied_database_gives_nothing_away(home_dir: Path) -> None:
    _checkpoint_with_a_resident(home_dir)
    database = home_dir / "gatepass.db"
    files = b"".join(p.read_bytes() for p in home_dir.glob("gatepass.db*"))
    assert not files.startswith(PLAIN_HEADER)
    for secret in (SECRET_NAME.encode(), b"110101199003074514", b"13800138000"):
        assert secret not in files
        assert secret in plaintext(home_dir)  # the helper does find them with the key
    with pytest.raises(stdlib_sqlite3.DatabaseError, match="not a database"):
        stdlib_sqlite3.connect(database).execute("SELECT * FROM residents").fetchall()
    wrong = open_connection(database, bytes(32), timeout=1)
    with pytest.raises(Exception, match="not a database"):
        wrong.execute("SELECT * FROM residents").fetchall()
    assert "Encrypted" in run(home_dir, "db", "status").stdout
    assert run_json(home_dir, "db", "status", "--json")["encrypted"] is True


def test_each_checkpoint_has_its_own_key(tmp_path: Path, no_key_at_hand: None) -> None:
    first, second = tmp_path / "a.db", tmp_path / "b.db"
    connect(first, create=True).close()
    connect(second, create=True).close()
    assert db_key.key_in_use(first) != db_key.key_in_use(second)
    assert not db_key.opens(second, db_key.key_in_use(first))


def _fresh_process(home: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kiosk", "--home", str(home), *args],
        env={**env, "KIOSK_LANG": "en"},
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def test_without_its_key_a_program_says_locked_and_the_card_opens_it(home_dir: Path) -> None:
    make_checkpoint(home_dir, residents=2)
    env = {k: v for k, v in os.environ.items() if k != "KIOSK_DB_KEY"}
    locked = _fresh_process(home_dir, "residents", "list", env=env)
    assert locked.returncode == 3, locked.stderr
    assert "encrypted and its key is not on this computer" in locked.stderr
    assert "unlock card" in locked.stderr
    card = db_key.card_text(TEST_DB_KEY)
    opened = _fresh_process(home_dir, "residents", "list", env={**env, "KIOSK_DB_KEY": card})
    assert opened.returncode == 0, opened.stderr
    other = db_key.card_text(bytes(32))
    wrong = _fresh_process(home_dir, "residents", "list", env={**env, "KIOSK_DB_KEY": other})
    assert wrong.returncode == 3 and "does not open" in wrong.stderr


def test_the_card_text_reads_back_whatever_a_scanner_does_to_it() -> None:
    key = bytes(range(32))
    text = db_key.card_text(key)
    assert text.startswith("GPKEY1:") and text.isupper()
    assert db_key.parse_key(text) == key
    assert db_key.parse_key(text.lower()) == key  # Caps Lock
    assert db_key.parse_key(" ".join(text[i : i + 6] for i in range(0, len(text), 6))) == key
    assert db_key.parse_key(key.hex()) == key
    for bad in ("", "GPKEY1:", "GPKEY1:ABC", text[:-3], "https://pay.example.cn/qr/1", "xyz" * 30):
        with pytest.raises(UserError, match="not a Gatepass unlock card"):
            db_key.parse_key(bad)


def test_init_prints_a_card_that_the_camera_reads_and_that_opens_the_database(
    home_dir: Path, tmp_path: Path, no_key_at_hand: None
) -> None:
    card_pdf = tmp_path / "card.pdf"
    result = run(home_dir, "init", "--name", "幸福里", "--unlock-card", str(card_pdf))
    assert "Unlock card:" in result.stdout and "No keyring on this computer" in result.stdout
    assert card_pdf.stat().st_mode & 0o777 == 0o600
    subprocess.run(
        ["pdftoppm", "-r", "150", "-png", "-singlefile", str(card_pdf), str(tmp_path / "page")],
        check=True,
    )
    page = cv2.imread(str(tmp_path / "page.png"), cv2.IMREAD_GRAYSCALE)
    codes = get_decoder("auto").decode(page)
    assert len(codes) == 1
    database = home_dir / "gatepass.db"
    key = db_key.parse_key(codes[0].text)
    db_key.forget(database)
    assert db_key.opens(database, key)
    printed = subprocess.run(
        ["pdftotext", str(card_pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    typed = printed[printed.index("GPKEY1") :]
    assert db_key.parse_key(typed) == key  # the text under the code, typed by hand


def test_init_keeps_the_key_in_the_keyring_where_there_is_one(
    home_dir: Path, tmp_path: Path, no_key_at_hand: None, memory_keyring: MemoryKeyring
) -> None:
    result = run(home_dir, "init", "--unlock-card", str(tmp_path / "card.pdf"))
    assert "keyring keeps the key" in result.stdout
    database = home_dir / "gatepass.db"
    made = db_key.key_in_use(database)
    db_key.forget(database)  # a new start of the program: memory empty
    connect(database).close()
    assert db_key.key_in_use(database) == made
    memory_keyring.entries.clear()  # the keyring lost it (a new user account)
    db_key.forget(database)
    with pytest.raises(db_key.DatabaseLocked, match="unlock card"):
        connect(database)
    db_key.ask_with(lambda _path: db_key.card_text(made))  # the card at the terminal
    try:
        connect(database).close()
    finally:
        db_key.ask_with(None)
    run(home_dir, "db", "remember-key")
    assert memory_keyring.entries  # kept again


def decrypted_copy(home: Path) -> None:
    """Turn a test checkpoint into what a Gatepass before encryption left: the same
    database, plain (SQLCipher's documented way back: an export to a plain copy)."""
    database = home / "gatepass.db"
    plain = home / "plain.db"
    conn = open_connection(database, db_key.key_in_use(database), timeout=1)
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    conn.execute("ATTACH DATABASE ? AS plain KEY ''", (str(plain),))
    conn.execute("SELECT sqlcipher_export('plain')")
    conn.execute(f"PRAGMA plain.user_version = {version}")
    conn.execute("DETACH DATABASE plain")
    conn.close()
    for side in home.glob("gatepass.db-*"):
        side.unlink()
    plain.replace(database)
    db_key.forget(database)


def test_db_encrypt_converts_an_old_checkpoint_in_place(
    home_dir: Path, tmp_path: Path, no_key_at_hand: None
) -> None:
    _checkpoint_with_a_resident(home_dir)
    decrypted_copy(home_dir)
    database = home_dir / "gatepass.db"
    assert is_plain(database) and SECRET_NAME.encode() in database.read_bytes()
    assert "is not encrypted" in run(home_dir, "residents", "list").stderr
    before = run(home_dir, "residents", "list").stdout

    holder = open_connection(database, None, timeout=1)  # a gate window still running
    holder.execute("SELECT count(*) FROM residents").fetchone()
    refused = run(home_dir, "db", "encrypt", "--unlock-card", str(tmp_path / "c.pdf"), ok=False)
    assert refused.exit_code == 3 and "Another program has the checkpoint open" in refused.stderr
    assert is_plain(database)
    holder.close()

    result = run(home_dir, "db", "encrypt", "--unlock-card", str(tmp_path / "c.pdf"))
    assert "is now encrypted" in result.stdout and (tmp_path / "c.pdf").exists()
    assert not is_plain(database)
    leftovers = sorted(p.name for p in home_dir.glob("gatepass.db*"))
    assert leftovers in (["gatepass.db"], ["gatepass.db", "gatepass.db-shm", "gatepass.db-wal"])
    files = b"".join(p.read_bytes() for p in home_dir.glob("gatepass.db*"))
    assert SECRET_NAME.encode() not in files
    assert run(home_dir, "residents", "list").stdout == before
    assert "is not encrypted" not in run(home_dir, "residents", "list").stderr
    again = run(home_dir, "db", "encrypt", ok=False)
    assert again.exit_code == 2 and "encrypted already" in again.stderr
    db = connect(database)
    assert "db.encrypt" in {r["action"] for r in db.query("SELECT action FROM audit")}
    db.close()


def test_a_key_in_the_environment_that_is_no_key_is_said_plainly(
    home_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_checkpoint(home_dir, residents=1)
    db_key.forget(home_dir / "gatepass.db")
    monkeypatch.setenv("KIOSK_DB_KEY", "my password")
    with pytest.raises(UserError, match="KIOSK_DB_KEY is set but holds no database key"):
        connect(home_dir / "gatepass.db")
    assert isinstance(db_key.locked(home_dir), EnvironmentFault)
