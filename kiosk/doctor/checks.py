"""The checks of ``kiosk doctor`` that need no screen, each returning one
:class:`~kiosk.doctor.findings.Finding` and never raising: a check that cannot look
says so as its finding.

They open what the gate opens (the home's database, its keys, the camera named in the
settings, the QR decoder) the same way the gate does, so that what they find is what
the gate would meet.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlite_utils import Database

from kiosk.core.clock import from_db
from kiosk.core.errors import KioskError
from kiosk.core.i18n import tr
from kiosk.core.keys import key_id_of, load_private_key
from kiosk.doctor.findings import Finding, Status
from kiosk.home import Home
from kiosk.settings import Settings
from kiosk.store.backup import last_backup
from kiosk.store.checkpoint import get_meta, trusted_keys
from kiosk.store.db import connect
from kiosk.store.exchange import LAST_IMPORT, compound, office_data_age
from kiosk.store.retention import clock_doubt_of
from kiosk.sync import node as sync_node
from kiosk.vision.decoders import get_decoder
from kiosk.vision.sources import open_source
from kiosk.vision.synth import qr_matrix

log = logging.getLogger("kiosk.doctor")

# Free disk wanted: this many days of passages at the busiest recent rate, with room
# for the write-ahead log and a backup beside the database (x3).
DAYS_AHEAD = 90
DAYS_AT_LEAST = 7
SPACE_FACTOR = 3
# A passage's bytes in the database with its indexes and chain columns, measured
# (docs/doctor.md); a big log measures its own.
PASSAGE_BYTES = 600
BUSY_DAY_FLOOR = 2_000  # passages a day assumed for a gate with little history yet

CAMERA_SECONDS = 2.0
CLOCK_HUB_WARN = timedelta(minutes=2)
CONTACT_WARN = timedelta(hours=24)
BACKUP_WARN = timedelta(days=2)  # the daily backup missed a day


@contextmanager
def _finding_of_errors(check: str, title: str, out: list[Finding]) -> Iterator[None]:
    """A check that raises becomes a failed finding with the error's words."""
    try:
        yield
    except KioskError as exc:
        out.append(Finding(check, Status.FAIL, title, str(exc)))
    except Exception as exc:  # a doctor reports, never crashes
        log.exception("doctor: the %s check failed", check)
        out.append(Finding(check, Status.FAIL, title, f"{type(exc).__name__}: {exc}"))


def database(home: Home) -> tuple[Finding, Database | None]:
    """The database opens with its key and passes SQLite's quick check."""
    title = tr("Database")
    if not home.is_initialised():
        return Finding(
            "database",
            Status.FAIL,
            title,
            tr("This laptop has no checkpoint yet ({path}).", path=home.root),
            tr("Set it up with: kiosk init --name NAME (or join a compound)."),
        ), None
    try:
        db = connect(home.database, check=True)
    except KioskError as exc:
        return Finding("database", Status.FAIL, title, str(exc)), None
    started = time.perf_counter()
    rows = [str(r[0]) for r in db.execute("PRAGMA quick_check").fetchall()]
    ms = round((time.perf_counter() - started) * 1000)
    size = home.database.stat().st_size
    if rows != ["ok"]:
        return Finding(
            "database",
            Status.FAIL,
            title,
            tr("The database is damaged: {problem}", problem="; ".join(rows[:3])),
            tr("Restore the newest backup (kiosk restore) or call the committee."),
            {"quick_check": rows[:10], "ms": ms, "bytes": size},
        ), db
    return Finding(
        "database",
        Status.OK,
        title,
        tr("Opens and passes its check ({size} MB).", size=round(size / 1e6, 1)),
        figures={"ms": ms, "bytes": size},
    ), db


