"""`make bench`: every benchmark in turn, each in its own process, then their key figures.

    PYTHONPATH=. python -m bench               # all of them (`make bench`)
    PYTHONPATH=. python -m bench pipeline      # only these
    PYTHONPATH=. python -m bench --list

A benchmark is a module of bench/ with a `main()`. Each runs in a process of its own (so
one's memory and garbage do not colour the next's numbers) with the arguments below, or
its own defaults; run a module alone (`python -m bench.tier_score --racks 3000`) to pass
others. Each prints its own table; lines of the form `key=value` are gathered and printed
again at the end. A benchmark that fails is reported and the others still run; the exit
status is 1 when any failed. Nothing is asserted: benchmarks print, tests assert.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

# module -> arguments for `make bench` (short enough for the whole run to take minutes)
ARGUMENTS: dict[str, list[str]] = {
    # 2,000 and 5,000 nodes, against the float engine it replaced (issue 15)
    "tier_score": ["--nodes", "2000,5000", "--repeat", "3", "--baseline-ref", "0f31eaa"],
    "snmp_engines": ["--repeat", "1", "--scenarios", "ifmib"],
    # a month of faults in 15 minutes, a kill every 90 s (issue 19)
    "chaos": ["--minutes", "15"],
}
# the headline comparisons first, then the rest in name order
FIRST = ("pipeline", "metrics_render", "memory_1000", "tier_score")


def modules() -> list[str]:
    found = sorted(p.stem for p in HERE.glob("*.py") if not p.stem.startswith("_")
                   and re.search(r"^def main\(", p.read_text(encoding="utf-8"), re.M))
    return [m for m in FIRST if m in found] + [m for m in found if m not in FIRST]


def main(argv: list[str]) -> int:
    found = modules()
    if "--list" in argv:
        print("\n".join(found))
        return 0
    chosen = argv or found
    unknown = [name for name in chosen if name not in found]
    if unknown:
        print(f"unknown bench {', '.join(unknown)} (known: {', '.join(found)})",
              file=sys.stderr)
        return 2
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    figures: list[str] = []
    failed: list[str] = []
    started = time.monotonic()
    for name in chosen:
        print(f"\n=== bench.{name} ===", flush=True)
        began = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-m", f"bench.{name}", *ARGUMENTS.get(name, [])],
                                stdout=subprocess.PIPE, text=True, env=env, cwd=REPO)
        assert proc.stdout is not None
        for line in proc.stdout:
            print(line, end="", flush=True)
            key, sep, value = line.strip().partition("=")
            if sep and key.isidentifier() and value and " " not in key:
                figures.append(line.strip())
        ok = proc.wait() == 0
        if not ok:
            failed.append(name)
        print(f"-- bench.{name}: {'done' if ok else 'FAILED'} in {time.monotonic() - began:.1f} s",
              flush=True)
    print(f"\n=== key figures ({time.monotonic() - started:.0f} s) ===")
    for line in figures:
        print(line)
    print(f"{len(chosen) - len(failed)} of {len(chosen)} benchmarks done"
          + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
