"""A running `tierwatch run`: its guard on writes and reads over real HTTP, and the
`score` command reading its live state with a token."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.api import Instance, run_instance
from tests.helpers.procs import env_with_repo, tierwatch_cmd, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[Instance]:
    yield from run_instance(tmp_path)


def test_writes_need_a_token_and_the_role(instance: Instance) -> None:
    window = {"title": "x", "start": "2026-12-01T22:00:00+07:00",
              "end": "2026-12-01T23:00:00+07:00", "scope": {"devices": ["ups-b"]}}
    status, body = instance.request("POST", "/api/v1/maintenance", window)
    assert status == 401 and body["status"] == 401
    status, body = instance.request("POST", "/api/v1/reports", {"month": "2026-10"},
                                    role="operator")
    assert status == 403
    assert body["message"] == "this needs the admin role; the token has operator"
    status, _ = instance.request("POST", "/api/v1/maintenance", window, role="operator")
    assert status == 201
    status, body = instance.request("GET", "/api/v1/devices/no-such-device", role="viewer")
    assert (status, body["status"]) == (404, 404)


def test_reads_need_a_token(instance: Instance) -> None:
    status, body = instance.request("GET", "/api/v1/devices")
    assert (status, body["status"]) == (401, 401)
    status, body = instance.request("GET", "/api/v1/devices", role="viewer")
    assert status == 200 and body["total"] == 3


def test_score_reads_the_live_state_with_a_token(instance: Instance) -> None:
    def scored() -> bool:
        return instance.request("GET", "/api/v1/tier", role="viewer")[0] == 200

    wait_for(scored, 30, "the live tier's first score")
    cmd = tierwatch_cmd("score", "-c", str(instance.config_path), "--server", instance.url,
                        "--json")
    without = subprocess.run(cmd, env=env_with_repo(), capture_output=True, text=True,
                             timeout=60)
    assert without.returncode == 0 and "answered 401" in without.stderr
    token = instance.tokens["viewer"]
    done = subprocess.run(cmd, env=env_with_repo(TIERWATCH_TOKEN=token), capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "live state from the monitor" in done.stderr
    assert token not in done.stderr + done.stdout


def test_login_is_taken_only_from_this_sites_pages(instance: Instance) -> None:
    """Login CSRF on the real server: a form posted from another site's page is refused
    (403, no cookie, counted); the same form from the status page signs in."""
    import httpx

    from tests.helpers.agents import sample_value

    form = {"token": instance.tokens["viewer"]}
    with httpx.Client(base_url=instance.url, follow_redirects=False, timeout=30) as browser:
        forged = browser.post("/login", data=form, headers={
            "Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"})
        assert forged.status_code == 403 and "set-cookie" not in forged.headers
        assert browser.get("/").status_code == 303  # not signed in
        metrics = browser.get("/metrics").text
        assert sample_value(metrics, "tierwatch_http_refused_total", reason="cross_site") == 1
        own = browser.post("/login", data=form, headers={
            "Origin": instance.url, "Sec-Fetch-Site": "same-origin"})
        assert own.status_code == 303 and own.cookies.get("tierwatch_token")
        assert browser.get("/").status_code == 200  # the cookie reads the page
        forged_out = browser.post("/logout", headers={"Origin": "https://evil.example"})
        assert forged_out.status_code == 403
        assert browser.get("/").status_code == 200  # still signed in
        out = browser.post("/logout", headers={"Origin": instance.url})
        assert out.status_code == 303
        assert browser.get("/").status_code == 303
