"""The dedicated data network in network namespaces, probed by a real `tierwatch run`.

Two agency sites: A dual-homed (districts 1 and 2), B single-homed (district 1). Cutting
the trunk to district 1 makes site B unreachable (an outage in the store) while site A
loses its path through district 1 and stays reachable through district 2; restoring the
trunk restores both. See tests/helpers/netns.py for the network, and
tests/fixtures/topologies/dedicated-network.yaml for the same network as the Tier engine
reads it.

Where namespaces are not permitted the test skips, saying why; the loopback probe tests in
tests/tierwatch/test_service_agents_probes.py still cover the probe logic.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.helpers import FIXTURES_DIR
from tests.helpers.agents import run_tierwatch
from tests.helpers.netns import dedicated_network, ip
from tests.helpers.procs import ROOT, process, wait_for
from tierwatch.core.store import Store

pytestmark = pytest.mark.integration

TOPOLOGY = FIXTURES_DIR / "topologies" / \
    "dedicated-network.yaml"
DEVICES = ("trunk-d1", "trunk-d2", "link-a1", "link-a2", "link-b1", "site-a", "site-b")
BEHIND_D1 = {"trunk-d1", "link-a1", "link-b1", "site-b"}
SITE_B_PORT = 8443

LISTENER = textwrap.dedent("""
    import socket, sys
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((sys.argv[1], int(sys.argv[2])))
    server.listen(64)
    print("listening", flush=True)
    while True:
        conn, _ = server.accept()
        conn.close()
