"""Host agents and probes inside the running service, on loopback only.

Bad agents (garbage, an HTML error page, a huge body, silence, refusal) are counted by
reason and leave their host unknown, while a healthy agent keeps being scraped. Probes of
127.0.0.x addresses, an open and a closed TCP port and a port whose accept queue is full
take the same road as SNMP polls: up/down, unreachable-after-N, an outage in the store,
the same series on /metrics. A site's edge router, polled over SNMP, speaks for its uplinks.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from collector.probes.icmp import IcmpSocket, IcmpUnavailable
from sim.agent import IF_OPER_STATUS, FaultFile, Responder, SimDevice
from tests.helpers import FIXTURES_DIR
from tests.helpers.agents import sample_value as metric
from tests.helpers.bad_agents import model_from
from tests.helpers.http_agents import serve
from tests.helpers.procs import free_port
from tierwatch.config import parse
from tierwatch.core.model import Status
from tierwatch.core.store import Store
from tierwatch.service import Service

SERVER = (FIXTURES_DIR / "agents"
          / "node-exporter-1.5-server.prom").read_bytes()


async def run_service(config_text: str, done: Callable[[Service], bool],
                      limit: float = 30.0) -> tuple[Service, str]:
    """Run the service until `done(service)` holds (or `limit` seconds pass: the test's
    assertions then say what did not happen)."""
    service = Service(parse(config_text).config)
    await service.start()
    try:
        deadline = asyncio.get_running_loop().time() + limit
        while not done(service) and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.1)
        text = service.exporter.render().decode()
    finally:
        await service.stop()
    return service, text


async def test_bad_agents_are_counted_and_never_stall_the_others(tmp_path: Path) -> None:
    async with contextlib.AsyncExitStack() as stack:
        agents = {
            name: await stack.enter_async_context(serve(mode, SERVER))
            for name, mode in [("healthy", "ok"), ("html-page", "html"), ("http-500", "http_500"),
                               ("garbage", "garbage"), ("huge", "huge"), ("silent", "silent"),
                               ("not-http", "not_http")]
        }
        urls = {name: a.url for name, a in agents.items()}
        urls["refused"] = f"http://127.0.0.1:{free_port()}/metrics"
        # the healthy host gets a timeout a loaded CI machine cannot trip
        hosts = "\n".join(f"    - {{id: {name}, url: '{url}', profile: node-exporter"
                          + (", timeout: 5s}" if name == "healthy" else "}")
                          for name, url in urls.items())
        service, text = await run_service(
            "site: {name: T}\n"
            f"store: {{url: 'sqlite:///{tmp_path}/store.sqlite'}}\n"
            "agents:\n  interval: 1s\n  timeout: 0.9s\n  max_body: 200KB\n"
            "  unreachable_after: 2\n  jitter: 0\n"
            f"  hosts:\n{hosts}\n", lambda svc: svc.state.devices["healthy"].polls_total >= 4
            and all(sum(d.poll_errors_total.values()) >= 2 and d.reachable is False
                    for name, d in svc.state.devices.items() if name != "healthy"))

    devices = service.state.devices
    healthy = devices["healthy"]
    assert healthy.polls_total >= 4, "the healthy agent kept its schedule"
    assert (healthy.status, healthy.reachable, healthy.poll_errors_total) == (Status.OK, True, {})
    expected = {"html-page": "not_metrics", "http-500": "http_status", "garbage": "parse",
                "huge": "too_large", "silent": "timeout", "not-http": "protocol",
                "refused": "connect"}
    for name, reason in expected.items():
        dev = devices[name]
        assert dev.poll_errors_total.get(reason, 0) >= 2, (name, dev.poll_errors_total)
        assert (dev.status, dev.reachable, dev.samples) == (Status.UNKNOWN, False, []), name
        assert metric(text, "tierwatch_poll_errors_total", device=name, reason=reason), name
        assert metric(text, "tierwatch_device_up", device=name) == 0
        assert metric(text, "tierwatch_device_status", device=name, status="unknown") == 1
    assert metric(text, "tierwatch_device_up", device="healthy") == 1
    assert metric(text, "host_cpus", device="healthy") == 4
    assert metric(text, "tierwatch_component_status", device="healthy",
                  component="power supply PSU1", status="ok") == 1
    assert metric(text, "tierwatch_agent_body_bytes", device="healthy") == len(SERVER)
    assert metric(text, "tierwatch_agent_series_kept", device="healthy") > 20
    outages = {o.subject for o in Store.open(f"sqlite:///{tmp_path}/store.sqlite")
               .open_outages("device")}
    assert outages == set(expected)


async def test_a_reboot_is_counted_from_the_boot_time(tmp_path: Path) -> None:
    async with serve("ok", SERVER) as agent:
        service = Service(parse(
            "site: {name: T}\nstore: {url: 'sqlite://'}\n"
            f"agents:\n  hosts: [{{id: db, url: '{agent.url}', profile: node-exporter}}]\n"
        ).config)
        try:
            await service.poll_once("db")
            agent.body = SERVER.replace(b"node_boot_time_seconds 1.7e+09",
                                        b"node_boot_time_seconds 1.7000866e+09")
            await service.poll_once("db")
        finally:
            await service.stop()
    dev = service.state.devices["db"]
    assert (dev.reboots_total, dev.last_reboot_ts) == (1, 1.7000866e9)


# ---------------------------------------------------------------------- probes


@pytest.fixture
def listening() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield sock.getsockname()[1]


@pytest.fixture
def blackhole() -> Iterator[int]:
    """A loopback port whose accept queue is full: new SYNs are dropped, connects time out."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    held = []
    for _ in range(3):
        client = socket.socket()
        client.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            client.connect(("127.0.0.1", port))
        held.append(client)
    try:
        yield port
    finally:
        for client in held:
            client.close()
        server.close()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def icmp_works() -> bool:
    try:
        IcmpSocket.open("auto").close()
    except IcmpUnavailable:
        return False
    return True


