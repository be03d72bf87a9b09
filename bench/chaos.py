"""Crash safety over a long run: a month of faults compressed into minutes, the leader killed
with SIGKILL again and again, the store compared with the script. Prints the comparison
table (expected against found, per fault and check) and its figures; the short run of the
same harness is a test (tests/tierwatch/test_chaos.py).

    PYTHONPATH=. python -m bench.chaos [--minutes 15] [--seed 19] [--faults N] [--kills N]
                                       [--pair]

What runs: the simulated data center, a real PostgreSQL, a webhook receiver as the pager
and real `tierwatch run` processes (one instance, restarted after each kill; `--pair`: two,
the standby taking over). The script (tests/helpers/chaos_script.py) is made from the seed:
faults on random devices at random times (UPS on battery, on bypass, battery low, silent
agents, a trunk cut with its traps and its load outage), each 12-30 s long with polls every
second, and kills at random moments at least 25 s apart. Defaults: one fault every 15 s of
the run, one kill every 90 s. The exit status is 1 when a check fails: the table says which.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from tests.helpers.chaos import run_chaos
from tests.helpers.chaos_script import make_script


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=15.0,
                        help="how long the month of faults lasts")
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--faults", type=int, default=None,
                        help="default: one every 15 s of the run")
    parser.add_argument("--kills", type=int, default=None,
                        help="default: one every 90 s of the run")
    parser.add_argument("--pair", action="store_true",
                        help="two instances, leader and standby (needs GET /api/v1/ha)")
    parser.add_argument("--keep", type=Path, default=None,
                        help="keep logs and the rows read here (default: a temp dir)")
    args = parser.parse_args()
    duration = args.minutes * 60
    faults = args.faults if args.faults is not None else max(1, int(duration / 15))
    kills = args.kills if args.kills is not None else max(1, int(duration / 90))
    script = make_script(args.seed, duration, faults, kills)
    print(f"load average at start: {os.getloadavg()[0]:.2f}", flush=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="chaos-bench-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        result = run_chaos(work, script, pair=args.pair,
                           log=lambda line: print(line, flush=True))
    wall = time.monotonic() - started
    print(result.table())
    observed = result.observed
    assert observed is not None
    blind = [end - start for start, end in observed.blind]
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    print(f"chaos_wall_s={wall:.0f}")
    print(f"chaos_faults={len(script.faults)}")
    print(f"chaos_kills={len(observed.kills)}")
    print(f"chaos_checks={len(result.checks)}")
    print(f"chaos_checks_failed={len(result.failed)}")
    if blind:
        print(f"chaos_kill_to_leading_again_median_s={statistics.median(blind):.1f}")
        print(f"chaos_kill_to_leading_again_max_s={max(blind):.1f}")
    sys.exit(0 if result.ok else 1)


if __name__ == "__main__":
    main()
