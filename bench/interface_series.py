"""What interface series cost: 100 switches x 48 ports, tierwatch against snmp_exporter's
`if_mib` module, on the same agents and the same walks, in one run (issue 17).

    PYTHONPATH=. python -m bench.interface_series [--ports 48] [--interval 10] [--window 3]

The lab (bench/lab.py): as root, a private network namespace holding `--ports` interfaces
(lo, veth pairs, ifb), so every snmpd there lists 48 rows in ifTable and ifXTable; 20 snmpd
agents on 5 loopback addresses each make 100 switches. Both peers read the same columns
(bench/ifmib.py: every ifTable and ifXTable column, sysUpTime; 1,970 varbinds a poll at 48
ports). tierwatch's profile is the same walk with ifHighSpeed named `if_speed_bytes`, so its
network room (nethealth/) turns the counters into rates and utilisation: the series an
operator alerts on, which snmp_exporter leaves to Prometheus' rate().

Each switch is polled once per `--interval`, as a Prometheus scraping every interval would:

(a) tierwatch (`tierwatch run`, the real process: poll schedule, native engine, profile
    mapping, state, status rules, interface rates, store), its /metrics scraped once per
    interval;
(b) the same without the network room (`nethealth: {enabled: false}`): what the rates add;
(c) prometheus-snmp-exporter (Debian's 0.21): this process scrapes /snmp?target=...&
    module=if_mib for each of the 100 switches once per interval, 8 at a time.

Figures, over `--window` intervals after two intervals of warm-up (rates need two polls):

* CPU per interface per poll: the peer's process CPU (user + system, /proc/PID/stat) in
  the window / (polls in the window x interfaces). Everything each peer does for a poll is
  in it: the walk, the mapping, and serving the series once.
* /metrics size: the bytes one scrape of every switch's interface series comes to:
  tierwatch's one /metrics (all 100 switches, its own series included); snmp_exporter's 100
  answers added up. Per interface: that / (100 x ports).
* render time: tierwatch's GET /metrics (median per interval), every switch polled since
  the last scrape (the worst case); snmp_exporter's answers' time beyond their walk
  (HTTP time - snmp_scrape_walk_duration_seconds) added up over the 100 switches, scraped
  one at a time after the window (so no answer waits for another's CPU): turning the PDUs
  into series and serving them.

This process (load generator) and the agents share the cores: their CPU is printed, never
charged to a peer. Runs alternate `--repeat` times; medians shown. The load average is
printed at the start and the end: other work on the machine moves these numbers; compare
the peers within one run.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bench import ifmib, lab
from bench.loadgen import Client
from bench.pipeline import SNMP_EXPORTER, self_metrics, start_tierwatch

PROFILE = "bench-if-series"


@dataclass
class Run:
    peer: str
    polls: int
    cpu: float  # the peer's CPU seconds in the window
    wall: float
    ports: int  # interface rows one poll gave
    size: list[int] = field(default_factory=list)  # bytes of one scrape of every switch
    render: list[float] = field(default_factory=list)  # seconds, per interval
    lines: int = 0  # lines of one scrape of every switch
    loadgen_cpu: float = 0.0
    agents_cpu: float = 0.0
    errors: int = 0
    note: str = ""

    @property
    def interface_polls(self) -> int:
        return self.polls * self.ports

    @property
    def us_per_interface_poll(self) -> float:
        return self.cpu / self.interface_polls * 1e6 if self.interface_polls else float("nan")

    @property
    def size_bytes(self) -> float:
        return statistics.median(self.size) if self.size else float("nan")

    @property
    def render_ms(self) -> float:
        return statistics.median(self.render) * 1000 if self.render else float("nan")

    def line(self) -> str:
        return (f"  {self.peer:<24} {self.polls} polls x {self.ports} ports  CPU {self.cpu:.2f}s"
                f"/{self.wall:.1f}s = {self.us_per_interface_poll:.1f} us/interface/poll  "
                f"scrape {self.size_bytes / 1e6:.2f} MB {self.render_ms:.0f} ms  "
                f"errors {self.errors}  agents {self.agents_cpu:.2f}s  loadgen "
                f"{self.loadgen_cpu:.2f}s  {self.note}")


# --------------------------------------------------------------------------- tierwatch


def series_profile() -> dict[str, Any]:
    """bench/ifmib.py's walk for tierwatch, ifHighSpeed as the speed the rates divide by."""
    profile = ifmib.tierwatch_profile()
    profile["name"] = PROFILE
    profile["description"] = "The interface-series bench: every ifTable and ifXTable column"
    for metric in profile["tables"][0]["metrics"]:
        if metric["oid"] == f"{ifmib.IFX_ENTRY}.15":  # ifHighSpeed, Mbit/s
            metric.update(name="if_speed_bytes", scale=125000)
    return profile