async def test_loopback_links_and_sites(tmp_path: Path, listening: int, blackhole: int
                                        ) -> None:
    icmp = icmp_works()
    ping = "{icmp: 127.0.0.%d}" if icmp else "{tcp: '127.0.0.1:%d'}" % listening  # noqa: UP031
    closed = closed_port()
    config = (
        "site: {name: T}\n"
        f"store: {{url: 'sqlite:///{tmp_path}/store.sqlite'}}\n"
        "probes:\n  interval: 1s\n  timeout: 0.4s\n  window: 5\n  unreachable_after: 2\n"
        "  links:\n"
        f"    - {{id: link-a, checks: [{ping % 2}], labels: {{district: d1}}}}\n"
        f"    - {{id: link-b, checks: [{ping % 3}, {{tcp: '127.0.0.1:{listening}'}}]}}\n"
        "  sites:\n"
        f"    - {{id: site-up, checks: [{ping % 4}, {{tcp: '127.0.0.1:{listening}'}}]}}\n"
        f"    - {{id: site-closed, checks: [{{tcp: '127.0.0.1:{closed}', name: portal}}]}}\n"
        f"    - {{id: site-dark, checks: [{{tcp: '127.0.0.1:{blackhole}'}}]}}\n"
        f"    - {{id: site-mixed, checks: [{ping % 5}, "
        f"{{tcp: '127.0.0.1:{blackhole}', name: app, rollup: false}}]}}\n")
    service, text = await run_service(config, lambda svc: all(
        d.polls_total >= 3 and d.reachable is not None for d in svc.state.devices.values()))
    devices = service.state.devices

    for up in ("link-a", "link-b", "site-up"):
        dev = devices[up]
        assert (dev.status, dev.reachable) == (Status.OK, True), (up, dev.status_reason)
        assert dev.polls_total >= 3, up
        assert metric(text, "tierwatch_device_up", device=up) == 1
    if icmp:
        check = "icmp 127.0.0.2"
        assert metric(text, "probe_success", device="link-a", check=check, method="icmp",
                      target="127.0.0.2", district="d1") == 1
        assert metric(text, "probe_loss_ratio", device="link-a", check=check) == 0
        assert 0 < metric(text, "probe_rtt_seconds", device="link-a", check=check) < 0.4
        assert metric(text, "probe_jitter_seconds", device="link-a", check=check) >= 0

    # a closed port answers: the site is up, its service failed
    closed_dev = devices["site-closed"]
    assert (closed_dev.reachable, closed_dev.status) == (True, Status.FAILED)
    assert "port_closed" in closed_dev.components["portal"].conditions
    assert metric(text, "tierwatch_component_status", device="site-closed", component="portal",
                  status="failed") == 1

    # nothing answers: after 2 rounds the site is unreachable, an outage in the store
    dark = devices["site-dark"]
    assert (dark.reachable, dark.status) == (False, Status.UNKNOWN)
    assert dark.poll_errors_total.get("timeout", 0) >= 2
    assert metric(text, "tierwatch_poll_errors_total", device="site-dark", reason="timeout")
    assert metric(text, "tierwatch_device_up", device="site-dark") == 0
    # its probe series stay on /metrics while it is down: the loss is the news
    assert metric(text, "probe_loss_ratio", device="site-dark") == 1
    assert metric(text, "probe_success", device="site-dark") == 0

    # an informational check that fails shows, but the site stays ok
    mixed = devices["site-mixed"]
    assert (mixed.reachable, mixed.status) == (True, Status.OK), mixed.status_reason
    assert mixed.components["app"].status == Status.FAILED

    store = Store.open(f"sqlite:///{tmp_path}/store.sqlite")
    assert {o.subject for o in store.open_outages("device")} == {"site-dark"}
    assert metric(text, "tierwatch_probe_schedule_lag_seconds_count") >= 15
    if icmp:
        assert metric(text, "tierwatch_probe_icmp_replies_total") >= 9


