"""The services component on a real runtime and store, against real servers: a fault is seen
within two check intervals, the service's outage in the store matches the injected one
within one interval, the agencies that use it lose it, /metrics says so; a service whose
rack loses a cord is at risk while its checks pass (the live Tier engine's snapshot)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from livetier.config import TierLiveConfig
from livetier.engine import LiveTier
from services.component import ServicesComponent
from services.config import ServicesConfig
from sim.egov import CityCA, SipServer, WebServer
from tier.services import Health, ServicesTopology
from tier.topology import TopologyConfig
from tierwatch.core.model import ComponentStatus, PollResult, Status
from tierwatch.core.runtime import Runtime
from tierwatch.core.state import State
from tierwatch.core.store import Store

pytestmark = pytest.mark.integration

INTERVAL = 1.0


async def until(check: Callable[[], bool], timeout: float, what: str) -> float:
    """Wait for `check`; returns when it held (monotonic)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s: {what}")
        await asyncio.sleep(0.02)
    return time.monotonic()


def topology() -> ServicesTopology:
    return ServicesTopology.model_validate(
        {
            "agencies": [
                {"id": "ubnd-q1", "name": "UBND Quận 1"},
                {"id": "so-yte", "name": "Sở Y tế"},
            ],
            "nodes": [
                {
                    "id": "portal",
                    "name": "Cổng dịch vụ công",
                    "target": "99.9%",
                    "agencies": ["ubnd-q1", "so-yte"],
                },
                {"id": "video", "agencies": ["ubnd-q1"]},
            ],
        }
    )


async def test_a_fault_is_seen_and_its_outage_recorded(tmp_path: Path) -> None:
    ca = CityCA(tmp_path / "ca").create()
    web = WebServer("Dịch vụ công", ca=ca, names=["portal.thanhpho.test"])
    sip = SipServer()
    await web.start()
    await sip.start()
    section = ServicesConfig.model_validate(
        {
            "interval": INTERVAL,
            "timeout": 0.5,
            "checks": [
                {
                    "service": "portal",
                    "http": f"https://portal.thanhpho.test:{web.port}/",
                    "connect_to": "127.0.0.1",
                    "ca_file": str(ca.ca_file),
                },
                {"service": "video", "sip": f"127.0.0.1:{sip.port}"},
            ],
        }
    )
    store = Store.open(f"sqlite:///{tmp_path / 'store.db'}")
    store.start_instance("main", time.time() - 5, 3600)  # something was watching before
    rt = Runtime.for_tests(store, State())
    services = ServicesComponent(section, topology())
    await services.start(rt)
    try:
        await until(
            lambda: (
                services.view is not None and services.view.services["portal"].health == Health.UP
            ),
            3 * INTERVAL,
            "portal up",
        )
        injected = time.time()
        t0 = time.monotonic()
        await web.set_mode("failing")  # HTTP 500
        seen = await until(
            lambda: services.view.services["portal"].health == Health.DOWN,
            2 * INTERVAL + 1.0,
            "portal down",
        )
        assert seen - t0 <= 2 * INTERVAL + 0.5  # within two intervals (plus a timeout)
        assert (
            rt.metrics.registry.get_sample_value("tierwatch_service_up", {"service": "portal"})
            == 0.0
        )
        assert (
            rt.metrics.registry.get_sample_value(
                "tierwatch_agency_service_reachable", {"agency": "so-yte", "service": "portal"}
            )
            == 0.0
        )
        assert services.view.services["video"].health == Health.UP
        await asyncio.sleep(1.5 * INTERVAL)
        cleared = time.time()
        await web.set_mode("ok")
        await until(
            lambda: services.view.services["portal"].health == Health.UP,
            2 * INTERVAL + 1.0,
            "portal up again",
        )
    finally:
        await services.stop()
        await web.stop()
        await sip.stop()
    [outage] = store.outages(kind="service", subject="portal")
    assert outage.end is not None
    assert abs(outage.start - injected) <= INTERVAL + 0.1
    assert abs(outage.end - cleared) <= INTERVAL + 0.1
    assert "status 500" in outage.cause and outage.affected == ["so-yte", "ubnd-q1"]
    lost = {o.subject: o for o in store.outages(kind="agency")}
    assert set(lost) == {"ubnd-q1/portal", "so-yte/portal"}
    assert lost["ubnd-q1/portal"].start == outage.start
    assert store.outages(kind="service", subject="video") == []
    rows = [(r.old, r.new) for r in store.transitions(kind="service", subject="portal")]
    assert rows == [(None, "up"), ("up", "down"), ("down", "up")]
    store.close()


RACK_TOPOLOGY = {
    "power": {
        "nodes": [
            {"id": "G1", "kind": "generator", "capacity": 100},
            {"id": "G2", "kind": "generator", "capacity": 100},
            {"id": "PDU-A", "kind": "pdu", "fed_from": ["G1"], "device": "pdu-a"},
            {"id": "PDU-B", "kind": "pdu", "fed_from": ["G2"], "device": "pdu-b"},
            {"id": "R-WEB", "kind": "rack", "demand": 5, "fed_from": ["PDU-A", "PDU-B"]},
        ],
    },
    "services": {"nodes": [{"id": "portal", "depends_on": ["R-WEB"]}]},
}


