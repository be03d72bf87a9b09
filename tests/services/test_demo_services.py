"""`make demo` with the city's services: the status page (in headless Chromium) shows the
services and their certificates; a fault injected with `tierwatch sim fault` takes a service
down, gives it a certificate with 5 days left; cutting a district trunk shows which agencies
lost which services (GET /api/v1/services)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.helpers.browser import dump_dom, screenshot
from tests.helpers.procs import http_json, run_demo, wait_for

pytestmark = pytest.mark.integration


def _artifact(path: Path) -> None:
    target = os.environ.get("TIERWATCH_ARTIFACTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(target) / path.name)


def health(body: dict[str, Any]) -> dict[str, str]:
    return {s["id"]: s["health"] for s in body["services"]}


def test_the_demo_s_services_on_the_status_page_and_their_faults(tmp_path: Path) -> None:
    with run_demo(tmp_path, interval=1.0) as demo:
        base = demo.base_url

        def all_up() -> dict[str, Any] | None:
            body = http_json(f"{base}/api/v1/services")
            return body if set(health(body).values()) == {"up"} else None

        body = wait_for(all_up, 60, "every demo service up")
        assert set(health(body)) == {"dns", "portal", "docs", "mail", "video"}
        certs = {c["endpoint"].split(":")[0]: c for c in body["certificates"]}
        assert set(certs) == {"dichvucong.thanhpho.test", "vanban.thanhpho.test",
                              "mail.thanhpho.test"}
        assert all(364 < c["days_left"] <= 365 for c in certs.values())

        dom = dump_dom(f"{base}/?lang=en")
        assert "E-government services" in dom
        assert 'id="service-portal" data-health="up"' in dom
        assert 'id="certificates"' in dom
        shot = screenshot(f"{base}/?lang=vi", tmp_path / "status-services.png", 1280, 2400)
        _artifact(shot)
        image = Image.open(shot).convert("L")
        assert sum(image.histogram()[:200]) > 0.02 * image.width * image.height  # not blank

        demo.sim("fault", "portal-web", "failing")
        wait_for(lambda: health(http_json(f"{base}/api/v1/services"))["portal"] == "down",
                 30, "the portal down")
        demo.sim("fault", "portal-web", "expiring")  # the latest fault wins: 5 days left

        def expiring() -> bool:
            body = http_json(f"{base}/api/v1/services")
            portal = [c for c in body["certificates"]
                      if c["endpoint"].startswith("dichvucong.")]
            return health(body)["portal"] == "up" and any(
                4.9 < c["days_left"] <= 5.0 for c in portal)

        wait_for(expiring, 30, "the portal back with a certificate of 5 days")
        dom = dump_dom(f"{base}/?lang=en")
        assert 'data-days-left="5"' in dom
        demo.sim("clear", "portal-web")

        # the trunk to Ninh Kiều district: UBND phường An Hòa sits behind it alone
        demo.sim("fault", "core-1", "port-down", "--port", "15")

        def cut_off() -> dict[str, Any] | None:
            body = http_json(f"{base}/api/v1/services")
            agencies = {a["id"]: a for a in body["agencies"]}
            lost = [r for r in agencies["ubnd-p-anhoa"]["services"] if r["reachable"] is False]
            return agencies if len(lost) == 4 else None

        agencies = wait_for(cut_off, 60, "An Hòa cut off")
        assert all(r["cause"].startswith("network: SITE-P-ANHOA not served")
                   for r in agencies["ubnd-p-anhoa"]["services"])
        assert all(r["reachable"] for r in agencies["ubnd-tp"]["services"])  # two paths
        dom = dump_dom(f"{base}/?lang=en")
        assert "UBND phường An Hòa" in dom
