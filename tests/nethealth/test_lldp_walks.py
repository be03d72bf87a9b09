"""The lldp profile and the comparison with declared ports, on walks of real devices
(tests/fixtures/walks, from snmpsim-data: a Cisco Nexus 5548 and a Juniper MX960). The
expected names are read off the walks' octets by hand (e.g. 4x|48 33 43 2d 31 = "H3C-1")."""

from __future__ import annotations

from pathlib import Path

from collector.profiles import load_profiles
from collector.snmp.poller import PollPlan, poll
from nethealth.config import LldpConfig
from nethealth.lldp import Identities, LldpWatch, compare, read_lldp
from tests.helpers import FIXTURES_DIR
from tests.helpers.recorded import client_from_snmprec
from tier.topology import PortBinding
from tierwatch.core.model import PollResult

WALKS = FIXTURES_DIR / "walks"


async def _poll(device: str, walk: str, ts: float = 0.0) -> PollResult:
    plan = PollPlan(load_profiles(["lldp"]))
    return await poll(device, client_from_snmprec(WALKS / walk), plan, {"device": device},
                      now=ts)


def _port(device: str, port: str, *, neighbour: str | None = None,
          neighbour_device: str | None = None, node: str = "X") -> PortBinding:
    return PortBinding(subsystem="network", feeder=f"{device}-node", node=node, device=device,
                       port=port, neighbour=neighbour, neighbour_device=neighbour_device)


async def test_nexus_neighbours_as_recorded() -> None:
    lldp = read_lldp((await _poll("n5k", "cisco-n5000-lldp.snmprec")).samples, 100)
    assert lldp is not None
    # lldpLocSysName 4e5750552d43412d353534382d3031; lldpLocChassisId is sent as text here
    assert (lldp.sys_name, lldp.chassis_id) == ("NWPU-CA-5548-01", "8c:60:4f:19:16:7c")
    assert len(lldp.neighbours) == 9 and lldp.refused == {}
    first = next(n for n in lldp.neighbours if n.local_port == "Ethernet1/1")
    # chassis 586ab14f3d91 (a MAC: hex), port id "Ten-GigabitEther" (cut short by the
    # device itself), sysName 483343 2d31
    assert (first.sys_name, first.chassis_id, first.port_id) == (
        "H3C-1", "58:6a:b1:4f:3d:91", "Ten-GigabitEther")


async def test_nexus_ports_against_the_declaration() -> None:
    lldp = read_lldp((await _poll("n5k", "cisco-n5000-lldp.snmprec")).samples, 100)
    assert lldp is not None
    bindings = [
        _port("n5k", "Ethernet1/1", neighbour="H3C-1", node="A"),        # there
        _port("n5k", "ethernet1/5", neighbour="h3c-2", node="B"),        # on Ethernet1/2
        _port("n5k", "Ethernet1/3", neighbour="NWPU-UCS-FI-C", node="C"),  # nowhere
    ]
    identities = Identities({"n5k-02": ["NWPU-CA-5548-02"]})
    checks, unexpected = compare(bindings, {"n5k": lldp}, identities)
    assert [(c.binding.node, c.verdict, c.seen_on) for c in checks] == [
        ("A", "ok", ()), ("B", "moved", ("Ethernet1/2",)), ("C", "missing", ())]
    # the other 5548 is a known device, seen on three ports nothing declares
    assert sorted((u.local_port, u.neighbour_device) for u in unexpected) == [
        ("Ethernet1/21", "n5k-02"), ("Ethernet1/22", "n5k-02"), ("mgmt0", "n5k-02")]


async def test_juniper_by_device_name_and_by_chassis_id() -> None:
    watch = LldpWatch(
        [_port("mx", "ge-0/0/3", neighbour_device="agg", node="AGG"),
         # a neighbour that sends no sysName: its chassis id 20b399ca7f20 is not UTF-8
         _port("mx", "ge-0/0/4", neighbour="20:B3:99:CA:7F:20", node="SLTYG"),
         _port("mx", "ge-0/0/5", neighbour_device="agg", node="AGG2")],
        LldpConfig(), {"mx": "mx", "agg": "SNNU-CA-Agg-S5500"})
    result = await _poll("mx", "juniper-mx960-lldp.snmprec", ts=100.0)
    assert watch.observe(result) is True
    got = {c.binding.node: (c.verdict, c.since) for c in watch.checks()}
    # agg is seen on ge-0/0/3, which its first link claims: the second is missing
    assert got == {"AGG": ("ok", 100.0), "SLTYG": ("ok", 100.0), "AGG2": ("missing", 100.0)}
    assert watch.unverified() == {("mx-node", "AGG2")}
    # Junos names its ports by id (subtype 5): ge-0/0/1, not the description
    assert {n.local_port for n in watch.seen["mx"].neighbours} >= {"ge-0/0/1", "ge-0/0/4"}
    # the same answer again changes nothing
    assert watch.observe(await _poll("mx", "juniper-mx960-lldp.snmprec", ts=130.0)) is False
    assert {c.since for c in watch.checks()} == {100.0}


def test_a_device_without_lldp_leaves_its_ports_unknown() -> None:
    watch = LldpWatch([_port("sw", "Gi0/1", neighbour="x")], LldpConfig(), {"sw": "sw"})
    assert watch.observe(PollResult("sw", 1.0, samples=[])) is False
    assert [c.verdict for c in watch.checks()] == ["unknown"]
    assert watch.unverified() == frozenset()


def test_fixture_provenance_is_stated() -> None:
    for walk in WALKS.glob("*.snmprec"):
        head = Path(walk).read_text(encoding="utf-8").splitlines()[:3]
        assert any("snmpsim-data" in line or "recorded" in line for line in head), walk
