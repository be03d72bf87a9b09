"""A real node_exporter, scraped by a real `tierwatch run`: host metrics and the host's
status on tierwatch's /metrics, hardware health changing it, and the host going away.

Test machines have no hwmon chips, so the test gives node_exporter a CPU temperature
sensor through its textfile collector, in the names its hwmon collector writes.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.helpers.agents import run_node_exporter, run_tierwatch, sample_value
from tests.helpers.procs import need, wait_for
from tierwatch.core.store import Store

pytestmark = pytest.mark.integration


def hwmon(temp: float) -> str:
    labels = 'chip="platform_coretemp_0",sensor="temp1"'
    return (f"# TYPE node_hwmon_temp_celsius gauge\nnode_hwmon_temp_celsius{{{labels}}} {temp}\n"
            f"# TYPE node_hwmon_temp_max_celsius gauge\n"
            f"node_hwmon_temp_max_celsius{{{labels}}} 84\n"
            f"# TYPE node_hwmon_temp_crit_celsius gauge\n"
            f"node_hwmon_temp_crit_celsius{{{labels}}} 100\n")


def proc_value(path: str, key: str) -> int:
    for line in Path(path).read_text().splitlines():
        parts = line.replace(":", " ").split()
        if parts and parts[0] == key:
            return int(parts[1])
    raise AssertionError(f"{key} not in {path}")


def _host_status_now() -> str | None:
    """What the node-exporter profile should say of this machine now: degraded when its
    15-minute load is above 4 per CPU or under 5 % of memory is free; None too close to the
    load threshold to tell (the load moves between the scrape and this read)."""
    load15 = float(Path("/proc/loadavg").read_text().split()[2]) / (os.cpu_count() or 1)
    free = proc_value("/proc/meminfo", "MemAvailable") / proc_value("/proc/meminfo",
                                                                     "MemTotal")
    if abs(load15 - 4) < 0.25:
        return None
    return "degraded" if load15 > 4 or free < 0.05 else "ok"


def test_tierwatch_scrapes_a_real_node_exporter(tmp_path: Path) -> None:
    promtool = need("promtool")
    store = f"sqlite:///{tmp_path}/store.sqlite"
    with run_node_exporter(tmp_path) as ne:
        ne.write_textfile("hwmon", hwmon(45))
        config = ("site: {name: Trung tâm dữ liệu}\n"
                  f"store: {{url: '{store}'}}\n"
                  "agents:\n  interval: 1s\n  timeout: 3s\n  unreachable_after: 2\n"
                  f"  hosts:\n    - {{id: db-01, url: '{ne.url}', profile: node-exporter,"
                  " labels: {rack: R07}}\n")
        with run_tierwatch(tmp_path, config) as tw:
            def scraped() -> str | None:
                text = tw.metrics_text()
                return text if sample_value(text, "host_hwmon_temp_celsius", device="db-01",
                                            rack="R07") is not None else None

            text = wait_for(scraped, 20, "db-01 scraped")
            # the host's own status follows this machine's load (the profile: degraded above
            # 4 per CPU over 15 minutes), read here from /proc, not from tierwatch
            host_status = _host_status_now()
            if host_status is not None:
                assert sample_value(text, "tierwatch_component_status", device="db-01",
                                    component="host", status=host_status) == 1
            host = {"device": "db-01", "rack": "R07"}
            assert sample_value(text, "tierwatch_device_up", device="db-01") == 1
            assert sample_value(text, "host_cpus", **host) == os.cpu_count()
            assert sample_value(text, "host_memory_size_bytes", **host) == \
                proc_value("/proc/meminfo", "MemTotal") * 1024
            assert sample_value(text, "host_boot_time_seconds", **host) == \
                proc_value("/proc/stat", "btime")
            assert sample_value(text, "host_filesystem_size_bytes", mountpoint="/", **host)
            assert 0 < sample_value(text, "host_memory_available_ratio", **host) <= 1
            assert sample_value(text, "host_cpu_seconds_total", mode="idle", **host) > 0
            assert sample_value(text, "host_hwmon_temp_celsius", **host) == 45
            sensor = "sensor platform_coretemp_0 temp1"
            assert sample_value(text, "tierwatch_component_status", device="db-01",
                                component=sensor, status="ok") == 1
            assert sample_value(text, "tierwatch_agent_series_scraped", device="db-01") > 100
            # nothing of node_exporter's own names leaks through
            assert "\nnode_" not in text and "\ngo_" not in text

            check = subprocess.run([promtool, "check", "metrics"], input=text.encode(),
                                   capture_output=True)
            assert check.returncode == 0, check.stdout.decode() + check.stderr.decode()

            # the CPU reaches its critical temperature: the sensor and the host turn degraded
            ne.write_textfile("hwmon", hwmon(101))
            wait_for(lambda: tw.value("tierwatch_component_status", device="db-01",
                                      component=sensor, status="degraded") == 1,
                     15, "the overheating sensor to turn degraded")
            assert tw.value("tierwatch_device_status", device="db-01", status="degraded") == 1

    # node_exporter has stopped: a new tierwatch finds db-01 unreachable after 2 failures
    with run_tierwatch(tmp_path, config, name="tierwatch-2") as tw:
        wait_for(lambda: (tw.value("tierwatch_poll_errors_total", device="db-01",
                                   reason="connect") or 0) >= 2,
                 20, "two failed scrapes of db-01 once its agent stopped")
        assert tw.value("tierwatch_device_up", device="db-01") == 0
        assert tw.value("tierwatch_device_status", device="db-01", status="unknown") == 1
    outages = Store.open(store).open_outages("device")
    assert [o.subject for o in outages] == ["db-01"]
