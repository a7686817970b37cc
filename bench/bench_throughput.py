"""Keys and seconds at the gate, from code seen to verdict, as a gloved guard works.

Runs the real program (``kiosk run --windowed``) on an X server of its own (Xvfb) and
drives it with real key events (xdotool): the code is "seen" by a handheld scanner's
burst (2 ms a key, Shift for capitals, then Enter), the guard's keys follow at a gloved
guard's 2 keys a second. For each case it prints the guard's keystrokes and the
seconds from the end of the scan to the passage committed in the database (read from
the checkpoint, not from the screen), and the part of those seconds that was the
guard typing:

* a resident with a pass (target 0 keys);
* a returning visitor showing their visitor code (target 6 keys or fewer);
* an invited visitor showing the code of an invitation sent ahead for today (target:
  the returning visitor's);
* a new visitor showing a code Gatepass does not know (a payment code), registered
  with only the required fields (name, mobile, destination, temperature);
* the same with the visitor's ID card held to the camera (issue 15: target under 15
  keys and 15 s): a second run of the program whose camera is a video of a generated
  card (:mod:`kiosk.vision.idcard_synth`, a few poses of one card, fresh sensor noise
  on every frame); the guard waits for the dialog to fill in name, ID number and
  "coming from" (the log's "ID card: fields filled" line: what the guard sees), then
  types the phone, the destination and the temperature. Whether the fields the card
  filled were the card's is checked in the database afterwards;
* the same visitor back, with the same card and no code: the card's number
  recognises them and the guard only takes the temperature.

    python bench/bench_throughput.py [--rate 2] [--rounds 1] [--no-card]

Needs Xvfb and xdotool (Debian: xvfb, xdotool). Numbers are machine-noisy: compare the
"program" column (seconds not spent typing) between runs on one machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
# Checkpoints made here are opened by other processes too: all share one key, as the
# tests' do (kiosk.store.db_key reads KIOSK_DB_KEY).
os.environ.setdefault("KIOSK_DB_KEY", "be" * 32)
os.environ.setdefault("KIOSK_ADMIN_PIN", "2580")

from kiosk.home import Home  # noqa: E402
from kiosk.store.db import connect  # noqa: E402
from kiosk.vision import idcard_synth  # noqa: E402
from tests.field.conftest import Xdo, kiosk_env, virtual_screen  # noqa: E402
from tests.helpers import make_checkpoint, run, run_json  # noqa: E402

PAYMENT_CODE = "https://qr.alipay.com/fkx15934pxmzdfcb2vhk7a1"


@dataclass
class Case:
    name: str
    target: str
    keys: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    typing: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class Guard:
    """The guard's hands: one key at a time, ``rate`` keys a second."""

    def __init__(self, xdo: Xdo, rate: float) -> None:
        self.xdo = xdo
        self.pause = 1.0 / rate
        self.count = 0
        self.typing = 0.0

    def _press(self, action: Callable[[], None]) -> None:
        start = time.monotonic()
        time.sleep(self.pause)  # the time the gloved hand takes to reach the key
        action()
        self.count += 1
        self.typing += time.monotonic() - start

    def type(self, text: str) -> None:
        for char in text:
            self._press(lambda c=char: self.xdo("type", "--", c))

    def key(self, *names: str) -> None:
        for name in names:
            self._press(lambda n=name: self.xdo("key", n))


def visit_count(home: Path) -> int:
    db = connect(Home(home).database, migrate=False)
    try:
        return int(db.execute("SELECT count(*) FROM visits").fetchone()[0])
    finally:
        db.close()


