"""A small dedicated data network in network namespaces, built and torn down by a test.

The test process (the monitor) stays in the root namespace: it is the data center. Two
district namespaces route to the agency sites behind them; addresses come from a /24 of
198.18.0.0/15 (RFC 2544, benchmarking only) picked per run, so runs side by side never
meet. Everything is removed on exit, whatever happened.

    DC (root ns) ==trunk 1== D1 ---- site A (dual-homed)
              \\==trunk 2== D2 ----/
                            D1 ---- site B (single-homed)

    .1/.2   trunk DC-D1        .9/.10  D1-A (link A1)     .32  site A's own address
    .5/.6   trunk DC-D2        .13/.14 D1-B (link B1)     .33  site B's own address
                               .17/.18 D2-A (link A2)

Routes are static, as a routing protocol would leave them: the DC reaches site A through
D1 (metric 10) and D2 (metric 20); site A answers each trunk's address back the way it
came. The DC's trunk interfaces ignore routes whose link is down
(`ignore_routes_with_linkdown`), so when trunk 1 loses carrier the DC fails over to D2 at
once and, when it comes back, returns to D1, as a dynamic protocol would.

Nothing leaves the machine: an `unreachable` route covers the whole /24 in the root
namespace, so an address whose route is gone fails at once instead of taking the default
route out.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

NAMESPACES = ("d1", "d2", "sa", "sb")


class NetnsError(Exception):
    pass


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["ip", *args], capture_output=True, text=True)
    if check and result.returncode != 0:
        raise NetnsError(f"ip {' '.join(args)}: {result.stderr.strip()}")
    return result


def sysctl(ns: str | None, setting: str) -> None:
    cmd = ["sysctl", "-qw", setting]
    if ns is not None:
        cmd = ["ip", "netns", "exec", ns, *cmd]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise NetnsError(f"{' '.join(cmd)}: {result.stderr.strip()}")


@dataclass
class DataNetwork:
    run: str  # unique per run: part of every name
    prefix: str  # "198.18.X" or "198.19.X"
    ns: dict[str, str] = field(default_factory=dict)  # short name -> namespace name

    def addr(self, last: int) -> str:
        return f"{self.prefix}.{last}"

    @property
    def trunk_d1(self) -> str:
        return self.addr(2)

    @property
    def trunk_d2(self) -> str:
        return self.addr(6)

    @property
    def link_a1(self) -> str:
        return self.addr(10)

    @property
    def link_b1(self) -> str:
        return self.addr(14)

    @property
    def link_a2(self) -> str:
        return self.addr(18)

    @property
    def site_a(self) -> str:
        return self.addr(32)

    @property
    def site_b(self) -> str:
        return self.addr(33)

    def cut_trunk_d1(self) -> None:
        """The fibre to district 1 is cut: D1's end goes down, the DC's end loses carrier."""
        ip("-n", self.ns["d1"], "link", "set", "t1", "down")

    def restore_trunk_d1(self) -> None:
        ip("-n", self.ns["d1"], "link", "set", "t1", "up")

    def exec_in(self, short: str, *cmd: str) -> list[str]:
        """A command line that runs `cmd` inside one of the network's namespaces."""
        return ["ip", "netns", "exec", self.ns[short], *cmd]


def _free_prefix() -> str:
    taken = ip("-4", "route", "show", "table", "all").stdout + ip("-4", "-o", "addr").stdout
    for _ in range(200):
        prefix = f"198.{random.choice((18, 19))}.{random.randrange(256)}"
        if f"{prefix}." not in taken:
            return prefix
    raise NetnsError("no free /24 in 198.18.0.0/15")


def _skip_unless_permitted() -> None:
    if shutil.which("ip") is None:
        pytest.skip("network namespaces: the `ip` command (iproute2) is not installed")
    probe = f"tw-probe-{os.getpid()}-{random.randrange(1 << 16):04x}"
    result = ip("netns", "add", probe, check=False)
    if result.returncode != 0:
        pytest.skip(f"network namespaces are not permitted here: {result.stderr.strip()}")
    ip("netns", "del", probe, check=False)


