"""How long /metrics takes for 1,000 devices' worth of samples.

    PYTHONPATH=. python -m bench.metrics_render [--devices 1000] [--interfaces 4] [--repeat 5]

A real `Service` with 1,000 configured SNMP devices (the bench's IF-MIB profile, nothing
polled over the network): each device's state gets the samples and component statuses
that `PollPlan.map` makes from an IF-MIB walk of `--interfaces` interfaces (150 samples at
4, plus tierwatch's own ~27 series per device). Then, with the service's HTTP server
running in this process:

* cold scrape: every device was polled since the last scrape (all re-rendered), the worst
  case and the one that matters when polls and scrapes run at the same interval;
* 10 % changed: a tenth of the devices polled since the last scrape;
* warm scrape: nothing changed since the last scrape.

Each is timed as `exporter.render()` alone and as an HTTP GET /metrics through the real app
(FastAPI, uvicorn) on loopback; the median of `--repeat` scrapes is printed. The garbage
collector is settled as `tierwatch run` settles it (tierwatch/runner.py). The target is
under 250 ms for the cold scrape on 2 cores.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from api.main import create_app
from bench import ifmib, lab
from bench.loadgen import Client
from collector.snmp.client import Value, WalkResult
from collector.snmp.component import SnmpPolling
from tierwatch.config import parse
from tierwatch.core.gcsettle import settle_garbage_collector
from tierwatch.core.model import PollResult
from tierwatch.httpserver import HttpServer
from tierwatch.service import Service


def synthetic_walk(interfaces: int, rng: random.Random) -> tuple[dict[str, Value], WalkResult]:
    """What an agent with `interfaces` interfaces answers to the bench profile."""
    got: dict[str, Value] = {f"{ifmib.SYS_UPTIME}.0": rng.randrange(10**9),
                             f"{ifmib.IF_NUMBER}.0": interfaces}
    walked: WalkResult = {}
    for name, _, oid, kind in ifmib.COLUMNS:
        rows: list[tuple[str, Value]] = []
        for i in range(1, interfaces + 1):
            value: Value
            if kind == "label":
                value = f"Gi1/0/{i}".encode() if name != "ifAlias" else f"uplink {i}".encode()
            elif kind == "phys":
                value = rng.randbytes(6)
            elif kind == "oid":
                value = "0.0"
            elif name in ("ifAdminStatus", "ifOperStatus"):
                value = rng.choice([1, 1, 1, 2])
            else:
                value = rng.randrange(2**40)
            rows.append((str(i), value))
        walked[oid] = rows
    return got, walked


def build_service(devices: int, work: Path) -> Service:
    profiles = work / "profiles"
    ifmib.write_files(work, lab.COMMUNITY, lab.USER)
    lines = ["site: {name: bench}", f"store: {{url: 'sqlite:///{work / 'tw.sqlite'}'}}",
             "snmp:", f"  profile_dirs: ['{profiles}']",
             "credentials:", "  v2c: {version: 2c, community: '${TW_BENCH_COMMUNITY}'}",
             "devices:"]
    lines += [f"  - {{id: sw{n:04d}, address: '127.0.{10 + n // 250}.{1 + n % 250}', "
              f"credentials: v2c, profile: {ifmib.PROFILE_NAME}}}" for n in range(devices)]
    os.environ.setdefault("TW_BENCH_COMMUNITY", lab.COMMUNITY)
    return Service(parse("\n".join(lines) + "\n").config)


def poll_all(service: Service, walks: list[tuple[dict[str, Value], WalkResult]],
             share: float, rng: random.Random, ts: float) -> None:
    """Fold a fresh poll of `share` of the devices into the state."""
    assert isinstance(service.snmp, SnmpPolling)  # one process: 1,000 devices every 30 s
    for n, (device_id, runtime) in enumerate(service.snmp.devices.items()):
        if share < 1.0 and rng.random() >= share:
            continue
        assert runtime.plan is not None
        got, walked = walks[n % len(walks)]
        samples, components, roles = runtime.plan.map(got, walked, runtime.base_labels, ts)
        service.state.update(PollResult(device_id, ts, 0.05, samples, components, 162,
                                        roles=roles, metadata=runtime.plan.metadata))


async def measure(args: argparse.Namespace) -> None:
    rng = random.Random(1)
    with tempfile.TemporaryDirectory(prefix="twbench-") as tmp:
        service = build_service(args.devices, Path(tmp))
        walks = [synthetic_walk(args.interfaces, rng) for _ in range(50)]
        server = HttpServer(create_app(service.api_context()), "127.0.0.1:0")
        host, port = await server.start()
        client = Client(host, port)
        try:
            poll_all(service, walks, 1.0, rng, time.time())
            body = service.exporter.render()
            settle_garbage_collector()  # as `tierwatch run` does once its service is up
            samples = sum(len(d.samples) for d in service.state.devices.values())
            lines = body.count(b"\n")
            print(f"# {args.devices} devices, {samples / args.devices:.0f} device samples each, "
                  f"{lines} lines ({lines / args.devices:.0f} per device), "
                  f"{len(body) / 1e6:.1f} MB per scrape")
            rows: list[tuple[str, float, float]] = []
            for label, share in (("cold (every device polled since)", 1.0),
                                 ("10% of the devices polled since", 0.1),
                                 ("warm (nothing changed)", 0.0)):
                render_ms: list[float] = []
                http_ms: list[float] = []
                for _ in range(args.repeat):
                    poll_all(service, walks, share, rng, time.time())
                    started = time.perf_counter()
                    service.exporter.render()
                    render_ms.append((time.perf_counter() - started) * 1000)
                    poll_all(service, walks, share, rng, time.time())
                    started = time.perf_counter()
                    status, answer = await client.get("/metrics")
                    http_ms.append((time.perf_counter() - started) * 1000)
                    if status != 200 or len(answer) < len(body) // 2:
                        raise RuntimeError(f"/metrics answered {status}, {len(answer)} bytes")
                rows.append((label, statistics.median(render_ms), statistics.median(http_ms)))
        finally:
            client.close()
            await server.stop()
    print(f"{'scrape':<34} {'render() ms':>11} {'HTTP GET ms':>11}")
    for label, render_ms_median, http_ms_median in rows:
        print(f"{label:<34} {render_ms_median:>11.0f} {http_ms_median:>11.0f}")
    cold = rows[0]
    print(f"metrics_render_ms_cold_{args.devices}_devices={cold[1]:.0f} "
          f"(HTTP {cold[2]:.0f}; target < 250)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--interfaces", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    print(f"# metrics_render: {lab.machine_line()}")
    asyncio.run(measure(args))
    print(f"# end: load average {lab.loadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
