"""The live Tier engine: statuses from the state, debounced re-scores, snapshots, what-if."""

from __future__ import annotations

from pathlib import Path

import pytest

from livetier.engine import LiveSnapshot, LiveTier, read_demands, read_nodes, topology_fingerprint
from tests.helpers.fake_timer import FakeTimer
from tests.livetier.live_helpers import (
    BYPASS,
    OFF,
    OK,
    ON_BATTERY,
    Clock,
    config,
    poll,
    settle,
    start_live,
)
from tier.status import NodeStatus
from tierwatch.core.model import ComponentStatus, Sample, Status
from tierwatch.core.state import State
from tierwatch.core.store import Store


async def started(
    cfg_text: str | None = None, store: Store | None = None, clock: Clock | None = None,
    timer: FakeTimer | None = None,
) -> tuple[LiveTier, State]:
    cfg = config() if cfg_text is None else config(cfg_text)
    state = State(cfg.device_ids(), unreachable_after=2)
    live, _ = await start_live(cfg, state, store, clock, timer=timer)
    return live, state


async def test_nodes_take_their_devices_status_and_conditions() -> None:
    live, state = await started()
    try:
        snap = live.snapshot
        assert snap is not None and snap.pending == {"UPS-A", "UPS-B"}
        assert snap.tier.subsystem("power").live.tier == 3  # pending counts as available
        seq = snap.seq
        poll(state, "ups-a", 1001.0, ON_BATTERY)
        poll(state, "ups-b", 1001.0, BYPASS)
        await settle(live, seq)
        snap = live.snapshot
        assert snap.settled
        assert snap.statuses == {"UPS-A": NodeStatus.DEGRADED, "UPS-B": NodeStatus.BYPASS}
        assert snap.readings["UPS-A"].conditions == {"on_battery"}
        power = snap.tier.subsystem("power")
        assert (power.design.tier, power.live.tier) == (3, 1)  # TIER-MODEL example 2, live
        assert snap.loads["R"][1].paths_all == 1
    finally:
        await live.stop()


async def test_a_burst_of_changes_gives_one_rescore() -> None:
    timer = FakeTimer()
    live, state = await started(timer=timer)
    try:
        seq = live.snapshot.seq
        rescores = live.rescores
        debounce = live.settings.debounce
        for i, status in enumerate([OK, ON_BATTERY, BYPASS, OK, BYPASS]):
            poll(state, "ups-b", 1001.0 + i, status)  # five changes, one after another
        poll(state, "ups-a", 1006.0, OK)
        assert timer.armed == [timer.now + debounce]  # the first change started the one timer
        await timer.advance(debounce)
        await settle(live, seq)
        assert live.rescores == rescores + 1
        assert not live.rescore_due and timer.armed == []  # and nothing else is coming
        assert live.snapshot.statuses["UPS-B"] == NodeStatus.BYPASS  # the last word wins
        assert live.snapshot.ts == 1006.0  # the latest change folded in
    finally:
        await live.stop()


async def test_subscribers_get_every_snapshot_and_a_broken_one_is_counted() -> None:
    live, state = await started()
    got: list[LiveSnapshot] = []

    def broken(_: LiveSnapshot) -> None:
        raise RuntimeError("subscriber bug")

    unsubscribe = live.subscribe(got.append)
    live.subscribe(broken)
    try:
        seq = live.snapshot.seq
        poll(state, "ups-a", 1001.0, OK)
        poll(state, "ups-b", 1001.0, BYPASS)
        await settle(live, seq)
        assert [s.seq for s in got] == [live.snapshot.seq]
        assert got[0].tier.live_tier == 1
        assert live.errors["subscriber"] == 1
        unsubscribe()
        seq = live.snapshot.seq
        poll(state, "ups-b", 1002.0, OK)
        await settle(live, seq)
        assert len(got) == 1 and live.errors["subscriber"] == 2
    finally:
        await live.stop()


async def test_changes_of_devices_outside_the_topology_do_not_rescore() -> None:
    timer = FakeTimer()
    live, state = await started(timer=timer)
    try:
        rescores = live.rescores
        poll(state, "pdu-a", 1001.0, ComponentStatus("phase 1", Status.DEGRADED, "near"))
        assert live.changes_seen == 0 and not live.rescore_due and timer.armed == []
        await timer.advance(10 * live.settings.debounce)
        assert live.rescores == rescores
        changes = poll(state, "ups-a", 1002.0, ON_BATTERY)  # a device of the topology counts
        assert changes and live.changes_seen == len(changes)
        assert timer.armed == [timer.now + live.settings.debounce]
    finally:
        await live.stop()


