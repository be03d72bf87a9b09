"""Sharding: who polls what, and the tier instance's view through the shared store."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tier.topology import demand_bindings
from tierwatch.config import parse
from tierwatch.core.model import ComponentStatus, PollResult, Sample, Status, StatusChange
from tierwatch.core.runtime import Runtime
from tierwatch.core.state import State
from tierwatch.core.store import Store
from tierwatch.core.storefeed import StoreFeed, StorePublisher
from tierwatch.service import Service
from tierwatch.sharding import Shard, owner, split

IDS = [f"dev-{i:04d}" for i in range(2000)]


@pytest.mark.parametrize(("text", "message"), [
    ("2", "expected K/N"), ("a/b", "expected K/N"), ("2/2", "K must be below N"),
    ("0/0", "N must be 1 to"), ("-1/2", "expected K/N")])
def test_bad_shard_specs_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Shard.parse(text)


def test_shards_are_disjoint_cover_everything_and_even() -> None:
    parts = split(IDS, 4)
    seen = [d for ids in parts.values() for d in ids]
    assert sorted(seen) == sorted(IDS)  # every device exactly once
    for ids in parts.values():
        assert 400 < len(ids) < 600  # about a quarter each
    assert split(IDS, 4) == parts  # stable: the same split on every host, every start


@pytest.mark.parametrize("count", [1, 2, 3, 7])
def test_adding_a_shard_moves_only_what_the_new_shard_takes(count: int) -> None:
    moved = [d for d in IDS if owner(d, count) != owner(d, count + 1)]
    assert all(owner(d, count + 1) == count for d in moved)  # nothing moves between old ones
    share = len(moved) / len(IDS)
    assert abs(share - 1 / (count + 1)) < 0.05  # about 1/(N+1) of the devices


CONFIG = """
site: {name: t}
credentials: {c: {version: 2c, community: x}}
devices:
%s
agents:
  hosts:
    - {id: host-1, url: "http://127.0.0.1:9100/metrics", profile: node-exporter}
    - {id: host-2, url: "http://127.0.0.1:9101/metrics", profile: node-exporter}
probes:
  links:
    - {id: trunk-1, checks: [{tcp: "127.0.0.1:1"}]}
  sites:
    - {id: site-1, checks: [{tcp: "127.0.0.1:1"}], router: edge-7, uplinks: [port 1]}
    - {id: site-2, checks: [{tcp: "127.0.0.1:1"}]}
