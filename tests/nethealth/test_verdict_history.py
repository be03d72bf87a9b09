"""The room writes what LLDP shows into the store whenever it changes: one row per link and
verdict, from when it began until it changed, and the unexpected neighbours from first to
last sighting. Real parts: a State, a SQLite store, the component started on a Runtime with
a clock the test moves."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from exporters.prometheus import MetricsExporter
from nethealth.component import NetHealth
from nethealth.config import NetHealthConfig
from tier.topology import PortBinding
from tierwatch.core.model import PollResult, Sample
from tierwatch.core.runtime import Runtime
from tierwatch.core.state import State
from tierwatch.core.store import Store
from tierwatch.core.store.nethealth import lldp_history, open_verdicts

LINK = PortBinding(subsystem="network", feeder="CORE-1", node="D-NK", device="core-1",
                   port="Gi0/1", neighbour="nk-dist")


def _lldp(ts: float, rows: list[tuple[str, str, str]]) -> PollResult:
    """core-1's LLDP: local ports 1 (Gi0/1) and 2 (Gi0/2); remote rows (local port number,
    chassis id, system name)."""
    samples = [Sample("lldp_local_port_id_subtype",
                      {"device": "core-1", "lldp_port_num": num, "port_id": name,
                       "port_desc": name}, 5, ts)
               for num, name in (("1", "Gi0/1"), ("2", "Gi0/2"))]
    for i, (num, chassis, name) in enumerate(rows, 1):
        samples.append(Sample("lldp_remote_chassis_id_subtype", {
            "device": "core-1", "lldp_time_mark": "0", "lldp_port_num": num,
            "lldp_rem_index": str(i), "rem_chassis_id": chassis, "rem_sys_name": name,
            "rem_port_id": "xe-0/0/1"}, 4, ts))
    return PollResult("core-1", ts, samples=samples)


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def test_each_change_of_verdict_is_a_row_from_when_it_began(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 's.sqlite'}")
    state = State(["core-1"])
    clock = Clock(1000.0)
    room = NetHealth(NetHealthConfig(), [LINK], {"core-1": "core-1"})
    await room.start(Runtime.for_tests(store, state, instance="main", clock=clock))
    # 1000: started, nothing polled: unknown
    state.update(_lldp(1060, [("1", "aa:01", "nk-dist")]))  # ok
    state.update(_lldp(1120, [("1", "aa:01", "nk-dist")]))  # still ok: no new row
    state.update(_lldp(1180, []))  # missing
    state.update(_lldp(1240, [("1", "bb:02", "intruder")]))  # still missing, a stranger
    state.update(_lldp(1300, [("2", "aa:01", "nk-dist")]))  # moved to Gi0/2
    clock.now = 1500.0
    await room.stop()

    verdicts, sightings = lldp_history(store, 0, 10_000)
    assert [(v.link.verdict, v.start, v.end, v.link.seen_on, v.writer) for v in verdicts] == [
        ("unknown", 1000.0, 1060.0, (), "main"),
        ("ok", 1060.0, 1180.0, (), "main"),
        ("missing", 1180.0, 1300.0, (), "main"),
        ("moved", 1300.0, 1500.0, ("Gi0/2",), "main"),
    ]
    link = verdicts[0].link
    assert (link.subsystem, link.feeder, link.node, link.device, link.port, link.expected) == (
        "network", "CORE-1", "D-NK", "core-1", "Gi0/1", "nk-dist")
    # the stranger on the declared port, seen from 1240 until the poll that no longer shows it
    assert [(s.sighting.name, s.sighting.port, s.sighting.declared_port, s.start, s.end)
            for s in sightings] == [("intruder", "Gi0/1", "Gi0/1", 1240.0, 1300.0)]
    assert open_verdicts(store) == []  # a clean stop closes what it saw


async def test_a_restart_ends_what_was_seen_before_it(tmp_path: Path) -> None:
    """A crash leaves rows open; the next start closes them when it starts (the time between
    is unmonitored, which the report leaves out) and says unknown until the first poll."""
    store = Store.open(f"sqlite:///{tmp_path / 's.sqlite'}")
    state = State(["core-1"])
    room = NetHealth(NetHealthConfig(), [LINK], {"core-1": "core-1"})
    await room.start(Runtime.for_tests(store, state, clock=Clock(1000.0)))
    state.update(_lldp(1060, []))  # missing; then the process dies without stopping

    state2 = State(["core-1"])
    again = NetHealth(NetHealthConfig(), [LINK], {"core-1": "core-1"})
    await again.start(Runtime.for_tests(store, state2, clock=Clock(5000.0)))
    assert [(v.link.verdict, v.start, v.end) for v in lldp_history(store, 0, 10_000)[0]] == [
        ("unknown", 1000.0, 1060.0), ("missing", 1060.0, 5000.0), ("unknown", 5000.0, None)]
    assert [v.link.verdict for v in open_verdicts(store)] == ["unknown"]


async def test_a_failed_write_is_counted_and_made_good_by_the_next_poll(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 's.sqlite'}")
    state = State(["core-1"])
    rt = Runtime.for_tests(store, state, clock=Clock(1000.0))
    room = NetHealth(NetHealthConfig(), [LINK], {"core-1": "core-1"})
    await room.start(rt)
    with store.engine.begin() as conn:  # the table goes away under the room's feet
        conn.execute(text("ALTER TABLE lldp_verdicts RENAME TO lldp_verdicts_away"))
    state.update(_lldp(1060, [("1", "aa:01", "nk-dist")]))  # ok, not written
    assert room.store_errors == 1
    metrics = MetricsExporter(state, rt.metrics).render().decode()
    assert "tierwatch_lldp_store_errors_total 1.0" in metrics
    with store.engine.begin() as conn:
        conn.execute(text("ALTER TABLE lldp_verdicts_away RENAME TO lldp_verdicts"))
    state.update(_lldp(1120, [("1", "aa:01", "nk-dist")]))  # no change, but written now
    assert [(v.link.verdict, v.start, v.end) for v in lldp_history(store, 0, 10_000)[0]] == [
        ("unknown", 1000.0, 1120.0), ("ok", 1120.0, None)]
    assert room.store_errors == 1
