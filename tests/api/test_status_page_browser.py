"""The status page of a running demo in a real browser (headless Chromium): it shows the
live tier, and after a fault is injected a reload shows the change.

The screenshot is kept as an artifact: in $TIERWATCH_ARTIFACTS when set (CI uploads it),
else in the test's temporary directory.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from PIL import Image

from tests.helpers.browser import dump_dom, screenshot
from tests.helpers.procs import http_json, run_demo, wait_for

pytestmark = pytest.mark.integration


def _tiers(dom: str) -> dict[str, str]:
    found = {"site": re.search(r'id="site-live-tier"[^>]*data-tier="(\d)"', dom)}
    for sub in ("power", "cooling", "network"):
        found[sub] = re.search(rf'id="subsystem-{sub}" data-live-tier="(\d)"', dom)
    return {k: m.group(1) for k, m in found.items() if m}


def _artifact(path: Path) -> None:
    target = os.environ.get("TIERWATCH_ARTIFACTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(target) / path.name)


def test_status_page_in_a_browser_follows_a_fault(tmp_path: Path) -> None:
    with run_demo(tmp_path, interval=1.0) as demo:
        base = demo.base_url

        def settled() -> bool:
            tier = http_json(f"{base}/api/v1/tier")
            return bool(tier.get("settled"))

        wait_for(settled, 60, "the live tier to settle")
        before = dump_dom(f"{base}/?lang=en")
        tiers = _tiers(before)
        assert tiers["power"] == "3", tiers  # the demo's power is Tier III, live and design
        assert tiers["site"] == "2", tiers  # single-path agency sites keep the network at II
        assert "Tier III status" in before and "Single points of failure" in before

        shot = screenshot(f"{base}/?lang=vi", tmp_path / "status-page.png", 1280, 1400)
        _artifact(shot)
        image = Image.open(shot).convert("L")
        histogram = image.histogram()
        assert sum(histogram[:200]) > 0.02 * image.width * image.height  # not blank

        demo.sim("fault", "ups-b", "on-bypass")

        def power_tier_one() -> bool:
            tier = http_json(f"{base}/api/v1/tier")
            return tier["snapshot"]["subsystems"]["power"]["live_tier"] == 1

        wait_for(power_tier_one, 60, "the live tier to see UPS-B on bypass")
        after = dump_dom(f"{base}/?lang=en")
        tiers = _tiers(after)
        assert (tiers["power"], tiers["site"]) == ("1", "1"), tiers
        assert re.search(r"UPS-B</strong> <span class=\"badge s-bypass\">on bypass", after)
        assert 'id="device-ups-b" data-status="failed"' in after

        demo.sim("clear")
        wait_for(lambda: http_json(f"{base}/api/v1/tier")["snapshot"]["subsystems"]["power"][
            "live_tier"] == 3, 60, "the fault to clear")
        assert _tiers(dump_dom(f"{base}/?lang=en"))["power"] == "3"
