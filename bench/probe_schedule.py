"""Does the probe schedule hold for 500 targets every 10 s, and what does it cost?

    PYTHONPATH=. python bench/probe_schedule.py [--targets 500] [--interval 10] [--cycles 3]

Runs tierwatch's real service (state, store on SQLite, the probe component) with N probed
targets on loopback: 60 % ICMP echo to 127.0.x.y (a raw or unprivileged socket, whichever
the machine allows), the rest TCP connects to listening ports on 127.0.x.y served by a
separate listener process; among the TCP targets a few closed ports (refused at once) and a
few whose accept queue is full (no answer: each attempt runs to its 1 s timeout), so the
failure paths run too. It lets the schedule run a warm-up interval, then measures `cycles`
intervals:

* late rounds: how many rounds started later than 10 ms / 100 ms / 1 s after their beat,
  and the lag's median, 99th percentile and maximum;
* skipped rounds (a round still running at its next beat);
* CPU: this process's user + system time over the measured wall time, as a share of one
  core and of the machine;
* what the probes found (device statuses), as a check that the bench measured real work.

Timing belongs here, never in tests. Numbers depend on the machine and on what else runs
on it (the load average is printed first).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from collector.probes.component import LagHistogram
from collector.probes.icmp import IcmpSocket, IcmpUnavailable
from tierwatch.config import parse
from tierwatch.service import Service

LISTENER = r"""
import json, selectors, socket, sys
pairs = json.loads(sys.argv[1])
sel = selectors.DefaultSelector()
held = []
for host, port, dark in pairs:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port))
    s.listen(0 if dark else 256)
    if dark:  # fill the accept queue and never accept: later SYNs are dropped
        for _ in range(3):
            c = socket.socket(); c.setblocking(False)
            try: c.connect((host, port))
            except BlockingIOError: pass
            held.append(c)
        held.append(s)
    else:
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
print("ready", flush=True)
while True:
    for key, _ in sel.select():
        try:
            conn, _ = key.fileobj.accept()
            conn.close()
        except BlockingIOError:
            pass
"""


class RecordingLag(LagHistogram):
    """The component's histogram, keeping every value so the bench can give percentiles."""

    def __init__(self) -> None:
        super().__init__()
        self.values: list[float] = []

    def observe(self, lag: float) -> float:
        lag = super().observe(lag)
        self.values.append(lag)
        return lag


def free_tcp_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def address(i: int) -> str:
    return f"127.0.{1 + i // 250}.{1 + i % 250}"


