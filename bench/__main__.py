"""`make bench`: every benchmark in turn, each in its own process, then their key figures.

    PYTHONPATH=. python -m bench [name ...]      # e.g. python -m bench pipeline

Each module prints its own table; lines of the form `key=value` are gathered and printed
again at the end. Numbers depend on the machine and on what else runs on it: each module
prints the load average it started and ended with. Never part of `make test`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# module -> arguments (kept short enough for the whole run to take a few minutes)
BENCHES: dict[str, list[str]] = {
    "pipeline": [],
    "metrics_render": [],
    "memory_1000": [],
    "tier_score": ["--racks", "1578"],  # 2,000 nodes
    "snmp_engines": ["--repeat", "1", "--scenarios", "ifmib"],
    "probe_schedule": [],
}


def main(argv: list[str]) -> int:
    chosen = argv or list(BENCHES)
    unknown = [name for name in chosen if name not in BENCHES]
    if unknown:
        print(f"unknown bench {', '.join(unknown)} (known: {', '.join(BENCHES)})",
              file=sys.stderr)
        return 2
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    figures: list[str] = []
    failed: list[str] = []
    started = time.monotonic()
    for name in chosen:
        print(f"\n=== bench.{name} ===", flush=True)
        proc = subprocess.Popen([sys.executable, "-m", f"bench.{name}", *BENCHES[name]],
                                stdout=subprocess.PIPE, text=True, env=env, cwd=REPO)
        assert proc.stdout is not None
        for line in proc.stdout:
            print(line, end="", flush=True)
            key, sep, value = line.strip().partition("=")
            if sep and key.isidentifier() and value and " " not in key:
                figures.append(line.strip())
        if proc.wait() != 0:
            failed.append(name)
    print(f"\n=== key figures ({time.monotonic() - started:.0f} s) ===")
    for line in figures:
        print(line)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
