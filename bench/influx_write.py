"""Throughput of the InfluxDB exporter into a real VictoriaMetrics, and its disk buffer.

    PYTHONPATH=. python bench/influx_write.py [--devices 500] [--samples 60] [--rounds 5]

Polls of `devices` devices with `samples` samples each (labels like a PDU's phases) go
through the exporter as the service would feed them; the exporter seals them into batches
on its disk buffer and writes them with influxdb-client (gzip) to VictoriaMetrics on a
free loopback port. Printed: encode rate, buffer append rate and bytes per point on disk,
end-to-end write rate, and the drain rate of a backlog after an outage. Nothing asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

from exporters.influx import InfluxExporter
from exporters.influx_buffer import DiskBuffer
from exporters.influx_config import InfluxConfig
from exporters.lineprotocol import LineEncoder
from tierwatch.core.model import PollResult, Sample
from tierwatch.core.runtime import Runtime


def polls(devices: int, samples: int, ts: float) -> list[PollResult]:
    out = []
    for d in range(devices):
        labels = [{"device": f"pdu-{d:04d}", "room": "phòng máy 1", "rack": f"R{d % 40:02d}",
                   "phase": str(i % 3 + 1), "outlet": str(i)} for i in range(samples)]
        out.append(PollResult(f"pdu-{d:04d}", ts, samples=[
            Sample("pdu_outlet_current_amperes", lab, round(0.1 * (i % 50) + d / 1000, 3), ts)
            for i, lab in enumerate(labels)]))
    return out


def start_vm(tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    binary = shutil.which("victoria-metrics")
    assert binary, "victoria-metrics is not installed (scripts/install-system)"
    proc = subprocess.Popen([binary, f"-httpListenAddr=127.0.0.1:{port}",
                             f"-storageDataPath={tmp / 'vm'}", "-loggerLevel=ERROR"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(f"{url}/health", timeout=1).read()
            return proc, url
        except OSError:
            time.sleep(0.05)
    raise SystemExit("victoria-metrics did not start")


async def run(args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="tw-influx-bench-"))
    per_round = args.devices * args.samples
    total = per_round * args.rounds
    base = time.time() - 3600

    enc = LineEncoder({"site": "bench"})
    rounds = [polls(args.devices, args.samples, base + r * 30) for r in range(args.rounds)]
    t = time.perf_counter()
    lines = [line for rnd in rounds for r in rnd for line in enc.samples(r.samples, r.ts)[0]]
    encode = time.perf_counter() - t

    buf = DiskBuffer(tmp / "probe.sqlite", 10**10)
    t = time.perf_counter()
    for start in range(0, len(lines), 5000):
        buf.append(lines[start:start + 5000])
    append = time.perf_counter() - t
    per_point = buf.bytes / buf.points
    buf.close()

    proc, url = start_vm(tmp)
    try:
        section = InfluxConfig.model_validate({
            "url": url, "org": "o", "bucket": "b", "batch_size": 5000, "flush_interval": "1h",
            "string_fields": False, "buffer": {"path": str(tmp / "buffer.sqlite")}})
        ex = InfluxExporter(section)
        await ex.start(Runtime.for_tests())
        t = time.perf_counter()
        for rnd in rounds:
            for result in rnd:
                ex.on_result(result)
        await ex.flush()
        end_to_end = time.perf_counter() - t
        assert ex.counters.written == total, ex.counters

        # a backlog: the exporter restarted with points waiting on disk
        await ex.stop()
        backlog = DiskBuffer(tmp / "buffer.sqlite", 10**10)
        for start in range(0, len(lines), 5000):
            backlog.append(lines[start:start + 5000])
        backlog.close()
        ex = InfluxExporter(section)
        await ex.start(Runtime.for_tests())
        t = time.perf_counter()
        await ex.flush()
        drain = time.perf_counter() - t
        await ex.stop()
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"{args.devices} devices x {args.samples} samples x {args.rounds} rounds = "
          f"{total} points")
    print(f"  encode to line protocol   {total / encode:10.0f} points/s")
    print(f"  seal to the disk buffer   {total / append:10.0f} points/s, "
          f"{per_point:.1f} bytes/point on disk")
    print(f"  poll -> VictoriaMetrics   {total / end_to_end:10.0f} points/s (end to end)")
    print(f"  drain a backlog           {total / drain:10.0f} points/s")
    print(f"  256 MB of buffer holds about {256e6 / per_point / 1e6:.0f} million points")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--devices", type=int, default=500)
    parser.add_argument("--samples", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=5)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