async def test_a_probe_poll_once_without_starting_the_service(listening: int) -> None:
    service = Service(parse(
        "site: {name: T}\nstore: {url: 'sqlite://'}\n"
        f"probes:\n  sites: [{{id: s, checks: [{{tcp: '127.0.0.1:{listening}'}}]}}]\n").config)
    try:
        result = await service.poll_once("s")
    finally:
        await service.stop()
    assert result.ok and service.state.devices["s"].status == Status.OK
    with pytest.raises(KeyError):
        await service.poll_once("nope")


# ---------------------------------------------------------------------- edge router


SYS = {
    "1.3.6.1.2.1.1.1.0": (4, b"edge router"),
    "1.3.6.1.2.1.1.2.0": (6, "1.3.6.1.4.1.8072.3.2.10"),
    "1.3.6.1.2.1.1.3.0": (67, 4200),
    "1.3.6.1.2.1.1.5.0": (4, b"edge-w7"),
}
IF = {f"1.3.6.1.2.1.2.2.1.{col}.{i}": (2, 1) for col in (7, 8) for i in (1, 2)}
IF.update({f"1.3.6.1.2.1.31.1.1.1.1.{i}": (4, f"ge{i}".encode()) for i in (1, 2)})


@contextlib.asynccontextmanager
async def edge_router() -> AsyncIterator[tuple[SimDevice, int]]:
    device = SimDevice("edge", model_from({**SYS, **IF}), "public")
    faults = FaultFile(Path("/nonexistent-tierwatch-dir/faults.json"), {})
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(lambda: Responder(device, faults),
                                                       local_addr=("127.0.0.1", 0))
    try:
        yield device, transport.get_extra_info("sockname")[1]
    finally:
        transport.close()


async def test_a_site_hears_its_edge_router_about_its_uplinks(listening: int) -> None:
    async with edge_router() as (router, port):
        service = Service(parse(
            "site: {name: T}\nstore: {url: 'sqlite://'}\n"
            "credentials:\n  v2: {version: 2c, community: public}\n"
            f"devices:\n  - {{id: edge-w7, address: '127.0.0.1:{port}', credentials: v2,"
            " profile: if-mib, timeout: 0.5s}\n"
            "probes:\n  sites:\n"
            f"    - {{id: site-w7, checks: [{{tcp: '127.0.0.1:{listening}'}}], router: edge-w7,"
            " uplinks: [port ge1, port ge2]}\n").config)
        states = []
        try:
            for down in ([], [2], [1, 2]):
                router.overrides.clear()
                for index in down:
                    router.overrides[(*IF_OPER_STATUS, index)] = 2  # ifOperStatus down
                await service.poll_once("edge-w7")
                await service.poll_once("site-w7")
                site = service.state.devices["site-w7"]
                states.append((site.status, {name: c.status for name, c in
                                             site.components.items() if name != "tcp "
                                             f"127.0.0.1:{listening}"}))
        finally:
            await service.stop()
    assert states == [
        (Status.OK, {"uplink port ge1": Status.OK, "uplink port ge2": Status.OK}),
        (Status.DEGRADED, {"uplink port ge1": Status.OK, "uplink port ge2": Status.DEGRADED}),
        (Status.FAILED, {"uplink port ge1": Status.FAILED, "uplink port ge2": Status.FAILED}),
    ]
