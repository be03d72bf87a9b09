"""Trap receiver throughput: how many traps a second tierwatch decodes and hands on, and what
a flood costs in drops and memory. Prints numbers; asserts nothing.

    python -m bench.trap_flood [--traps 20000] [--rate-limit 1e9]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import socket
import threading
import time

from collector.traps.receiver import TrapMessage, TrapReceiver
from sim.traps import encode_v2c_trap


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def run(traps: int, rate_limit: float, pace: float) -> None:
    handed: list[int] = [0]

    def on_trap(_message: TrapMessage) -> bool:
        handed[0] += 1
        return True

    receiver = TrapReceiver(("127.0.0.1", 0), ["public"], [], on_trap, rate=rate_limit,
                            burst=int(min(rate_limit, 1e9)))
    host, port = await receiver.start()
    datagram = encode_v2c_trap("public", "1.3.6.1.4.1.318.0.5", 1)
    rss_before = _rss_mib()

    def send() -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            for i in range(traps):
                sock.sendto(datagram, (host, port))
                if pace and i % 100 == 99:
                    time.sleep(100 / pace)

    started = time.perf_counter()
    sender = threading.Thread(target=send)
    sender.start()
    def seen() -> int:  # handed on, refused, or dropped by the kernel: every datagram once
        return handed[0] + sum(receiver.counts.values()) + receiver.kernel_drops()

    while (sender.is_alive() or seen() < traps) and time.perf_counter() - started < 120:
        await asyncio.sleep(0.01)
    took = time.perf_counter() - started  # until every datagram was accounted for
    counts = {k: v for k, v in receiver.counts.items() if v}
    counts["kernel_dropped"] = receiver.kernel_drops()
    await receiver.stop()
    print(f"{traps} v2c traps sent {'at ' + format(pace, '.0f') + '/s' if pace else 'flat out'}"
          f": all accounted for in {took:.2f}s, {handed[0]} decoded and handed on "
          f"({handed[0] / took:.0f}/s); "
          f"results {counts}; max RSS {rss_before:.0f} -> {_rss_mib():.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--traps", type=int, default=20_000)
    parser.add_argument("--rate-limit", type=float, default=1e9,
                        help="per-source limit (default: none, to measure decoding)")
    parser.add_argument("--pace", type=float, default=0.0,
                        help="send at this many traps a second (default: flat out)")
    args = parser.parse_args()
    asyncio.run(run(args.traps, args.rate_limit, args.pace))


if __name__ == "__main__":
    main()