"""


def config_with(n: int) -> str:
    rows = [f"  - {{id: dev-{i}, address: '127.0.0.1:{1000 + i}', credentials: c, "
            f"profile: system}}" for i in range(n)]
    rows.append("  - {id: edge-7, address: '127.0.0.1:999', credentials: c, profile: system}")
    return CONFIG % "\n".join(rows)


def test_a_shard_takes_its_devices_hosts_and_probes_and_sites_follow_their_router() -> None:
    config = parse(config_with(30)).config
    everything = set(config.device_ids())
    seen: list[str] = []
    for k in range(3):
        share = Shard(k, 3).share(config)
        ids = share.device_ids()
        seen += ids
        if "edge-7" in ids:
            assert "site-1" in ids  # the site folds in its router's uplinks
        else:
            assert "site-1" not in ids
    assert sorted(seen) == sorted(everything)


def test_a_shard_service_polls_only_its_share_and_the_tier_instance_nothing() -> None:
    config = parse(config_with(20)).config
    shard = Service(config, shard=Shard(1, 2))
    assert set(shard.state.devices) == set(Shard(1, 2).share(config).device_ids())
    assert shard.instance == "shard-1-of-2"
    tier = Service(config, tier_only=True)
    assert not tier.snmp.device_ids() and tier.agents is None and tier.probes is None
    assert set(tier.state.devices) == set(config.device_ids())  # the whole picture
    assert b"tierwatch_device_up" not in tier.exporter.render()  # the shards show those
    with pytest.raises(ValueError):
        Service(config, shard=Shard(0, 2), tier_only=True)


# --------------------------------------------------------------------------- store feed


def changes_for(device: str, status: Status, ts: float, *, ups: Status = Status.OK,
                unreachable: bool = False) -> list[StatusChange]:
    if unreachable:
        return [StatusChange(device, "ups", Status.OK, Status.UNKNOWN, "unreachable", ts),
                StatusChange(device, "device", Status.OK, Status.UNKNOWN, "unreachable", ts,
                             frozenset({"unreachable"}))]
    conditions = frozenset({"on_battery"}) if ups == Status.DEGRADED else frozenset()
    return [StatusChange(device, "ups", None, ups, "ups says so", ts, conditions),
            StatusChange(device, "device", None, status, "worst of its parts", ts, conditions)]


class Recorder:
    def __init__(self) -> None:
        self.seen: list[StatusChange] = []

    def __call__(self, changes: list[StatusChange]) -> None:
        self.seen.extend(changes)


async def test_the_tier_instance_mirrors_what_the_shards_wrote(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 's.sqlite'}")
    now = time.time()
    store.start_instance("shard-0-of-2", now, 60)
    store.start_instance("shard-1-of-2", now, 60)
    store.set_current(changes_for("ups-a", Status.DEGRADED, now - 5, ups=Status.DEGRADED),
                      "shard-0-of-2")
    store.set_current(changes_for("ups-b", Status.OK, now - 5), "shard-1-of-2")
    state = State(["ups-a", "ups-b", "ups-c"])
    heard = Recorder()
    state.subscribe(heard)
    feed = StoreFeed(store, state)
    await feed.refresh(now)
    a, b, c = (state.devices[d] for d in ("ups-a", "ups-b", "ups-c"))
    assert (a.status, a.reachable, a.conditions) == (Status.DEGRADED, True,
                                                     frozenset({"on_battery"}))
    assert a.components["ups"].status == Status.DEGRADED
    assert (b.status, b.reachable) == (Status.OK, True)
    assert c.reachable is None  # nobody has written it yet: still pending
    assert {(ch.device, ch.component, ch.new) for ch in heard.seen} == {
        ("ups-a", "ups", Status.DEGRADED), ("ups-a", "device", Status.DEGRADED),
        ("ups-b", "ups", Status.OK), ("ups-b", "device", Status.OK)}

    heard.seen.clear()
    await feed.refresh(now + 1)  # nothing new: nothing published
    assert heard.seen == []

    store.set_current(changes_for("ups-b", Status.UNKNOWN, now, unreachable=True),
                      "shard-1-of-2")
    await feed.refresh(now + 2)
    assert (b.status, b.reachable) == (Status.UNKNOWN, False)
    assert [(ch.component, ch.new) for ch in heard.seen] == [("ups", Status.UNKNOWN),
                                                             ("device", Status.UNKNOWN)]


async def test_a_silent_shard_s_devices_are_unknown_not_their_last_status(
        tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 's.sqlite'}")
    now = time.time()
    store.start_instance("shard-0-of-2", now - 300, 60)  # last beat five minutes ago
    store.set_current(changes_for("ups-a", Status.OK, now - 300), "shard-0-of-2")
    state = State(["ups-a"])
    feed = StoreFeed(store, state, silent_after=45)
    await feed.refresh(now)
    dev = state.devices["ups-a"]
    assert (dev.status, dev.reachable) == (Status.UNKNOWN, False)
    assert "not monitored: shard-0-of-2 silent since" in dev.status_reason
    assert feed.silent == {"ups-a"}
    store.heartbeat("shard-0-of-2", now + 10)  # the shard is back
    await feed.refresh(now + 11)
    assert (dev.status, dev.reachable) == (Status.OK, True)
    assert feed.silent == set()


async def test_measured_demands_reach_the_tier_instance(tmp_path: Path) -> None:
    text = config_with(1) + """
topology:
  power:
    nodes:
      - {id: G1, kind: generator, capacity: 100}
      - {id: R1, kind: rack, demand: 5, fed_from: [G1],
         demand_metric: {device: dev-0, metric: pdu_power_watts, scale: 0.001}}
"""
    config = parse(text).config
    store = Store.open(f"sqlite:///{tmp_path / 's.sqlite'}")
    state = State(config.device_ids())

    publisher = StorePublisher(store, "shard-0-of-1", [
        (m.device, m.metric) for m in demand_bindings(config.topology).values()])
    await publisher.start(Runtime.for_tests(store, state))
    state.update(PollResult("dev-0", 100.0, samples=[
        Sample("pdu_power_watts", {"device": "dev-0", "unit": "1"}, 2500.0, 100.0),
        Sample("pdu_other", {"device": "dev-0"}, 1.0, 100.0)],
        components=[ComponentStatus("pdu", Status.OK)]))
    assert store.current_readings() == {
        "dev-0": [("pdu_power_watts", {"device": "dev-0", "unit": "1"}, 2500.0)]}
    store.start_instance("shard-0-of-1", time.time(), 60)

    mirror = State(config.device_ids())
    await StoreFeed(store, mirror).refresh()
    dev = mirror.devices["dev-0"]
    assert [(s.name, s.value) for s in dev.samples] == [("pdu_power_watts", 2500.0)]
    assert dev.status == Status.OK and dev.reachable is True
