"""Time one full re-score of a synthetic 2,000-node power topology.

    PYTHONPATH=. python bench/tier_score.py [--racks 1500] [--repeat 3]

The hall: 6 generators (N+2) on two paralleling buses; per side (A, B) two main
switchboards (utility as a second input, not counted) feeding four UPS blocks of five
500 kW modules each (every block its own capacity group, N+1), a UPS output board per
block, 15 floor PDUs (150 kW) per block and side, two RPPs (80 kW) per PDU, and the racks:
90 % dual-corded (one cord to an A-side RPP, one to the matching B-side RPP), 10 %
single-corded on an A-side RPP. Each block has a manual maintenance bypass from its main
switchboard to its output board. Racks draw 3-6 kW (seeded).

The live state has one UPS module on bypass, one RPP failed and one module on battery.
Nothing here is asserted; the target is under 1 s per re-score on 2 cores.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tier.graph import compile_topology
from tier.score import score, whatif
from tier.topology import TopologyConfig

BLOCKS = 4
MODULES = 5
PDUS_PER_BLOCK = 15
RPPS_PER_PDU = 2


def build_topology(racks: int = 1500, seed: int = 1) -> TopologyConfig:
    rng = random.Random(seed)
    nodes: list[dict[str, Any]] = []
    groups: list[dict[str, Any]] = [{"id": "generator", "demand": racks * 4.5 * 1.3}]
    gens = [f"G{i}" for i in range(1, 7)]
    nodes += [{"id": g, "kind": "generator", "capacity": 2000} for g in gens]
    nodes += [{"id": f"U-{s}", "kind": "utility"} for s in "AB"]
    for side in "AB":
        nodes.append({"id": f"GPB-{side}", "kind": "switchboard", "fed_from": gens})
        for m in (1, 2):
            nodes.append(
                {
                    "id": f"MSB-{side}{m}",
                    "kind": "switchboard",
                    "fed_from": [f"GPB-{side}", f"U-{side}"],
                }
            )
    rpps: dict[tuple[str, int], list[str]] = {}
    for side in "AB":
        for b in range(1, BLOCKS + 1):
            msb = f"MSB-{side}{1 if b <= BLOCKS // 2 else 2}"
            modules = [f"UPS-{side}{b}-{k}" for k in range(1, MODULES + 1)]
            nodes += [
                {
                    "id": mod,
                    "kind": "ups",
                    "capacity": 500,
                    "fed_from": [msb],
                    "group": f"ups-{side}{b}",
                    "device": None,
                }
                for mod in modules
            ]
            uob = f"UOB-{side}{b}"
            nodes.append(
                {
                    "id": uob,
                    "kind": "switchboard",
                    "fed_from": [*modules, {"id": msb, "mode": "manual"}],
                }
            )
            for p in range(1, PDUS_PER_BLOCK + 1):
                pdu = f"PDU-{side}{b}-{p:02d}"
                nodes.append(
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
                    nodes.append(
                        {
                            "id": rpp,
                            "kind": "rpp",
                            "capacity": 80,
                            "fed_from": [pdu],
                            "group": f"rpp-{side}{b}-{p:02d}{'ab'[r - 1]}",
                        }
                    )
                    rpps.setdefault((side, b), []).append(rpp)
    pairs = [(a, a.replace("RPP-A", "RPP-B")) for b in range(1, BLOCKS + 1) for a in rpps["A", b]]
    for i in range(racks):
        rpp_a, rpp_b = pairs[i % len(pairs)]
        cords = [rpp_a] if rng.random() < 0.10 else [rpp_a, rpp_b]
        nodes.append(
            {
                "id": f"R{i + 1:04d}",
                "kind": "rack",
                "demand": round(rng.uniform(3.0, 6.0), 2),
                "fed_from": cords,
            }
        )
    for node in nodes:
        node.pop("device", None)
    return TopologyConfig.model_validate({"power": {"groups": groups, "nodes": nodes}})


@contextmanager
def timed(into: list[tuple[float, float]]) -> Iterator[None]:
    wall, cpu = time.perf_counter(), time.process_time()
    yield
    into.append((time.perf_counter() - wall, time.process_time() - cpu))


def summary(samples: list[tuple[float, float]]) -> str:
    wall = statistics.median(w for w, _ in samples) * 1000
    cpu = statistics.median(c for _, c in samples) * 1000
    return f"median {wall:.0f} ms wall, {cpu:.0f} ms CPU (n={len(samples)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--racks", type=int, default=1500)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    topo = build_topology(args.racks)
    count = len(topo.power.nodes)
    started = time.perf_counter()
    compiled = compile_topology(topo)
    compile_s = time.perf_counter() - started

    statuses = {"UPS-A1-2": "bypass", "RPP-B3-07a": "failed", "UPS-B2-1": "degraded"}
    cold: list[tuple[float, float]] = []
    warm: list[tuple[float, float]] = []
    for i in range(args.repeat):
        fresh = compile_topology(topo)  # cold: no view or analysis kept from an earlier score
        with timed(cold):
            snap = score(fresh, statuses)
        with timed(warm):  # one more status change: the design state is reused
            score(fresh, {**statuses, "UPS-A3-1": "failed" if i % 2 else "bypass"})
    spent: list[tuple[float, float]] = []
    with timed(spent):
        answer = whatif(compiled, statuses, ["UPS-B1-1"])

    power = snap.subsystem("power")
    print(f"nodes: {count} ({len(power.live.loads)} loads)")
    print(f"compile + validate: {compile_s * 1000:.0f} ms")
    print(f"full re-score, cold (design + live): {summary(cold)}")
    print(f"re-score after one status change (design reused): {summary(warm)}")
    print(f"whatif one UPS module: {summary(spent)} -> {answer.verdict[:70]}")
    cold_ms = statistics.median(w for w, _ in cold) * 1000
    warm_ms = statistics.median(w for w, _ in warm) * 1000
    print(f"tier_rescore_ms_{count}_nodes={cold_ms:.0f} (after one change {warm_ms:.0f}; "
          "target < 1000)")
    print(
        f"design tier {snap.design_tier}, live tier {snap.live_tier}, score {snap.score}; "
        f"live SPOFs {len(power.live.spofs)}, "
        f"maintainability failures {len(power.live.maintainability)}"
    )


if __name__ == "__main__":
    main()
