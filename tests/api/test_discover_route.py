"""POST /api/v1/discover: a sweep from the running service, for admins only, bounded, one at
a time, and counted on /metrics. The agent is a real snmpd on a loopback address."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.helpers.api import api_context, demo_like_config, run_instance
from tests.helpers.procs import http_get
from tests.helpers.snmpd import run_snmpd, snmpd_available

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not snmpd_available(), reason="snmpd not installed")]


def test_admins_sweep_from_a_running_service_and_metrics_count_it(tmp_path: Path):
    host = f"127.{random.randrange(100, 250)}.{random.randrange(1, 250)}.1"
    with run_snmpd(tmp_path, host=host, communities=(),
                   extra_config=["rocommunity public 127.0.0.0/8", "sysName api-found"]
                   ) as agent:
        for tw in run_instance(tmp_path, snmp={"discovery": {"allow": [f"{host}/30"]}}):
            body = {"targets": [f"{host}", f"{host.rpartition('.')[0]}.2"],
                    "port": agent.port, "timeout": 0.5, "retries": 0}
            for role in ("viewer", "operator"):
                assert tw.request("POST", "/api/v1/discover", body, role)[0] == 403
            status, report = tw.request("POST", "/api/v1/discover", body, "admin")
            assert status == 200, report
            assert report["counts"] == {"found": 1, "no_answer": 1, "bad_answer": 0,
                                        "refused": 0}
            [device] = report["devices"]
            assert (device["sys_name"], device["credentials"], device["profiles"]) == (
                "api-found", "c", ["host-resources", "if-mib"])
            assert report["by"] == "admin-person"
            metrics = http_get(f"{tw.url}/metrics")[1].decode()
            assert 'tierwatch_discovery_addresses_total{outcome="found"} 1.0' in metrics
            assert 'tierwatch_discovery_addresses_total{outcome="no_answer"} 1.0' in metrics
            assert "tierwatch_discovery_sweeps_total 1.0" in metrics


@pytest.mark.parametrize("body, status, words", [
    ({"targets": ["10.0.0.0/16"]}, 400, "more than 4096"),
    ({"targets": ["192.0.2.1"]}, 400, "192.0.2.1 is outside snmp.discovery.allow (10.0.0.0/8)"),
    ({"targets": ["10.0.0.1", "127.0.0.1-3"]}, 400, "127.0.0.1 (and 2 more) is outside"),
    ({"targets": ["not-an-address"]}, 400, "not an address"),
    ({"targets": ["10.0.0.1"], "credentials": ["nope"]}, 400, "unknown credentials nope"),
    ({"targets": []}, 422, ""),
    ({"targets": ["10.0.0.1"], "extra": 1}, 422, ""),
])
def test_bad_requests_are_refused_before_any_packet(tmp_path: Path, body, status, words):
    config = demo_like_config(tmp_path, snmp={"discovery": {"allow": ["10.0.0.0/8"]}})
    for api in api_context(config):
        answer = api.client.post("/api/v1/discover", json=body, headers=api.auth("admin"))
        assert answer.status_code == status, answer.text
        assert words in answer.text