""")


def test_cutting_a_trunk_takes_the_single_homed_site_down(tmp_path: Path) -> None:
    store_url = f"sqlite:///{tmp_path}/store.sqlite"
    with dedicated_network() as net:
        listener = tmp_path / "listener.py"
        listener.write_text(LISTENER)
        site_b_service = net.exec_in("sb", sys.executable, str(listener), net.site_b,
                                     str(SITE_B_PORT))
        config = textwrap.dedent(f"""\
            site: {{name: Trung tâm dữ liệu thành phố}}
            store: {{url: '{store_url}'}}
            probes:
              interval: 1s
              timeout: 0.5s
              window: 4
              unreachable_after: 2
              links:
                - {{id: trunk-d1, checks: [{{icmp: {net.trunk_d1}}}]}}
                - {{id: trunk-d2, checks: [{{icmp: {net.trunk_d2}}}]}}
                - {{id: link-a1, checks: [{{icmp: {net.link_a1}}}]}}
                - {{id: link-a2, checks: [{{icmp: {net.link_a2}}}]}}
                - {{id: link-b1, checks: [{{icmp: {net.link_b1}}}]}}
              sites:
                - {{id: site-a, checks: [{{icmp: {net.site_a}}}]}}
                - {{id: site-b, checks: [{{icmp: {net.site_b}}},
                                         {{tcp: '{net.site_b}:{SITE_B_PORT}', name: portal}}]}}
            """)
        config += TOPOLOGY.read_text(encoding="utf-8")
        with process(site_b_service, tmp_path / "listener.log"), \
                run_tierwatch(tmp_path, config) as tw:

            def statuses() -> dict[str, str]:
                text = tw.metrics_text()
                out = {}
                for line in text.splitlines():
                    if line.startswith("tierwatch_device_status{") and \
                            float(line.rsplit(" ", 1)[1]) == 1:
                        labels = dict(part.split("=", 1) for part in
                                      line[line.index("{") + 1:line.index("}")].split(","))
                        out[labels["device"].strip('"')] = labels["status"].strip('"')
                return out

            def all_ok() -> bool:
                return all(statuses().get(d) == "ok" for d in DEVICES)

            try:
                wait_for(all_ok, 20, "every link and site probed ok")
            except AssertionError as exc:
                raise AssertionError(f"{exc}: {statuses()}\n{tw.log.read_text()[-3000:]}"
                                     ) from None
            assert tw.value("probe_success", device="site-b", check="portal") == 1

            # --- the trunk to district 1 is cut
            net.cut_trunk_d1()

            def cut_seen() -> bool:
                now = statuses()
                return all(now.get(d) == "unknown" for d in BEHIND_D1) and all(
                    now.get(d) == "ok" for d in set(DEVICES) - BEHIND_D1 - {"site-a"})

            wait_for(cut_seen, 15, "everything behind district 1 unreachable")
            for device in BEHIND_D1:
                assert tw.value("tierwatch_device_up", device=device) == 0, device
            # site B is down: no route is left to it, and that is what the errors say
            assert (tw.value("tierwatch_poll_errors_total", device="site-b",
                             reason="unreachable") or 0) >= 2
            assert tw.value("probe_success", device="site-b", check="portal") == 0
            # site A lost its path through district 1 (link A1) but answers through D2
            assert tw.value("tierwatch_device_up", device="site-a") == 1
            assert statuses()["site-a"] in ("ok", "degraded")  # a reply lost at failover
            assert tw.value("probe_success", device="site-a") == 1
            assert tw.value("tierwatch_device_up", device="link-a2") == 1
            store = Store.open(store_url)
            assert {o.subject for o in store.open_outages("device")} == BEHIND_D1

            # --- the trunk is repaired
            net.restore_trunk_d1()
            wait_for(all_ok, 20, "every link and site ok again once the trunk is back")
            assert store.open_outages("device") == []
            closed = {o.subject for o in store.outages(kind="device") if o.end is not None}
            assert closed == BEHIND_D1

            # ---------------------------------------------------------------- tier seam
            # What the Tier engine adds on top of the probes' statuses: SITE-B has no path
            # while trunk 1 is cut (a load outage in the store), SITE-A keeps one of its two
            # (served, its redundancy lost).
            loads = store.outages(kind="load")
            assert {o.subject for o in loads} == {"SITE-B"}, loads
            assert all(o.subsystem == "network" and o.end is not None for o in loads)
            net.cut_trunk_d1()
            wait_for(lambda: tw.value("tierwatch_load_paths", subsystem="network",
                                      load="SITE-A") == 1, 15, "SITE-A down to one path")
            assert {o.subject for o in store.open_outages("load")} == {"SITE-B"}
            net.restore_trunk_d1()
            wait_for(lambda: tw.value("tierwatch_load_paths", subsystem="network",
                                      load="SITE-A") == 2, 20, "SITE-A back to two paths")
            wait_for(lambda: store.open_outages("load") == [], 20, "SITE-B served again")


def test_unprivileged_icmp_socket_in_a_namespace_that_allows_it(tmp_path: Path) -> None:
    """The unprivileged kind of ICMP socket (ping_group_range), which this machine's own
    namespace does not allow: a namespace of its own does, for this test."""
    with dedicated_network() as net:
        ns = net.ns["sa"]
        subprocess.run(["ip", "netns", "exec", ns, "sysctl", "-qw",
                        "net.ipv4.ping_group_range=0 2147483647"], check=True)
        script = textwrap.dedent("""
            import asyncio, json, sys
            from collector.probes.icmp import IcmpSocket
            async def main():
                sock = IcmpSocket.open("unprivileged")
                rtts = await asyncio.gather(*(sock.echo(a, 1.0) for a in sys.argv[1:]))
                print(json.dumps({"mode": sock.mode, "rtts": rtts, "sent": sock.sent,
                                  "received": sock.received}))
                sock.close()
            asyncio.run(main())
        """)
        root = ROOT
        result = subprocess.run(
            ["ip", "netns", "exec", ns, sys.executable, "-c", script, "127.0.0.1",
             net.site_a, net.addr(1)],
            capture_output=True, text=True, env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
            timeout=30)
        assert result.returncode == 0, result.stderr
        got = json.loads(result.stdout)
        assert got["mode"] == "unprivileged"
        assert (got["sent"], got["received"]) == (3, 3)  # loopback, own address, the DC
        assert all(0 <= r < 1.0 for r in got["rtts"])
    assert ip("netns", "list").stdout.count(f"tw-{net.run}-") == 0  # nothing left behind
