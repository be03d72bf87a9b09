"""`tierwatch discover` as a person runs it: a config with comments, two real snmpd agents
on loopback addresses (one already configured), a silent address; printed, then written."""

from __future__ import annotations

import json
import random
import subprocess

import pytest

from tests.collector.discovery.test_sweep_agents import free_port_on
from tests.helpers.procs import env_with_repo, tierwatch_cmd
from tests.helpers.snmpd import run_snmpd, snmpd_available

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not snmpd_available(), reason="snmpd not installed")]

CONFIG = """\
# Can Tho DC: the monitor's config (hand-written; comments must survive --write)
site: {{name: "Trung tâm Dữ liệu Cần Thơ", timezone: Asia/Ho_Chi_Minh}}
credentials:
  # the campus community comes from the environment
  campus: {{version: 2c, community: "${{TW_TEST_COMMUNITY}}"}}
devices:
  # core switch, racked in R01
  - {{id: core-1, name: CORE-1, address: "{known}", credentials: campus, profile: auto}}
"""


def discover(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(tierwatch_cmd("discover", *args), capture_output=True, text=True,
                          env=env_with_repo(TW_TEST_COMMUNITY="public"), timeout=120)


def test_discover_prints_then_writes_only_what_is_new(tmp_path):
    net = f"127.{random.randrange(100, 250)}.{random.randrange(1, 250)}"
    hosts = [f"{net}.1", f"{net}.2"]
    port = free_port_on(hosts)
    extra = ["rocommunity public 127.0.0.0/8"]
    with run_snmpd(tmp_path / "a", host=hosts[0], port=port, communities=(),
                   extra_config=[*extra, "sysName core-1.cantho"]), \
         run_snmpd(tmp_path / "b", host=hosts[1], port=port, communities=(),
                   extra_config=[*extra, "sysName srv-log-01"]):
        config = tmp_path / "tierwatch.yaml"
        config.write_text(CONFIG.format(known=f"{hosts[0]}:{port}"), encoding="utf-8")
        args = [f"{net}.1-3", "--port", str(port), "-c", str(config), "--timeout", "0.5",
                "--retries", "0"]
        shown = discover(*args, "--json")
        assert shown.returncode == 0, shown.stderr
        body = json.loads(shown.stdout)
        assert body["counts"] == {"found": 2, "no_answer": 1, "bad_answer": 0, "refused": 0}
        devices = {d["host"]: d for d in body["devices"]}
        assert devices[hosts[0]]["configured"] == "core-1"
        assert devices[hosts[1]]["configured"] is None
        assert devices[hosts[1]]["credentials"] == "campus"
        assert devices[hosts[1]]["profiles"] == ["host-resources", "if-mib"]
        assert body["no_answer"] == [f"{net}.3:{port}"]

        human = discover(*args, "-q")
        assert "swept 3 addresses" in human.stdout
        assert "2 found (1 new)" in human.stdout
        assert f"  {hosts[0]}:{port}  core-1.cantho  [configured as core-1]" in human.stdout
        assert "    profile auto -> host-resources, if-mib" in human.stdout
        assert "Net-SNMP (enterprise 8072)" in human.stdout
        assert f"no answer: {net}.3:{port}" in human.stdout

        written = discover(*args, "-q", "--write")
        assert written.returncode == 0, written.stderr
        assert "added 1 device(s): srv-log-01" in written.stdout
        text = config.read_text(encoding="utf-8")
        original = CONFIG.format(known=f"{hosts[0]}:{port}")
        assert text.startswith(original)  # every line kept as written, comments included
        added = text[len(original):]
        assert "# found by tierwatch discover: Linux" in added
        assert added.splitlines()[1] == (f'  - {{id: "srv-log-01", address: "{hosts[1]}:{port}", '
                                         f'credentials: "campus", profile: "auto"}}')
        check = subprocess.run(tierwatch_cmd("check", "-c", str(config)), capture_output=True,
                               text=True, env=env_with_repo(TW_TEST_COMMUNITY="public"))
        assert check.returncode == 0, check.stderr
        assert "(2 devices, 1 credentials" in check.stdout

        again = discover(*args, "-q", "--write")
        assert "nothing new to add" in again.stdout
        assert config.read_text(encoding="utf-8") == text


def test_bad_ranges_and_missing_credentials_are_errors(tmp_path):
    for args, words in [(["10.0.0.0/33", "--community", "x"], "10.0.0.0/33"),
                        (["10.0.0.0/8", "--community", "x"], "more than 65536"),
                        (["10.0.0.9-10.0.0.1", "--community", "x"], "ends before"),
                        (["127.0.0.1"], "no credentials")]:
        done = discover(*args)
        assert done.returncode == 2, args
        assert words in done.stderr, (args, done.stderr)
