"""The live Tier engine on the synthetic 2,000-node hall of bench/tier_score.py.

    PYTHONPATH=. python -m bench.tier_live [--racks 1500] [--repeat 5]

Every UPS module and PDU is bound to a device of its own (160 devices); the state is fed
the way the service feeds it. Measured:

* change -> snapshot: from a status change in the state to the published snapshot,
  without the debounce (the wait is configuration, not work): read the statuses, score in
  the worker thread, write the store (SQLite file), publish;
* a mass outage: a whole UPS output board's PDUs unreachable at once (one burst, one
  re-score) and the load outages it opens;
* /metrics: the tier collector's render, with the availability windows computed (cold) and
  cached (warm);
* a what-if on the live state.

Nothing here is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.tier_score import build_topology
from exporters.prometheus import MetricsExporter
from livetier.engine import LiveTier
from tierwatch.config import Config
from tierwatch.core.model import ComponentStatus, PollResult, Status
from tierwatch.core.runtime import Runtime
from tierwatch.core.state import State
from tierwatch.core.store import Store


def bound_config(racks: int) -> Config:
    topo = build_topology(racks).model_dump(mode="json")
    for node in topo["power"]["nodes"]:
        if node["kind"] in ("ups", "pdu"):
            node["device"] = f"dev-{node['id'].lower()}"
    return Config.model_validate(
        {"site": {"name": "bench"}, "topology": topo, "tier": {"debounce": 0.05}}
    )


def ok(device: str, ts: float) -> PollResult:
    return PollResult(device, ts, components=[ComponentStatus("device", Status.OK)])


async def wait_seq(live: LiveTier, seq: int) -> None:
    while live.snapshot is None or live.snapshot.seq <= seq:
        await asyncio.sleep(0.001)


async def measure(racks: int, repeat: int, store_url: str) -> dict[str, Any]:
    config = bound_config(racks)
    devices = sorted(
        {n.device for _, s in config.topology.subsystems() for n in s.nodes if n.device}
    )
    state = State(devices)
    store = Store.open(store_url)
    live = LiveTier(config.topology, config.tier)
    runtime = Runtime.for_tests(store, state, site=config.site)
    exporter = MetricsExporter(state, runtime.metrics)
    await live.start(runtime)
    got: dict[str, Any] = {"devices": len(devices), "nodes": len(live.compiled.node_ids)}
    debounce = live.settings.debounce
    seq = live.snapshot.seq  # type: ignore[union-attr]
    started = time.perf_counter()
    for device in devices:
        state.update(ok(device, time.time()))
    await wait_seq(live, seq)
    got["first settled snapshot"] = time.perf_counter() - started - debounce

    latencies = []
    for i in range(repeat):
        seq = live.snapshot.seq  # type: ignore[union-attr]
        device = "dev-ups-a1-2" if i % 2 == 0 else "dev-ups-b3-4"
        status = Status.FAILED
        t0 = time.perf_counter()
        state.update(
            PollResult(
                device,
                time.time(),
                components=[ComponentStatus("device", status, "on bypass", frozenset({"bypass"}))],
            )
        )
        await wait_seq(live, seq)
        latencies.append(time.perf_counter() - t0 - debounce)
        seq = live.snapshot.seq  # type: ignore[union-attr]
        state.update(ok(device, time.time()))
        await wait_seq(live, seq)
    got["change -> snapshot"] = latencies

    board = [d for d in devices if d.startswith("dev-pdu-a2-")]
    seq = live.snapshot.seq  # type: ignore[union-attr]
    t0 = time.perf_counter()
    for device in board:  # the whole burst in one go: unreachable after 3 failed polls
        for _ in range(3):
            state.update(PollResult(device, time.time(), error="timeout", message="no answer"))
    await wait_seq(live, seq)
    got["mass outage"] = (
        len(board),
        time.perf_counter() - t0 - debounce,
        len(store.open_outages("load")),
    )

    renders = []
    for i in range(repeat):
        if i == 0 and live.availability is not None:
            live.availability.invalidate()
        t0 = time.perf_counter()
        body = exporter.render()
        renders.append(time.perf_counter() - t0)
    got["metrics"] = (renders, len(body), body.count(b"\ntierwatch_availability_ratio{"))

    t0 = time.perf_counter()
    answer, _ = await live.whatif(["UPS-B2-1"])
    got["whatif"] = (time.perf_counter() - t0, answer.verdict[:80])
    await live.stop()
    store.close()
    return got


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--racks", type=int, default=1500)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    logging.getLogger("tierwatch").setLevel(logging.ERROR)  # outages are what we cause here
    with tempfile.TemporaryDirectory(prefix="tierwatch-bench-") as tmp:
        got = asyncio.run(
            measure(args.racks, args.repeat, f"sqlite:///{Path(tmp) / 'store.sqlite'}")
        )
    print(f"nodes {got['nodes']}, bound devices {got['devices']}")
    print(f"first settled snapshot (every device answers): {ms(got['first settled snapshot'])}")
    lat = got["change -> snapshot"]
    print(
        f"change -> published snapshot (debounce excluded): median {ms(statistics.median(lat))}"
        f", max {ms(max(lat))} (n={len(lat)})"
    )
    count, spent, opened = got["mass outage"]
    print(
        f"{count} PDUs unreachable in one burst: one re-score, {opened} load outages "
        f"written, {ms(spent)}"
    )
    renders, size, series = got["metrics"]
    print(
        f"/metrics (device samples + tier): cold {ms(renders[0])}, warm median "
        f"{ms(statistics.median(renders[1:]))}; {size // 1024} KiB, {series} availability "
        "series"
    )
    spent, verdict = got["whatif"]
    print(f"whatif on the live state: {ms(spent)} -> {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
