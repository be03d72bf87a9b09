"""Bad agents never crash tierwatch or stall its scheduler: each is a counted error.

The service runs its real scheduler against loopback agents: a healthy one, and agents
that are unreachable, answer a different community, lack the profile's OIDs, return
non-increasing OIDs, never end a walk, or send truncated or garbage packets.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from pathlib import Path

import pytest

from sim.agent import FaultFile, Responder, SimDevice
from tests.helpers.bad_agents import bad_agent, model_from
from tierwatch.config import parse
from tierwatch.core.model import Status
from tierwatch.core.store import Store
from tierwatch.service import Service

SYS = {
    "1.3.6.1.2.1.1.1.0": (4, b"test agent"),
    "1.3.6.1.2.1.1.2.0": (6, "1.3.6.1.4.1.8072.3.2.10"),
    "1.3.6.1.2.1.1.3.0": (67, 4200),
    "1.3.6.1.2.1.1.5.0": (4, b"agent"),
}
IF = {f"1.3.6.1.2.1.2.2.1.{col}.{i}": (2, 1) for col in (7, 8) for i in range(1, 6)}
IF.update({f"1.3.6.1.2.1.31.1.1.1.1.{i}": (4, f"eth{i}".encode()) for i in range(1, 6)})
HEALTHY = {**SYS, **IF}


def closed_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def good_agent(values, community="public"):  # type: ignore[no-untyped-def]
    device = SimDevice("ok", model_from(values), community)
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(
        lambda: Responder(device, FaultFile.__new__(FaultFile)), local_addr=("127.0.0.1", 0))
    try:
        yield transport.get_extra_info("sockname")[:2]
    finally:
        transport.close()


@pytest.fixture(autouse=True)
def _quiet_fault_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(FaultFile, "refresh", lambda self, force=False: None)


@pytest.mark.parametrize("engine", ["pysnmp", "native"])
async def test_bad_agents_are_counted_and_never_stall_the_scheduler(tmp_path: Path,
                                                                    engine: str) -> None:
    async with contextlib.AsyncExitStack() as stack:
        ok = await stack.enter_async_context(good_agent(HEALTHY))
        wrong_community = await stack.enter_async_context(good_agent(HEALTHY, "other"))
        no_such = await stack.enter_async_context(good_agent(SYS))  # no IF-MIB at all
        missing_rows = dict(HEALTHY)
        for key in [k for k in missing_rows if k.startswith("1.3.6.1.2.1.2.2.1.8.")][:3]:
            del missing_rows[key]  # a table with holes: ifOperStatus for rows 1-3 absent
        holes = await stack.enter_async_context(good_agent(missing_rows))
        non_inc = await stack.enter_async_context(bad_agent("non_increasing", HEALTHY))
        endless = await stack.enter_async_context(bad_agent("endless", HEALTHY))
        truncated = await stack.enter_async_context(bad_agent("truncated", HEALTHY))
        garbage = await stack.enter_async_context(bad_agent("garbage", HEALTHY))
        agents = {
            "healthy": ok, "wrong-community": wrong_community, "no-such-object": no_such,
            "holes": holes, "non-increasing": non_inc, "endless": endless,
            "truncated": truncated, "garbage": garbage,
            "unreachable": ("127.0.0.1", closed_udp_port()),
        }
        # the healthy device gets a generous timeout: a loaded CI machine must not turn it
        # into a failure; the broken ones keep 0.3 s so the test stays short
        lines = "\n".join(
            f"  - {{id: {name}, address: '{h}:{p}', credentials: v2, profile: if-mib"
            + (", timeout: 3s}" if name == "healthy" else "}")
            for name, (h, p) in agents.items())
        config = parse(
            "site: {name: T}\n"
            f"snmp: {{engine: {engine}, "
            "defaults: {interval: 1s, timeout: 0.3s, retries: 0, max_repetitions: 5,"
            " max_rows: 200},"
            " unreachable_after: 2, jitter: 0}\n"
            f"store: {{url: 'sqlite:///{tmp_path}/store.sqlite'}}\n"
            "credentials:\n  v2: {version: 2c, community: public}\n"
            f"devices:\n{lines}\n"
        ).config
        service = Service(config)  # max_rows 200: an endless walk is cut early
        await service.start()

        def done() -> bool:
            devs = service.state.devices
            return devs["healthy"].polls_total >= 4 and all(
                d.reachable is False for name, d in devs.items()
                if name not in ("healthy", "no-such-object", "holes"))

        try:  # until every broken device has been declared unreachable (30 s at most)
            for _ in range(300):
                if done():
                    break
                await asyncio.sleep(0.1)
        finally:
            await service.stop()

    devices = service.state.devices
    if engine == "native":  # random bytes match no request: dropped, and counted
        from collector.snmp.native_engine import engine_stats

        assert engine_stats()["undecodable"] >= 2
    healthy = devices["healthy"]
    assert healthy.polls_total >= 4, "the scheduler kept polling the healthy device"
    assert healthy.status == Status.OK and healthy.reachable
    assert not healthy.poll_errors_total

    expected_reason = {
        "wrong-community": "timeout",
        "unreachable": "timeout",
        "non-increasing": "walk",
        "endless": "walk",
        # pysnmp drops an undecodable answer and times out; the native engine says why
        # when it can still tell which request an answer belongs to
        "truncated": "timeout" if engine == "pysnmp" else "decode",
        "garbage": "timeout",
    }
    for name, reason in expected_reason.items():
        dev = devices[name]
        assert dev.poll_errors_total.get(reason, 0) >= 2, (name, dev.poll_errors_total)
        assert dev.status == Status.UNKNOWN and dev.reachable is False, name
        assert dev.samples == []

    # each unreachable device has an open device outage in the store
    open_outages = {o.subject for o in Store.open(f"sqlite:///{tmp_path}/store.sqlite")
                    .open_outages("device")}
    assert open_outages == set(expected_reason)

    no_such_dev = devices["no-such-object"]
    assert no_such_dev.reachable  # the agent answers: the device is up,
    assert no_such_dev.samples and not no_such_dev.components  # but has no interfaces

    holes_dev = devices["holes"]
    assert holes_dev.reachable and holes_dev.status == Status.OK
    oper = [s for s in holes_dev.samples if s.name == "if_oper_status"]
    assert sorted(s.labels["if_index"] for s in oper) == ["4", "5"]