def tierwatch_config(devices: Sequence[tuple[str, int]], profiles: Path, store: Path,
                     interval: float, rates: bool) -> str:
    lines = [
        "site: {name: bench}",
        f"store: {{url: 'sqlite:///{store}'}}",
        "snmp:",
        "  engine: native",
        "  concurrency: 16",
        f"  profile_dirs: ['{profiles}']",
        f"  defaults: {{interval: {interval}, timeout: 5, retries: 1, max_repetitions: 25}}",
        "credentials:",
        "  v2c: {version: 2c, community: '${TW_BENCH_COMMUNITY}'}",
        f"nethealth: {{enabled: {'true' if rates else 'false'}}}",
        "devices:",
    ]
    lines += [f"  - {{id: sw{n:03d}, address: '{host}:{port}', credentials: v2c, "
              f"profile: {PROFILE}}}" for n, (host, port) in enumerate(devices)]
    return "\n".join(lines) + "\n"


_MEASURED = re.compile(rb"^tierwatch_interfaces_measured\{[^}]*\} (\S+)$", re.M)
_ADMIN = re.compile(rb"^if_admin_status\{", re.M)


async def measure_tierwatch(fleet: lab.Fleet, args: argparse.Namespace, work: Path,
                            rates: bool) -> Run:
    tag = f"tw-{'rates' if rates else 'plain'}-{time.monotonic_ns()}"
    config = work / f"{tag}.yaml"
    config.write_text(tierwatch_config(fleet.devices, work / "series-profiles",
                                       work / f"{tag}.sqlite", args.interval, rates))
    port = lab.free_tcp_port()
    process = start_tierwatch(config, port, work / f"{tag}.log")
    client = Client("127.0.0.1", port)
    switches = len(fleet.devices)
    try:
        await asyncio.to_thread(lab.wait_http, f"http://127.0.0.1:{port}/healthz", process)
        deadline = time.monotonic() + 6 * args.interval + 60
        while (await client.get("/readyz"))[0] != 200:  # every switch polled once
            if time.monotonic() > deadline:
                raise RuntimeError("tierwatch: not every switch polled in time")
            await asyncio.sleep(0.5)
        next_at = time.monotonic()
        body = b""
        for _ in range(2):  # warm-up: the second poll of every switch gives its rates
            next_at += args.interval
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            client.close()  # idle longer than the server keeps a connection: a new one
            status, body = await client.get("/metrics")
        measured = sum(float(v) for v in _MEASURED.findall(body))
        # the window: from one interval's scrape to the scrape `window` intervals later;
        # the CPU from the first request (so it holds one render more than the polls need)
        next_at += args.interval
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        client.close()
        cpu0, wall0, self0 = lab.proc_cpu(process.pid), time.perf_counter(), lab.self_cpu()
        agents0 = fleet.cpu()
        status, body = await client.get("/metrics")
        first = self_metrics(body)
        sizes: list[int] = []
        renders: list[float] = []
        for _ in range(args.window):
            next_at += args.interval
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            client.close()
            started = time.perf_counter()
            status, body = await client.get("/metrics")
            renders.append(time.perf_counter() - started)
            if status != 200:
                raise RuntimeError(f"tierwatch /metrics answered {status}")
            sizes.append(len(body))
        cpu, wall = lab.proc_cpu(process.pid) - cpu0, time.perf_counter() - wall0
        loadgen, agents = lab.self_cpu() - self0, fleet.cpu() - agents0
        last = self_metrics(body)
        if process.poll() is not None:
            raise RuntimeError("tierwatch exited during the run")
    finally:
        client.close()
        lab.stop(process)
    polls = int(last.get("tierwatch_polls_total", 0) - first.get("tierwatch_polls_total", 0))
    errors = int(last.get("tierwatch_poll_errors_total", 0)
                 - first.get("tierwatch_poll_errors_total", 0))
    ports = len(_ADMIN.findall(body)) // switches
    note = (f"rates for {measured:.0f} interfaces" if rates else "no network room")
    return Run("tierwatch" if rates else "tierwatch, no rates", polls, cpu, wall, ports,
               sizes, renders, body.count(b"\n"), loadgen, agents, errors, note)


# --------------------------------------------------------------------------- snmp_exporter


