"""The room with real parts: a State, a Runtime, the exporter; polls folded in as the
service folds them. Rates join the device's series (/metrics, a load's measured demand);
hostile LLDP text is bounded, counted and kept out of labels."""

from __future__ import annotations

from exporters.prometheus import MetricsExporter
from livetier.engine import read_demands
from nethealth.component import NetHealth
from nethealth.config import NetHealthConfig
from tier.topology import DemandMetric, PortBinding
from tierwatch.core.model import PollResult, Sample
from tierwatch.core.runtime import Runtime
from tierwatch.core.state import State

PORT = {"device": "core-1", "if_index": "15", "if_name": "Gi1/0/15", "district": "ninh-kieu"}


def _poll(ts: float, uptime: float, octets_in: int, octets_out: int) -> PollResult:
    return PollResult("core-1", ts, samples=[
        Sample("snmp_uptime_seconds", {"device": "core-1"}, uptime, ts),
        Sample("if_hc_in_octets_total", PORT, octets_in, ts),
        Sample("if_hc_out_octets_total", PORT, octets_out, ts),
        Sample("if_speed_bytes", PORT, 125_000_000, ts)])


async def test_rates_are_device_series_and_a_demand() -> None:
    state = State(["core-1"])
    config = NetHealthConfig.model_validate(
        {"thresholds": [{"labels": {"district": "ninh-kieu"}, "utilisation": 0.7}]})
    room = NetHealth(config)
    rt = Runtime.for_tests(state=state)
    await room.start(rt)
    state.update(_poll(0, 100, 0, 0))
    state.update(_poll(60, 160, 937_500_000, 60_000_000))
    # in: 937,500,000 / 60 = 15,625,000 B/s = 125 Mbit/s, 0.125 of 1 Gbit/s; out 1,000,000
    # B/s = 8 Mbit/s. As a load's demand in Mbit/s: bytes/s x 8e-6.
    demand = DemandMetric(device="core-1", metric="if_traffic_bytes_per_second",
                          labels={"if_name": "Gi1/0/15", "direction": "out"}, scale=8e-6)
    assert read_demands({"D-NINHKIEU": demand}, state) == {"D-NINHKIEU": 8.0}
    text = MetricsExporter(state, rt.metrics).render().decode()
    assert ('if_utilisation_ratio{device="core-1",if_index="15",if_name="Gi1/0/15",'
            'district="ninh-kieu",direction="in"} 0.125') in text
    assert "# TYPE if_traffic_bytes_per_second gauge" in text
    assert ('if_utilisation_threshold_ratio{device="core-1",if_index="15",if_name="Gi1/0/15",'
            'district="ninh-kieu"} 0.7') in text
    assert 'tierwatch_interface_rates_skipped_total{device="core-1",reason="first"} 1.0' in text
    # a failed poll: the device's series, derived ones too, leave /metrics
    state.update(PollResult("core-1", 120, error="timeout"))
    assert not [s for s in state.devices["core-1"].samples if s.name.startswith("if_")]
    await room.stop()


def _lldp(ts: float, rows: list[tuple[str, str, str, str]]) -> PollResult:
    """A poll of sw's LLDP: local port 1 "Gi0/1", and remote rows (index, chassis, name,
    port)."""
    samples = [Sample("lldp_local_port_id_subtype",
                      {"device": "sw", "lldp_port_num": "1", "port_id": "Gi0/1",
                       "port_desc": "Gi0/1"}, 5, ts)]
    for index, chassis, name, port in rows:
        labels = {"device": "sw", "lldp_time_mark": "0", "lldp_port_num": "1",
                  "lldp_rem_index": index, "rem_chassis_id": chassis, "rem_sys_name": name,
                  "rem_port_id": port}
        samples.append(Sample("lldp_remote_chassis_id_subtype", labels, 7, ts))
    return PollResult("sw", ts, samples=samples)


async def test_hostile_neighbour_names() -> None:
    state = State(["sw"])
    binding = PortBinding(subsystem="network", feeder="SW", node="D", device="sw",
                          port="Gi0/1", neighbour="dist-1")
    room = NetHealth(NetHealthConfig(), [binding], {"sw": "sw"})
    rt = Runtime.for_tests(state=state)
    await room.start(rt)
    evil = '<script>alert(1)</script>",x="y'
    state.update(_lldp(1, [("1", "aa", evil, "p"), ("2", "bb", "x" * 300, "p"),
                           ("3", "", "dist-1", "p"), ("x", "cc", "dist-1", "p")]))
    check = room.links()[0]
    # the one well-formed row is the script: it is not dist-1, so the link is missing; the
    # 300-character name, the empty chassis id and the bad index are refused and counted
    assert (check.verdict, check.seen_here) == ("missing", (evil,))
    text = MetricsExporter(state, rt.metrics).render().decode()
    for reason, n in (("bad_sys_name", 1), ("bad_chassis_id", 1), ("bad_index", 1)):
        assert f'tierwatch_lldp_refused_total{{device="sw",reason="{reason}"}} {n}.0' in text
    # the neighbour's words are in no label of ours: only the count per declared port
    assert 'tierwatch_lldp_unexpected_neighbours{device="sw",port="Gi0/1"} 1.0' in text
    ours = [line for line in text.splitlines() if line.startswith("tierwatch_lldp")]
    assert not any("script" in line for line in ours)
    await room.stop()
