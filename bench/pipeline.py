"""tierwatch's whole pipeline against Prometheus' snmp_exporter, on the same agents, the same
IF-MIB walk and the same machine, in one run.

    PYTHONPATH=. python -m bench.pipeline [--window 8] [--repeat 3] [--exporter-v3]

The lab (bench/lab.py): as root, a private network namespace with four interfaces; 20
snmpd agents, each listening on 5 loopback addresses, so 100 distinct devices answer at
127.0.10.1 ... 127.0.29.5. Each IF-MIB walk is 162 varbinds (ifTable and ifXTable of four
interfaces, ifNumber, sysUpTime). Both peers get the same walk, generated from one column
list (bench/ifmib.py).

The peers, each in its own process, at saturation (more work offered than it can do):

(a) tierwatch: the real `tierwatch run` (poll schedule, native engine, profile mapping,
    state, status rules, store, /metrics) with a bench-only profile directory. The 1 s
    floor of `interval` allows one poll a second per device id, so each of the 100 devices
    is configured as several device ids. How many: a calibration run with PROBE_IDS (24)
    ids per device (2,400 polls a second offered) shows what tierwatch can do; the measured runs
    are offered about 1.3 times that, so it is saturated (it skips and counts what it
    cannot poll in time) without exposing many more devices than it polls.
    `snmp.concurrency` 64. Its /metrics is scraped once per interval, so every poll's
    samples are rendered and served once, as snmp_exporter serves every poll once. Polls
    and varbinds come from its own self-metrics (tierwatch_polls_total,
    tierwatch_varbinds_total) between two of those scrapes.
(b) prometheus-snmp-exporter (Debian's 0.21, Go): the bench's load generator keeps
    `--concurrency` (64) scrapes of /snmp?target=...&module=if_mib in flight, round robin
    over the 100 devices, back to back, as Prometheus would with many jobs. Polls are the
    HTTP 200 answers; varbinds are polls x snmp_scrape_pdus_returned of one scrape.
(c) snmpbulkwalk (Net-SNMP, C): the two walks per poll as two processes, 4 at a time;
    CPU from the children's rusage (process start-up included). A reference, not a peer.

Definitions: polls/s = completed polls per wall second in the window; CPU us/varbind =
the peer's process CPU (user + system, /proc/PID/stat) in the window / varbinds read in the
window; peak RSS = the process's VmHWM. The load generator (this process) and the agents
run on the same two cores: their CPU is printed, never charged to a peer. Runs alternate
(tierwatch, snmp_exporter) `--repeat` times; the table shows the median of the runs. The
load average is printed at the start and the end: other work on the machine moves these
numbers, compare peers within one run.

tierwatch runs twice in each round: in one process (`snmp.workers: 1`), and with both
cores polling (`snmp.workers: 2`: two poll worker processes, each half of the device ids
with its own event loop and UDP socket, sending results to the service process, which
keeps the state and serves /metrics; collector/snmp/workers.py), `snmp.concurrency` 32
per worker (64 in flight in all, as in the other runs). A run's CPU is the
service's and its workers' together; its peak RSS is their peaks added up. Each is
calibrated on its own.

Then tierwatch's SNMPv3 authPriv (SHA + AES-128) against its own v2c on the same walk.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench import ifmib, lab
from bench.loadgen import Client, HttpError, Load

SNMP_EXPORTER = "/usr/bin/prometheus-snmp-exporter"
PROBE_IDS = 24  # device ids per agent address in the calibration run (see `calibrate`)


@dataclass
class Run:
    peer: str
    version: str
    polls: int
    varbinds: int
    cpu: float  # the peer's CPU seconds in the window
    wall: float
    peak_kb: int
    errors: int = 0
    skipped: int = 0
    loadgen_cpu: float = 0.0
    note: str = ""
    agents_cpu: float = 0.0  # the snmpd agents' CPU seconds in the window

    @property
    def polls_per_s(self) -> float:
        return self.polls / self.wall

    @property
    def us_per_varbind(self) -> float:
        return self.cpu / self.varbinds * 1e6 if self.varbinds else float("nan")

    @property
    def varbinds_per_poll(self) -> float:
        return self.varbinds / self.polls if self.polls else 0.0

    def line(self) -> str:
        return (f"  {self.peer:<14} {self.version:<3} {self.polls_per_s:7.0f} polls/s "
                f"{self.us_per_varbind:6.2f} us/varbind  {self.varbinds_per_poll:5.0f} vb/poll"
                f"  errors {self.errors}  skipped {self.skipped}  CPU {self.cpu:.2f}s"
                f"/{self.wall:.1f}s  agents {self.agents_cpu:.2f}s  loadgen "
                f"{self.loadgen_cpu:.2f}s  {self.note}")

    @property
    def agents_ms_per_poll(self) -> float:
        return self.agents_cpu / self.polls * 1000 if self.polls else float("nan")


# --------------------------------------------------------------------------- tierwatch


def tierwatch_config(devices: Sequence[tuple[str, int]], ids_per_device: int, version: str,
                     profiles: Path, store: Path, interval: float, concurrency: int,
                     workers: int = 1) -> str:
    lines = [
        "site: {name: bench}",
        f"store: {{url: 'sqlite:///{store}'}}",
        "snmp:",
        "  engine: native",
        f"  workers: {workers}",
        f"  concurrency: {concurrency}",
        "  jitter: 1.0",
        f"  profile_dirs: ['{profiles}']",
        f"  defaults: {{interval: {interval}, timeout: 2, retries: 1, max_repetitions: 25}}",
        "credentials:",
        "  v2c: {version: 2c, community: '${TW_BENCH_COMMUNITY}'}",
        f"  v3: {{version: 3, user: {lab.USER.name}, auth_protocol: SHA, "
        "auth_key: '${TW_BENCH_AUTH}', priv_protocol: AES, priv_key: '${TW_BENCH_PRIV}'}",
        "devices:",
    ]
    cred = "v3" if version == "v3" else "v2c"
    for k in range(ids_per_device):
        for n, (host, port) in enumerate(devices):
            lines.append(f"  - {{id: d{n:03d}-{k:02d}, address: '{host}:{port}', "
                         f"credentials: {cred}, profile: {ifmib.PROFILE_NAME}}}")
    return "\n".join(lines) + "\n"


def tierwatch_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(lab.REPO), "TW_BENCH_COMMUNITY": lab.COMMUNITY,
            "TW_BENCH_AUTH": lab.USER.auth_password, "TW_BENCH_PRIV": lab.USER.priv_password}


def start_tierwatch(config: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "tierwatch", "--log-level", "error", "run", "-c",
             str(config), "--listen", f"127.0.0.1:{port}"],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=tierwatch_env())


_SERIES = re.compile(rb"^(tierwatch_polls_total|tierwatch_varbinds_total|"
                     rb"tierwatch_poll_errors_total|tierwatch_polls_skipped_total)\{[^}]*\} (\S+)$",
                     re.M)


_DATAGRAMS = re.compile(rb"^(tierwatch_snmp_datagrams_(?:sent|received)_total) (\S+)$", re.M)


def self_metrics(text: bytes) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, value in [*_SERIES.findall(text), *_DATAGRAMS.findall(text)]:
        key = name.decode()
        out[key] = out.get(key, 0.0) + float(value)
    return out


def tree_cpu(pids: Sequence[int]) -> float:
    return sum(lab.proc_cpu(pid) for pid in pids)


async def measure_tierwatch(fleet: lab.Fleet, version: str, args: argparse.Namespace,
                            work: Path, ids: int, window: float | None = None,
                            workers: int = 1) -> Run:
    window = window or args.window
    tag = f"tw-{version}-{workers}w-{time.monotonic_ns()}"
    config = work / f"{tag}.yaml"
    config.write_text(tierwatch_config(fleet.devices, ids, version,
                                       work / "profiles", work / f"{tag}.sqlite",
                                       args.interval,
                                       # the same polls in flight in all: per worker, a share
                                       max(1, args.concurrency // max(1, workers)), workers))
    port = lab.free_tcp_port()
    process = start_tierwatch(config, port, work / f"{tag}.log")
    client = Client("127.0.0.1", port)
    try:
        await asyncio.to_thread(lab.wait_http, f"http://127.0.0.1:{port}/healthz", process)
        deadline = time.monotonic() + 60
        while (await client.get("/readyz"))[0] != 200:  # every device polled once
            if time.monotonic() > deadline:
                raise RuntimeError("tierwatch: not every device polled within 60 s")
            await asyncio.sleep(0.2)
        scrape_times: list[float] = []

        async def scrape() -> bytes:
            started = time.perf_counter()
            try:
                status, body = await client.get("/metrics")
            except HttpError:  # a keep-alive connection the server closed as we asked again
                status, body = await client.get("/metrics")
            scrape_times.append(time.perf_counter() - started)
            if status != 200:
                raise RuntimeError(f"tierwatch /metrics answered {status}")
            return body

        next_at = time.monotonic()
        for _ in range(max(1, round(args.warmup / args.interval))):
            await scrape()
            next_at += args.interval
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        first = self_metrics(await scrape())
        # the service and its poll workers (started with it: present by /readyz)
        tree = [process.pid, *lab.children(process.pid)]
        if len(tree) != 1 + (workers if workers > 1 else 0):
            raise RuntimeError(f"tierwatch: {len(tree) - 1} child processes, {workers} "
                               f"workers configured")
        cpu0, wall0, self0 = tree_cpu(tree), time.perf_counter(), lab.self_cpu()
        main0 = lab.proc_cpu(process.pid)
        agents0 = fleet.cpu()
        scrape_times.clear()
        body = b""
        while time.perf_counter() - wall0 < window - 1e-3:
            next_at += args.interval
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            body = await scrape()
        cpu, wall = tree_cpu(tree) - cpu0, time.perf_counter() - wall0
        main_cpu = lab.proc_cpu(process.pid) - main0
        loadgen, agents = lab.self_cpu() - self0, fleet.cpu() - agents0
        last = self_metrics(body)
        peak = sum(lab.proc_memory_kb(pid).get("VmHWM", 0) for pid in tree)
        if [process.pid, *lab.children(process.pid)] != tree:
            raise RuntimeError("tierwatch: a poll worker was restarted during the window")
        if process.poll() is not None:
            raise RuntimeError("tierwatch exited during the run")
    finally:
        client.close()
        lab.stop(process)

    def delta(key: str) -> int:
        return int(last.get(key, 0) - first.get(key, 0))

    scrape_ms = statistics.median(scrape_times) * 1000 if scrape_times else float("nan")
    sent = delta("tierwatch_snmp_datagrams_sent_total")
    received = delta("tierwatch_snmp_datagrams_received_total")
    return Run("tierwatch" if workers == 1 else f"tierwatch-{workers}w", version,
               delta("tierwatch_polls_total"),
               delta("tierwatch_varbinds_total"), cpu, wall, peak,
               errors=delta("tierwatch_poll_errors_total"),
               skipped=delta("tierwatch_polls_skipped_total"), loadgen_cpu=loadgen,
               agents_cpu=agents,
               note=f"{ids} ids/device; /metrics {len(body) / 1e6:.1f} MB in {scrape_ms:.0f} ms; "
                    f"datagrams {sent} sent, {received} received"
                    + (f"; service process {main_cpu / wall:.2f} cores, workers "
                       f"{(cpu - main_cpu) / wall:.2f}" if workers > 1 else ""))


# --------------------------------------------------------------------------- snmp_exporter


_PDUS = re.compile(rb"^snmp_scrape_pdus_returned (\S+)$", re.M)


async def measure_snmp_exporter(fleet: lab.Fleet, version: str, args: argparse.Namespace,
                                work: Path) -> Run:
    port = lab.free_tcp_port()
    log = open(work / f"snmp_exporter-{time.monotonic_ns()}.log", "ab")  # noqa: SIM115
    process = subprocess.Popen(
        [SNMP_EXPORTER, f"--config.file={work / 'snmp.yml'}",
         f"--web.listen-address=127.0.0.1:{port}", "--log.level=error"],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    log.close()
    module = "if_mib_v3" if version == "v3" else "if_mib"
    paths = [f"/snmp?target={h}:{p}&module={module}" for h, p in fleet.devices]
    load = Load("127.0.0.1", port, paths, args.concurrency)
    try:
        await asyncio.to_thread(lab.wait_http, f"http://127.0.0.1:{port}/metrics", process)
        probe = Client("127.0.0.1", port)
        status, body = await probe.get(paths[0])
        probe.close()
        found = _PDUS.search(body)
        if status != 200 or found is None:
            raise RuntimeError(f"snmp_exporter: scrape answered {status}: {body[:300]!r}")
        pdus = int(float(found.group(1)))
        load.start()
        await asyncio.sleep(args.warmup)
        ok0, failed0 = load.ok, load.failed
        cpu0, wall0, self0 = lab.proc_cpu(process.pid), time.perf_counter(), lab.self_cpu()
        agents0 = fleet.cpu()
        await asyncio.sleep(args.window)
        cpu, wall = lab.proc_cpu(process.pid) - cpu0, time.perf_counter() - wall0
        polls, failed = load.ok - ok0, load.failed - failed0
        loadgen, agents = lab.self_cpu() - self0, fleet.cpu() - agents0
        peak = lab.proc_memory_kb(process.pid).get("VmHWM", 0)
    finally:
        await load.stop()
        lab.stop(process)
    return Run("snmp_exporter", version, polls, polls * pdus, cpu, wall, peak, errors=failed,
               loadgen_cpu=loadgen, agents_cpu=agents,
               note=f"{args.concurrency} scrapes in flight")


# --------------------------------------------------------------------------- snmpbulkwalk


async def calibrate(fleet: lab.Fleet, version: str, args: argparse.Namespace,
                    work: Path, workers: int = 1) -> int:
    """Ids per device for tierwatch: offered polls a little above what it can do.

    With PROBE_IDS ids per device (2,400 polls a second offered) tierwatch shows what it
    can do, over a window as long as the measured runs' (a 4 s probe read a third more
    than the runs then measured, so they were offered 1.46 times what they polled, not
    1.3); the measured runs are then offered about 1.3 times that. Offering far more
    would only add device ids that are exposed on every scrape but seldom polled, and
    ticks skipped and counted. (The probe offered 1,000 until both cores polled more than
    that: a cap the bench set, not tierwatch.)"""
    probe = await measure_tierwatch(fleet, version, args, work, PROBE_IDS,
                                    window=args.window, workers=workers)
    ids = max(1, min(PROBE_IDS, math.ceil(1.3 * probe.polls_per_s * args.interval /
                                          len(fleet.devices))))
    print(f"  calibration {version}, {workers} worker(s): {probe.polls_per_s:.0f} polls/s "
          f"with {PROBE_IDS} ids per device -> {ids} ids per device", file=sys.stderr,
          flush=True)
    if ids == PROBE_IDS:
        print("  (tierwatch polled nearly all it was offered: raise PROBE_IDS for a "
              "saturated run)", file=sys.stderr, flush=True)
    return ids


def measure_snmpbulkwalk(fleet: lab.Fleet, polls: int, parallel: int = 4) -> Run:
    env = {**os.environ, "MIBS": "", "MIBDIRS": "/nonexistent"}

    def command(host: str, port: int, root: str) -> list[str]:
        return ["snmpbulkwalk", "-m", "", "-Cr25", "-On", "-v2c", "-c", lab.COMMUNITY,
                f"udp:{host}:{port}", root]

    host, port = fleet.devices[0]
    varbinds_per_poll = sum(
        subprocess.run(command(host, port, root), capture_output=True, env=env, check=True)
        .stdout.count(b"\n.") + 1 for root in ("1.3.6.1.2.1.2", "1.3.6.1.2.1.31.1.1"))
    jobs = [command(h, p, root) for i in range(polls)
            for h, p in [fleet.devices[i % len(fleet.devices)]]
            for root in ("1.3.6.1.2.1.2", "1.3.6.1.2.1.31.1.1")]
    # each child reaped with wait4 for its own CPU (RUSAGE_CHILDREN would mix in every
    # child this process ever had)
    cpu, errors = 0.0, 0

    def reap(proc: subprocess.Popen[bytes]) -> None:
        nonlocal cpu, errors
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        cpu += usage.ru_utime + usage.ru_stime
        errors += proc.returncode != 0

    wall0 = time.perf_counter()
    running: list[subprocess.Popen[bytes]] = []
    for cmd in jobs:
        while len(running) >= parallel:
            reap(running.pop(0))
        running.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, env=env))
    for proc in running:
        reap(proc)
    wall = time.perf_counter() - wall0
    # no peak memory: a child's maxrss counts this process's pages from before its exec
    return Run("snmpbulkwalk", "v2c", polls, polls * varbinds_per_poll, cpu, wall,
               0, errors=errors, note=f"{parallel} processes at a time")


# --------------------------------------------------------------------------- report


def median_run(runs: list[Run]) -> Run:
    """A run whose rates are the medians of the runs' (the table's row)."""
    by_polls = sorted(runs, key=lambda r: r.polls_per_s)[len(runs) // 2]
    by_cpu = sorted(runs, key=lambda r: r.us_per_varbind)[len(runs) // 2]
    # polls/s from one run, CPU per varbind from another: keep the row's numbers consistent
    return Run(by_polls.peer, by_polls.version, by_polls.polls, by_polls.varbinds,
               by_cpu.us_per_varbind * by_polls.varbinds / 1e6, by_polls.wall,
               max(r.peak_kb for r in runs), sum(r.errors for r in runs),
               sum(r.skipped for r in runs), by_polls.loadgen_cpu, by_polls.note,
               by_polls.agents_cpu)


def report(rows: list[Run], args: argparse.Namespace) -> None:
    head = (f"{'peer':<28} {'ver':<4} {'polls/s':>8} {'varbinds/poll':>13} "
            f"{'CPU us/varbind':>14} {'peak RSS MB':>11} {'errors':>6}")
    print(head)
    print("-" * len(head))
    names = {"tierwatch": "tierwatch (one process)",
             **{f"tierwatch-{n}w": f"tierwatch ({n} poll workers)" for n in range(2, 65)},
             "snmp_exporter": "snmp_exporter 0.21 (Go)",
             "snmpbulkwalk": "snmpbulkwalk (C, reference)"}
    for r in rows:
        print(f"{names[r.peer]:<28} {r.version:<4} {r.polls_per_s:>8.0f} "
              f"{r.varbinds_per_poll:>13.0f} {r.us_per_varbind:>14.2f} "
              f"{f'{r.peak_kb / 1024:.0f}' if r.peak_kb else 'n/a':>11} {r.errors:>6}")


async def run_all(args: argparse.Namespace) -> None:
    print(f"# pipeline bench: {lab.where_line()}")
    print(f"# start: {lab.machine_line()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="twbench-") as tmp:
        work = Path(tmp)
        ifmib.write_files(work, lab.COMMUNITY, lab.USER)
        with lab.snmpd_fleet(work, agents=args.agents, per_agent=args.per_agent) as fleet:
            print(f"# {len(fleet.devices)} devices on {args.agents} snmpd agents; tierwatch "
                  f"polls every {args.interval:g}s; window {args.window:g}s after "
                  f"{args.warmup:g}s warm-up; {args.repeat} runs each, median shown",
                  flush=True)
            # (peer, version, poll workers): tierwatch in one process and on both cores
            order = [("tierwatch", "v2c", 1), ("tierwatch", "v2c", args.workers),
                     ("snmp_exporter", "v2c", 0), ("tierwatch", "v3", args.workers)]
            if args.exporter_v3:
                order.append(("snmp_exporter", "v3", 0))
            order = [o for o in order if o[0] in args.peers.split(",")]
            ids = {(v, w): args.ids_per_device for _, v, w in order}
            if not args.ids_per_device:
                for peer, version, workers in order:
                    if peer == "tierwatch":
                        ids[(version, workers)] = await calibrate(fleet, version, args, work,
                                                                  workers)
                # polling from two cores is never offered less than from one: a probe that
                # met a busy moment of the machine must not cap the run below saturation
                for version in ("v2c", "v3"):
                    if (version, 1) in ids and (version, args.workers) in ids:
                        ids[(version, args.workers)] = max(ids[(version, args.workers)],
                                                           ids[(version, 1)])
            runs: dict[tuple[str, str, int], list[Run]] = {}
            for _ in range(args.repeat):
                for peer, version, workers in order:
                    if peer == "tierwatch":
                        run = await measure_tierwatch(fleet, version, args, work,
                                                      ids[(version, workers)],
                                                      workers=workers)
                    else:
                        run = await measure_snmp_exporter(fleet, version, args, work)
                    runs.setdefault((peer, version, workers), []).append(run)
                    print(run.line(), file=sys.stderr, flush=True)
            walk = await asyncio.to_thread(measure_snmpbulkwalk, fleet, args.bulkwalk_polls)
            print(walk.line(), file=sys.stderr, flush=True)
    rows = [median_run(runs[key]) for key in order]
    rows.insert(min(3, len(rows)), walk)
    print()
    report(rows, args)
    if len(order) < 4:
        return
    tw1, tw, se, tw3 = (median_run(runs[k]) for k in order[:4])
    loadgen = statistics.median(r.loadgen_cpu / r.wall for r in runs[order[2]])
    print(f"\nload generator (this process) while driving snmp_exporter: "
          f"{loadgen * 100:.0f}% of one core; not charged to any peer")
    for name, run in (("tierwatch, one process", tw1),
                      (f"tierwatch, {args.workers} poll workers", tw)):
        verdict = ("offered more than it could poll: saturated" if run.skipped else
                   "it polled all it was offered: not saturated, its polls/s a lower bound")
        print(f"{name}: {run.note}; skipped {run.skipped} polls in {args.repeat} runs "
              f"({verdict}); errors {run.errors}; CPU {run.cpu / run.wall:.2f} cores")
    print(f"snmp_exporter: CPU {se.cpu / se.wall:.2f} cores")
    print(f"snmpd agents' CPU per poll: {tw.agents_ms_per_poll:.2f} ms polled by tierwatch "
          f"({tw1.agents_ms_per_poll:.2f} ms by one process), {se.agents_ms_per_poll:.2f} ms "
          f"by snmp_exporter (the agents share the 2 cores: what a peer leaves them bounds "
          f"its polls/s)")
    print(f"v3 authPriv / v2c, tierwatch CPU per varbind: "
          f"{tw3.us_per_varbind / tw.us_per_varbind:.2f}")
    if args.exporter_v3:
        se3 = median_run(runs[("snmp_exporter", "v3", 0)])
        print(f"v3 authPriv / v2c, snmp_exporter CPU per varbind: "
              f"{se3.us_per_varbind / se.us_per_varbind:.2f}")
    print(f"# end: {lab.machine_line()}")
    print(f"ratio_polls_per_s_vs_snmp_exporter={tw.polls_per_s / se.polls_per_s:.2f}")
    print(f"ratio_cpu_per_varbind_vs_snmp_exporter={tw.us_per_varbind / se.us_per_varbind:.2f}")
    print(f"ratio_polls_per_s_one_process_vs_snmp_exporter="
          f"{tw1.polls_per_s / se.polls_per_s:.2f}")
    print(f"ratio_cpu_per_varbind_one_process_vs_snmp_exporter="
          f"{tw1.us_per_varbind / se.us_per_varbind:.2f}")
    print(f"ratio_v3_vs_v2c_cpu_per_varbind={tw3.us_per_varbind / tw.us_per_varbind:.2f}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--per-agent", type=int, default=5, help="addresses per snmpd")
    parser.add_argument("--ids-per-device", type=int, default=0,
                        help="tierwatch device ids per agent address (0: calibrate)")
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2,
                        help="tierwatch's poll workers in the both-cores runs")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--window", type=float, default=10.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--bulkwalk-polls", type=int, default=300)
    parser.add_argument("--exporter-v3", action=argparse.BooleanOptionalAction, default=False,
                        help="also snmp_exporter with SNMPv3 authPriv")
    parser.add_argument("--peers", default="tierwatch,snmp_exporter")
    args = parser.parse_args(argv)
    if lab.inside_namespace() is None:
        return lab.run_module("bench.pipeline", sys.argv[1:] if argv is None else argv)
    lab.exit_on_sigterm()
    asyncio.run(run_all(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
