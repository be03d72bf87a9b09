"""What the live tier writes to the store: load outages from the topology, causes, planned
work, exposure, transitions, and what survives a restart."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from livetier.downtime import availability_report
from livetier.engine import LiveTier
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
from tierwatch.core.history import History
from tierwatch.core.maintenance import Scope, Window
from tierwatch.core.model import DEVICE_COMPONENT, Status, StatusChange
from tierwatch.core.state import UNREACHABLE_CONDITIONS, State
from tierwatch.core.store import Store
from tierwatch.core.storefeed import StoreFeed

DUAL = """\
topology:
  power:
    nodes:
      - {id: G1, kind: generator, capacity: 100}
      - {id: G2, kind: generator, capacity: 100}
      - {id: UPS-A, kind: ups, capacity: 50, fed_from: [G1, G2], device: ups-a}
      - {id: UPS-B, kind: ups, capacity: 50, fed_from: [G1, G2], device: ups-b}
      - {id: PDU-A, kind: pdu, fed_from: [UPS-A], device: pdu-a}
      - {id: PDU-B, kind: pdu, fed_from: [UPS-B], device: pdu-b}
      - {id: R1, kind: rack, demand: 10, fed_from: [PDU-A, PDU-B]}
      - {id: R2, kind: rack, demand: 10, fed_from: [PDU-A]}
