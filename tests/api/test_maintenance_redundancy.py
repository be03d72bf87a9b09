"""Maintenance against redundancy, through the API of a real running tierwatch polling the
simulated data center (sim/demo.yaml).

The demo's racks R01..R06 are all fed through PDU-1A/PDU-1B (or their rack PDUs) from UPS-A
on path A and UPS-B on path B, and from nothing else. With UPS-B on bypass (not available:
TIER-MODEL "Inputs") taking UPS-A out leaves every rack without a path: a window for UPS-A
must be refused, naming R01, R02, R03, R04, R05 and R06. With both UPSs healthy the same
window drops nothing but leaves the UPS group at N: the power tier falls from III to I and
the site's live tier (the lowest subsystem; the network is Tier II by design) from 2 to 1.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from api.tokens import create_token
from tests.helpers.procs import env_with_repo, http_get, tierwatch_cmd, wait_for
from tests.helpers.simulator import run_simulator, run_tierwatch
from tierwatch.core.store import Store

pytestmark = pytest.mark.integration

RACKS = ["R01", "R02", "R03", "R04", "R05", "R06"]


def _request(base: str, method: str, path: str, token: str | None, body: object = None
             ) -> tuple[int, dict]:
    import urllib.error
    import urllib.request

    req = urllib.request.Request(base + path, method=method,
                                 data=None if body is None else json.dumps(body).encode())
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def _live_power_tier(base: str) -> int | None:
    status, body = http_get(f"{base}/metrics")
    if status != 200:
        return None
    for line in body.decode().splitlines():
        if line.startswith('tierwatch_tier{') and 'subsystem="power"' in line \
                and 'kind="live"' in line:
            return int(float(line.rsplit(" ", 1)[1]))
    return None


def test_a_window_that_would_drop_racks_is_refused_then_paged(tmp_path: Path) -> None:
    store_url = f"sqlite:///{tmp_path / 'tw.sqlite'}"
    store = Store.open(store_url)
    tokens = {role: create_token(store, f"{role}-person", role, time.time())[1]
              for role in ("operator", "admin")}
    store.close()
    with run_simulator(tmp_path) as sim:
        config = sim.config(1.0, store_url)
        config["alerts"] = {"evaluate_every": "1s"}
        with run_tierwatch(tmp_path, "tw", config) as tw:
            base = tw.base_url
            wait_for(lambda: _live_power_tier(base) == 3, 60, "the live power tier III")
            window = {"title": "Thay ắc quy UPS-A", "start": time.time() + 3600,
                      "end": time.time() + 7200, "scope": {"devices": ["UPS-A"]}}

            # both UPSs healthy: booked, with a warning that the live tier falls
            status, body = _request(base, "POST", "/api/v1/maintenance", tokens["operator"],
                                    window)
            assert status == 201, body
            assert body["check"]["dropped"] == []
            assert body["check"]["nodes"] == ["UPS-A"]
            assert "the window would lower the live tier from 2 to 1" in body["warnings"]

            sim.sim("fault", "ups-b", "on-bypass")
            wait_for(lambda: _live_power_tier(base) == 1, 60, "UPS-B on bypass to be scored")

            status, body = _request(base, "POST", "/api/v1/maintenance", tokens["operator"],
                                    window)
            assert status == 409, body
            assert [e["location"] for e in body["errors"]] == [f"loads.{r}" for r in RACKS]
            assert body["message"] == (
                "taking UPS-A out of service now would drop R01, R02, R03, R04, R05, R06 "
                "(out of service already: UPS-B); an admin may book it with force")

            # the CLI asks the running monitor for its live state and refuses the same way
            cli = subprocess.run(tierwatch_cmd(
                "maintenance", "add", "-c", str(tw.config_path), "--title", "UPS-A",
                "--start", str(time.time() + 3600), "--duration", "1h", "--device", "UPS-A",
                "--by", "an.nguyen", "--server", base), env=env_with_repo(),
                capture_output=True, text=True, check=False)
            assert cli.returncode == 3, cli.stderr
            assert ("error: taking UPS-A out of service now would drop R01, R02, R03, R04, "
                    "R05, R06 (out of service already: UPS-B); book it anyway with --force"
                    ) in cli.stderr

            # force is an admin's
            status, body = _request(base, "POST", "/api/v1/maintenance", tokens["operator"],
                                    {**window, "force": True})
            assert status == 403, body

            # an admin books one that starts in a moment: booked with the refusal as a
            # warning; when it starts, the check runs again and on-call staff are paged
            soon = {**window, "title": "Thay ắc quy UPS-A (gấp)", "start": time.time() + 2,
                    "force": True}
            status, body = _request(base, "POST", "/api/v1/maintenance", tokens["admin"], soon)
            assert status == 201, body
            assert body["warnings"][0].startswith("forced: taking UPS-A out of service now "
                                                  "would drop R01")
            window_id = body["id"]

            def paged() -> list[dict] | None:
                status, page = _request(base, "GET", "/api/v1/alerts", tokens["operator"])
                found = [a for a in page["items"] if a["name"] == "MaintenanceWouldDropLoad"
                         and a["state"] == "firing"] if status == 200 else []
                return found if len(found) == len(RACKS) else None

            firing = wait_for(paged, 60, "MaintenanceWouldDropLoad for each rack")
            assert sorted(a["labels"]["load"] for a in firing) == RACKS
            assert {a["labels"]["window"] for a in firing} == {str(window_id)}
            assert all(a["muted"] is None for a in firing), "the window must not mute it"
            metrics = http_get(f"{base}/metrics")[1].decode()
            assert (f'tierwatch_maintenance_load_at_risk{{load="R01",title="Thay ắc quy UPS-A '
                    f'(gấp)",window="{window_id}"}} 1.0') in metrics