def build(targets: int, interval: float, store: Path) -> tuple[str, list[tuple[str, int, bool]],
                                                               dict[str, str]]:
    """The config text, the listener's (host, port, dark) list, and each target's kind."""
    icmp_ok = True
    try:
        IcmpSocket.open("auto").close()
    except IcmpUnavailable:
        icmp_ok = False
    n_icmp = int(targets * 0.6) if icmp_ok else 0
    n_closed = n_dark = max(1, targets // 100)
    lines: list[str] = []
    listen: list[tuple[str, int, bool]] = []
    kinds: dict[str, str] = {}
    for i in range(targets):
        host = address(i)
        device = f"t{i:04d}"
        if i < n_icmp:
            check, kinds[device] = f"{{icmp: {host}}}", "icmp"
        else:
            port = free_tcp_port(host)
            j = i - n_icmp
            if j < n_closed:
                kinds[device] = "tcp closed"
            elif j < n_closed + n_dark:
                kinds[device] = "tcp dark"
                listen.append((host, port, True))
            else:
                kinds[device] = "tcp"
                listen.append((host, port, False))
            check = f"{{tcp: '{host}:{port}'}}"
        lines.append(f"    - {{id: {device}, checks: [{check}]}}")
    config = (
        "site: {name: bench}\n"
        f"store: {{url: 'sqlite:///{store}'}}\n"
        f"probes:\n  interval: {interval}s\n  timeout: 1s\n  window: 10\n"
        "  unreachable_after: 3\n  links:\n" + "\n".join(lines) + "\n")
    return config, listen, kinds


async def measure(config_text: str, interval: float, cycles: int, kinds: dict[str, str]
                  ) -> dict[str, object]:
    service = Service(parse(config_text).config)
    assert service.probes is not None
    lag = RecordingLag()
    service.probes.lag = lag
    await service.start()
    try:
        await asyncio.sleep(interval)  # warm-up: every target has had its first round
        lag.values.clear()
        skipped0 = sum(d.polls_skipped_total for d in service.state.devices.values())
        wall0, cpu0 = time.perf_counter(), _cpu()
        await asyncio.sleep(interval * cycles)
        wall, cpu = time.perf_counter() - wall0, _cpu() - cpu0
        skipped = sum(d.polls_skipped_total for d in service.state.devices.values()) - skipped0
        statuses = Counter((kinds[d.id], str(d.status)) for d in service.state.devices.values())
        icmp_mode = service.probes.icmp_mode
    finally:
        await service.stop()
    return {"lags": list(lag.values), "wall": wall, "cpu": cpu, "skipped": skipped,
            "statuses": statuses, "icmp_mode": icmp_mode}


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def report(args: argparse.Namespace, got: dict[str, object]) -> None:
    lags: list[float] = got["lags"]  # type: ignore[assignment]
    wall: float = got["wall"]  # type: ignore[assignment]
    cpu: float = got["cpu"]  # type: ignore[assignment]
    rounds = len(lags)
    expected = args.targets * args.cycles
    cores = os.cpu_count() or 1
    ms = 1000.0
    print(f"probe schedule: {args.targets} targets every {args.interval:g} s, "
          f"{args.cycles} measured intervals ({wall:.1f} s), ICMP socket: {got['icmp_mode']}")
    print(f"  rounds started        {rounds} (expected about {expected})")
    if lags:
        quantiles = statistics.quantiles(lags, n=100) if len(lags) > 1 else [lags[0]] * 99
        print(f"  lag vs beat           median {statistics.median(lags) * ms:.2f} ms, "
              f"p99 {quantiles[98] * ms:.2f} ms, max {max(lags) * ms:.2f} ms")
        for limit in (0.01, 0.1, 1.0):
            late = sum(v > limit for v in lags)
            print(f"  late > {limit * ms:>5.0f} ms       {late} ({late / rounds:.2%})")
    print(f"  skipped (overran)     {got['skipped']}")
    print(f"  CPU                   {cpu:.2f} s = {cpu / wall:.1%} of one core, "
          f"{cpu / wall / cores:.1%} of the machine ({cores} cores)")
    print(f"  CPU per round         {cpu / max(rounds, 1) * 1e6:.0f} us")
    statuses: Counter[tuple[str, str]] = got["statuses"]  # type: ignore[assignment]
    found = ", ".join(f"{kind} {status}: {n}" for (kind, status), n in sorted(statuses.items()))
    print(f"  statuses at the end   {found}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--targets", type=int, default=500)
    parser.add_argument("--interval", type=float, default=10.0)
    parser.add_argument("--cycles", type=int, default=3)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)  # the dark targets warn by design
    load = Path("/proc/loadavg").read_text().split()[:3]
    print(f"load average before: {' '.join(load)}")
    with tempfile.TemporaryDirectory(prefix="tierwatch-bench-") as tmp:
        config, listen, kinds = build(args.targets, args.interval, Path(tmp) / "store.sqlite")
        listener = subprocess.Popen([sys.executable, "-c", LISTENER, json.dumps(listen)],
                                    stdout=subprocess.PIPE, text=True)
        try:
            assert listener.stdout is not None
            if listener.stdout.readline().strip() != "ready":
                raise SystemExit("the TCP listener did not start")
            got = asyncio.run(measure(config, args.interval, args.cycles, kinds))
        finally:
            listener.terminate()
            listener.wait(5)
    report(args, got)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
