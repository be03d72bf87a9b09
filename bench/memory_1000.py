"""Memory of `tierwatch run` with 1,000 configured devices polled every 30 s.

    PYTHONPATH=. python -m bench.memory_1000 [--devices 1000] [--interval 30] [--rounds 2]

The bench's lab (bench/lab.py): 100 real snmpd devices; the 1,000 device ids poll them in
turn (10 ids per address), each with the bench's IF-MIB profile (162 varbinds, 150
samples, 4 port components). /metrics is scraped every 5 s, as Prometheus would.
After `--rounds` complete polling rounds the process's peak resident set (VmHWM from
/proc/PID/status) is printed; the target is under 300 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench import ifmib, lab
from bench.loadgen import Client
from bench.pipeline import start_tierwatch, tierwatch_config

_POLLS = re.compile(rb"^tierwatch_polls_total\{[^}]*\} (\S+)$", re.M)


async def measure(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="twbench-") as tmp:
        work = Path(tmp)
        ifmib.write_files(work, lab.COMMUNITY, lab.USER)
        with lab.snmpd_fleet(work) as fleet:
            ids = args.devices // len(fleet.devices)
            config = work / "tw.yaml"
            config.write_text(tierwatch_config(fleet.devices, ids, "v2c", work / "profiles",
                                               work / "tw.sqlite", args.interval, 64))
            port = lab.free_tcp_port()
            process = start_tierwatch(config, port, work / "tw.log")
            client = Client("127.0.0.1", port)
            try:
                await asyncio.to_thread(lab.wait_http, f"http://127.0.0.1:{port}/healthz",
                                        process)
                after_start = lab.proc_memory_kb(process.pid)
                started = time.monotonic()
                deadline = started + args.interval * (args.rounds + 1) + 30
                polls = 0
                body = b""
                done: list[int] = []
                while len(done) < ids * len(fleet.devices) or min(done) < args.rounds:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"only {polls} polls after {deadline - started:.0f} s")
                    await asyncio.sleep(min(args.interval, 5.0))
                    status, body = await client.get("/metrics")
                    if status != 200:
                        raise RuntimeError(f"/metrics answered {status}")
                    done = [int(float(v)) for v in _POLLS.findall(body)]
                    polls = sum(done)
                took = time.monotonic() - started
                memory = lab.proc_memory_kb(process.pid)
                devices = len(_POLLS.findall(body))
            finally:
                client.close()
                lab.stop(process)
    print(f"{devices} devices polled every {args.interval:g}s: every one at least "
          f"{args.rounds} times after {took:.0f}s ({polls} polls), /metrics "
          f"{len(body) / 1e6:.1f} MB")
    print(f"RSS after start {after_start['VmRSS'] / 1024:.0f} MB; after {args.rounds} rounds "
          f"{memory['VmRSS'] / 1024:.0f} MB, peak (VmHWM) {memory['VmHWM'] / 1024:.0f} MB "
          f"(target < 300 MB)")
    print(f"memory_peak_mb_{devices}_devices={memory['VmHWM'] / 1024:.0f}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--interval", type=float, default=30.0)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    if lab.inside_namespace() is None:
        return lab.run_module("bench.memory_1000", sys.argv[1:] if argv is None else argv)
    lab.exit_on_sigterm()
    print(f"# memory_1000: {lab.where_line()}; {lab.machine_line()}", flush=True)
    asyncio.run(measure(args))
    print(f"# end: load average {lab.loadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