def pdu(state: State, device: str, status: Status) -> None:
    state.update(
        PollResult(
            device,
            time.time(),
            components=[
                ComponentStatus("device", status, "" if status == Status.OK else "outlet off")
            ],
        )
    )


async def test_a_rack_on_one_cord_puts_the_service_at_risk(tmp_path: Path) -> None:
    web = WebServer("ok")
    await web.start()
    topo = TopologyConfig.model_validate(RACK_TOPOLOGY)
    section = ServicesConfig.model_validate(
        {
            "interval": INTERVAL,
            "timeout": 0.5,
            "checks": [{"service": "portal", "http": f"http://127.0.0.1:{web.port}/"}],
        }
    )
    store = Store.open(f"sqlite:///{tmp_path / 'store.db'}")
    state = State(["pdu-a", "pdu-b"])
    rt = Runtime.for_tests(store, state)
    live = LiveTier(topo, TierLiveConfig(debounce=0.05))
    services = ServicesComponent(section, topo.services, with_infrastructure=True)
    live.subscribe(lambda snap: services.on_tier(snap.tier, snap.ts, snap.settled))  # the wiring
    await live.start(rt)
    await services.start(rt)
    try:
        pdu(state, "pdu-a", Status.OK)
        pdu(state, "pdu-b", Status.OK)
        await until(
            lambda: services.view.services["portal"].health == Health.UP, 3 * INTERVAL, "portal up"
        )
        pdu(state, "pdu-b", Status.FAILED)
        await until(
            lambda: services.view.services["portal"].health == Health.AT_RISK,
            2 * INTERVAL,
            "portal at risk",
        )
        assert services.view.services["portal"].cause == "R-WEB on 1 of 2 paths (power)"
        assert (
            rt.metrics.registry.get_sample_value("tierwatch_service_at_risk", {"service": "portal"})
            == 1.0
        )
        assert (
            rt.metrics.registry.get_sample_value("tierwatch_service_up", {"service": "portal"})
            == 1.0
        )
        pdu(state, "pdu-a", Status.FAILED)  # both cords gone, and the server with them
        await web.set_mode("down")
        await until(
            lambda: services.view.services["portal"].health == Health.DOWN,
            2 * INTERVAL + 1.0,
            "portal down",
        )
        assert services.view.services["portal"].cause_kind == "infrastructure"
    finally:
        await services.stop()
        await live.stop()
        await web.stop()
    [risk] = store.exposures(kind="service_at_risk", subject="portal")
    assert risk.end_ts is not None and "R-WEB on 1 of 2 paths" in risk.detail
    [outage] = store.outages(kind="service", subject="portal")
    assert outage.cause.startswith("R-WEB not served")
    store.close()


async def test_a_check_waiting_for_a_slot_is_not_counted_as_schedule_lag(tmp_path: Path
                                                                        ) -> None:
    """One slot, three checks of a server that accepts and never says a word: each holds the
    slot until its timeout, so the others wait for it. That wait is counted in
    tierwatch_service_check_slot_wait_seconds, beside the schedule lag (how late the loop
    woke each check), and is part of how late the check really started."""
    held: list[asyncio.StreamWriter] = []

    async def silent(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)  # accept, never answer

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    section = ServicesConfig.model_validate({
        "interval": 2, "timeout": 1.5, "concurrency": 1,
        "checks": [{"service": "video", "name": f"mcu-{i}", "tcp": f"127.0.0.1:{port}",
                    "banner": "^SIP"} for i in range(3)]})
    store = Store.open(f"sqlite:///{tmp_path / 'store.db'}")
    rt = Runtime.for_tests(store, State())
    services = ServicesComponent(section, topology())
    await services.start(rt)

    def sample(name: str) -> float:
        return rt.metrics.registry.get_sample_value(name) or 0.0

    try:
        # 3 x 1.5 s of work every 2 s through one slot: some check must wait for it
        await until(lambda: sample("tierwatch_service_check_slot_wait_seconds_count") >= 3
                    and sample("tierwatch_service_check_slot_wait_seconds_sum") > 0, 30,
                    "checks waiting for the one slot")
        assert services.results[("tcp", "timeout")] >= 1
        waits = sorted(services.slot_wait.samples)
        assert waits[-1] > 0
        # every run woke and was counted once in each histogram
        assert (sample("tierwatch_service_check_schedule_lag_seconds_count")
                >= sample("tierwatch_service_check_slot_wait_seconds_count"))
        # the start delay is the two together, run by run
        assert len(services.start_delay.samples) == len(services.slot_wait.samples)
        assert max(services.start_delay.samples) >= waits[-1]
    finally:
        await services.stop()
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()
