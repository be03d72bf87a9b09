"""Time full re-scores of synthetic 2,000- and 5,000-node power topologies, exact engine
against the float engine it replaced.

    PYTHONPATH=. python -m bench.tier_score [--nodes 2000,5000] [--repeat 5]
                                            [--baseline-ref REF | --baseline DIR]

The hall: generators (N+2 for 130 % of the IT load) on two paralleling buses; per side
(A, B) two main switchboards (utility as a second input, not counted) feeding UPS blocks
of five 500 kW modules each (every block its own capacity group, N+1), a UPS output board
per block, 15 floor PDUs (150 kW) per block and side, two RPPs (80 kW) per PDU, and the
racks: 90 % dual-corded (one cord to an A-side RPP, one to the matching B-side RPP), 10 %
single-corded on an A-side RPP. Each block has a manual maintenance bypass from its main
switchboard to its output board. Racks draw 3-6 kW (seeded, two decimals). The number of
blocks grows with the node count (4 at 2,000 nodes, 10 at 5,000), so every size is a
design that carries its load.

The live state has one UPS module on bypass, one RPP failed and one module on battery.
"Re-score" is `score()` on a freshly compiled topology (design and live state, nothing
kept from before): what the live engine does when the configuration is reloaded; "after
one change" reuses the design state, as a status change does.

The peer is the float engine (tolerances, RESOLUTION scaling), measured in the same run:
`--baseline-ref REF` extracts that commit's tree with `git archive` into a temporary
directory (default for `make bench`: the last float-engine commit, if the clone has it),
`--baseline DIR` takes a tree already extracted; this file is then run there in a
subprocess (`--engine-only`), so both engines score the same synthetic topologies.
Nothing is asserted; the goal is exactness for at most 1.5x the float engine's time, and a
5,000-node re-score under 2 s on 2 cores.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tier.graph import compile_topology
from tier.score import score, whatif
from tier.topology import TopologyConfig

MODULES = 5
PDUS_PER_BLOCK = 15
RPPS_PER_PDU = 2
NODES_PER_BLOCK_AND_SIDE = MODULES + 1 + PDUS_PER_BLOCK * (1 + RPPS_PER_PDU)
RACK_KW = 4.5  # the mean of 3-6 kW
FLOAT_ENGINE = "0f31eaa"  # main before the exact engine (issue 15)
STATUSES = {"UPS-A1-2": "bypass", "RPP-B3-07a": "failed", "UPS-B2-1": "degraded"}


def shape(nodes: int) -> tuple[int, int, int]:
    """(blocks per side, generators, racks) for a hall of about `nodes` nodes."""
    blocks = max(3, round(nodes / 496.5))  # ~13 racks per RPP pair, as at 2,000 nodes
    gens = 6
    racks = 0
    for _ in range(4):
        racks = nodes - (gens + 2 + 2 + 4 + 2 * blocks * NODES_PER_BLOCK_AND_SIDE)
        gens = max(6, math.ceil(racks * RACK_KW * 1.3 / 2000) + 2)
    return blocks, gens, racks


def build_topology(nodes: int = 2000, seed: int = 1) -> TopologyConfig:
    blocks, gen_count, racks = shape(nodes)
    rng = random.Random(seed)
    specs: list[dict[str, Any]] = []
    groups: list[dict[str, Any]] = [{"id": "generator", "demand": round(racks * RACK_KW * 1.3)}]
    gens = [f"G{i}" for i in range(1, gen_count + 1)]
    specs += [{"id": g, "kind": "generator", "capacity": 2000} for g in gens]
    specs += [{"id": f"U-{s}", "kind": "utility"} for s in "AB"]
    for side in "AB":
        specs.append({"id": f"GPB-{side}", "kind": "switchboard", "fed_from": gens})
        for m in (1, 2):
            specs.append(
                {
                    "id": f"MSB-{side}{m}",
                    "kind": "switchboard",
                    "fed_from": [f"GPB-{side}", f"U-{side}"],
                }
            )
    rpps: dict[tuple[str, int], list[str]] = {}
    for side in "AB":
        for b in range(1, blocks + 1):
            msb = f"MSB-{side}{1 if b <= blocks // 2 else 2}"
            modules = [f"UPS-{side}{b}-{k}" for k in range(1, MODULES + 1)]
            specs += [
                {
                    "id": mod,
                    "kind": "ups",
                    "capacity": 500,
                    "fed_from": [msb],
                    "group": f"ups-{side}{b}",
                }
                for mod in modules
            ]
            uob = f"UOB-{side}{b}"
            specs.append(
                {
                    "id": uob,
                    "kind": "switchboard",
                    "fed_from": [*modules, {"id": msb, "mode": "manual"}],
                }
            )
            for p in range(1, PDUS_PER_BLOCK + 1):
                pdu = f"PDU-{side}{b}-{p:02d}"
                specs.append(
                    {
                        "id": pdu,
                        "kind": "pdu",
                        "capacity": 150,
                        "fed_from": [uob],
                        "group": f"pdu-{side}{b}-{p:02d}",
                    }
                )
                for r in range(1, RPPS_PER_PDU + 1):
                    rpp = f"RPP-{side}{b}-{p:02d}{'ab'[r - 1]}"
                    specs.append(
                        {
                            "id": rpp,
                            "kind": "rpp",
                            "capacity": 80,
                            "fed_from": [pdu],
                            "group": f"rpp-{side}{b}-{p:02d}{'ab'[r - 1]}",
                        }
                    )
                    rpps.setdefault((side, b), []).append(rpp)
    pairs = [(a, a.replace("RPP-A", "RPP-B")) for b in range(1, blocks + 1) for a in rpps["A", b]]
    for i in range(racks):
        rpp_a, rpp_b = pairs[i % len(pairs)]
        cords = [rpp_a] if rng.random() < 0.10 else [rpp_a, rpp_b]
        specs.append(
            {
                "id": f"R{i + 1:05d}",
                "kind": "rack",
                "demand": round(rng.uniform(3.0, 6.0), 2),
                "fed_from": cords,
            }
        )
    return TopologyConfig.model_validate({"power": {"groups": groups, "nodes": specs}})


@contextmanager
def timed(into: list[tuple[float, float]]) -> Iterator[None]:
    wall, cpu = time.perf_counter(), time.process_time()
    yield
    into.append((time.perf_counter() - wall, time.process_time() - cpu))


def median_ms(samples: list[tuple[float, float]], cpu: bool = False) -> float:
    return statistics.median(c if cpu else w for w, c in samples) * 1000


def measure(nodes: int, repeat: int) -> dict[str, float]:
    topo = build_topology(nodes)
    count = len(topo.power.nodes)
    started = time.perf_counter()
    compiled = compile_topology(topo)
    compile_ms = (time.perf_counter() - started) * 1000
    cold: list[tuple[float, float]] = []
    warm: list[tuple[float, float]] = []
    for i in range(repeat):
        fresh = compile_topology(topo)  # cold: no view or analysis kept from an earlier score
        with timed(cold):
            snap = score(fresh, STATUSES)
        with timed(warm):  # one more status change: the design state is reused
            score(fresh, {**STATUSES, "UPS-A3-1": "failed" if i % 2 else "bypass"})
    spent: list[tuple[float, float]] = []
    with timed(spent):
        answer = whatif(compiled, STATUSES, ["UPS-B1-1"])
    power = snap.subsystem("power")
    print(
        f"  {count} nodes ({len(power.live.loads)} loads): compile {compile_ms:.0f} ms; "
        f"re-score cold median {median_ms(cold):.0f} ms wall, {median_ms(cold, True):.0f} ms "
        f"CPU; after one change {median_ms(warm):.0f} ms; whatif {median_ms(spent):.0f} ms "
        f"(n={repeat}); design tier {snap.design_tier}, live tier {snap.live_tier}, score "
        f"{snap.score}; {answer.verdict[:48]}",
        flush=True,
    )
    return {
        "nodes": count,
        "cold": median_ms(cold),
        "cold_cpu": median_ms(cold, True),
        "warm": median_ms(warm),
        "whatif": median_ms(spent),
    }


def baseline_tree(ref: str, into: Path) -> Path | None:
    """`git archive REF` of this repository extracted into `into`, or None if it cannot be."""
    repo = Path(__file__).resolve().parents[1]
    try:
        archive = subprocess.run(
            ["git", "-C", str(repo), "archive", ref], capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return into


def run_baseline(tree: Path, sizes: list[int], repeat: int) -> dict[int, dict[str, float]]:
    """This bench's `--engine-only` run against the engine in `tree`."""
    env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(
        [sys.executable, __file__, "--engine-only", "--nodes", ",".join(map(str, sizes)),
         "--repeat", str(repeat)],
        capture_output=True, text=True, env=env, cwd=tree, check=False,
    )
    print(done.stdout, end="")
    if done.returncode != 0:
        print(f"  the baseline failed: {done.stderr.strip().splitlines()[-1:]}")
    found: dict[int, dict[str, float]] = {}
    for size, key, value in re.findall(r"^engine_(\d+)_(\w+)=([\d.]+)$", done.stdout, re.M):
        found.setdefault(int(size), {})[key] = float(value)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", default="2000,5000", help="node counts, comma-separated")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--baseline-ref", default=None,
                        help=f"git ref of the float engine to compare with (e.g. {FLOAT_ENGINE})")
    parser.add_argument("--baseline", type=Path, default=None,
                        help="a source tree of the engine to compare with, already extracted")
    parser.add_argument("--engine-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sizes = [int(n) for n in args.nodes.split(",")]

    if args.engine_only:  # the peer's side: figures only, read back by run_baseline
        for size in sizes:
            got = measure(size, args.repeat)
            for key, value in got.items():
                print(f"engine_{size}_{key}={value:.1f}")
        return

    baseline: dict[int, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="tier-baseline-") as tmp:
        tree = args.baseline
        if tree is None and args.baseline_ref:
            tree = baseline_tree(args.baseline_ref, Path(tmp))
            if tree is None:
                print(f"baseline {args.baseline_ref}: not in this clone; exact engine only")
        if tree is not None:
            print(f"float engine ({args.baseline_ref or tree}):")
            baseline = run_baseline(tree, sizes, args.repeat)
    print("exact engine (this tree):")
    mine = {size: measure(size, args.repeat) for size in sizes}
    for size, got in mine.items():
        nodes = int(got["nodes"])
        print(f"tier_rescore_ms_{nodes}_nodes={got['cold']:.0f}")
        print(f"tier_rescore_after_change_ms_{nodes}_nodes={got['warm']:.0f}")
        peer = baseline.get(size)
        if peer:
            print(f"tier_rescore_float_ms_{nodes}_nodes={peer['cold']:.0f}")
            print(f"tier_exact_over_float_{nodes}_nodes={got['cold'] / peer['cold']:.2f} "
                  f"(CPU {got['cold_cpu'] / peer['cold_cpu']:.2f}; goal <= 1.5)")


if __name__ == "__main__":
    main()
