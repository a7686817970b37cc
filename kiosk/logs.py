"""Logging: named loggers per area, one rotating file per process in the checkpoint's
home; and the trace of a native crash (``faulthandler``) in ``<home>/logs/crash.log``,
reported once by the next start (:func:`previous_crash`).

Each process writes a file of its own, named after the program: ``gate.log`` (the gate
window, the demo), ``office.log``, ``kiosk.log`` (other commands). A second process of
the same program (two commands at once) takes ``kiosk-2.log``, and so on: the file is
claimed with a lock held for the life of the process (``<name>.log.lock``). Two
processes rotating one file break on Windows (the rename fails while the other holds
it open) and interleave lines elsewhere."""

from __future__ import annotations

import contextlib
import errno
import faulthandler
import io
import logging
import logging.handlers
import os
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO

from kiosk.home import Home, owner_only

# crash.log is kept (traces are appended); past this size a start with nothing new to
# report empties it.
CRASH_LOG_KEEP = 1_000_000

_log_path: Path | None = None
_handler: logging.Handler | None = None
_claim: IO[str] | None = None  # the lock file that holds this process's log file
# How many processes of one program may each have a log file of their own; past that
# (a runaway script) they share the last one.
CLAIMS = 20
_crash_file: IO[str] | None = None
_crash: Crash | None = None


@dataclass(frozen=True)
class Crash:
    """A native crash (Qt, OpenCV, ZBar, Python itself) of an earlier run on this home:
    when its trace was written (local time) and the file that holds it."""

    when: datetime
    path: Path

    def time_text(self) -> str:
        return self.when.strftime("%Y-%m-%d %H:%M")


def log_file() -> Path | str:
    return _log_path if _log_path is not None else "stderr"


def previous_crash() -> Crash | None:
    """The crash an earlier run left in this home's ``crash.log`` and no start before
    this one reported, as found by :func:`setup_logging`; None if there is none."""
    return _crash


class _OwnerOnlyFileHandler(logging.handlers.RotatingFileHandler):
    """The log file, the owner's only (kiosk.home), also each new one a rollover opens."""

    def _open(self) -> io.TextIOWrapper:
        stream = super()._open()
        owner_only(Path(self.baseFilename))
        return stream

    def handleError(self, record: logging.LogRecord) -> None:
        """A full disk loses the record quietly: what the person must know is told on the
        screen, not in a traceback of the logging module on stderr."""
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError) and exc.errno in _DISK_FULL:
            return
        super().handleError(record)


_DISK_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


def _lock(file: IO[str]) -> bool:
    """Take ``file``'s lock without waiting; False if another process holds it."""
    try:
        if sys.platform == "win32":
            import msvcrt

            msvcrt.locking(file.fileno(), msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def claim_log_file(logs_dir: Path, program: str) -> tuple[Path, IO[str] | None]:
    """The log file this process may write alone (``program.log``, else
    ``program-2.log``...), and the open lock file that keeps it this process's."""
    for n in range(1, CLAIMS + 1):
        path = logs_dir / (f"{program}.log" if n == 1 else f"{program}-{n}.log")
        try:
            lock = open(path.with_name(path.name + ".lock"), "a", encoding="ascii")  # noqa: SIM115
        except OSError:
            return path, None  # cannot lock here (a full disk): write as before
        if _lock(lock):
            owner_only(Path(lock.name))
            return path, lock
        lock.close()
    return logs_dir / f"{program}-{CLAIMS}.log", None


def setup_logging(home: Home, *, verbose: bool = False, program: str = "kiosk") -> None:
    """Send logs to ``<home>/logs/<program>.log`` (or the next free one:
    :func:`claim_log_file`) when the home exists, else warnings to stderr. Called again
    for another home (tests, the demo), it moves the one handler.

    A native crash's trace (``faulthandler``, all threads) goes to
    ``<home>/logs/crash.log``, open for the life of the process (stderr when the home
    does not exist yet); a trace an earlier run left there is kept for
    :func:`previous_crash`."""
    global _log_path, _handler, _claim
    root = logging.getLogger("kiosk")
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    logs_dir = home.logs_dir if home.root.is_dir() else None
    if _handler is not None:
        if (
            _log_path is not None
            and logs_dir == _log_path.parent
            and (
                _log_path.name.startswith(f"{program}.") or _log_path.name.startswith(f"{program}-")
            )
        ):
            return  # already writing this program's file in this home
        root.removeHandler(_handler)
        _handler.close()
        _handler = None
        if _claim is not None:
            _claim.close()  # the lock goes with it
            _claim = None
    handler: logging.Handler
    path: Path | None = None
    if logs_dir is not None:
        logs_dir.mkdir(mode=0o700, exist_ok=True)
        path, _claim = claim_log_file(logs_dir, program)
        handler = _OwnerOnlyFileHandler(path, maxBytes=2_000_000, backupCount=5, encoding="utf-8")
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    _handler, _log_path = handler, path
    _trace_crashes(logs_dir)


def _trace_crashes(logs_dir: Path | None) -> None:
    """Point faulthandler at ``logs_dir/crash.log`` (stderr if None), noting first
    whether the file grew since a start last looked: a crash no one reported yet. What
    was looked at is kept beside it (``crash.seen``, the file's size then), so the
    following start stays silent, and two programs on one home (the gate window and the
    office) share the file without hiding each other's crashes."""
    global _crash_file, _crash
    _crash = None
    new: IO[str] | None = None
    if logs_dir is not None:
        crash_log, seen_file = logs_dir / "crash.log", logs_dir / "crash.seen"
        with contextlib.suppress(OSError):
            new = crash_log.open("a", encoding="utf-8")
            owner_only(crash_log)
            size = crash_log.stat().st_size
            try:
                seen = int(seen_file.read_text(encoding="ascii"))
            except (OSError, ValueError):
                seen = 0
            if size not in (0, seen):  # grew (or was emptied by hand, then written)
                when = datetime.fromtimestamp(crash_log.stat().st_mtime).astimezone()
                _crash = Crash(when, crash_log)
            elif size > CRASH_LOG_KEEP:
                os.truncate(crash_log, 0)
                size = 0
            seen_file.write_text(str(size), encoding="ascii")
            owner_only(seen_file)
    old, _crash_file = _crash_file, new
    on = False
    if new is not None:
        faulthandler.enable(file=new, all_threads=True)
        on = True
    elif sys.stderr is not None and hasattr(sys.stderr, "fileno"):
        with contextlib.suppress(ValueError, OSError):  # stderr without a file
            faulthandler.enable(all_threads=True)
            on = True
    if old is not None:
        if not on:  # never leave it writing to a closed file
            faulthandler.disable()
        old.close()