def keys(home: Home, db: Database) -> Finding:
    """The gate's key (visitor codes) and, at an office, the issuer key are here and
    trusted by this checkpoint."""
    title = tr("Keys")
    trusted = {k.key_id for k in trusted_keys(db)}
    comp = compound(db)
    needs_issuer = comp is not None and comp.is_office
    problems: list[str] = []
    found: list[str] = []
    for path, name, required in (
        (home.gate_key, tr("the gate's key"), True),
        (home.private_key, tr("the issuer key"), needs_issuer),
    ):
        if not path.exists():
            if required:
                problems.append(tr("{key} is missing ({path}).", key=name, path=path))
            continue
        try:
            key = load_private_key(path, None)
        except (KioskError, ValueError, TypeError) as exc:
            if "password" in str(exc).lower() or "passphrase" in str(exc).lower():
                found.append(name)  # protected by a passphrase: present, not read here
                continue
            problems.append(tr("{key} cannot be read: {error}", key=name, error=exc))
            continue
        if key_id_of(key.public_key()) not in trusted:
            problems.append(tr("{key} is not one this checkpoint trusts.", key=name))
        else:
            found.append(name)
    if problems:
        return Finding(
            "keys",
            Status.FAIL,
            title,
            " ".join(problems),
            tr("Restore the keys folder from a backup, or set the checkpoint up again."),
        )
    return Finding("keys", Status.OK, title, tr("Present: {keys}.", keys=", ".join(found)))


