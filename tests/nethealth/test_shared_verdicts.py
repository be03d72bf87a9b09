"""A sharded site: each shard checks the links on the devices it polls and writes the
verdicts to the shared store; the `--tier-only` instance, which polls nothing and runs no
network room, reads them back, so its live tier stops counting a link the shards cannot see.

The services are built by the real wiring (`Service(config, shard=...)`, `tier_only=True`)
over one SQLite file; their components are started on runtimes over that store, and the
shards' polls are folded into their states as the pollers would fold them."""

from __future__ import annotations

import asyncio
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers.postgres import run_postgres
from tierwatch.config import parse
from tierwatch.core.model import PollResult, Sample
from tierwatch.core.runtime import Runtime
from tierwatch.core.store import Store
from tierwatch.core.store.nethealth import open_verdicts
from tierwatch.service import Service
from tierwatch.sharding import Shard, owner

# core-1 is shard 0's, core-6 shard 1's (rendezvous hashing over two shards)
CONFIG = """\
site: {name: t}
store: {url: "%s"}
credentials: {c: {version: 2c, community: x}}
devices:
  - {id: core-1, address: "127.0.0.1:1", credentials: c, profile: [lldp]}
  - {id: core-6, address: "127.0.0.1:2", credentials: c, profile: [lldp]}
topology:
  network:
    nodes:
      - {id: C1, kind: carrier, capacity: 1000}
      - {id: C2, kind: carrier, capacity: 1000}
      - {id: E1, kind: router, capacity: 1000, fed_from: [C1]}
      - {id: E2, kind: router, capacity: 1000, fed_from: [C2]}
      - {id: CORE-1, kind: core, fed_from: [E1, E2], device: core-1}
      - {id: CORE-2, kind: core, fed_from: [E1, E2], device: core-6}
      - {id: DIST, kind: district, demand: 100, fed_from: [
          {id: CORE-1, port: Gi0/1, neighbour: dist-sw},
          {id: CORE-2, port: Gi0/1, neighbour: dist-sw}]}
"""


def _lldp(device: str, ts: float, rows: list[tuple[str, str]]) -> PollResult:
    """A poll of `device`'s LLDP: local ports 1 (Gi0/1) and 2 (Gi0/2); neighbours as (local
    port number, system name)."""
    samples = [Sample("lldp_local_port_id_subtype",
                      {"device": device, "lldp_port_num": num, "port_id": name,
                       "port_desc": name}, 5, ts)
               for num, name in (("1", "Gi0/1"), ("2", "Gi0/2"))]
    for i, (num, name) in enumerate(rows, 1):
        samples.append(Sample("lldp_remote_chassis_id_subtype", {
            "device": device, "lldp_time_mark": "0", "lldp_port_num": num,
            "lldp_rem_index": str(i), "rem_chassis_id": f"aa:0{i}", "rem_sys_name": name,
            "rem_port_id": "p"}, 4, ts))
    return PollResult(device, ts, samples=samples)


async def _until(check: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.05)


def _network(tier: Service) -> tuple[int, frozenset[tuple[str, str]]] | None:
    snap = tier.live.snapshot if tier.live else None
    if snap is None:
        return None
    return snap.tier.subsystem("network").live.tier, snap.unverified_edges


async def test_the_tier_instance_counts_out_what_the_shards_cannot_see(tmp_path: Path) -> None:
    await _shards_and_a_tier_instance(f"sqlite:///{tmp_path / 's.sqlite'}")


@pytest.mark.integration
async def test_the_same_on_postgresql() -> None:
    """The shared store of a real sharded site."""
    with run_postgres() as url:
        await _shards_and_a_tier_instance(url)


async def _shards_and_a_tier_instance(url: str) -> None:
    assert (owner("core-1", 2), owner("core-6", 2)) == (0, 1)
    config = parse(textwrap.dedent(CONFIG % url)).config
    store = Store.open(config.store.resolved_url())
    now = time.time()
    shards = [Service(config, shard=Shard(k, 2)) for k in (0, 1)]
    tier = Service(config, tier_only=True)
    assert tier.nethealth is None and tier.shared_verdicts is not None
    for svc in shards:
        assert svc.nethealth is not None
        # a shard checks only the links on its own devices, and still knows every device
        assert [b.device for b in svc.nethealth.lldp.bindings] == [
            "core-1" if svc.shard == Shard(0, 2) else "core-6"]
        store.start_instance(svc.instance, now, 60)
        await svc.nethealth.start(Runtime.for_tests(store, svc.state, instance=svc.instance))
    rt = Runtime.for_tests(store, tier.state, instance="tier")
    await tier.shared_verdicts.start(rt)
    assert tier.live is not None
    await tier.live.start(rt)
    try:
        shard0, shard1 = (svc.state for svc in shards)
        shard0.update(_lldp("core-1", now, [("1", "dist-sw")]))
        shard1.update(_lldp("core-6", now, [("1", "dist-sw")]))
        await tier.shared_verdicts.refresh()
        await _until(lambda: _network(tier) == (4, frozenset()), "Tier IV, both links seen")
        # each shard wrote its own link, and only that one
        assert sorted((v.link.feeder, v.link.verdict, v.writer) for v in open_verdicts(store)) \
            == [("CORE-1", "ok", "shard-0-of-2"), ("CORE-2", "ok", "shard-1-of-2")]

        # shard 1's core loses the district on Gi0/1 and sees core-1 on Gi0/2 instead
        shard1.update(_lldp("core-6", now + 60, [("2", "core-1")]))
        await tier.shared_verdicts.refresh()
        await _until(lambda: _network(tier) == (2, frozenset({("CORE-2", "DIST")})),
                     "the live network tier II, CORE-2 -> DIST unverified")
        links = {c.binding.feeder: (c.verdict, c.since) for c in tier.shared_verdicts.links()}
        assert links == {"CORE-1": ("ok", now), "CORE-2": ("missing", now + 60)}
        # core-1 is a device shard 1 does not poll: still recognised, on a port nothing
        # declares, so reported (the tier instance reads it too)
        assert [(u.device, u.local_port, u.neighbour_device)
                for u in tier.shared_verdicts.unexpected()] == [("core-6", "Gi0/2", "core-1")]

        # shard 1 stops beating: nobody checks that link any more; unknown, counted again
        store.heartbeat(shards[1].instance, now - 300)
        await tier.shared_verdicts.refresh()
        await _until(lambda: _network(tier) == (4, frozenset()),
                     "a silent shard's verdict taken as unknown")
        assert {c.binding.feeder: c.verdict for c in tier.shared_verdicts.links()} == {
            "CORE-1": "ok", "CORE-2": "unknown"}
    finally:
        await tier.live.stop()
        await tier.shared_verdicts.stop()
        for svc in shards:
            assert svc.nethealth is not None
            await svc.nethealth.stop()
        store.close()