def scan_and_wait(
    xdo: Xdo,
    home: Path,
    code: str,
    guard_work: Callable[[], None] | None = None,
    *,
    rows: int = 1,
) -> float:
    """Scan ``code``; let the guard do their part; seconds from the scan's end to the
    verdict committed: ``rows`` new rows in the log (a visitor's code is logged as a
    CHECK when scanned, then the registration as its own passage)."""
    before = visit_count(home)
    xdo.scan(code, gap_ms=2)
    seen = time.monotonic()
    if guard_work is not None:
        guard_work()
    deadline = seen + 60
    while visit_count(home) < before + rows:
        if time.monotonic() > deadline:
            raise RuntimeError(f"no passage logged for {code[:12]}...")
        time.sleep(0.005)
    return time.monotonic() - seen


def focus_dialog(xdo: Xdo, title: str) -> None:
    """No window manager runs under Xvfb, so a new dialog does not take the keyboard
    by itself as it does on a desktop: give it (not counted as a guard's key)."""
    xdo.focus(xdo.wait_window(title, timeout=30))


def close_slip(xdo: Xdo, gate_window: str) -> None:
    if xdo.windows("Visitor code"):
        focus_dialog(xdo, "Visitor code")
        xdo.key("Escape")
    xdo.focus(gate_window)
    time.sleep(4.5)  # the verdict panel clears; the next code starts fresh


