"""The built-in demo: a checkpoint, a register, passes and a video, made from nothing.

``kiosk demo`` needs no webcam and no set-up. It makes a demo checkpoint (in a
temporary folder unless ``--home`` is given) with a small register of households and
residents, issues their passes, revokes one, puts one household under home
quarantine, registers a visitor, and renders a video of codes being held up to the
camera: a pass, a visitor code, a revoked pass, a payment code, and empty stretches;
a pass, a check and a stop all within the first 20 seconds. The gate then runs on
that video as its camera, through the same code path as a real gate.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from kiosk.core.clock import utcnow
from kiosk.core.identity import make_id_number
from kiosk.core.keys import load_private_key
from kiosk.core.pin import hash_pin
from kiosk.home import Home
from kiosk.store import db_key
from kiosk.store.checkpoint import checkpoint_id, create_checkpoint, record_audit
from kiosk.store.db import connect
from kiosk.store.holds import add_hold
from kiosk.store.passes import issue_passes, list_passes, revoke_pass
from kiosk.store.pin_lock import set_pin_hash
from kiosk.store.register import add_resident
from kiosk.store.visitors import ValidVisitor, add_visitor, issue_visitor_code

log = logging.getLogger("kiosk.demo")

DEMO_NAME = "幸福里社区 2号门 (演示)"
# The demo's admin PIN, printed when it starts. A throwaway checkpoint, so a PIN that
# 'kiosk init' would refuse as too easy: everyone trying the demo can open the settings.
DEMO_PIN = "1234"
# (building, unit, room, name, role)
REGISTER: tuple[tuple[str, str, str, str, str], ...] = (
    ("3", "2", "501", "张伟", "resident"),
    ("3", "2", "501", "王芳", "resident"),
    ("3", "2", "502", "李娜", "resident"),
    ("3", "2", "502", "刘洋", "resident"),
    ("5", "1", "301", "陈静", "resident"),
    ("5", "1", "302", "杨磊", "resident"),
    ("7", "1", "101", "赵敏", "resident"),
    ("7", "1", "102", "黄强", "staff"),
)
VIDEO_NAME = "demo-camera.avi"
JUNK = "https://pay.example.cn/qr/6228480402564890018"  # a payment code, not a pass


@dataclass(frozen=True)
class Demo:
    home: Home
    video: Path
    tokens: dict[str, str]  # "valid", "visitor", "revoked", "held", "junk"


DEMO_DB_KEY = hashlib.sha256(b"Gatepass demo checkpoint").digest()


def build_demo(
    home: Home, *, fps: float = 30.0, progress: Callable[[float], None] | None = None
) -> Demo:
    """Make (or reuse, when already made there) the demo checkpoint and its video;
    ``progress`` is told the share done (0 to 1) as the video is written (most of the
    time: encoding its 660 frames)."""
    video = home.root / VIDEO_NAME
    # The demo's made-up people need no secret: its database has a known key (unless
    # KIOSK_DB_KEY gives one), so a demo kept with --home opens again on a computer
    # without a keyring.
    db_key.remember(home.database, db_key.from_env() or DEMO_DB_KEY)
    if home.database.exists() and video.exists():
        return _existing(home, video)
    create_checkpoint(home, DEMO_NAME, issuer=True, actor="demo")
    issuer = load_private_key(home.private_key, None)
    gate = load_private_key(home.gate_key, None)
    db = connect(home.database)
    now = utcnow()
    try:
        set_pin_hash(db, hash_pin(DEMO_PIN), "demo", "demo")
        ids = []
        for i, (building, unit, room, name, role) in enumerate(REGISTER):
            ids.append(
                add_resident(
                    db,
                    building=building,
                    unit=unit,
                    room=room,
                    name=name,
                    phone=f"1391234{5600 + i}",
                    id_number=make_id_number("370203", date(1975 + i * 3, 1 + i, 10 + i), 11 + i),
                    role=role,
                    actor="demo",
                    now=now,
                )
            )
        issue_passes(db, issuer, ids, days=30, now=now, actor="demo")
        by_name = {r["holder"]: r for r in list_passes(db)}
        revoke_pass(db, by_name["刘洋"]["serial"], "证件遗失，已补办", now=now, actor="demo")
        add_hold(
            db,
            household="5-1-301",
            until=now + timedelta(days=7),
            reason="密切接触者，居家隔离",
            now=now,
            actor="demo",
        )
        visitor_id = add_visitor(
            db,
            ValidVisitor(
                "周敏",
                "13712345678",
                None,
                by_name["张伟"]["household_id"],
                "探望老人",
                "市南区",
                "",
            ),
            now=now,
            checkpoint_id=checkpoint_id(db),
        )
        visitor = issue_visitor_code(db, gate, visitor_id, now=now, hours=24)
        record_audit(db, "demo", "demo.build", {})
        tokens = {
            "valid": by_name["张伟"]["token"],
            "visitor": visitor["token"],
            "revoked": by_name["刘洋"]["token"],
            "held": by_name["陈静"]["token"],
            "junk": JUNK,
        }
    finally:
        db.close()
    write_demo_video(video, tokens, fps=fps, progress=progress)
    return Demo(home, video, tokens)


def _existing(home: Home, video: Path) -> Demo:
    db = connect(home.database)
    try:
        rows = {r["holder"]: r for r in list_passes(db)}
    finally:
        db.close()
    tokens = {
        "valid": rows["张伟"]["token"],
        "visitor": rows["周敏"]["token"],
        "revoked": rows["刘洋"]["token"],
        "held": rows["陈静"]["token"],
        "junk": JUNK,
    }
    return Demo(home, video, tokens)


def demo_segments(tokens: dict[str, str]) -> list[tuple[str | None, float, str]]:
    """The demo's script: pass at ~1 s, check at ~5 s, stop at ~9 s; then more."""
    return [
        (None, 1.0, "clean"),
        (tokens["valid"], 2.0, "clean"),  # PASS
        (None, 2.0, "clean"),
        (tokens["visitor"], 2.0, "phone"),  # CHECK: a visitor code on a phone
        (None, 2.0, "clean"),
        (tokens["revoked"], 2.0, "tilt"),  # STOP: revoked
        (None, 2.0, "clean"),
        (tokens["junk"], 2.0, "phone"),  # CHECK: a payment code
        (None, 2.0, "clean"),
        (tokens["held"], 2.0, "dark"),  # CHECK coming home (committee told) / STOP going out
        (None, 3.0, "clean"),
    ]


def write_demo_video(
    path: Path,
    tokens: dict[str, str],
    *,
    fps: float = 30.0,
    progress: Callable[[float], None] | None = None,
) -> Path:
    from kiosk.vision.synth import write_video

    write_video(path, demo_segments(tokens), fps=fps, seed=2020, progress=progress)
    return path
