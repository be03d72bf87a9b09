"""UDP datagrams with a forged source address, as an attacker on the same network sends them.

A raw IPv4 socket (root only) writes the IP and UDP headers itself, so any source address
goes out; on loopback every 127.x.y.z is delivered without configuration. The UDP checksum
is left 0 ("none", allowed over IPv4: RFC 768).

    python -m tests.helpers.spoof --to 127.0.0.1:1162 --payload-hex 30... \\
        --sources 127.66.0.0/21 --count 2000 --seconds 5      # a flood, from a subprocess
"""

from __future__ import annotations

import argparse
import ipaddress
import itertools
import os
import socket
import struct
import sys
import time
from collections.abc import Sequence


def can_spoof() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _checksum(header: bytes) -> int:
    total = sum(struct.unpack(f"!{len(header) // 2}H", header))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ip_udp(source: tuple[str, int], target: tuple[str, int], payload: bytes) -> bytes:
    """An IPv4 packet carrying one UDP datagram from `source` to `target`."""
    udp = struct.pack("!HHHH", source[1], target[1], 8 + len(payload), 0) + payload
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, socket.IPPROTO_UDP,
                         0, socket.inet_aton(source[0]), socket.inet_aton(target[0]))
    header = header[:10] + struct.pack("!H", _checksum(header)) + header[12:]
    return header + udp


def raw_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 * 1024 * 1024)
    return sock


def send_from(source: tuple[str, int], target: tuple[str, int], payload: bytes) -> None:
    with raw_socket() as sock:
        sock.sendto(ip_udp(source, target, payload), (target[0], 0))


def flood(target: tuple[str, int], payload: bytes, sources: Sequence[str], seconds: float,
          port: int = 40000) -> int:
    """Send `payload` round-robin from every source for `seconds`, as fast as one core
    goes (pausing only when the socket's buffer is full); answers how many were sent."""
    packets = [ip_udp((s, port), target, payload) for s in sources]
    sent = 0
    deadline = time.monotonic() + seconds
    with raw_socket() as sock:
        for packet in itertools.cycle(packets):
            if sent % 256 == 0 and time.monotonic() >= deadline:
                break
            try:
                sock.sendto(packet, (target[0], 0))
                sent += 1
            except (BlockingIOError, OSError):
                time.sleep(0.0005)
    return sent


def addresses(network: str, count: int) -> list[str]:
    hosts = ipaddress.ip_network(network).hosts()
    return [str(a) for a in itertools.islice(hosts, count)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--to", required=True)
    parser.add_argument("--payload-hex", required=True)
    parser.add_argument("--sources", required=True, help="a network: its first COUNT hosts")
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--seconds", type=float, required=True)
    args = parser.parse_args(argv)
    host, _, port = args.to.rpartition(":")
    sent = flood((host, int(port)), bytes.fromhex(args.payload_hex),
                 addresses(args.sources, args.count), args.seconds)
    print(sent)
    return 0


if __name__ == "__main__":
    sys.exit(main())
