"""The demo end to end: simulator -> tierwatch -> a real Prometheus scraping it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.helpers.procs import http_get, need, run_demo, run_prometheus, wait_for

pytestmark = pytest.mark.integration

INTERVAL = 2.0


def test_prometheus_sees_ups_series_and_every_device_and_a_fault(tmp_path: Path) -> None:
    with run_demo(tmp_path, interval=INTERVAL) as demo:
        devices = sorted(demo.info["devices"])
        target = demo.metrics_url.removeprefix("http://").removesuffix("/metrics")
        with run_prometheus(tmp_path, [target]) as prom:
            def all_up() -> bool:
                series = prom.query("tierwatch_device_up == 1")
                return sorted(s["metric"]["device"] for s in series) == devices

            wait_for(all_up, 40, "tierwatch_device_up == 1 for every simulated device")
            for name in ("ups_battery_charge_ratio", "ups_battery_runtime_seconds",
                         "ups_output_load_ratio"):
                found = {s["metric"]["device"] for s in prom.query(name)}
                assert {"ups-a", "ups-b"} <= found, (name, found)

            demo.sim("fault", "ups-a", "on-battery")
            # the status must move within two poll intervals (plus Prometheus' 1 s scrape)
            wait_for(lambda: prom.value('tierwatch_component_status{device="ups-a",'
                                        'component="ups",status="degraded"}') == 1,
                     2 * INTERVAL + 2, "ups-a to turn degraded after on-battery")
            assert prom.value('ups_output_source{device="ups-a",state="battery"}') == 1
            assert prom.value('tierwatch_component_status{device="ups-b",'
                              'component="ups",status="ok"}') == 1

            demo.sim("clear")
            wait_for(lambda: prom.value('tierwatch_component_status{device="ups-a",'
                                        'component="ups",status="ok"}') == 1,
                     2 * INTERVAL + 2, "ups-a to return to ok after clear")


def test_demo_metrics_pass_promtool(tmp_path: Path) -> None:
    promtool = need("promtool")
    with run_demo(tmp_path, interval=INTERVAL) as demo:
        def polled() -> bytes | None:
            status, body = http_get(demo.metrics_url)
            return body if status == 200 and b"ups_battery_charge_ratio" in body else None

        body = wait_for(polled, 30, "device samples on /metrics")
        check = subprocess.run([promtool, "check", "metrics"], input=body,
                               capture_output=True)
        # promtool also lints names (units, _total, snake_case labels): keep it clean
        assert check.returncode == 0, check.stdout.decode() + check.stderr.decode()
        # ready once every device has been polled at least once
        wait_for(lambda: http_get(demo.base_url + "/readyz")[0] == 200, 3 * INTERVAL,
                 "/readyz to answer 200 after the first poll round")
