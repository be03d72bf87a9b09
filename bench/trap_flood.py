"""Trap receiver throughput, and what a flood costs: tierwatch against Net-SNMP's snmptrapd in
the same run. Prints numbers; asserts nothing.

    PYTHONPATH=. python -m bench.trap_flood [--seconds 3] [--flood-seconds 5]

(1) decode: the same SNMPv2c trap (4 varbinds, 104 octets) sent flat out for `--seconds`
    from a sender process, to each receiver in turn (three rounds, alternating; the median
    is printed):
    - tierwatch: `TrapReceiver` (the native codec; source check, per-source and global
      buckets with limits out of the way, strict BER, community, RFC 3416 checks), handing
      each trap to a counter;
    - snmptrapd (Net-SNMP 5.9, C), writing each trap, decoded, as one line of a log file
      (`-n`: no name look-ups, `-F`: one line per trap).
    decoded/s = traps handed on (lines written) / seconds from the first datagram sent to
    the last trap handed on (line written). The sender is faster than either receiver; the
    kernel drops what a receiver cannot read (counted for tierwatch from /proc/net/udp).
(2) flood: a real `Service` with its trap component and SQLite store, default limits
    (1,000 traps/s from all sources, 5,000 in a burst; 200/s and 1,000 per source), flooded
    for `--flood-seconds` with a UPS's on-battery trap from 2,000 forged addresses (1,000
    of them the UPS's trap addresses; a raw socket, root) or, without root, from one.
    Datagrams received, traps accepted and dropped by reason, per second; peak RSS; the
    store's trap rows and bytes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from collector.traps.component import TrapMessage, TrapReceiver
from sim.traps import encode_v2c_trap
from tests.helpers import spoof
from tests.helpers.procs import free_port

REPO = Path(__file__).resolve().parent.parent
TRAP = encode_v2c_trap("public", "1.3.6.1.4.1.318.0.5", 100,
                       [("1.3.6.1.2.1.2.2.1.1.25", 25), ("1.3.6.1.2.1.1.5.0", "ups-a")])
FLOOD_NET = "127.66.0.0/16"


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _sender(port: int, seconds: float) -> subprocess.Popen[str]:
    """Flat out from one socket, for `seconds`; prints how many it sent."""
    code = ("import socket,sys,time\n"
            f"d=bytes.fromhex('{TRAP.hex()}');s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
            f"end=time.monotonic()+{seconds};n=0\n"
            "while True:\n"
            "  for _ in range(256):\n"
            f"    s.sendto(d,('127.0.0.1',{port}))\n"
            "  n+=256\n"
            "  if time.monotonic()>=end: break\n"
            "print(n)\n")
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)


async def tierwatch_decode(seconds: float) -> dict[str, float]:
    decoded = [0]
    last = [0.0]

    def on_trap(_message: TrapMessage) -> bool:
        decoded[0] += 1
        last[0] = time.perf_counter()
        return True

    receiver = TrapReceiver(("127.0.0.1", 0), ["public"], [], on_trap, rate=1e12, burst=10**12,
                            global_rate=1e12, global_burst=10**12)
    _, port = await receiver.start()
    started = time.perf_counter()
    sender = _sender(port, seconds)
    while sender.poll() is None:
        await asyncio.sleep(0.05)
    sent = int(sender.communicate()[0])
    while time.perf_counter() - max(last[0], started) < 0.5:  # until the queue is read
        await asyncio.sleep(0.05)
    kernel = receiver.kernel_drops()
    await receiver.stop()
    return {"sent": sent, "decoded": decoded[0], "per_s": decoded[0] / (last[0] - started),
            "kernel_dropped": kernel, "refused": sum(receiver.dropped.values())}


def snmptrapd_decode(seconds: float, work: Path) -> dict[str, float]:
    port = free_port(socket.SOCK_DGRAM)
    conf = work / "snmptrapd.conf"
    conf.write_text(f"authCommunity log public\n[snmp] persistentDir {work}\n")
    logfile = work / "traps.log"
    logfile.write_bytes(b"")
    proc = subprocess.Popen([shutil.which("snmptrapd") or "snmptrapd", "-f", "-C", "-c", str(conf),
                             "-m", "", "-n", "-Lf", str(logfile), "-F", "%B [%b]: %v\n",
                             "-p", str(work / "snmptrapd.pid"), f"udp:127.0.0.1:{port}"],
                            env={**os.environ, "MIBS": ""}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while b"NET-SNMP version" not in logfile.read_bytes() and time.monotonic() < deadline:
            time.sleep(0.02)
        base = logfile.read_bytes().count(b"\n")
        started = time.perf_counter()
        sender = _sender(port, seconds)
        lines, last = base, started
        while True:
            time.sleep(0.02)
            now_lines = logfile.read_bytes().count(b"\n")
            if now_lines != lines:
                lines, last = now_lines, time.perf_counter()
            elif sender.poll() is not None and time.perf_counter() - last > 0.5:
                break
        sent = int(sender.communicate()[0])
    finally:
        proc.terminate()
        proc.wait(10)
    decoded = lines - base
    return {"sent": sent, "decoded": decoded, "per_s": decoded / (last - started)}


async def flood(seconds: float, work: Path) -> None:
    from tierwatch.config import parse
    from tierwatch.service import Service

    port = free_port(socket.SOCK_DGRAM)
    forged = spoof.can_spoof()
    addresses = spoof.addresses(FLOOD_NET, 2000) if forged else ["127.0.0.2"]
    sources = "{" + ", ".join(f"'{a}': ups-a" for a in addresses[:1000]) + "}"
    store = work / "store.sqlite"
    config = parse(
        "site: {name: bench}\n"
        "snmp: {defaults: {interval: 1h, timeout: 1s, retries: 0}, jitter: 0}\n"
        f"store: {{url: 'sqlite:///{store}'}}\n"
        "credentials: {v2: {version: 2c, community: public}}\n"
        "devices: [{id: ups-a, address: '127.0.0.1:9', credentials: v2, profile: apc-ups}]\n"
        f"alerts: {{enabled: false, traps: {{enabled: true, listen: '127.0.0.1:{port}', "
        f"communities: [v2], poll_on_trap: false, sources: {sources}}}}}\n").config
    service = Service(config)
    await service.start()
    try:
        traps = service.traps
        assert traps is not None and traps.receiver is not None
        receiver = traps.receiver
        rss_before = _peak_rss_mib()
        bytes_before = sum(p.stat().st_size for p in work.glob("store.sqlite*"))
        started = time.perf_counter()
        if forged:
            sender = subprocess.Popen(
                [sys.executable, "-m", "tests.helpers.spoof", "--to", f"127.0.0.1:{port}",
                 "--payload-hex", TRAP.hex(), "--sources", FLOOD_NET, "--count", "2000",
                 "--seconds", str(seconds)], stdout=subprocess.PIPE, text=True, cwd=REPO)
        else:
            sender = subprocess.Popen(
                [sys.executable, "-c", "import socket,time\n"
                 "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.bind(('127.0.0.2',0))\n"
                 f"d=bytes.fromhex('{TRAP.hex()}');end=time.monotonic()+{seconds};n=0\n"
                 "while time.monotonic()<end:\n"
                 f"  [s.sendto(d,('127.0.0.1',{port})) for _ in range(256)];n+=256\n"
                 "print(n)\n"], stdout=subprocess.PIPE, text=True)
        while sender.poll() is None:
            await asyncio.sleep(0.1)
        sent = int(sender.communicate()[0])
        while traps.queue:
            await asyncio.sleep(0.05)
        took = time.perf_counter() - started
        traps._flush()
        dropped = {k: v for k, v in receiver.dropped.items() if v}
        dropped["kernel_dropped"] = receiver.kernel_drops()
        assert service.store is not None
        rows = service.store.count_trap_events()
        bytes_after = sum(p.stat().st_size for p in work.glob("store.sqlite*"))
        accepted = receiver.counts["accepted"]
        print(f"\n(2) flood: {sent} datagrams in {seconds:g} s from "
              f"{len(addresses)} {'forged ' if forged else ''}source address(es), all read "
              f"{took:.1f} s after the start")
        received = receiver.datagrams
        print(f"  received by tierwatch      {received:>9} ({received / took:,.0f}/s)")
        print(f"  accepted (traps handled)   {accepted:>9} ({accepted / took:,.0f}/s)")
        for reason, n in sorted(dropped.items()):
            print(f"  dropped: {reason:<18}{n:>9} ({n / took:,.0f}/s)")
        print(f"  peak RSS                   {rss_before:.0f} -> {_peak_rss_mib():.0f} MiB")
        print(f"  store: trap rows {rows}, {bytes_after - bytes_before:+,} bytes "
              f"(max_events {traps.config.max_events})")
        print(f"flood_sent={sent}")
        print(f"flood_received_per_s={receiver.datagrams / took:.0f}")
        print(f"flood_accepted_per_s={accepted / took:.0f}")
        print(f"flood_dropped_per_s={sum(dropped.values()) / took:.0f}")
        print(f"flood_peak_rss_mib={_peak_rss_mib():.0f}")
        print(f"flood_store_rows={rows}")
        print(f"flood_store_bytes={bytes_after - bytes_before}")
    finally:
        await service.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--flood-seconds", type=float, default=5.0)
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="trap-bench-") as tmp:
        work = Path(tmp)
        ours, theirs = [], []
        have_snmptrapd = shutil.which("snmptrapd") is not None
        for _ in range(args.rounds):
            ours.append(asyncio.run(tierwatch_decode(args.seconds)))
            if have_snmptrapd:
                theirs.append(snmptrapd_decode(args.seconds, work))
        print(f"(1) decode: {len(TRAP)}-octet v2c traps sent flat out for {args.seconds:g} s, "
              f"{args.rounds} rounds")
        for name, runs in (("tierwatch", ours), ("snmptrapd (file)", theirs)):
            for run in runs:
                extra = (f", kernel dropped {run['kernel_dropped']:.0f}"
                         if "kernel_dropped" in run else "")
                print(f"  {name:<17} sent {run['sent']:>8.0f}, decoded {run['decoded']:>8.0f}"
                      f" = {run['per_s']:>9,.0f}/s{extra}")
        tw = statistics.median(r["per_s"] for r in ours)
        print(f"tierwatch_traps_decoded_per_s={tw:.0f}")
        if theirs:
            peer = statistics.median(r["per_s"] for r in theirs)
            print(f"snmptrapd_traps_decoded_per_s={peer:.0f}")
            print(f"ratio_traps_decoded_per_s_vs_snmptrapd={tw / peer:.2f}")
        else:
            print("snmptrapd is not installed: no peer (scripts/install-system)")
        asyncio.run(flood(args.flood_seconds, work))
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