def run_bench(rate: float, rounds: int) -> list[Case]:
    resident = Case("resident with a pass", "0 keys")
    returning = Case("returning visitor, code shown", "<= 6 keys")
    invited = Case("invited visitor, code shown", "<= 6 keys")
    new = Case("new visitor, required fields", "-")
    with tempfile.TemporaryDirectory(prefix="gatepass-throughput-") as tmp:
        home = Path(tmp) / "gate"
        make_checkpoint(home, residents=4)
        run(home, "passes", "issue", "--all", "--days", "30")
        passes = run_json(home, "passes", "list", "--json")
        codes = []
        for i in range(rounds):
            made = json.loads(
                run(
                    home, "visitors", "register", "--name", f"Zhao Liu {i}",
                    "--phone", f"1380013{9000 + i}", "--destination", "3-2-501",
                    "--temperature", "36.5", "--json",
                ).stdout
            )  # fmt: skip
            codes.append(made["code"])
        invitations = []
        for i in range(rounds):
            made = json.loads(
                run(
                    home, "visitors", "invite", "--name", f"Qian Qi {i}",
                    "--phone", f"1370013{9000 + i}", "--destination", "3-2-502",
                    "--date", date.today().isoformat(),
                    "--out", str(Path(tmp) / f"invitation-{i}.png"), "--json",
                ).stdout
            )  # fmt: skip
            invitations.append(made["code"])
        with virtual_screen() as display:
            xdo = Xdo(display)
            log = open(Path(tmp) / "kiosk.log", "wb")  # noqa: SIM115
            proc = subprocess.Popen(
                [sys.executable, "-m", "kiosk", "--home", str(home), "--lang", "en", "run",
                 "--windowed", "--camera", "97", "--guard", "Bench"],
                env=kiosk_env(display), stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
            try:
                window = xdo.wait_window("Gatepass", timeout=60)
                xdo.focus(window)
                time.sleep(3)  # the worker opens the gate
                for i in range(rounds):
                    guard = Guard(xdo, rate)
                    token = passes[i % len(passes)]["token"]
                    resident.seconds.append(scan_and_wait(xdo, home, token))
                    resident.keys.append(guard.count)
                    resident.typing.append(guard.typing)
                    close_slip(xdo, window)

                    # a returning visitor's code, then an invitation's: the form
                    # comes filled in, the guard types the temperature
                    for case, code, reading in (
                        (returning, codes[i], "36.7"),
                        (invited, invitations[i], "36.8"),
                    ):
                        guard = Guard(xdo, rate)

                        def temperature(g: Guard = guard, text: str = reading) -> None:
                            focus_dialog(xdo, "Register a visitor")
                            g.type(text)
                            g.key("Return")

                        case.seconds.append(scan_and_wait(xdo, home, code, temperature, rows=2))
                        case.keys.append(guard.count)
                        case.typing.append(guard.typing)
                        close_slip(xdo, window)

                    guard = Guard(xdo, rate)

                    def register(g: Guard = guard, n: int = i) -> None:
                        focus_dialog(xdo, "Register a visitor")
                        g.type(f"Sun Qi {n}")
                        g.key("Tab")
                        g.type(f"1390013{8000 + n}")
                        g.key("Tab", "Tab")  # past the ID number (not required)
                        g.type("3-2-501")
                        g.key("Tab")  # takes the household found
                        g.key("Tab", "Tab", "Tab")  # reason, from, plate: empty
                        g.type("36.6")
                        g.key("Return")

                    new.seconds.append(scan_and_wait(xdo, home, f"{PAYMENT_CODE}{i}", register))
                    new.keys.append(guard.count)
                    new.typing.append(guard.typing)
                    close_slip(xdo, window)
            finally:
                proc.terminate()
                proc.wait(20)
                log.close()
        rows = run_json(home, "visits", "list", "--json")
        # per round: the resident's PASS; each visitor's code scanned (CHECK) and then
        # registered (PASS); plus the returning visitors' first registrations
        passes = [r for r in rows if r["level"] == "pass"]
        if len(rows) != 8 * rounds or len(passes) != 5 * rounds:
            raise RuntimeError(f"unexpected passages: {[(r['source'], r['level']) for r in rows]}")
    return [resident, returning, invited, new]


CARD_POSES = (("near", 0), ("clean", 1), ("tilted", 2), ("near", 3), ("clean", 4))
CARD_FPS = 10


def card_video(path: Path, seed: int, seconds: float = 120.0) -> idcard_synth.CardData:
    """A video of one generated card held up: its poses in turn, a second each, with
    fresh sensor noise on every frame (a still card in front of a webcam)."""
    import cv2
    import numpy as np

    rng = np.random.default_rng(seed)
    card = idcard_synth.random_card(rng)
    poses = [
        idcard_synth.make_card_frame(kind, seed * 10 + n, card).image for kind, n in CARD_POSES
    ]
    height, width = poses[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), CARD_FPS, (width, height))
    try:
        for i in range(int(seconds * CARD_FPS)):
            image = poses[(i // CARD_FPS) % len(poses)].astype(np.int16)
            noise = rng.normal(0, 2.0, image.shape).astype(np.int16)
            writer.write(np.clip(image + noise, 0, 255).astype(np.uint8))
    finally:
        writer.release()
    return card


@contextmanager
def gate_program(home: Path, display: str, camera: str, log_to: Path) -> Iterator[tuple[Xdo, str]]:
    """``kiosk run --windowed`` on ``display`` with ``camera``; its window focused."""
    xdo = Xdo(display)
    with open(log_to, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "kiosk", "--home", str(home), "--lang", "en", "run",
             "--windowed", "--camera", camera, "--guard", "Bench"],
            env=kiosk_env(display), stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            window = xdo.wait_window("Gatepass", timeout=60)
            xdo.focus(window)
            time.sleep(3)  # the worker opens the gate
            yield xdo, window
        finally:
            proc.terminate()
            proc.wait(20)


def wait_for_log(home: Path, text: str, after: int, timeout: float = 60.0) -> None:
    """Until ``text`` is in the kiosk's log past byte ``after``."""
    path = Home(home).logs_dir / "kiosk.log"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and text.encode() in path.read_bytes()[after:]:
            return
        time.sleep(0.02)
    raise RuntimeError(f"not in the log within {timeout:.0f} s: {text}")


def log_size(home: Path) -> int:
    path = Home(home).logs_dir / "kiosk.log"
    return path.stat().st_size if path.exists() else 0


RECOGNISED_S = 0.5
"""After the card's fields show, the moment the guard takes to see the form turn into
a returning visitor's (the number's look-up: milliseconds) before typing."""


def run_card_bench(rate: float, rounds: int) -> tuple[Case, Case]:
    """A new visitor with their ID card, then the same visitor back with the same card
    (no code): one program run per round (a new card each)."""
    case = Case("new visitor, ID card held up", "<15 keys")
    again = Case("returning visitor, ID card (no code)", "<15 keys")
    with tempfile.TemporaryDirectory(prefix="gatepass-card-") as tmp:
        home = Path(tmp) / "gate"
        make_checkpoint(home, residents=4)
        cards = []
        with virtual_screen() as display:
            for i in range(rounds):
                video = Path(tmp) / f"card-{i}.avi"
                card = card_video(video, 150 + i)
                cards.append(card)
                out = Path(tmp) / f"kiosk-{i}.out"
                with gate_program(home, display, str(video), out) as (xdo, window):
                    guard = Guard(xdo, rate)
                    start = log_size(home)

                    def register(g: Guard = guard, n: int = i, after: int = start) -> None:
                        focus_dialog(xdo, "Register a visitor")
                        # the card is held up: the guard waits for the fields, then
                        # the focus is in the phone
                        wait_for_log(home, "ID card: fields filled", after)
                        g.type(f"1370013{7000 + n}")
                        g.key("Tab", "Tab")  # past the ID number (the card's)
                        g.type("3-2-501")
                        g.key("Tab")  # takes the household found
                        g.key("Tab", "Tab", "Tab")  # reason; from (the card's); plate
                        g.type("36.6")
                        g.key("Return")

                    case.seconds.append(
                        scan_and_wait(xdo, home, f"{PAYMENT_CODE}card{i}", register)
                    )
                    case.keys.append(guard.count)
                    case.typing.append(guard.typing)
                    close_slip(xdo, window)

                    guard = Guard(xdo, rate)
                    start = log_size(home)

                    def temperature(g: Guard = guard, after: int = start) -> None:
                        focus_dialog(xdo, "Register a visitor")
                        wait_for_log(home, "ID card: fields filled", after)
                        time.sleep(RECOGNISED_S)  # the focus is at the temperature
                        g.type("36.7")
                        g.key("Return")

                    again.seconds.append(
                        scan_and_wait(xdo, home, f"{PAYMENT_CODE}again{i}", temperature)
                    )
                    again.keys.append(guard.count)
                    again.typing.append(guard.typing)
        db = connect(Home(home).database, migrate=False)
        try:
            rows = db.execute("SELECT name, id_number, from_place FROM visitors").fetchall()
        finally:
            db.close()
    for card in cards:
        row = next((r for r in rows if r[1] == card.id_number), None)
        if row is None:
            case.notes.append("number not the card's")
            continue
        name_ok = "name right" if row[0] == card.name else "name misread"
        from_ok = "from right" if row[2] == card.province + card.city else "from misread"
        case.notes.append(f"number right, {name_ok}, {from_ok}")
        rows_of_card = sum(1 for r in rows if r[1] == card.id_number)
        again.notes.append(
            "recognised (one visitor row for the card)" if rows_of_card == 1 else "not recognised"
        )
    return case, again


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=2.0, help="guard keys a second")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--no-card", action="store_true", help="skip the ID card case")
    parser.add_argument("--only-card", action="store_true", help="only the ID card case")
    args = parser.parse_args()
    cases = [] if args.only_card else run_bench(args.rate, args.rounds)
    if not args.no_card:
        cases.extend(run_card_bench(args.rate, args.rounds))
    print(f"guard at {args.rate:g} keys/s, {args.rounds} round(s); medians")
    print(f"{'case':34} {'keys':>5} {'target':>9} {'seconds':>8} {'typing':>7} {'program':>8}")
    for case in cases:
        keys = statistics.median(case.keys)
        secs = statistics.median(case.seconds)
        typing = statistics.median(case.typing)
        print(
            f"{case.name:34} {keys:5.0f} {case.target:>9} {secs:8.3f} {typing:7.3f} "
            f"{secs - typing:8.3f}"
        )
        for note in case.notes:
            print(f"    {note}")


if __name__ == "__main__":
    main()
