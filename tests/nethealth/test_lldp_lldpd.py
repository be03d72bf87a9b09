"""LLDP for real: lldpd in three network namespaces joined by veth pairs, the core's lldpd
an AgentX subagent of a real snmpd that tierwatch polls (tests/helpers/lldp.py).

The declared network: the district DIST is fed from CORE-1 over core port c1 and from
CORE-2 over core port c2 (both cores are the one polled box here), behind two carriers and
two edge routers: Tier IV as declared. Re-plugging the far end of c1 into another box makes
that link *missing*; plugging the district into the spare port c3 instead makes it *moved*.
Each is reported within two polls of the core's lldpd seeing it, and the live network tier
drops to II: the one path left runs through CORE-2 (TIER-MODEL formula 6)."""

from __future__ import annotations

import asyncio
import itertools
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.lldp import LldpLab, lldp_lab
from tierwatch.config import parse
from tierwatch.core.store.nethealth import lldp_history
from tierwatch.service import Service

pytestmark = pytest.mark.integration


def _config(lab: LldpLab, tmp_path: Path) -> Any:
    assert lab.agent is not None
    dist = lab.host("dist")
    text = f"""\
    site: {{name: Phòng thử LLDP}}
    store: {{url: "sqlite:///{tmp_path}/tw.sqlite"}}
    credentials:
      lab: {{version: 2c, community: public}}
    devices:
      - {{id: core, address: "127.0.0.1:{lab.agent.port}", credentials: lab,
          profile: [lldp], interval: 1h, timeout: 2s}}
    topology:
      network:
        nodes:
          - {{id: C1, kind: carrier, capacity: 1000}}
          - {{id: C2, kind: carrier, capacity: 1000}}
          - {{id: E1, kind: router, capacity: 1000, fed_from: [C1]}}
          - {{id: E2, kind: router, capacity: 1000, fed_from: [C2]}}
          - {{id: CORE-1, kind: core, fed_from: [E1, E2], device: core}}
          - {{id: CORE-2, kind: core, fed_from: [E1, E2], device: core}}
          - {{id: DIST, kind: district, demand: 100, fed_from: [
              {{id: CORE-1, port: c1, neighbour: "{dist}"}},
              {{id: CORE-2, port: c2, neighbour: "{dist}"}}]}}
    """
    return parse(textwrap.dedent(text)).config


async def _until(check: Callable[[], object], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.1)


async def _lab_sees(lab: LldpLab, want: dict[str, set[str]]) -> None:
    """Wait until the core's own lldpd shows exactly these neighbours (a stale one ages
    out after its 4 s TTL): only then is it tierwatch's turn."""
    await _until(lambda: lab.sees() == want, f"the core's lldpd to see {want}")


def _verdicts(service: Service) -> dict[str, tuple[str, tuple[str, ...]]]:
    assert service.nethealth is not None
    return {c.binding.port: (c.verdict, c.seen_on) for c in service.nethealth.links()}


async def _within_two_polls(service: Service, want: dict[str, tuple[str, tuple[str, ...]]]
                            ) -> int:
    for polls in (1, 2):
        await service.poll_once("core")
        if _verdicts(service) == want:
            return polls
    raise AssertionError(f"after two polls: {_verdicts(service)}, wanted {want}")


def _network_tier(service: Service) -> int | None:
    snap = service.live.snapshot if service.live else None
    return None if snap is None else snap.tier.subsystem("network").live.tier


async def test_lldpd_neighbours_moved_and_missing(tmp_path: Path) -> None:
    with lldp_lab(tmp_path) as lab:
        dist, spare = lab.host("dist"), lab.host("spare")
        await _lab_sees(lab, {"c1": {dist}, "c2": {dist}, "c3": {spare}})
        service = Service(_config(lab, tmp_path))
        await service.start()
        try:
            await _within_two_polls(service, {"c1": ("ok", ()), "c2": ("ok", ())})
            await _until(lambda: _network_tier(service) == 4, "the live network tier IV")
            assert service.live is not None and service.live.snapshot is not None
            assert service.live.snapshot.unverified_edges == frozenset()
            assert service.nethealth is not None
            assert {n.sys_name for n in service.nethealth.lldp.seen["core"].neighbours} == {
                dist, spare}

            # the far end of c1 re-plugged into the spare box: DIST is not seen on c1
            lab.move("d1", "dist", "spare")
            await _lab_sees(lab, {"c1": {spare}, "c2": {dist}, "c3": {spare}})
            await _within_two_polls(service, {"c1": ("missing", ()), "c2": ("ok", ())})
            await _until(lambda: _network_tier(service) == 2, "the live network tier II")
            snap = service.live.snapshot
            assert snap is not None and snap.unverified_edges == {("CORE-1", "DIST")}
            load = snap.tier.subsystem("network").live.loads[0]
            assert (load.id, load.paths_all, load.served) == ("DIST", 1, True)
            assert snap.tier.subsystem("network").design.tier == 4
            # c1 now sees a box nothing declares there
            unexpected = [(u.local_port, u.neighbour.sys_name)
                          for u in service.nethealth.lldp.unexpected()]
            assert ("c1", spare) in unexpected

            # and the spare box's end of c3 into the district: DIST is on c3, not c1
            lab.move("s3", "spare", "dist")
            await _lab_sees(lab, {"c1": {spare}, "c2": {dist}, "c3": {dist}})
            await _within_two_polls(service, {"c1": ("moved", ("c3",)), "c2": ("ok", ())})
            await _until(lambda: _network_tier(service) == 2 and service.live is not None
                         and service.live.snapshot is not None
                         and service.live.snapshot.unverified_edges == {("CORE-1", "DIST")},
                         "the moved link still unverified")

            text = service.exporter.render().decode()
            assert ('tierwatch_lldp_link_status{device="core",from="CORE-1",port="c1",'
                    'status="moved",subsystem="network",to="DIST"} 1.0') in text
            # each change went to the store as it was seen: the month's report reads it
            assert service.store is not None
            c1 = [v for v in lldp_history(service.store, 0, time.time() + 60)[0]
                  if v.link.port == "c1"]
            assert [(v.link.verdict, v.link.seen_on, v.end is None) for v in c1] == [
                ("unknown", (), False), ("ok", (), False), ("missing", (), False),
                ("moved", ("c3",), True)]
            assert all(a.end == b.start for a, b in itertools.pairwise(c1))
        finally:
            await service.stop()
