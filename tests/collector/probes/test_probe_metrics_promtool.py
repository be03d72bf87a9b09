"""Probe and agent series on a real `tierwatch run`'s /metrics pass `promtool check metrics`."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest

from tests.helpers.agents import run_tierwatch
from tests.helpers.procs import need, wait_for

pytestmark = pytest.mark.integration


def test_probe_series_pass_promtool(tmp_path: Path) -> None:
    promtool = need("promtool")
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        port = server.getsockname()[1]
        config = ("site: {name: T}\n"
                  f"store: {{url: 'sqlite:///{tmp_path}/store.sqlite'}}\n"
                  "probes:\n  interval: 1s\n  timeout: 0.5s\n"
                  "  links: [{id: link-1, checks: [{icmp: 127.0.0.3}]}]\n"
                  f"  sites: [{{id: site-1, checks: [{{tcp: '127.0.0.1:{port}'}}],"
                  " labels: {district: q1}}]\n")
        with run_tierwatch(tmp_path, config) as tw:
            def probed() -> str | None:
                text = tw.metrics_text()
                done = (tw.value("tierwatch_polls_total", device="site-1") or 0) >= 2
                return text if done and "probe_rtt_mean_seconds{" in text else None

            text = wait_for(probed, 20, "two probe rounds of site-1")
    assert "tierwatch_probe_schedule_lag_seconds_bucket{" in text
    check = subprocess.run([promtool, "check", "metrics"], input=text.encode(),
                           capture_output=True)
    assert check.returncode == 0, check.stdout.decode() + check.stderr.decode()
