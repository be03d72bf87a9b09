"""The InfluxDB exporter against a real line-protocol server (VictoriaMetrics).

No InfluxDB 2.x server can be installed here; VictoriaMetrics accepts influxdb-client's
writes at /api/v2/write and stores `measurement field=v` as `measurement_field`, which is
read back through its export API.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from exporters.influx import InfluxExporter
from exporters.influx_config import InfluxConfig
from tests.helpers.procs import wait_for
from tests.helpers.simulator import run_simulator, run_tierwatch
from tests.helpers.victoria import Victoria, run_victoria
from tierwatch.core.model import PollResult, Sample
from tierwatch.core.runtime import Runtime

pytestmark = pytest.mark.integration

DEVICES = 20
PER_DEVICE = 10


def section(url: str, tmp: Path) -> InfluxConfig:
    return InfluxConfig.model_validate({
        "url": url, "org": "city", "bucket": "tierwatch", "batch_size": 500,
        "flush_interval": "200ms", "string_fields": False, "tags": {"site": "test-dc"},
        "retry": {"initial": "100ms", "max": "500ms"},
        "buffer": {"path": str(tmp / "influx-buffer.sqlite"), "max_size": "50MB"}})


def poll_round(ts: float, round_no: int) -> list[PollResult]:
    """One poll of every device: values that say which round and series they belong to."""
    out = []
    for d in range(DEVICES):
        device = f"pdu-{d:02d}"
        samples = [Sample("pdu_phase_current_amperes",
                          {"device": device, "phase": str(p), "room": "phòng máy 1"},
                          round(round_no + d / 100 + p / 10_000, 4), ts)
                   for p in range(PER_DEVICE)]
        out.append(PollResult(device, ts, samples=samples))
    return out


def stored(vm: Victoria) -> set[tuple[str, str, int, float]]:
    got = set()
    for series in vm.export('pdu_phase_current_amperes_value{site="test-dc"}'):
        m = series["metric"]
        assert m["room"] == "phòng máy 1"  # tags with spaces and Vietnamese come back intact
        for ts, value in zip(series["timestamps"], series["values"], strict=True):
            got.add((m["device"], m["phase"], ts, value))
    return got


def expected(rounds: list[tuple[float, int]]) -> set[tuple[str, str, int, float]]:
    return {(s.labels["device"], s.labels["phase"], round(ts * 1000), s.value)
            for ts, n in rounds for r in poll_round(ts, n) for s in r.samples}


def metric(ex: InfluxExporter) -> dict[str, Any]:
    return {"written": ex.counters.written, "errors": ex.counters.errors,
            "dropped": dict(ex.counters.dropped or {}), "buffered": ex.buffered_points}


async def test_an_outage_of_the_database_loses_no_point(tmp_path: Path) -> None:
    base = time.time() - 3600
    rounds: list[tuple[float, int]] = []

    def feed(ex: InfluxExporter, count: int) -> None:
        for _ in range(count):
            n = len(rounds)
            ts = base + n * 5
            rounds.append((ts, n))
            for result in poll_round(ts, n):
                ex.on_result(result)

    with run_victoria(tmp_path) as vm:
        ex = InfluxExporter(section(vm.url, tmp_path))
        await ex.start(Runtime.for_tests())
        try:
            feed(ex, 10)
            started = time.monotonic()
            await ex.flush()
            rate = 10 * DEVICES * PER_DEVICE / (time.monotonic() - started)
            assert stored(vm) == expected(rounds)

            vm.stop()  # the database goes away ...
            feed(ex, 10)
            # the writer tries on its own, fails, seals the batch to disk, backs off and
            # tries again: wait for the second failure, not for a guessed time
            deadline = time.monotonic() + 30
            while ex.counters.errors < 2 and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            feed(ex, 10)
            await ex.flush()
            during = metric(ex)
            assert during["errors"] >= 2
            assert during["buffered"] == 20 * DEVICES * PER_DEVICE
        finally:
            await ex.stop()

        # ... tierwatch restarts during the outage; the buffer is on disk
        ex = InfluxExporter(section(vm.url, tmp_path))
        await ex.start(Runtime.for_tests())
        try:
            assert ex.buffered_points == 20 * DEVICES * PER_DEVICE
            feed(ex, 5)
            await ex.flush()
            vm.start()  # ... and comes back
            await asyncio.to_thread(wait_for, lambda: ex.buffered_points == 0, 30,
                                    "the buffer to drain")
            assert stored(vm) == expected(rounds)
            assert sum((ex.counters.dropped or {}).values()) == 0
        finally:
            await ex.stop()
    print(f"\ninflux: {rate:.0f} points/s into VictoriaMetrics; during the outage "
          f"{during['buffered']} points buffered, {during['errors']} failed writes; "
          f"all {len(expected(rounds))} points arrived")


def test_tierwatch_run_writes_samples_statuses_and_counts_itself(tmp_path: Path) -> None:
    with run_victoria(tmp_path) as vm, run_simulator(tmp_path) as sim:
        config = sim.config(2.0, f"sqlite:///{tmp_path / 'tw.sqlite'}", influx={
            "url": vm.url, "org": "city", "bucket": "tierwatch", "token": "${TW_TEST_TOKEN}",
            "flush_interval": "500ms", "string_fields": False, "tags": {"site": "demo"},
            "buffer": {"path": str(tmp_path / "buffer.sqlite")}})
        with run_tierwatch(tmp_path, "tw", config, env={"TW_TEST_TOKEN": "t0ken"}) as tw:
            def written() -> bool:
                return bool(vm.export('ups_battery_charge_ratio_value{device="ups-a"}'))

            wait_for(written, 30, "ups-a's battery charge in VictoriaMetrics")
            status = vm.export('tierwatch_component_status_code{device="ups-a",component="ups"}')
            assert status and status[0]["metric"]["status"] == "ok"
            assert status[0]["values"][-1] == 0
            assert status[0]["metric"]["site"] == "demo"

            def counted() -> bool:
                text = tw.metrics()
                return any(line.startswith('tierwatch_export_points_total{exporter="influx"}')
                           and float(line.split()[-1]) > 0 for line in text.splitlines())

            wait_for(counted, 10, "tierwatch_export_points_total > 0 on /metrics")

            # the demo's topology, scored live: tier snapshots go to the database too
            def tier_written() -> list[dict[str, Any]]:
                return vm.export('{__name__=~"tierwatch_tier_(design|live)", subsystem="power"}')

            tiers = wait_for(tier_written, 30, "tier snapshots in VictoriaMetrics")
            assert {s["metric"]["__name__"] for s in tiers} == {"tierwatch_tier_design",
                                                               "tierwatch_tier_live"}
            assert all(s["values"][-1] == 3 for s in tiers)  # the demo's power is Tier III
            assert vm.export("tierwatch_readiness_score")
            assert "t0ken" not in tw.log.read_text()