def disk(home: Home, db: Database, now: datetime) -> Finding:
    """Free space for :data:`DAYS_AHEAD` days of passages at the busiest day of the
    last week."""
    title = tr("Disk space")
    free = shutil.disk_usage(home.root).free
    week_ago = (now - timedelta(days=7)).strftime("%Y-%m-%d")
    busiest = db.execute(
        "SELECT max(n) FROM (SELECT count(*) AS n FROM visits WHERE at >= ? "
        "GROUP BY substr(at, 1, 10))",
        [week_ago],
    ).fetchone()[0]
    per_day = max(int(busiest or 0), BUSY_DAY_FLOOR)
    rows = db.execute("SELECT count(*) FROM visits").fetchone()[0]
    size = home.database.stat().st_size
    per_passage = max(PASSAGE_BYTES, size // rows) if rows >= 100_000 else PASSAGE_BYTES
    days = int(free / (per_day * per_passage * SPACE_FACTOR))
    figures = {
        "free_bytes": free,
        "passages_per_day": per_day,
        "bytes_per_passage": per_passage,
        "days": days,
    }
    message = (
        tr(
            "{free} GB free: room for over a year at {per_day} passages a day.",
            free=round(free / 1e9, 1),
            per_day=per_day,
        )
        if days > 365
        else tr(
            "{free} GB free: room for about {days} days at {per_day} passages a day.",
            free=round(free / 1e9, 1),
            days=days,
            per_day=per_day,
        )
    )
    if days < DAYS_AT_LEAST:
        return Finding(
            "disk",
            Status.FAIL,
            title,
            message,
            tr("Free some disk space now: the gate stops recording when the disk is full."),
            figures,
        )
    if days < DAYS_AHEAD:
        return Finding(
            "disk",
            Status.WARN,
            title,
            message,
            tr("Free some disk space, or move old files off this laptop."),
            figures,
        )
    return Finding("disk", Status.OK, title, message, figures=figures)


def clock(db: Database, now: datetime, *, ask_hub: bool = True) -> Finding:
    """The clock against the newest records (never behind them, not far ahead) and,
    when this checkpoint syncs with a hub and the hub answers, against the hub's."""
    title = tr("Clock")
    doubt = clock_doubt_of(db, now)
    if doubt is not None:
        return Finding(
            "clock",
            Status.FAIL,
            title,
            str(doubt),
            tr("Set the computer's date and time, then start Gatepass again."),
            {"now": now.isoformat()},
        )
    skew, source = _hub_skew(db) if ask_hub else (None, "")
    figures: dict[str, Any] = {"now": now.isoformat()}
    if skew is not None:
        figures["hub_skew_s"] = round(skew.total_seconds(), 1)
        figures["hub_skew_from"] = source
        if abs(skew) > CLOCK_HUB_WARN:
            return Finding(
                "clock",
                Status.WARN,
                title,
                tr(
                    "The clock is {minutes} minutes off the hub's.",
                    minutes=round(skew.total_seconds() / 60),
                ),
                tr("Set the computer's date and time: passes' validity is judged by it."),
                figures,
            )
        return Finding(
            "clock",
            Status.OK,
            title,
            tr("Agrees with the records and with the hub."),
            figures=figures,
        )
    return Finding("clock", Status.OK, title, tr("Agrees with the records."), figures=figures)


def _hub_skew(db: Database) -> tuple[timedelta | None, str]:
    """The hub's clock minus ours: asked now, or else as measured at the last sync."""
    if not sync_node.joined(db):
        return None, ""
    try:
        asked = sync_node.hub_skew(db)
        if asked is not None:
            return asked, "hub"
    except KioskError as exc:
        log.info("doctor: the hub did not answer: %s", exc)
    status = sync_node.sync_status(db)
    return (status.skew, "last_sync") if status.last_ok is not None else (None, "")


def camera(settings: Settings, *, seconds: float = CAMERA_SECONDS) -> Finding:
    """The camera of the settings opens and delivers frames."""
    title = tr("Camera")
    try:
        source = open_source(settings.camera, realtime=True)
        source.open()
    except KioskError as exc:
        return Finding(
            "camera",
            Status.FAIL,
            title,
            str(exc),
            tr("Plug the camera in, close other programs using it, or choose another in Settings."),
        )
    frames = 0
    shape: tuple[int, ...] = ()
    try:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            frame = source.read()
            if frame is None:
                if source.ended:
                    break
                time.sleep(0.01)
                continue
            frames += 1
            shape = frame.image.shape
        described = source.describe()
    finally:
        source.release()
    fps = round(frames / seconds, 1)
    figures = {"frames": frames, "fps": fps, "size": list(shape[:2][::-1])}
    if frames == 0:
        return Finding(
            "camera",
            Status.FAIL,
            title,
            tr("{camera} opens but delivers no pictures.", camera=described),
            tr("Unplug the camera and plug it in again, or restart the laptop."),
            figures,
        )
    return Finding(
        "camera",
        Status.OK,
        title,
        tr("{camera}: {fps} pictures a second.", camera=described, fps=fps),
        figures=figures,
    )


def decoder(settings: Settings) -> Finding:
    """The QR decoder of the settings loads and reads a code drawn here."""
    title = tr("QR decoder")
    text = "GATEPASS-DOCTOR-1"
    try:
        chosen = get_decoder(settings.decoder, strict=True)
        modules = qr_matrix(text)
        image = np.where(np.kron(modules, np.ones((8, 8))), 0, 255).astype(np.uint8)
        image = np.pad(image, 40, constant_values=255)
        read = [code.text for code in chosen.decode(image)]
    except KioskError as exc:
        return Finding("decoder", Status.FAIL, title, str(exc))
    name = chosen.name
    if text not in read:
        return Finding(
            "decoder",
            Status.FAIL,
            title,
            tr("{decoder} loaded but did not read a test code.", decoder=name),
            tr("Choose another decoder in Settings (OpenCV is always there)."),
        )
    return Finding("decoder", Status.OK, title, tr("{decoder} reads codes.", decoder=name))


def exchange(db: Database, now: datetime, *, amber: timedelta) -> Finding:
    """How long since this checkpoint last heard from its compound (hub or stick); at a
    gate, how old the office's data is."""
    title = tr("Exchange")
    comp = compound(db)
    if comp is None:
        return Finding(
            "exchange", Status.SKIP, title, tr("A checkpoint on its own: nothing to exchange.")
        )
    contacts = [get_meta(db, LAST_IMPORT), get_meta(db, sync_node.LAST_OK)]
    last = max((from_db(text) for text in contacts if text), default=None)
    exchange_now = tr("Sync with the hub (kiosk sync now) or exchange a USB stick with the office.")
    figures: dict[str, Any] = {"last_contact": last.isoformat() if last else None}
    if not comp.is_office:
        fresh = office_data_age(db, now, amber)
        figures["office_data"] = fresh.level
        if fresh.level == "red":
            return Finding(
                "exchange",
                Status.FAIL,
                title,
                tr("The office's data here is too old to trust, or has never come."),
                exchange_now,
                figures,
            )
    if last is None:
        return Finding(
            "exchange",
            Status.WARN,
            title,
            tr("Nothing has been exchanged yet."),
            exchange_now,
            figures,
        )
    age = now - last
    hours = round(age.total_seconds() / 3600, 1)
    figures["hours"] = hours
    if age > CONTACT_WARN:
        return Finding(
            "exchange",
            Status.WARN,
            title,
            tr("Last exchange {hours} hours ago.", hours=hours),
            exchange_now,
            figures,
        )
    return Finding(
        "exchange",
        Status.OK,
        title,
        tr("Last exchange {hours} hours ago.", hours=hours),
        figures=figures,
    )


def backup(db: Database, settings: Settings, now: datetime) -> Finding:
    """How old the last backup is, and whether the daily backup's folder is there."""
    title = tr("Backup")
    last = last_backup(db)
    folder = settings.backup_folder.strip()
    figures: dict[str, Any] = {
        "last_backup": last.isoformat() if last else None,
        "folder": folder or None,
    }
    advice = tr(
        "Set a backup folder in Settings (a USB drive left in the laptop), or run: "
        "kiosk backup --to FOLDER"
    )
    if folder and not Path(folder).is_dir():
        return Finding(
            "backup",
            Status.WARN,
            title,
            tr("The backup folder {path} is not there (is the drive plugged in?).", path=folder),
            tr("Plug the backup drive in, or choose another folder in Settings."),
            figures,
        )
    if last is None:
        return Finding(
            "backup", Status.WARN, title, tr("No backup has been made yet."), advice, figures
        )
    days = round((now - last).total_seconds() / 86400, 1)
    figures["days"] = days
    if now - last > BACKUP_WARN:
        return Finding(
            "backup",
            Status.WARN,
            title,
            tr("The last backup is {days} days old.", days=days),
            advice if not folder else tr("Check that the backup drive is plugged in."),
            figures,
        )
    return Finding(
        "backup",
        Status.OK,
        title,
        tr("The last backup is {days} days old.", days=days),
        figures=figures,
    )


def run(
    home: Home,
    settings: Settings,
    now: datetime,
    *,
    camera_check: Callable[[], Finding] | None = None,
    ask_hub: bool = True,
) -> list[Finding]:
    """Every screenless check, in the order a person reads them. ``camera_check``
    replaces opening the camera (the window, whose camera is already running, looks at
    its own frames); None: the camera of the settings is opened."""
    findings: list[Finding] = []
    with _finding_of_errors("camera", tr("Camera"), findings):
        findings.append(camera_check() if camera_check is not None else camera(settings))
    with _finding_of_errors("decoder", tr("QR decoder"), findings):
        findings.append(decoder(settings))
    found, db = database(home)
    findings.append(found)
    if db is None:
        return findings
    jobs: tuple[tuple[str, str, Callable[[], Finding]], ...] = (
        ("keys", tr("Keys"), lambda: keys(home, db)),
        ("disk", tr("Disk space"), lambda: disk(home, db, now)),
        ("clock", tr("Clock"), lambda: clock(db, now, ask_hub=ask_hub)),
        (
            "exchange",
            tr("Exchange"),
            lambda: exchange(db, now, amber=timedelta(hours=settings.office_data_amber_hours)),
        ),
        ("backup", tr("Backup"), lambda: backup(db, settings, now)),
    )
    try:
        for check, title, job in jobs:
            with _finding_of_errors(check, title, findings):
                findings.append(job())
    finally:
        db.close()
    return findings