async def test_whatif_on_the_live_state_says_not_now() -> None:
    live, state = await started()
    try:
        seq = live.snapshot.seq
        poll(state, "ups-a", 1001.0, OK)
        poll(state, "ups-b", 1001.0, BYPASS)
        await settle(live, seq)
        answer, snap = await live.whatif(["UPS-A"])
        assert answer.verdict.startswith("not now: UPS-B is on bypass")
        assert [(x.load, x.reason) for x in answer.lost] == [("R", "no path")]
        assert snap is live.snapshot
        with pytest.raises(ValueError, match="UPS-Z"):
            await live.whatif(["UPS-Z"])
        seq = live.snapshot.seq
        poll(state, "ups-b", 1002.0, OK)
        await settle(live, seq)
        answer, _ = await live.whatif(["UPS-A"])
        assert answer.ok, answer.verdict
    finally:
        await live.stop()


def test_an_unreachable_device_makes_its_nodes_unknown() -> None:
    cfg = config()
    state = State(cfg.device_ids(), unreachable_after=2)
    bindings = {"UPS-A": ("ups-a", None), "UPS-B": ("ups-b", None), "PH": ("ups-a", "phase 9")}
    poll(state, "ups-a", 1.0, OK)
    poll(state, "ups-b", 1.0, error="timeout")  # one failure: not yet unreachable
    readings, pending = read_nodes(bindings, state)
    assert pending == {"UPS-B"}
    assert readings["UPS-A"].status == NodeStatus.OK
    # a component the device does not report cannot be trusted
    assert readings["PH"].status == NodeStatus.UNKNOWN
    assert "phase 9" in readings["PH"].reason
    poll(state, "ups-b", 2.0, error="timeout")
    readings, pending = read_nodes(bindings, state)
    assert pending == frozenset()
    assert readings["UPS-B"].status == NodeStatus.UNKNOWN


MEASURED = """\
topology:
  power:
    nodes:
      - {id: G1, kind: generator, capacity: 20}
      - {id: UPS-A, kind: ups, capacity: 10, fed_from: [G1], device: ups-a}
      - {id: UPS-B, kind: ups, capacity: 10, fed_from: [G1], device: ups-b}
      - {id: PDU-A, kind: pdu, fed_from: [UPS-A], device: pdu-a}
      - {id: PDU-B, kind: pdu, fed_from: [UPS-B], device: pdu-b}
      - id: R1
        kind: rack
        demand: 4
        fed_from: [PDU-A, PDU-B]
        demand_metric: {device: pdu-a, metric: pdu_phase_power_watts, scale: 0.001}
"""


def phase_power(watts: list[float]) -> list[Sample]:
    return [
        Sample("pdu_phase_power_watts", {"device": "pdu-a", "phase": str(i + 1)}, w)
        for i, w in enumerate(watts)
    ]


def test_measured_demand_sums_the_matching_samples() -> None:
    cfg = config(MEASURED)
    state = State(cfg.device_ids())
    from tier.topology import demand_bindings

    bindings = demand_bindings(cfg.topology)
    assert read_demands(bindings, state) == {}  # not polled: the declared demand stands
    poll(state, "pdu-a", 1.0, samples=phase_power([2500.0, 3000.0, 1500.0]))
    assert read_demands(bindings, state) == {"R1": pytest.approx(7.0)}


async def test_a_measured_demand_beyond_capacity_is_an_outage_of_the_load(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 's.sqlite'}")
    clock = Clock(1000.0)
    live, state = await started(MEASURED, store, clock)
    try:
        seq = live.snapshot.seq
        for device in ("ups-a", "ups-b", "pdu-b"):
            poll(state, device, 1001.0, OK)
        poll(state, "pdu-a", 1001.0, samples=phase_power([3000.0, 3000.0, 3000.0]))
        await settle(live, seq)
        r1 = live.snapshot.loads["R1"][1]
        assert live.snapshot.demands == {"R1": pytest.approx(9.0)} and r1.served
        # one UPS out: 9 kW on the 10 kW left is fine; 12 kW is not
        seq = live.snapshot.seq
        poll(state, "ups-b", 1010.0, OFF)
        poll(state, "pdu-a", 1010.0, samples=phase_power([4000.0, 4000.0, 4000.0]))
        await settle(live, seq)
        r1 = live.snapshot.loads["R1"][1]
        assert not r1.served and r1.reason == "capacity short"
        (outage,) = store.open_outages("load")
        assert outage.subject == "R1" and outage.start == 1010.0
        assert outage.cause == "capacity short: UPS-B off"
    finally:
        await live.stop()
        store.close()


def test_the_fingerprint_follows_the_topology_not_the_file() -> None:
    assert topology_fingerprint(config().topology) == topology_fingerprint(config().topology)
    assert topology_fingerprint(config().topology) != topology_fingerprint(
        config(MEASURED).topology
    )
