"""Many rounds of ``kill -9`` on a real ``kiosk gate`` under load (issue 12).

    python bench/bench_kill.py [--rounds 1000] [--lanes 2] [--seed 1]

The same rounds as tests/test_kill_rounds.py (tests/killnine.py: a folder of pass
images through the real decoder, one decision a frame; killed after a random number of
printed decisions plus a few milliseconds, at a random moment from the start, or let
run to its end), on ``--lanes`` checkpoints at once. Prints rounds, where they were
killed, decisions acknowledged (printed), rows stored, rows stored but never printed
(written when the kill came), acknowledged decisions lost, and the integrity check.
Exit status 1 if any acknowledged decision was lost or a database is damaged.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

os.environ.setdefault("KIOSK_LANG", "en")
os.environ.setdefault("KIOSK_ADMIN_PIN", "2580")  # what 'kiosk init' sets, as in tests

from tests.killnine import audit, make_lane, run_lanes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1000)
    parser.add_argument("--lanes", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-kill-") as tmp:
        lanes = [make_lane(Path(tmp) / f"lane{i}") for i in range(args.lanes)]
        started = time.monotonic()
        tally = run_lanes(lanes, args.rounds, args.seed)
        took = time.monotonic() - started
        audits = [audit(lane) for lane in lanes]
    stored = set().union(*(a.ids for a in audits))
    acked = set(tally.acknowledged)
    lost = [v for v in tally.acknowledged if v not in stored]
    print(f"rounds        {tally.rounds} in {took:.0f} s ({took / tally.rounds:.2f} s a round)")
    print(f"killed        {dict(sorted(tally.by_kind.items()))}")
    print(f"acknowledged  {len(tally.acknowledged)} (distinct {len(acked)})")
    print(f"rows stored   {len(stored)}; stored, never printed: {len(stored - acked)}")
    print(f"lost          {len(lost)}")
    print(f"integrity     {', '.join(a.integrity for a in audits)}")
    print(f"failed rounds {len(tally.failures)}")
    for failure in tally.failures[:5]:
        print("   ", failure.strip().splitlines()[-1] if failure.strip() else failure)
    damaged = any(a.integrity != "ok" for a in audits)
    return 1 if lost or damaged or tally.failures else 0


if __name__ == "__main__":
    sys.exit(main())
