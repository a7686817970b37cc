"""Shared fixtures. Qt runs offscreen; every test gets its own checkpoint home."""

from __future__ import annotations

import faulthandler
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("KIOSK_LANG", "en")
# 'kiosk init' in tests (and in module-scoped fixtures) sets this admin PIN; tests of
# the PIN itself unset it with monkeypatch.
os.environ["KIOSK_ADMIN_PIN"] = "2580"  # tests.helpers.TEST_PIN
# Every checkpoint the tests make (in-process or in a 'kiosk' subprocess) is encrypted
# with this key (kiosk.store.db_key: KIOSK_DB_KEY); tests of finding the key unset it.
# No test reads or writes the OS keyring of the machine running it.
os.environ["KIOSK_DB_KEY"] = "ab" * 32  # tests.helpers.TEST_DB_KEY
os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"

REPO = Path(__file__).resolve().parent.parent
QR_PHOTOS = REPO.parent / "shared" / "data" / "qr-photos"


@pytest.fixture(autouse=True)
def _english(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tests read English messages unless they ask for another language."""
    from kiosk.core import i18n

    monkeypatch.setenv("KIOSK_LANG", "en")
    i18n.set_language("en")
    yield
    i18n.set_language("en")


@pytest.fixture(autouse=True)
def _nothing_written_to_the_repository() -> Iterator[None]:
    """Fails a test that leaves an unlock card in the current folder (the repository):
    'kiosk init' without KIOSK_DB_KEY writes one there unless --unlock-card is given."""
    yield
    card = Path.cwd() / "gatepass-unlock-card.pdf"
    if card.exists():
        card.unlink()
        pytest.fail(f"the test left {card}: give 'kiosk init' --unlock-card")


@pytest.fixture
def home_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty folder for a checkpoint, also set as KIOSK_HOME."""
    home = tmp_path / "home"
    monkeypatch.setenv("KIOSK_HOME", str(home))
    return home


@pytest.fixture(autouse=True)
def _native_crashes_on_the_terminal(request: pytest.FixtureRequest) -> Iterator[None]:
    """The CLI run in-process points faulthandler at its home's crash.log
    (kiosk.logs); afterwards it goes back to pytest's own copy of stderr, so a native
    crash of the test process itself shows on the terminal."""
    yield
    from _pytest.faulthandler import fault_handler_stderr_fd_key

    fd = request.config.stash.get(fault_handler_stderr_fd_key, None)
    if fd is not None:
        faulthandler.enable(file=fd, all_threads=True)
