"""Interface rates reach the long-term database: the room derives them from two polls, the
state keeps them as the device's series, and the InfluxDB exporter writes them with the
poll's own samples, into a real line-protocol server (VictoriaMetrics)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from exporters.influx import InfluxExporter
from exporters.influx_config import InfluxConfig
from nethealth.component import NetHealth
from nethealth.config import NetHealthConfig
from tests.helpers.victoria import run_victoria
from tierwatch.core.model import PollResult, Sample
from tierwatch.core.runtime import Runtime
from tierwatch.core.state import State

pytestmark = pytest.mark.integration

PORT = {"device": "core-1", "if_index": "15", "if_name": "Gi1/0/15"}


def _poll(ts: float, uptime: float, octets_in: int, errors_in: int) -> PollResult:
    return PollResult("core-1", ts, samples=[
        Sample("snmp_uptime_seconds", {"device": "core-1"}, uptime, ts),
        Sample("if_hc_in_octets_total", PORT, octets_in, ts),
        Sample("if_in_errors_total", PORT, errors_in, ts),
        Sample("if_speed_bytes", PORT, 125_000_000, ts)])


async def test_rates_are_written_to_the_database_with_the_counters(tmp_path: Path) -> None:
    base = round(time.time()) - 600  # within the database's retention
    state = State(["core-1"])
    rt = Runtime.for_tests(state=state)
    with run_victoria(tmp_path) as vm:
        room = NetHealth(NetHealthConfig())
        influx = InfluxExporter(InfluxConfig.model_validate({
            "url": vm.url, "org": "city", "bucket": "tierwatch", "string_fields": False,
            "flush_interval": "1h", "write": {"statuses": False, "tier": False},
            "buffer": {"path": str(tmp_path / "buffer.sqlite")}}))
        # the service's start order: the room subscribes before the exporter
        await room.start(rt)
        await influx.start(rt)
        try:
            state.update(_poll(base, 1000, 0, 0))
            state.update(_poll(base + 60, 1060, 937_500_000, 30))
            await influx.flush()
        finally:
            await influx.stop()
            await room.stop()
        # 937,500,000 octets in 60 s: 15,625,000 B/s, 0.125 of 125,000,000 B/s (1 Gbit/s);
        # 30 errors in 60 s: 0.5 per second. Written at the second poll's time.
        expected = {
            "if_traffic_bytes_per_second_value": 15_625_000.0,
            "if_utilisation_ratio_value": 0.125,
            "if_errors_per_second_value": 0.5,
        }
        for name, value in expected.items():
            (series,) = vm.export(f'{name}{{device="core-1",direction="in"}}')
            assert series["metric"]["if_name"] == "Gi1/0/15"
            assert (series["timestamps"], series["values"]) == ([(base + 60) * 1000], [value])
        # the counters themselves, both polls
        (octets,) = vm.export('if_hc_in_octets_total_value{device="core-1"}')
        assert octets["values"] == [0.0, 937_500_000.0]