_WALK = re.compile(rb"^snmp_scrape_walk_duration_seconds(?:\{[^}]*\})? (\S+)$", re.M)
_ADMIN_SE = re.compile(rb"^ifAdminStatus\{", re.M)


async def measure_snmp_exporter(fleet: lab.Fleet, args: argparse.Namespace, work: Path) -> Run:
    port = lab.free_tcp_port()
    log = open(work / f"snmp_exporter-{time.monotonic_ns()}.log", "ab")  # noqa: SIM115
    process = subprocess.Popen(
        [SNMP_EXPORTER, f"--config.file={work / 'snmp.yml'}",
         f"--web.listen-address=127.0.0.1:{port}", "--log.level=error"],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    log.close()
    paths = [f"/snmp?target={h}:{p}&module=if_mib" for h, p in fleet.devices]
    clients = [Client("127.0.0.1", port) for _ in range(args.concurrency)]
    failed = 0

    async def round_of_scrapes(workers: int) -> tuple[int, int, float, int, bytes]:
        """Every switch once, `workers` at a time: (answers, bytes, seconds beyond the
        walks, lines, a body)."""
        nonlocal failed
        queue = list(paths)
        answers = size = lines = 0
        beyond = 0.0
        sample = b""

        async def worker(client: Client) -> None:
            nonlocal answers, size, beyond, lines, sample, failed
            while queue:
                path = queue.pop()
                started = time.perf_counter()
                try:
                    status, body = await client.get(path)
                except (OSError, TimeoutError):
                    failed += 1
                    continue
                took = time.perf_counter() - started
                walk = _WALK.search(body)
                if status != 200 or walk is None:
                    failed += 1
                    continue
                answers += 1
                size += len(body)
                lines += body.count(b"\n")
                beyond += max(0.0, took - float(walk.group(1)))
                sample = body

        for client in clients:  # idle for most of an interval: new connections
            client.close()
        await asyncio.gather(*(worker(c) for c in clients[:workers]))
        return answers, size, beyond, lines, sample

    try:
        await asyncio.to_thread(lab.wait_http, f"http://127.0.0.1:{port}/metrics", process)
        next_at = time.monotonic()
        for _ in range(2):  # warm-up, as tierwatch's
            await round_of_scrapes(args.concurrency)
            next_at += args.interval
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        cpu0, wall0, self0 = lab.proc_cpu(process.pid), time.perf_counter(), lab.self_cpu()
        agents0 = fleet.cpu()
        failed = 0
        polls = lines = 0
        sizes: list[int] = []
        sample = b""
        for i in range(args.window):
            answers, size, _, lines, sample = await round_of_scrapes(args.concurrency)
            polls += answers
            sizes.append(size)
            if i < args.window - 1:
                next_at += args.interval
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        # the window ends an interval after its last round began, like tierwatch's
        next_at += args.interval
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        cpu, wall = lab.proc_cpu(process.pid) - cpu0, time.perf_counter() - wall0
        loadgen, agents = lab.self_cpu() - self0, fleet.cpu() - agents0
        # render: one switch at a time (no scrape waits for another's CPU), after the window
        _, _, beyond, _, _ = await round_of_scrapes(1)
        renders = [beyond]
    finally:
        for client in clients:
            client.close()
        lab.stop(process)
    ports = len(_ADMIN_SE.findall(sample))
    return Run("snmp_exporter 0.21", polls, cpu, wall, ports, sizes, renders, lines, loadgen,
               agents, failed, f"{args.concurrency} scrapes at a time")


# --------------------------------------------------------------------------- report


def median_run(runs: list[Run]) -> Run:
    """The run with the median CPU per interface per poll, its size and render the medians
    of every run's intervals."""
    chosen = sorted(runs, key=lambda r: r.us_per_interface_poll)[len(runs) // 2]
    return Run(chosen.peer, chosen.polls, chosen.cpu, chosen.wall, chosen.ports,
               [s for r in runs for s in r.size], [t for r in runs for t in r.render],
               chosen.lines, chosen.loadgen_cpu, chosen.agents_cpu,
               sum(r.errors for r in runs), chosen.note)


def report(rows: list[Run], switches: int) -> None:
    head = (f"{'peer':<24} {'ports':>5} {'polls':>6} {'CPU us/interface/poll':>22} "
            f"{'scrape MB':>9} {'bytes/interface':>15} {'render ms':>9} {'errors':>6}")
    print(head)
    print("-" * len(head))
    for r in rows:
        per_interface = r.size_bytes / (switches * r.ports) if r.ports else float("nan")
        print(f"{r.peer:<24} {r.ports:>5} {r.polls:>6} {r.us_per_interface_poll:>22.1f} "
              f"{r.size_bytes / 1e6:>9.2f} {per_interface:>15.0f} {r.render_ms:>9.0f} "
              f"{r.errors:>6}")


async def run_all(args: argparse.Namespace) -> None:
    print(f"# interface_series bench: {lab.where_line()}")
    print(f"# start: {lab.machine_line()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="twbench-") as tmp:
        work = Path(tmp)
        ifmib.write_files(work, lab.COMMUNITY, lab.USER)
        profiles = work / "series-profiles"
        profiles.mkdir()
        (profiles / f"{PROFILE}.yaml").write_text(
            "# Written by bench/interface_series.py for one bench run.\n"
            + yaml.safe_dump(series_profile(), sort_keys=False))
        with lab.snmpd_fleet(work, agents=args.agents, per_agent=args.per_agent) as fleet:
            switches = len(fleet.devices)
            print(f"# {switches} switches on {args.agents} snmpd agents, "
                  f"{lab.interface_count()} interfaces each; every switch polled every "
                  f"{args.interval:g}s; window {args.window} intervals after 2 of warm-up; "
                  f"{args.repeat} runs each, median shown", flush=True)
            order = [p for p in ("tierwatch", "snmp_exporter", "tierwatch-plain")
                     if p in args.peers.split(",")]
            runs: dict[str, list[Run]] = {}
            for _ in range(args.repeat):
                for peer in order:
                    if peer == "snmp_exporter":
                        run = await measure_snmp_exporter(fleet, args, work)
                    else:
                        run = await measure_tierwatch(fleet, args, work, peer == "tierwatch")
                    runs.setdefault(peer, []).append(run)
                    print(run.line(), file=sys.stderr, flush=True)
    rows = {peer: median_run(found) for peer, found in runs.items()}
    print()
    report([rows[p] for p in order], switches)
    print(f"# end: {lab.machine_line()}")
    tw, se = rows.get("tierwatch"), rows.get("snmp_exporter")
    if tw is None or se is None:
        return
    print(f"load generator (this process) while scraping snmp_exporter: "
          f"{se.loadgen_cpu / se.wall * 100:.0f}% of one core; agents' CPU per poll "
          f"{tw.agents_cpu / max(tw.polls, 1) * 1000:.1f} ms (tierwatch), "
          f"{se.agents_cpu / max(se.polls, 1) * 1000:.1f} ms (snmp_exporter); neither charged")
    print(f"tierwatch: {tw.note}; /metrics {tw.lines} lines; snmp_exporter: "
          f"{se.lines} lines in {switches} answers")
    print(f"interface_cpu_us_per_poll_tierwatch={tw.us_per_interface_poll:.1f}")
    print(f"interface_cpu_us_per_poll_snmp_exporter={se.us_per_interface_poll:.1f}")
    print(f"ratio_interface_cpu_vs_snmp_exporter="
          f"{tw.us_per_interface_poll / se.us_per_interface_poll:.2f}")
    print(f"interface_metrics_mb_tierwatch={tw.size_bytes / 1e6:.2f}")
    print(f"interface_metrics_mb_snmp_exporter={se.size_bytes / 1e6:.2f}")
    print(f"ratio_interface_metrics_size_vs_snmp_exporter={tw.size_bytes / se.size_bytes:.2f}")
    print(f"interface_render_ms_tierwatch={tw.render_ms:.0f}")
    print(f"interface_render_ms_snmp_exporter={se.render_ms:.0f}")
    print(f"ratio_interface_render_vs_snmp_exporter={tw.render_ms / se.render_ms:.2f}")
    plain = rows.get("tierwatch-plain")
    if plain is not None:
        print(f"ratio_interface_cpu_rates_vs_no_rates="
              f"{tw.us_per_interface_poll / plain.us_per_interface_poll:.2f}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--per-agent", type=int, default=5, help="addresses per snmpd")
    parser.add_argument("--ports", type=int, default=48,
                        help="interfaces in the namespace (each switch's ifTable rows)")
    parser.add_argument("--interval", type=float, default=10.0)
    parser.add_argument("--window", type=int, default=3, help="intervals measured")
    parser.add_argument("--concurrency", type=int, default=8,
                        help="snmp_exporter scrapes in flight")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--peers", default="tierwatch,snmp_exporter,tierwatch-plain")
    args = parser.parse_args(argv)
    if lab.inside_namespace() is None:
        return lab.run_module("bench.interface_series",
                              sys.argv[1:] if argv is None else argv, interfaces=args.ports)
    lab.exit_on_sigterm()
    asyncio.run(run_all(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