@contextlib.contextmanager
def dedicated_network() -> Iterator[DataNetwork]:
    _skip_unless_permitted()
    run = f"{os.getpid() % 10000:04d}{random.randrange(256):02x}"
    net = DataNetwork(run, _free_prefix(), {s: f"tw-{run}-{s}" for s in NAMESPACES})
    root_t1, root_t2 = f"tw{run}t1", f"tw{run}t2"
    unreachable = f"{net.prefix}.0/24"
    try:
        _build(net, root_t1, root_t2, unreachable)
        yield net
    finally:
        for name in net.ns.values():  # deleting a namespace deletes its veth ends, and so
            ip("netns", "del", name, check=False)  # their peers and routes in the root
        for dev in (root_t1, root_t2):
            ip("link", "del", dev, check=False)
        ip("route", "del", "unreachable", unreachable, "metric", "4000", check=False)


def _build(net: DataNetwork, root_t1: str, root_t2: str, unreachable: str) -> None:
    a = net.addr
    ns = net.ns
    for name in ns.values():
        ip("netns", "add", name)
        ip("-n", name, "link", "set", "lo", "up")
    ip("route", "add", "unreachable", unreachable, "metric", "4000")
    # trunks from the data center to the districts
    for root_end, district, near, far in ((root_t1, "d1", 1, 2), (root_t2, "d2", 5, 6)):
        peer = "t1" if district == "d1" else "t2"
        ip("link", "add", root_end, "type", "veth", "peer", "name", peer, "netns", ns[district])
        ip("addr", "add", f"{a(near)}/30", "dev", root_end)
        ip("-n", ns[district], "addr", "add", f"{a(far)}/30", "dev", peer)
        sysctl(None, f"net.ipv4.conf.{root_end}.ignore_routes_with_linkdown=1")
        ip("link", "set", root_end, "up")
        ip("-n", ns[district], "link", "set", peer, "up")
        sysctl(ns[district], "net.ipv4.ip_forward=1")
    # last-mile links from the districts to the sites
    for district, site, dev, near, far in (("d1", "sa", "a1", 9, 10), ("d1", "sb", "b1", 13, 14),
                                           ("d2", "sa", "a2", 17, 18)):
        ip("-n", ns[district], "link", "add", dev, "type", "veth", "peer", "name", dev,
           "netns", ns[site])
        ip("-n", ns[district], "addr", "add", f"{a(near)}/30", "dev", dev)
        ip("-n", ns[site], "addr", "add", f"{a(far)}/30", "dev", dev)
        ip("-n", ns[district], "link", "set", dev, "up")
        ip("-n", ns[site], "link", "set", dev, "up")
    ip("-n", ns["sa"], "addr", "add", f"{net.site_a}/32", "dev", "lo")
    ip("-n", ns["sb"], "addr", "add", f"{net.site_b}/32", "dev", "lo")
    # the data center's routes: site A through D1 first, through D2 when D1 is gone
    for prefix, via in ((f"{a(8)}/30", a(2)), (f"{a(12)}/30", a(2)), (f"{a(16)}/30", a(6)),
                        (f"{net.site_b}/32", a(2))):
        ip("route", "add", prefix, "via", via)
    ip("route", "add", f"{net.site_a}/32", "via", a(2), "metric", "10")
    ip("route", "add", f"{net.site_a}/32", "via", a(6), "metric", "20")
    # the districts reach the sites' own addresses
    ip("-n", ns["d1"], "route", "add", f"{net.site_a}/32", "via", a(10))
    ip("-n", ns["d1"], "route", "add", f"{net.site_b}/32", "via", a(14))
    ip("-n", ns["d2"], "route", "add", f"{net.site_a}/32", "via", a(18))
    # the sites answer each trunk's address back the way it came
    ip("-n", ns["sa"], "route", "add", f"{a(0)}/30", "via", a(9))
    ip("-n", ns["sa"], "route", "add", f"{a(4)}/30", "via", a(17))
    ip("-n", ns["sb"], "route", "add", f"{a(0)}/30", "via", a(13))