"""


class Rig:
    """A live tier over a store file, its state fed by the test, its clock moved by hand."""

    def __init__(self, tmp: Path, topology: str = DUAL, url: str | None = None) -> None:
        self.url = url or f"sqlite:///{tmp / 'store.sqlite'}"
        self.topology = topology
        self.clock = Clock(1000.0)
        self.store: Store | None = None
        self.live: LiveTier | None = None
        self.state: State | None = None

    async def start(self, at: float) -> None:
        self.clock.now = at
        self.store = Store.open(self.url)
        cfg = config(self.topology)
        self.state = State(cfg.device_ids(), unreachable_after=2)
        self.live, _ = await start_live(cfg, self.state, self.store, self.clock)

    async def polls(self, ts: float, **statuses: object) -> None:
        """Poll devices at `ts` (status objects, or "silent") and, when a status moved,
        wait for the re-score (a first failed poll moves nothing)."""
        assert self.live is not None and self.state is not None
        self.clock.now = ts
        seq = self.live.snapshot.seq
        changes = []
        for device, status in statuses.items():
            device = device.replace("_", "-")
            if status == "silent":
                changes += poll(self.state, device, ts, error="timeout")
            else:
                changes += poll(self.state, device, ts, status)  # type: ignore[arg-type]
        if changes:
            await settle(self.live, seq)

    async def stop(self) -> None:
        if self.live is not None:
            await self.live.stop()
        if self.store is not None:
            self.store.close()


@pytest.fixture
async def rig(tmp_path: Path):  # type: ignore[no-untyped-def]
    rig = Rig(tmp_path)
    yield rig
    await rig.stop()


ALL_OK = {"ups_a": OK, "ups_b": OK, "pdu_a": OK, "pdu_b": OK}


async def test_nothing_is_written_until_every_device_has_answered(rig: Rig) -> None:
    await rig.start(1000.0)
    await rig.polls(1001.0, ups_a=OFF, ups_b=OFF)  # R1, R2 would be down, but PDUs pending
    assert rig.live.snapshot.pending == {"PDU-A", "PDU-B"}
    assert rig.store.transitions() == [] and rig.store.outages() == []
    await rig.polls(1002.0, pdu_a=OK, pdu_b=OK)
    assert {o.subject for o in rig.store.open_outages("load")} == {"R1", "R2"}
    # the time before the first settled snapshot is not known: recorded as unmonitored
    assert [(g.start, g.end) for g in rig.store.unmonitored()] == [(1000.0, 1002.0)]


async def test_a_load_outage_comes_from_the_topology_with_its_cause(rig: Rig) -> None:
    await rig.start(1000.0)
    await rig.polls(1001.0, **ALL_OK)
    await rig.polls(1010.0, pdu_a="silent")
    # unreachable after two failed polls, and since the first of them (1010)
    await rig.polls(1012.0, pdu_a="silent")
    # R1 keeps its B cord; R2 hangs on PDU-A alone
    (outage,) = rig.store.open_outages("load")
    assert (outage.subject, outage.subsystem, outage.start) == ("R2", "power", 1010.0)
    assert outage.cause == "no path: PDU-A unknown"
    assert outage.affected == ["R2"] and not outage.planned
    await rig.polls(1020.0, ups_b=OFF)
    assert {o.subject for o in rig.store.open_outages("load")} == {"R1", "R2"}
    r1 = next(o for o in rig.store.open_outages("load") if o.subject == "R1")
    assert r1.cause == "no path: UPS-B off, PDU-A unknown"
    await rig.polls(1030.0, pdu_a=OK)
    assert {o.subject for o in rig.store.open_outages("load")} == set()
    spans = {(o.subject, o.start, o.end) for o in rig.store.outages(kind="load")}
    assert spans == {("R2", 1010.0, 1030.0), ("R1", 1020.0, 1030.0)}
    loads = [(t.subject, t.old, t.new) for t in rig.store.transitions(kind="load", since=1005)]
    assert loads == [
        ("R2", "served", "unserved"),
        ("R1", "served", "unserved"),
        ("R1", "unserved", "served"),
        ("R2", "unserved", "served"),
    ]
    tiers = [(t.subject, t.old, t.new) for t in rig.store.transitions(kind="tier", since=1005)]
    assert ("power", "2", "0") in tiers and ("power", "0", "1") in tiers  # UPS-B still off
    nodes = [(t.subject, t.new) for t in rig.store.transitions(kind="node", since=1005)]
    assert nodes == [("PDU-A", "unknown"), ("UPS-B", "off"), ("PDU-A", "ok")]


async def test_a_device_outage_lists_the_loads_it_took_down(rig: Rig) -> None:
    await rig.start(1000.0)
    history = History(rig.store)
    rig.state.subscribe(history.handle)  # device outages, as the service records them
    await rig.polls(1001.0, **ALL_OK)
    await rig.polls(1010.0, pdu_a="silent")
    await rig.polls(1012.0, pdu_a="silent")
    (device,) = rig.store.open_outages("device")
    assert device.subject == "pdu-a" and device.affected == ["R2"]


async def test_a_change_the_store_brings_late_is_dated_when_the_shard_saw_it(rig: Rig) -> None:
    """The tier instance of a sharded site learns a shard's changes through the store, up to
    a feed interval after the shard saw them. A re-score in between that no change asked
    for (the burn or the fuel moved: every `tier.refresh` while an outage is open) must not
    date them: the outage starts when the shard saw PDU-A go silent, as on a single
    instance (issue 19: dated by the re-score, the tier instance counted less downtime)."""
    await rig.start(1000.0)
    await rig.polls(1001.0, **ALL_OK)
    feed = StoreFeed(rig.store, rig.state)
    # the shard that polls pdu-a declares it unreachable at 1014 and writes it to the store
    shard = "shard-0-of-2"
    rig.store.start_instance(shard, 1000.0, max_silence=45.0)
    rig.store.heartbeat(shard, 1014.0)
    rig.store.set_current([StatusChange("pdu-a", DEVICE_COMPONENT, Status.OK, Status.UNKNOWN,
                                        "no answer", 1014.0, UNREACHABLE_CONDITIONS)], shard)
    rig.clock.now = 1015.0
    await rig.live.refresh()  # the burn moved: a re-score before the feed's next read
    assert rig.live.snapshot.ts == 1001.0  # the state it scores is still the one of 1001
    rig.clock.now = 1016.0
    seq = rig.live.snapshot.seq
    await feed.refresh(now=1016.0)  # the feed reads the store
    await settle(rig.live, seq)
    # R2 hangs on PDU-A alone: down from 1014, when the shard saw PDU-A go (not 1015 or 1016)
    (outage,) = rig.store.open_outages("load")
    assert (outage.subject, outage.start) == ("R2", 1014.0)
    nodes = [(t.subject, t.new, t.ts) for t in rig.store.transitions(kind="node", since=1005)]
    assert nodes == [("PDU-A", "unknown", 1014.0)]
    # so the downtime by 1030 is 1030 - 1014 = 16 s, what the shard's own history says
    report = availability_report(rig.store, "load:R2", (1000.0, 1030.0), now=1030.0)
    assert report.report.downtime == pytest.approx(16.0)


async def test_planned_when_a_maintenance_window_names_the_device(rig: Rig) -> None:
    await rig.start(1000.0)
    window = rig.store.add_maintenance(
        "Bảo trì PDU-A", 1005.0, 1100.0, {"devices": ["pdu-a"]}, created_by="ops", now=1000.0
    )
    await rig.polls(1001.0, **ALL_OK)
    await rig.polls(1010.0, pdu_a="silent")
    await rig.polls(1012.0, pdu_a="silent")
    (outage,) = rig.store.open_outages("load")
    assert outage.planned and outage.maintenance_id == window
    # planned or not, it is downtime (Tier III: planned work must not drop a load): from
    # the first unanswered poll (1010) to the end of the period (1100)
    report = availability_report(rig.store, "load:R2", (1000.0, 1100.0), now=1100.0)
    assert report.report.downtime == pytest.approx(90.0)
    assert report.planned_downtime == pytest.approx(90.0)


@pytest.mark.parametrize(
    ("recurrence", "start", "now", "on"),
    [
        ("none", 100.0, 150.0, True),
        ("none", 100.0, 250.0, False),
        ("daily", 100.0, 100.0 + 86400 * 3 + 50, True),
        ("daily", 100.0, 100.0 + 86400 * 3 + 150, False),
        ("weekly", 100.0, 100.0 + 7 * 86400 + 10, True),
        ("weekly", 100.0, 100.0 + 86400 + 10, False),
        # 2026-01-31 10:00 +07 every month: February has no 31st, so no February
        # occurrence (as cron does); March 31 10:00 +07 is 59 days later
        ("monthly", 1769828400.0, 1772247600.0 + 60, False),
        ("monthly", 1769828400.0, 1769828400.0 + 59 * 86400 + 60, True),
        ("monthly", 1769828400.0, 1769828400.0 + 59 * 86400 - 60, False),
    ],
)
def test_maintenance_windows_recur_in_the_site_time_zone(
    recurrence: str, start: float, now: float, on: bool
) -> None:
    window = Window(1, "test", start, start + 100.0, recurrence, None, Scope())
    assert (window.active_at(now, "Asia/Ho_Chi_Minh") is not None) is on


async def test_exposure_is_recorded_beside_downtime(rig: Rig) -> None:
    await check_exposure(rig)


async def check_exposure(rig: Rig) -> None:
    await rig.start(1000.0)
    await rig.polls(1001.0, **ALL_OK)
    await rig.polls(1010.0, ups_b=BYPASS)
    await rig.polls(1020.0, ups_a=ON_BATTERY)
    await rig.polls(1030.0, ups_b=OK, ups_a=OK)
    rows = {
        (r.kind, r.subject, r.start_ts, r.end_ts) for r in rig.store.exposures(with_subsystem=True)
    }
    # R2 is single-corded by design: exposed from the start
    assert ("spof", "R2", 1001.0, None) in rows
    assert ("bypass", "R1", 1010.0, 1030.0) in rows
    assert ("spof", "R1", 1010.0, 1030.0) in rows  # with UPS-B out, path A is all it has
    assert ("no_spare", "power/ups", 1010.0, 1030.0) in rows
    assert ("on_battery", "R1", 1020.0, 1030.0) in rows
    assert ("on_battery", "R2", 1020.0, 1030.0) in rows
    report = availability_report(rig.store, "load:R1", (1000.0, 1040.0), now=1040.0)
    assert report.report.downtime == 0.0
    assert dict(report.report.exposure) == {"bypass": 20.0, "spof": 20.0, "on_battery": 10.0}
    power = availability_report(rig.store, "power", (1000.0, 1040.0), now=1040.0)
    assert power.report.exposure["spof"] == 39.0  # R2 all along (from 1001), R1 within it
    assert power.report.exposure["no_spare"] == 20.0


async def test_an_outage_open_at_shutdown_is_open_and_right_after_a_restart(
    tmp_path: Path,
) -> None:
    await check_restart(Rig(tmp_path))


async def check_restart(rig: Rig) -> None:
    """Down at shutdown, still down after a 30-minute stop, up later: the intervals."""
    try:
        await rig.start(1000.0)
        rig.store.start_instance("main", 1000.0, max_silence=45.0)
        await rig.polls(1001.0, **ALL_OK)
        await rig.polls(1100.0, ups_a=OFF, ups_b=OFF)
        rig.store.heartbeat("main", 1200.0)  # the last sign of life
        await rig.stop()  # tierwatch stops, R1 and R2 still down

        # 30 minutes later
        rig.store = None
        await rig.start(3000.0)
        gap = rig.store.start_instance("main", 3000.0, max_silence=45.0)
        assert gap is not None and (gap.start, gap.end) == (1200.0, 3000.0)
        assert {o.subject for o in rig.store.open_outages("load")} == {"R1", "R2"}
        await rig.polls(3001.0, ups_a=OFF, ups_b=OFF, pdu_a=OK, pdu_b=OK)
        open_now = rig.store.open_outages("load")
        assert {(o.subject, o.start) for o in open_now} == {("R1", 1100.0), ("R2", 1100.0)}
        await rig.polls(3100.0, ups_a=OK)
        assert rig.store.open_outages("load") == []
        assert {(o.subject, o.start, o.end) for o in rig.store.outages(kind="load")} == {
            ("R1", 1100.0, 3100.0),
            ("R2", 1100.0, 3100.0),
        }
        rig.store.heartbeat("main", 3200.0)

        report = availability_report(rig.store, "load:R1", (1000.0, 3200.0), now=3200.0)
        # down 1100-1200 and 3001-3100; not watched 1000-1001, 1200-3000 (stopped) and
        # 3000-3001 (starting): neither up nor down
        assert report.report.downtime == pytest.approx(100.0 + 99.0)
        assert report.report.unmonitored == pytest.approx(1.0 + 1801.0)
        assert report.report.monitored == pytest.approx(2200.0 - 1802.0)
        assert report.report.availability == pytest.approx(1 - 199.0 / 398.0)
        assert report.report.availability_worst == pytest.approx(1 - (199.0 + 1802.0) / 2200.0)
        events = report.to_json()["events"]
        assert [(e["load"], e["start"], e["end"]) for e in events] == [("R1", 1100.0, 3100.0)]
    finally:
        await rig.stop()


async def test_a_load_served_again_while_tierwatch_was_down_closes_at_the_restart(rig: Rig) -> None:
    await rig.start(1000.0)
    await rig.polls(1001.0, **ALL_OK)
    await rig.polls(1100.0, ups_a=OFF, ups_b=OFF)
    await rig.live.stop()
    rig.store.close()
    await rig.start(2000.0)
    await rig.polls(2001.0, **ALL_OK)
    assert {(o.subject, o.start, o.end) for o in rig.store.outages(kind="load")} == {
        ("R1", 1100.0, 2001.0),
        ("R2", 1100.0, 2001.0),
    }


def test_the_site_is_the_union_of_its_loads_outages(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 's.sqlite'}")
    store.record_transition("load", "R1", None, "served", 0.0)  # monitored from 0
    for subject, subsystem, start, end in [
        ("R1", "power", 100.0, 200.0),
        ("R2", "power", 150.0, 250.0),
        ("Z1", "cooling", 400.0, 460.0),
    ]:
        store.open_outage("load", subject, start, "x", subsystem=subsystem)
        store.close_outage("load", subject, end)
    period = (0.0, 1000.0)
    got = {
        scope: availability_report(store, scope, period, now=1000.0).report.downtime
        for scope in ("site", "power", "cooling", "network", "load:R1", "R2")
    }
    assert got == {
        "site": 210.0,
        "power": 150.0,
        "cooling": 60.0,
        "network": 0.0,
        "load:R1": 100.0,
        "R2": 100.0,
    }
    report = availability_report(store, "site", period, now=1000.0, target=0.99)
    assert report.report.budget == pytest.approx(10.0)
    assert report.report.burn == pytest.approx(21.0)
    assert json.loads(json.dumps(report.to_json()))["scope"] == "site"
    with pytest.raises(ValueError):
        availability_report(store, "subsystem:plumbing", period)
