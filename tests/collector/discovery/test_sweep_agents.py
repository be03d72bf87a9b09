"""A sweep of a small loopback range holding real agents: a v2c snmpd, a v3-only snmpd, two
simulated devices (the simulator's own agents, sim/agent.py), an agent answering random
bytes, one answering nonsense values, and a silent address. Each address is reported for
what it is; nothing an agent sends stops the sweep."""

from __future__ import annotations

import contextlib
import random
import socket
from pathlib import Path

import pytest

from collector.discovery.sweep import NamedCredentials, Sweeper, SweepOptions
from collector.discovery.targets import expand
from collector.snmp import ber
from collector.snmp.client import Credentials
from sim import agent as sim_agent
from tests.helpers.bad_agents import bad_agent
from tests.helpers.snmpd import SnmpdUser, run_snmpd, snmpd_available

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not snmpd_available(), reason="snmpd not installed")]

USER = SnmpdUser("ops", "SHA", "authpass123", "AES", "privpass123")
CREDENTIALS = [
    NamedCredentials("public-v2c", Credentials(version="2c", community="public")),
    NamedCredentials("ops-v3", Credentials(version="3", user="ops", auth_protocol="SHA",
                                           auth_key="authpass123", priv_protocol="AES",
                                           priv_key="privpass123")),
]


def free_port_on(hosts: list[str]) -> int:
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind((hosts[0], 0))
            port = int(probe.getsockname()[1])
        ok = True
        for host in hosts[1:]:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                try:
                    sock.bind((host, port))
                except OSError:
                    ok = False
        if ok:
            return port
    raise RuntimeError("no common free port")


@pytest.fixture
def subnet() -> str:
    """A /29 of loopback of this run's own (127.X.Y.0), far from 127.0.0.0/16."""
    return f"127.{random.randrange(100, 250)}.{random.randrange(1, 250)}"


@contextlib.asynccontextmanager
async def simulated(run_dir: Path, host: str, port: int, model: str, name: str):
    """One of the simulator's agents (sim/agent.py) serving `model` on host:port."""
    models = sim_agent.load_models()
    spec = sim_agent.DeviceSpec(id=name, model=model, port=port,
                                set={"1.3.6.1.2.1.1.5.0": name})
    simulator = sim_agent.Simulator(run_dir, [spec], host=host,
                                    models={model: models[model]})
    await simulator.start()
    try:
        yield simulator
    finally:
        await simulator.stop()


async def test_a_sweep_tells_each_kind_of_address_apart(tmp_path, subnet):
    hosts = {i: f"{subnet}.{i}" for i in range(1, 9)}
    port = free_port_on(list(hosts.values()))
    nonsense = {"1.3.6.1.2.1.1.2.0": (ber.OCTET_STRING, b"not-an-oid"),
                "1.3.6.1.2.1.1.5.0": (ber.OCTET_STRING, b"\x1b[2J" + b"x" * 300),
                "1.3.6.1.2.1.1.1.0": (ber.OCTET_STRING, b"ok")}
    # the sweep's requests come from 127.0.0.1 whatever loopback address they go to
    with run_snmpd(tmp_path / "v2", host=hosts[1], port=port, communities=(),
                   extra_config=["rocommunity public 127.0.0.0/8",
                                 "sysName v2c-agent"]) as _v2, \
         run_snmpd(tmp_path / "v3", host=hosts[2], port=port, communities=(), users=[USER],
                   extra_config=["sysName v3-agent"]) as _v3:
        async with simulated(tmp_path / "sim1", hosts[3], port, "apc-smart-ups", "UPS-SIM"), \
                simulated(tmp_path / "sim2", hosts[4], port, "eaton-9px", "UPS-NET-SIM"), \
                bad_agent("garbage", {"1.3.6.1.2.1.1.2.0": (ber.OBJECT_IDENTIFIER, "1.3")},
                          host=hosts[5], port=port), \
                bad_agent("as-is", nonsense, host=hosts[6], port=port):
            # a host that takes the datagrams and never answers (a firewall that drops)
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as black_hole:
                black_hole.bind((hosts[8], port))
                sweeper = Sweeper(CREDENTIALS, SweepOptions(timeout=0.5, retries=0,
                                                            concurrency=4, rate=0))
                seen = []
                report = await sweeper.sweep(expand([f"{subnet}.1-8"], default_port=port),
                                             seen.append)
    by_host = {r.host: r for r in report.results}
    assert len(seen) == 8  # the progress callback saw every address
    v2 = by_host[hosts[1]]
    assert (v2.outcome, v2.credential, v2.sys_name) == ("found", "public-v2c", "v2c-agent")
    assert v2.sys_object_id == "1.3.6.1.4.1.8072.3.2.10"  # Net-SNMP on Linux
    assert v2.vendor == "Net-SNMP (enterprise 8072)"
    assert v2.profiles == ["host-resources", "if-mib"]
    v3 = by_host[hosts[2]]
    assert (v3.outcome, v3.credential, v3.sys_name) == ("found", "ops-v3", "v3-agent")
    ups = by_host[hosts[3]]
    assert (ups.outcome, ups.sys_name, ups.profiles) == ("found", "UPS-SIM", ["apc-ups"])
    assert ups.reasons["apc-ups"].startswith("sysObjectID 1.3.6.1.4.1.318.1.3.2")
    assert ups.vendor == "APC (Schneider Electric) (enterprise 318)"
    eaton = by_host[hosts[4]]
    assert (eaton.outcome, eaton.profiles) == ("found", ["eaton-ups"])
    garbage = by_host[hosts[5]]
    assert garbage.outcome == "bad_answer"
    assert "datagram(s) refused" in garbage.detail
    odd = by_host[hosts[6]]
    assert odd.outcome == "found" and odd.profiles == ["system"]
    assert any("not an OBJECT IDENTIFIER" in p for p in odd.problems)
    assert any("control characters" in p for p in odd.problems)
    assert any("cut to 255" in p for p in odd.problems)
    assert len(odd.sys_name) == 255 and "\x1b" not in odd.sys_name
    silent = by_host[hosts[7]]
    # nothing listens there: the host says so (ICMP port unreachable), no timeout waited
    assert (silent.outcome, silent.detail) == ("no_answer", "port unreachable")
    assert report.refused["bad_sys_object_id"] == 1
    # the garbage agent answers the v2c request with random bytes (its responder, the
    # simulator's, ignores SNMPv3): one refused datagram
    assert report.refused["undecodable_datagram"] == 1
    dropped = by_host[hosts[8]]
    assert (dropped.outcome, dropped.detail) == ("no_answer", "no answer")
    assert report.counts() == {"found": 5, "no_answer": 2, "bad_answer": 1, "refused": 0}


async def test_a_v3_agent_that_knows_none_of_our_users_is_told_from_silence(tmp_path, subnet):
    host = f"{subnet}.1"
    with run_snmpd(tmp_path, host=host, communities=(), users=[USER]) as agent:
        wrong = NamedCredentials("wrong-v3", Credentials(
            version="3", user="nobody", auth_protocol="SHA", auth_key="authpass123"))
        sweeper = Sweeper([wrong], SweepOptions(timeout=0.5, retries=0, rate=0))
        report = await sweeper.sweep([(host, agent.port)])
    [result] = report.results
    assert result.outcome == "refused"
    assert "SNMPv3 unauthenticated report" in result.detail
