"""The live Tier engine end to end: simulator -> tierwatch demo -> a real Prometheus.

A UPS on bypass drops the live power tier within two poll intervals (and `tierwatch whatif`
says "not now" from the live state); clearing it brings the tier back. Both UPSs off for a
known time show as that downtime, within one poll interval, in the availability of the
racks they fed. A cut district trunk takes the single-homed agency site down and leaves the
dual-homed one on one path.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from sim import agent as sim_agent
from tests.helpers.procs import (
    env_with_repo,
    http_json,
    run_demo,
    run_prometheus,
    tierwatch_cmd,
    wait_for,
)

pytestmark = pytest.mark.integration

INTERVAL = 2.0
SCRAPE = 1.0
OUTAGE = 8.0  # seconds both UPSs are off


def report(name: str, value: float) -> None:
    """Measured figures, printed for the log (`pytest -s`), never asserted as timings."""
    print(f"e2e {name}: {value:.2f} s")


def test_live_tier_in_prometheus_whatif_and_measured_downtime(tmp_path: Path) -> None:
    with run_demo(tmp_path, interval=INTERVAL) as demo:
        target = demo.metrics_url.removeprefix("http://").removesuffix("/metrics")
        config = demo.info["config"]
        with run_prometheus(tmp_path, [target], scrape_interval=f"{SCRAPE:g}s") as prom:
            power = 'tierwatch_tier{subsystem="power",kind="%s"}'
            # --- the design: power Tier III; the site held at II by the single-homed sites
            wait_for(
                lambda: prom.value(power % "live") == 3,
                40,
                "the live power tier at III once every device answered",
            )
            assert prom.value(power % "design") == 3
            assert prom.value('tierwatch_tier{subsystem="site",kind="design"}') == 2
            assert prom.value('tierwatch_tier{subsystem="network",kind="design"}') == 2
            assert prom.value('tierwatch_capacity_spare_units{subsystem="power",group="ups"}') == 1
            wait_for(
                lambda: http_json(demo.base_url + "/api/v1/tier")["settled"],
                20,
                "every bound device heard from",
            )

            # --- UPS-B on bypass: the live power tier drops within two poll intervals
            injected = time.monotonic()
            demo.sim("fault", "ups-b", "on-bypass")
            wait_for(
                lambda: prom.value(power % "live") == 1,
                2 * INTERVAL + SCRAPE + 1,
                "the live power tier to drop to I with UPS-B on bypass",
            )
            report("bypass seen in Prometheus after", time.monotonic() - injected)
            assert prom.value(power % "design") == 3
            assert prom.value('tierwatch_capacity_spare_units{subsystem="power",group="ups"}') == 0
            assert prom.value('tierwatch_load_paths{subsystem="power",load="R01",mode="all"}') == 1

            # ... and `whatif` on the live state says why maintenance must wait
            answer = subprocess.run(
                tierwatch_cmd("whatif", "-c", config, "--remove", "UPS-A"),
                env=env_with_repo(),
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert answer.returncode == 3, answer.stderr
            assert answer.stdout.startswith("not now: UPS-B is on bypass"), answer.stdout
            assert "live state from the monitor at" in answer.stderr

            cleared = time.monotonic()
            demo.sim("clear")
            wait_for(
                lambda: prom.value(power % "live") == 3,
                2 * INTERVAL + SCRAPE + 1,
                "the live power tier back at III",
            )
            report("recovery seen in Prometheus after", time.monotonic() - cleared)

            # --- both UPSs off for OUTAGE seconds: the racks are down that long
            def r01_served() -> bool:
                return prom.value('tierwatch_load_served{subsystem="power",load="R01"}') == 1

            wait_for(r01_served, 10, "R01 served before the outage")
            before = time.time()
            sim_agent.inject(demo.run_dir, "ups-a", "off")  # what `sim fault` does, in-process
            sim_agent.inject(demo.run_dir, "ups-b", "off")
            down_at = time.time()
            wait_for(lambda: not r01_served(), 2 * INTERVAL + SCRAPE + 1, "R01 down")
            time.sleep(max(0.0, OUTAGE - (time.time() - down_at)))
            up_at = time.time()
            sim_agent.clear(demo.run_dir)
            injected_length = up_at - down_at
            wait_for(r01_served, 2 * INTERVAL + SCRAPE + 1, "R01 served again")

            def availability() -> dict[str, object] | None:
                body = http_json(
                    f"{demo.base_url}/api/v1/availability?scope=load:R01"
                    f"&start={before:.3f}&end={time.time():.3f}"
                )
                return body if body["events"] and body["events"][0]["end"] else None

            body = wait_for(availability, 10, "the closed R01 outage in the store")
            measured = float(body["downtime_s"])  # type: ignore[arg-type]
            report("outage injected", injected_length)
            report("outage measured", measured)
            assert abs(measured - injected_length) <= INTERVAL, (measured, injected_length)
            (event,) = body["events"]  # type: ignore[misc]
            assert event["cause"] == "no path: UPS-A off, UPS-B off", event
            assert event["planned"] is False
            assert 0 < float(body["availability"]) < 1  # type: ignore[arg-type]
            site = http_json(f"{demo.base_url}/api/v1/availability?scope=site&start={before:.3f}")
            assert float(site["downtime_s"]) >= measured
            wait_for(
                lambda: (
                    (prom.value('tierwatch_availability_ratio{scope="load:R01",window="5m"}') or 1)
                    < 1
                ),
                40,
                "the outage in tierwatch_availability_ratio",
            )

            # --- the dedicated network: the Ninh Kiều trunk is cut
            demo.sim("fault", "core-1", "port-down", "--port", "15")
            site_paths = 'tierwatch_load_paths{subsystem="network",load="%s",mode="all"}'
            wait_for(
                lambda: prom.value(site_paths % "SITE-UBND-TP") == 1,
                2 * INTERVAL + SCRAPE + 1,
                "the dual-homed site down to one path",
            )
            assert prom.value('tierwatch_load_served{subsystem="network",load="SITE-P-ANHOA"}') == 0
            tier = http_json(demo.base_url + "/api/v1/tier")
            assert tier["statuses"]["D-NINHKIEU"] == "failed"
            demo.sim("clear")
            wait_for(
                lambda: prom.value(site_paths % "SITE-UBND-TP") == 2,
                2 * INTERVAL + SCRAPE + 1,
                "both paths back",
            )
            outages = http_json(
                f"{demo.base_url}/api/v1/availability?scope=network&start={before:.3f}"
            )["events"]
            assert [e["load"] for e in outages] == ["SITE-P-ANHOA"]
            assert outages[0]["cause"] == "no path: D-NINHKIEU failed"
            print(json.dumps(outages, ensure_ascii=False))
