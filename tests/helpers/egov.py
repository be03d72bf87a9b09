"""The city's services for tests: the simulator's real servers (sim/egov.py) on free
loopback ports, dnsmasq from Debian, and probes built the way the room builds them."""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from services.config import CheckConfig
from services.probes import Probe
from tests.helpers.procs import free_port, need, process


def probe(check: dict[str, Any], *, ca_file: Path | None = None, timeout: float = 2.0,
          source: str | None = None, agency: str | None = None) -> Probe:
    """One probe of one check, as services.probes.build_probes makes it."""
    cfg = CheckConfig.model_validate({"service": "svc", **check})
    return Probe(key=f"svc/{cfg.label}", service=cfg.service, check=cfg.label, kind=cfg.kind,
                 source=source or "", address=source, agency=agency,
                 resolver=cfg.resolvers[0] if cfg.kind == "dns" else None, config=cfg,
                 interval=max(timeout * 2, 1.0), timeout=timeout,
                 ca_file=str(ca_file) if ca_file else None)


def _free_udp_and_tcp_port() -> int:
    """A loopback port free for UDP and TCP both: dnsmasq listens on both."""
    for _ in range(50):
        port = free_port(socket.SOCK_DGRAM)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            try:
                tcp.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError("no loopback port free for both UDP and TCP")


@contextlib.contextmanager
def dnsmasq(tmp: Path, records: dict[str, str]) -> Iterator[str]:
    """dnsmasq answering `records` (name -> IPv4) on a free loopback port; yields HOST:PORT."""
    binary = need("dnsmasq")
    port = _free_udp_and_tcp_port()
    pid_file = tmp / "dnsmasq.pid"
    cmd = [binary, "--keep-in-foreground", f"--port={port}", "--listen-address=127.0.0.1",
           "--bind-interfaces", "--no-resolv", "--no-hosts", f"--pid-file={pid_file}",
           "--user=root", "--group=root", "--log-facility=-"]
    cmd += [f"--address=/{name}/{address}" for name, address in records.items()]
    with process(cmd, tmp / "dnsmasq.log"):
        deadline = time.monotonic() + 10
        while True:  # ready when it answers
            try:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                    s.settimeout(0.2)
                    s.sendto(b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x01"
                             b"\x00\x01", ("127.0.0.1", port))
                    s.recvfrom(512)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError((tmp / "dnsmasq.log").read_text()) from None
        yield f"127.0.0.1:{port}"
