"""The trap receiver inside a running service, against in-process simulated devices: a trap
changes a status at once and is confirmed by a poll; everything else is counted, never fatal.
(Net-SNMP's snmptrap, v2c and v3 authPriv, is in tests/collector/traps/test_traps_snmptrap.py.)"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from collector.traps.component import TrapMessage, TrapsComponent, trap_catalog
from sim import agent as sim_agent
from sim.traps import encode_v2c_trap
from tierwatch.config import parse
from tierwatch.core.model import Status
from tierwatch.core.store import Store
from tierwatch.service import Service

UPS_ON_BATTERY = "1.3.6.1.4.1.318.0.5"
LINK_DOWN = "1.3.6.1.6.3.1.1.5.3"


class Site:
    def __init__(self, simulator: sim_agent.Simulator, service: Service) -> None:
        self.simulator = simulator
        self.service = service

    @property
    def traps(self) -> TrapsComponent:
        assert self.service.traps is not None
        return self.service.traps

    @property
    def store(self) -> Store:
        assert self.service.store is not None
        return self.service.store

    @property
    def address(self) -> tuple[str, int]:
        address = self.traps.address
        assert address is not None
        return address

    def send_from(self, device: str, datagram: bytes) -> None:
        """As the device would: from its own address and port."""
        self.simulator._send_from(device, datagram, self.address)

    def send(self, datagram: bytes, source: str = "127.0.0.1") -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind((source, 0))
            sock.sendto(datagram, self.address)

    def count(self, result: str) -> int:
        return self.traps.receiver.counts[result]

    async def until(self, check, timeout: float = 5.0, what: str = "") -> None:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"timed out waiting for {what}")


@contextlib.asynccontextmanager
async def site(tmp_path: Path, **traps: object) -> AsyncIterator[Site]:
    inventory = [sim_agent.DeviceSpec("ups-a", "apc-smart-ups"),
                 sim_agent.DeviceSpec("core-1", "cisco-c9300")]
    simulator = sim_agent.Simulator(tmp_path / "sim", inventory)
    await simulator.start()
    settings = {"enabled": True, "listen": "127.0.0.1:0", "communities": ["v2"], **traps}
    traps_yaml = ", ".join(f"{k}: {v!r}" if not isinstance(v, list) else f"{k}: {v}"
                           for k, v in settings.items())
    ups, core = simulator.addresses["ups-a"], simulator.addresses["core-1"]
    config = parse(
        "site: {name: T}\n"
        "snmp: {defaults: {interval: 1h, timeout: 1s, retries: 0}, jitter: 0}\n"
        f"store: {{url: 'sqlite:///{tmp_path}/s.sqlite'}}\n"
        "credentials: {v2: {version: 2c, community: public}}\n"
        "devices:\n"
        f"  - {{id: ups-a, address: '{ups[0]}:{ups[1]}', credentials: v2, profile: apc-ups}}\n"
        f"  - {{id: core-1, address: '{core[0]}:{core[1]}', credentials: v2, "
        "profile: if-mib}\n"
        f"alerts: {{traps: {{{traps_yaml}}}}}\n").config
    service = Service(config)
    await service.start()
    s = Site(simulator, service)
    try:
        await s.until(service.ready, 10, "the first poll of every device")
        yield s
    finally:
        await service.stop()
        await simulator.stop()


def trap(oid: str, community: str = "public", *varbinds: tuple[str, object]) -> bytes:
    return encode_v2c_trap(community, oid, 100, list(varbinds))


async def test_a_trap_sets_the_status_at_once_and_is_recorded(tmp_path: Path) -> None:
    async with site(tmp_path, poll_on_trap=False) as s:
        polls = s.service.state.devices["ups-a"].polls_total
        s.send_from("ups-a", trap(UPS_ON_BATTERY))
        ups = s.service.state.devices["ups-a"]
        await s.until(lambda: ups.status == Status.DEGRADED, 3, "ups-a degraded")
        assert "on_battery" in ups.components["ups"].conditions
        assert "trap upsOnBattery" in ups.components["ups"].reason
        assert ups.polls_total == polls  # no poll needed for the status to change
        assert s.count("accepted") == 1
        s.traps._flush()
        (event,) = s.store.trap_events()
        assert (event.device, event.name, event.trap_oid) == ("ups-a", "upsOnBattery",
                                                              UPS_ON_BATTERY)
        rows = s.store.transitions(kind="device", subject="ups-a")
        assert rows[-1].new == "degraded" and "trap upsOnBattery" in rows[-1].reason


async def test_a_trap_is_confirmed_by_an_immediate_poll(tmp_path: Path) -> None:
    async with site(tmp_path) as s:
        ups = s.service.state.devices["ups-a"]
        polls = ups.polls_total
        # a stale trap: the UPS says on battery, but it is back on mains
        s.send_from("ups-a", trap(UPS_ON_BATTERY))
        await s.until(lambda: ups.polls_total > polls, 5, "the confirming poll")
        await s.until(lambda: ups.status == Status.OK, 3, "the poll's word to stand")
        changes = [(r.new, r.reason) for r in
                   s.store.transitions(kind="device", subject="ups-a")]
        assert ("degraded", "on battery (trap upsOnBattery)") in changes


async def test_link_down_names_the_port_from_the_polled_table(tmp_path: Path) -> None:
    async with site(tmp_path, poll_on_trap=False) as s:
        s.send_from("core-1", trap(LINK_DOWN, "public",
                                   ("1.3.6.1.2.1.2.2.1.1.25", 25),
                                   ("1.3.6.1.2.1.2.2.1.7.25", 1),
                                   ("1.3.6.1.2.1.2.2.1.8.25", 2)))
        core = s.service.state.devices["core-1"]
        await s.until(lambda: core.components["port Te1/1/1"].status == Status.FAILED, 3,
                      "port Te1/1/1 failed")
        assert core.components["port Te1/1/1"].conditions == {"link_down"}
        assert core.status == Status.OK  # a port does not make the switch down
        # admin down: expected, so only an event
        s.send_from("core-1", trap(LINK_DOWN, "public", ("1.3.6.1.2.1.2.2.1.1.1", 1),
                                   ("1.3.6.1.2.1.2.2.1.7.1", 2), ("1.3.6.1.2.1.2.2.1.8.1", 2)))
        await s.until(lambda: s.count("accepted") == 2, 3, "the second trap")
        assert core.components["port Gi1/0/1"].status == Status.OK


async def test_bad_traps_are_counted_by_kind_and_the_receiver_keeps_going(
        tmp_path: Path) -> None:
    async with site(tmp_path, poll_on_trap=False) as s:
        s.send_from("ups-a", trap(UPS_ON_BATTERY, community="wrong"))
        s.send(b"\x30\x03\x02\x01")  # truncated BER
        s.send(b"not snmp at all")
        s.send(trap(UPS_ON_BATTERY), source="127.0.0.2")  # no device there
        s.send_from("ups-a", trap("1.3.6.1.4.1.99999.0.1"))  # nobody's trap
        from pysnmp.hlapi.v3arch.asyncio import (
            CommunityData,
            ObjectIdentity,
            ObjectType,
            SnmpEngine,
            UdpTransportTarget,
            get_cmd,
        )
        engine = SnmpEngine()  # a GET sent to the trap port: not a notification
        target = await UdpTransportTarget.create(s.address, timeout=0.3, retries=0)
        await get_cmd(engine, CommunityData("public"), target,
                      *([__import__("pysnmp.hlapi.v3arch.asyncio",
                                    fromlist=["ContextData"]).ContextData()]),
                      ObjectType(ObjectIdentity("1.3.6.1.2.1.1.1.0")))
        engine.close_dispatcher()
        await s.until(lambda: s.count("bad_community") == 1 and s.count("malformed") == 2
                      and s.count("unknown_source") == 1 and s.count("unknown_trap") == 1
                      and s.count("rejected") == 1, 5,
                      f"every bad trap counted: {s.traps.receiver.counts}")
        s.send_from("ups-a", trap(UPS_ON_BATTERY))  # and a good one still works
        await s.until(lambda: s.count("accepted") == 1, 3, "the good trap")
        text = s.service.exporter.render().decode()
        assert 'tierwatch_traps_total{result="malformed"} 2.0' in text
        assert 'tierwatch_traps_total{result="bad_community"} 1.0' in text


async def test_a_flood_is_rate_limited_per_source_and_counted(tmp_path: Path) -> None:
    async with site(tmp_path, poll_on_trap=False, rate=10.0, burst=20) as s:
        datagram = trap("1.3.6.1.6.3.1.1.5.1")  # coldStart, an event only
        for _ in range(500):
            s.send_from("ups-a", datagram)
        await s.until(lambda: s.traps.receiver.datagrams == 500, 10, "every datagram seen")
        accepted, limited = s.count("accepted"), s.count("rate_limited")
        assert accepted + limited == 500
        assert 20 <= accepted <= 40  # the burst, and what the rate refilled meanwhile
        s.send(datagram, source="127.0.0.2")  # another address has its own bucket
        await s.until(lambda: s.count("unknown_source") == 1, 3, "the other source's trap")
        assert s.count("rate_limited") == limited


async def test_a_full_queue_drops_and_counts(tmp_path: Path) -> None:
    async with site(tmp_path, poll_on_trap=False, queue=3) as s:
        message = TrapMessage(time.time(), ("127.0.0.1", 1), "c", 2, UPS_ON_BATTERY, ())
        results = [s.traps._enqueue(message) for _ in range(10)]
        assert results.count(True) == 3 and s.count("queue_full") == 7


def test_every_profile_trap_is_valid_and_the_issue_s_traps_are_known() -> None:
    catalog = trap_catalog()
    names = {e.definition.name for entries in catalog.values() for e in entries}
    assert {"linkDown", "linkUp", "coldStart", "warmStart", "upsTrapOnBattery",
            "upsTrapTestCompleted", "upsTrapAlarmEntryAdded", "upsTrapAlarmEntryRemoved",
            "upsOnBattery", "powerRestored", "lowBattery"} <= names


def test_traps_config_is_checked(tmp_path: Path) -> None:
    from tierwatch.config import ConfigError

    base = ("site: {name: T}\ncredentials: {v2: {version: 2c, community: p}, "
            "v3: {version: 3, user: u, auth_protocol: SHA, auth_key: aaaaaaaa}}\n"
            "devices: [{id: d, address: '127.0.0.1', credentials: v2}]\n")
    for traps, message in [("{enabled: true}", "need communities or users"),
                           ("{enabled: true, communities: [nope]}", "unknown credentials"),
                           ("{enabled: true, communities: [v3]}", "list it under users"),
                           ("{enabled: true, users: [{credentials: v2}]}", "under communities"),
                           ("{enabled: true, communities: [v2], sources: {10.0.0.9: x}}",
                            "unknown device"),
                           ("{enabled: true, users: [{credentials: v3, engine_ids: [zz]}]}",
                            "not an engine id"),
                           ("{enabled: true, communities: [v2], forwarders: [10.0.0.300]}",
                            "not an address or a network"),
                           ("{enabled: true, communities: [v2], global_rate: 0}",
                            "greater than 0")]:
        with pytest.raises(ConfigError) as caught:
            parse(base + f"alerts: {{traps: {traps}}}\n")
        assert message in str(caught.value) and "alerts.traps" in str(caught.value)


def test_a_simulated_device_sends_each_trap_to_every_sink() -> None:
    # a device configured with two trap receivers (the two instances of a pair): injecting
    # on-battery into ups-a sends upsOnBattery once to each, clearing it powerRestored once
    from sim.traps import TrapEmitter

    models = sim_agent.load_models()
    ups = sim_agent.SimDevice("ups-a", models["apc-smart-ups"], "public")
    sent: list[tuple[str, tuple[str, int]]] = []
    sinks = [("127.0.0.1", 1162), ("127.0.0.1", 2162)]
    emitter = TrapEmitter(sinks, {"ups-a": ups}, lambda dev, _data, sink: sent.append((dev, sink)),
                          refresh=lambda: None)
    ups.faults = [("on-battery", {})]
    emitter.check()
    assert sent == [("ups-a", sinks[0]), ("ups-a", sinks[1])] and emitter.sent == 1
    ups.faults = []
    emitter.check()
    assert len(sent) == 4 and emitter.sent == 2
