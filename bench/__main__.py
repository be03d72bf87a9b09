"""Run every benchmark: each module of bench/ that has a `main()`, in name order.

    python -m bench                 # all of them (`make bench`)
    python -m bench tier_score      # only these
    python -m bench --list

Each module runs with its own defaults (its `main()` sees no arguments; run a module on its
own, `python -m bench.tier_score --racks 3000`, to pass some) and prints its own numbers
under a header. A benchmark that fails is reported and the others still run; the exit
status is 1 when any failed. Nothing is asserted: benchmarks print, tests assert.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent


def modules() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules([str(HERE)]) if not m.name.startswith("_"))


def run(name: str) -> bool:
    module = importlib.import_module(f"bench.{name}")
    entry = getattr(module, "main", None)
    if entry is None:
        print(f"(bench.{name} has no main(); skipped)")
        return True
    saved = sys.argv
    sys.argv = [f"bench/{name}.py"]  # each main() parses its own defaults
    started = time.perf_counter()
    try:
        code = entry()
    except SystemExit as exc:
        code = exc.code
    except Exception:
        traceback.print_exc()
        code = 1
    finally:
        sys.argv = saved
    ok = code in (None, 0)
    print(f"-- bench.{name}: {'done' if ok else 'FAILED'} in {time.perf_counter() - started:.1f} s")
    return ok


def main(argv: list[str]) -> int:
    found = modules()
    if "--list" in argv:
        print("\n".join(found))
        return 0
    wanted = argv or found
    unknown = [name for name in wanted if name not in found]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)} (have: {', '.join(found)})")
        return 2
    failed = []
    for name in wanted:
        print(f"\n== bench.{name} " + "=" * max(0, 60 - len(name)), flush=True)
        if not run(name):
            failed.append(name)
    print(
        f"\n{len(wanted) - len(failed)} of {len(wanted)} benchmarks done"
        + (f"; failed: {', '.join(failed)}" if failed else "")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
