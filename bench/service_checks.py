"""tierwatch's service checks against prometheus-blackbox-exporter, on the same HTTPS
targets, at the same time, in the same run.

    PYTHONPATH=. python -m bench.service_checks [--targets 1000] [--interval 15]
                                                [--warmup 15] [--measure 45]

One server process serves every target: `--targets` URLs over 10 loopback ports, TLS with a
certificate from a CA made here (sim/egov.py), verified by both tools against that CA. Both
check each target every `--interval` seconds:

* tierwatch: the services component (services/component.py, its real schedule: fixed phase
  per probe, jitter, bounded concurrency) in a process of its own;
* blackbox_exporter (Debian's, module `prober: http` with the same CA), asked
  `/probe?target=...` for each target once per interval by a driver process spreading the
  requests evenly, as Prometheus's scrape of 1,000 probe targets does.

After a warm-up, each process's CPU time (user + system, /proc) over the measured window is
divided by the checks it completed in it: `cpu_per_https_check_ms_*` and
`ratio_cpu_per_https_check_vs_blackbox=` (goal <= 1.0).

Start lag, three figures, because a late check has two causes:

* `p99_start_lag_ms=` (goal < 100 ms): how late tierwatch's loop woke each check against its
  beat (`tierwatch_service_check_schedule_lag_seconds`): the scheduler's own lateness;
* `p99_slot_wait_ms=`: how long a woken check then waited for one of the 256 concurrency
  slots (`tierwatch_service_check_slot_wait_seconds`): non-zero only while slow or hanging
  targets hold every slot; `p99_start_delay_ms=` is the two together;
* `p99_start_lag_ms_idle_loop=`: the same schedule (same beats, phases and jitter) in a
  process of its own that does nothing but wake up, measured at the same time: the lateness
  the machine alone imposes on any process. tierwatch's lag above this one is tierwatch's.

Timing belongs here, never in tests; the machine's load average is printed before and
after (the 1-minute figure taken during the measured window, too).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

PORTS = 10
REPO = Path(__file__).resolve().parents[1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (and its reaped children), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return sum(int(fields[i]) for i in (11, 12, 13, 14)) / ticks


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --------------------------------------------------------------------------- the targets


async def serve(cert: str, key: str, ports: list[int]) -> None:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    body = b"<html>Cong dich vu cong</html>"

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d"
                         b"\r\nConnection: close\r\n\r\n%s" % (len(body), body))
            await writer.drain()
        except (OSError, asyncio.IncompleteReadError, TimeoutError, ssl.SSLError):
            pass
        finally:
            writer.close()

    servers = [await asyncio.start_server(handle, "127.0.0.1", p, ssl=ctx, backlog=1024)
               for p in ports]
    print("ready", flush=True)
    await asyncio.gather(*(s.serve_forever() for s in servers))


# --------------------------------------------------------------------------- tierwatch


async def tierwatch_worker(spec: dict) -> None:
    from services.component import ServicesComponent
    from services.config import ServicesConfig
    from tier.services import ServicesTopology
    from tierwatch.core.runtime import Runtime

    section = ServicesConfig.model_validate({
        "interval": spec["interval"], "timeout": 5, "concurrency": 256,
        "checks": [{"service": "bench", "name": f"t{i}", "http": url,
                    "ca_file": spec["ca_file"]} for i, url in enumerate(spec["urls"])]})
    topo = ServicesTopology.model_validate({"nodes": [{"id": "bench"}]})
    component = ServicesComponent(section, topo)
    rt = Runtime.for_tests()
    await component.start(rt)
    stalls: list[tuple[float, float]] = []
    watch = asyncio.create_task(stall_watch(stalls))
    await asyncio.sleep(spec["warmup"])
    stalls.clear()
    done0 = sum(component.results.values())
    failed0 = {k: n for k, n in component.results.items() if k[1] != "ok"}
    lag0 = len(component.lag.samples)
    wait0 = len(component.slot_wait.samples)
    delay0 = len(component.start_delay.samples)
    skipped0 = component.skipped
    cpu0 = time.process_time()
    print(json.dumps({"mark": "start"}), flush=True)
    await asyncio.sleep(spec["measure"])
    cpu = time.process_time() - cpu0
    done = sum(component.results.values()) - done0
    lags = component.lag.samples[lag0:]
    waits = component.slot_wait.samples[wait0:]
    failed = {f"{k}:{r}": n - failed0.get((k, r), 0)
              for (k, r), n in component.results.items()
              if r != "ok" and n > failed0.get((k, r), 0)}
    watch.cancel()
    await component.stop()
    stalled = sum(w for w, _ in stalls)
    print(json.dumps({"cpu": cpu, "checks": done, "failed": failed,
                      "stalls": len(stalls), "stalled_s": stalled,
                      "stall_cpu_share": sum(c for _, c in stalls) / stalled if stalled else None,
                      **quantiles("lag", lags), **quantiles("wait", waits),
                      **quantiles("delay", component.start_delay.samples[delay0:]),
                      "skipped": component.skipped - skipped0}), flush=True)


async def stall_watch(stalls: list[tuple[float, float]]) -> None:
    """Every time the loop answers a 20 ms sleep more than 100 ms late: (wall, CPU) seconds
    of that stall. CPU close to wall: the loop was busy (tierwatch's work); CPU close to
    zero: the process was not given a core (the machine's load). (50 wake-ups a second: its
    own CPU is a few hundredths of tierwatch's.)"""
    while True:
        wall, cpu = time.perf_counter(), time.process_time()
        await asyncio.sleep(0.02)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        if wall > 0.1:
            stalls.append((wall, cpu))


def quantiles(name: str, values: list[float]) -> dict[str, float | None]:
    ordered = sorted(values)
    if not ordered:
        return {f"{name}_p50": None, f"{name}_p99": None, f"{name}_max": None}
    return {f"{name}_p50": ordered[len(ordered) // 2],
            f"{name}_p99": ordered[int(len(ordered) * 0.99)], f"{name}_max": ordered[-1]}


# --------------------------------------------------------------------------- the control


async def idle_worker(spec: dict) -> None:
    """The services component's schedule with no work: each target's task wakes at the same
    beats (phase and jitter as services/component.py draws them) and only notes how late it
    woke. What this process sees is what the machine's load does to any loop."""
    import random

    from services.component import phase_of

    loop = asyncio.get_running_loop()
    interval = spec["interval"]
    jitter = min(1.0, 0.01 * interval)  # the services section's default
    rng = random.Random()
    lags: list[float] = []
    measuring = False

    async def beat(key: str, epoch: float) -> None:
        due = epoch + phase_of(key, interval)
        while True:
            start_at = due + rng.uniform(0, jitter)
            await asyncio.sleep(max(0.0, start_at - loop.time()))
            if measuring:
                lags.append(max(0.0, loop.time() - start_at))
            due += interval

    epoch = loop.time()
    tasks = [asyncio.create_task(beat(f"bench/t{i}", epoch)) for i in range(len(spec["urls"]))]
    await asyncio.sleep(spec["warmup"])
    measuring = True
    await asyncio.sleep(spec["measure"])
    measuring = False
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    print(json.dumps(quantiles("lag", lags)), flush=True)


# --------------------------------------------------------------------------- blackbox


async def blackbox_driver(base: str, urls: list[str], interval: float, seconds: float,
                          counts: dict[str, int]) -> None:
    """Ask blackbox to probe each URL once per interval, spread evenly (as Prometheus's
    scrapes of probe targets are)."""
    import httpx

    loop = asyncio.get_running_loop()
    step = interval / len(urls)
    start = loop.time()
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
    async with httpx.AsyncClient(timeout=10, limits=limits) as client:

        async def one(url: str) -> None:
            try:
                r = await client.get(base, params={"target": url, "module": "https"})
                ok = "probe_success 1" in r.text
            except httpx.HTTPError:
                ok = False
            counts["ok" if ok else "failed"] += 1

        tasks = set()
        k = 0
        while loop.time() - start < seconds:
            due = start + k * step
            await asyncio.sleep(max(0.0, due - loop.time()))
            task = asyncio.create_task(one(urls[k % len(urls)]))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            k += 1
        await asyncio.gather(*tasks)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--targets", type=int, default=1000)
    parser.add_argument("--interval", type=float, default=15.0)
    parser.add_argument("--warmup", type=float, default=15.0)
    parser.add_argument("--measure", type=float, default=45.0)
    parser.add_argument("--serve", nargs=2, metavar=("CERT", "KEY"))
    parser.add_argument("--ports", default="")
    parser.add_argument("--tierwatch-worker", metavar="SPEC")
    parser.add_argument("--idle-worker", metavar="SPEC")
    args = parser.parse_args(argv)
    if args.serve:
        asyncio.run(serve(args.serve[0], args.serve[1],
                          [int(p) for p in args.ports.split(",")]))
        return
    if args.tierwatch_worker:
        asyncio.run(tierwatch_worker(json.loads(Path(args.tierwatch_worker).read_text())))
        return
    if args.idle_worker:
        asyncio.run(idle_worker(json.loads(Path(args.idle_worker).read_text())))
        return
    blackbox = shutil.which("prometheus-blackbox-exporter")
    if blackbox is None:
        print("prometheus-blackbox-exporter is not installed (scripts/install-system)")
        sys.exit(1)
    print(f"load average: {os.getloadavg()}; cores: {os.cpu_count()}")
    from sim.egov import CityCA

    tmp = Path(tempfile.mkdtemp(prefix="tierwatch-bench-services-"))
    ca = CityCA(tmp).create()
    cert, key = ca.issue("targets", ["127.0.0.1"], 365)
    ports = [free_port() for _ in range(PORTS)]
    urls = [f"https://127.0.0.1:{ports[i % PORTS]}/t{i}" for i in range(args.targets)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs: list[subprocess.Popen[Any]] = []
    try:
        server = subprocess.Popen(
            [sys.executable, "-m", "bench.service_checks", "--serve", str(cert), str(key),
             "--ports", ",".join(map(str, ports))], stdout=subprocess.PIPE, text=True,
            env=env, cwd=REPO)
        procs.append(server)
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        bb_port = free_port()
        (tmp / "blackbox.yml").write_text(json.dumps({"modules": {"https": {
            "prober": "http", "timeout": "5s",
            "http": {"method": "GET", "fail_if_not_ssl": True,
                     "tls_config": {"ca_file": str(ca.ca_file)}}}}}))
        bb = subprocess.Popen([blackbox, f"--config.file={tmp / 'blackbox.yml'}",
                               f"--web.listen-address=127.0.0.1:{bb_port}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(bb)
        deadline = time.monotonic() + 10
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{bb_port}/metrics", timeout=1)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        spec = tmp / "spec.json"
        spec.write_text(json.dumps({"urls": urls, "ca_file": str(ca.ca_file),
                                    "interval": args.interval, "warmup": args.warmup,
                                    "measure": args.measure}))
        tw = subprocess.Popen([sys.executable, "-m", "bench.service_checks",
                               "--tierwatch-worker", str(spec)], stdout=subprocess.PIPE,
                              text=True, env=env, cwd=REPO)
        procs.append(tw)
        idle = subprocess.Popen([sys.executable, "-m", "bench.service_checks",
                                 "--idle-worker", str(spec)], stdout=subprocess.PIPE,
                                text=True, env=env, cwd=REPO)
        procs.append(idle)
        counts = {"ok": 0, "failed": 0}
        load_during: list[float] = []

        async def drive() -> tuple[float, int]:
            base = f"http://127.0.0.1:{bb_port}/probe"
            await blackbox_driver(base, urls, args.interval, args.warmup, {"ok": 0, "failed": 0})
            cpu0 = cpu_seconds(bb.pid)
            await blackbox_driver(base, urls, args.interval, args.measure, counts)
            load_during.append(os.getloadavg()[0])
            return cpu_seconds(bb.pid) - cpu0, counts["ok"] + counts["failed"]

        bb_cpu, bb_checks = asyncio.run(drive())
        assert tw.stdout is not None
        lines = [json.loads(line) for line in tw.stdout.read().splitlines() if line.strip()]
        tw_result = lines[-1]
        tw.wait(30)
        assert idle.stdout is not None
        idle_result = json.loads(idle.stdout.read().splitlines()[-1])
        idle.wait(30)
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    tw_per = tw_result["cpu"] / max(1, tw_result["checks"])
    bb_per = bb_cpu / max(1, bb_checks)
    print(f"{'':24}{'checks':>10}{'failed':>10}{'CPU s':>10}{'CPU ms/check':>14}")
    print(f"{'tierwatch':24}{tw_result['checks']:>10}{sum(tw_result['failed'].values()):>10}"
          f"{tw_result['cpu']:>10.2f}{tw_per * 1000:>14.3f}")
    print(f"{'blackbox_exporter':24}{bb_checks:>10}{counts['failed']:>10}{bb_cpu:>10.2f}"
          f"{bb_per * 1000:>14.3f}")
    if tw_result["failed"]:
        print(f"tierwatch failures: {tw_result['failed']}")
    print(f"targets={args.targets}")
    print(f"interval_s={args.interval:g}")
    print(f"checks_tierwatch={tw_result['checks']}")
    print(f"checks_blackbox={bb_checks}")
    print(f"cpu_per_https_check_ms_tierwatch={tw_per * 1000:.3f}")
    print(f"cpu_per_https_check_ms_blackbox={bb_per * 1000:.3f}")
    print(f"ratio_cpu_per_https_check_vs_blackbox={tw_per / bb_per:.2f}")
    def ms(value: float | None) -> str:
        return "nan" if value is None else f"{value * 1000:.2f}"

    print(f"p50_start_lag_ms={ms(tw_result['lag_p50'])}")
    print(f"p99_start_lag_ms={ms(tw_result['lag_p99'])}")
    print(f"max_start_lag_ms={ms(tw_result['lag_max'])}")
    print(f"p50_start_lag_ms_idle_loop={ms(idle_result['lag_p50'])}")
    print(f"p99_start_lag_ms_idle_loop={ms(idle_result['lag_p99'])}")
    print(f"max_start_lag_ms_idle_loop={ms(idle_result['lag_max'])}")
    print(f"p99_slot_wait_ms={ms(tw_result['wait_p99'])}")
    print(f"max_slot_wait_ms={ms(tw_result['wait_max'])}")
    print(f"p99_start_delay_ms={ms(tw_result['delay_p99'])}")
    print(f"skipped_tierwatch={tw_result['skipped']}")
    print(f"loop_stalls_over_100ms={tw_result['stalls']}")
    print(f"loop_stalled_s={tw_result['stalled_s']:.2f}")
    share = tw_result["stall_cpu_share"]
    print(f"loop_stall_cpu_share={'nan' if share is None else f'{share:.2f}'}")
    print(f"load_average_1m_during={load_during[0]:.2f}" if load_during else "")
    print(f"load_average_after={os.getloadavg()}")


if __name__ == "__main__":
    main()
