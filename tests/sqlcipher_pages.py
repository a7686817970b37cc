"""Reading a test checkpoint's encrypted pages the way an attacker with its key would:
every page of the database file and of its ``-wal``, decrypted, free pages included.

SQLite shows only live rows; a deleted row may live on in a free page or an old WAL
frame. These helpers decrypt the files themselves (SQLCipher 4: AES-256-CBC on each
page, a 16-byte IV and a 64-byte HMAC at the end of the page, the file's salt in the
first 16 bytes of page 1; a raw key is the AES key itself), so a test can check that a
purged ID is gone from the bytes, not just from the tables.
"""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from kiosk.store.driver import is_plain
from tests.helpers import TEST_DB_KEY

PAGE = 4096  # SQLCipher 4's default page size (Gatepass does not change it)
RESERVE = 16 + 64  # IV + HMAC-SHA512 at the end of every page
WAL_HEADER, FRAME_HEADER = 32, 24


def decrypt_page(page: bytes, number: int, key: bytes = TEST_DB_KEY) -> bytes:
    """The plain content of encrypted page ``number`` (1-based): page 1 without its
    16-byte salt, every page without its reserve."""
    start = 16 if number == 1 else 0
    iv = page[PAGE - RESERVE : PAGE - RESERVE + 16]
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    return decryptor.update(page[start : PAGE - RESERVE]) + decryptor.finalize()


def database_pages(path: Path, key: bytes = TEST_DB_KEY) -> list[bytes]:
    """Every page of the database file at ``path``, decrypted (in file order)."""
    data = path.read_bytes()
    if is_plain(path):
        size = int.from_bytes(data[16:18], "big") or 65536
        return [data[i : i + size] for i in range(0, len(data), size)]
    return [decrypt_page(data[i : i + PAGE], i // PAGE + 1, key) for i in range(0, len(data), PAGE)]


def wal_pages(path: Path, key: bytes = TEST_DB_KEY) -> list[bytes]:
    """Every page in the ``-wal`` beside ``path`` (old frames included), decrypted."""
    wal = path.with_name(path.name + "-wal")
    if not wal.exists():
        return []
    data = wal.read_bytes()
    pages = []
    for at in range(WAL_HEADER, len(data) - FRAME_HEADER - PAGE + 1, FRAME_HEADER + PAGE):
        number = int.from_bytes(data[at : at + 4], "big")
        frame = data[at + FRAME_HEADER : at + FRAME_HEADER + PAGE]
        pages.append(frame if is_plain(path) else decrypt_page(frame, number, key))
    return pages


def plaintext(home: Path) -> bytes:
    """All the decrypted bytes of a checkpoint's database and its WAL."""
    database = home / "gatepass.db"
    return b"".join(database_pages(database) + wal_pages(database))
