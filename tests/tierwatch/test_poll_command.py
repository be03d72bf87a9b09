"""`tierwatch poll` without a config, against a real snmpd: the native engine by default,
`--profile auto` (the default) picking the profiles by sysObjectID as a config's
`profile: auto` does; and an engine that cannot be imported named with its extra, by `poll`
and by `check`."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.procs import ROOT, env_with_repo
from tests.helpers.snmpd import Agent, SnmpdUser, run_snmpd, snmpd_available

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not snmpd_available(), reason="needs Net-SNMP snmpd")]

SYS_NAME = "1.3.6.1.2.1.1.5.0"
IF_DESCR = "1.3.6.1.2.1.2.2.1.2"


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Agent]:
    users = [SnmpdUser("ops", "SHA", "authpass123", "AES", "privpass123")]
    with run_snmpd(tmp_path_factory.mktemp("snmpd"), communities=["public"],
                   users=users) as running:
        yield running


def tierwatch(*args: str, block: str = "") -> subprocess.CompletedProcess[str]:
    """The CLI in a subprocess; `block` names a module that cannot be imported there."""
    prelude = f"import sys; sys.modules[{block!r}] = None; " if block else "import sys; "
    code = prelude + ("from tierwatch.cli import main; "
                      "sys.argv = ['tierwatch', *sys.argv[1:]]; main()")
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          env=env_with_repo(), cwd=ROOT, timeout=120)


def test_poll_auto_needs_no_config_and_uses_the_native_engine(agent: Agent) -> None:
    run = tierwatch("poll", f"udp://{agent.host}:{agent.port}", "--json")
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["error"] is None and result["status"] == "ok"
    names = {s["name"] for s in result["samples"]}
    # Net-SNMP's sysObjectID 1.3.6.1.4.1.8072.3.2.10 selects host-resources and if-mib,
    # which include the system profile: its info series carries sysName as snmpget reads it
    ((_, sys_name, _),) = agent.get_cli([SYS_NAME], "2c")
    assert isinstance(sys_name, bytes)
    info = [s for s in result["samples"] if s["name"] == "snmp_system_info"]
    assert info and info[0]["labels"]["sys_name"] == sys_name.decode()
    interfaces = {row[0].rsplit(".", 1)[1] for row in agent.walk_cli(IF_DESCR, "2c")}
    oper = [s for s in result["samples"] if s["name"] == "if_oper_status"]
    assert {s["labels"]["if_index"] for s in oper} == interfaces
    assert "host_processes" in names  # host-resources: hrSystemProcesses


def test_poll_v3_authpriv_without_config(agent: Agent) -> None:
    run = tierwatch("poll", f"udp://{agent.host}:{agent.port}", "--json", "--version", "3",
                    "--user", "ops", "--auth-protocol", "SHA", "--auth-key", "authpass123",
                    "--priv-protocol", "AES", "--priv-key", "privpass123")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["status"] == "ok"


def test_an_engine_that_cannot_be_imported_is_named_with_its_extra(agent: Agent,
                                                                  tmp_path: Path) -> None:
    run = tierwatch("poll", f"udp://{agent.host}:{agent.port}", "--engine", "snmpkit",
                    block="snmpkit")
    assert run.returncode == 2
    assert "SNMP engine 'snmpkit' is not installed" in run.stderr
    assert "pip install 'tierwatch[fast]'" in run.stderr and "Traceback" not in run.stderr

    config = tmp_path / "tw.yaml"
    config.write_text("site: {name: T}\nsnmp: {engine: snmpkit}\n", encoding="utf-8")
    check = tierwatch("check", "-c", str(config), block="snmpkit")
    assert check.returncode == 1
    assert f"{config}:2: snmp.engine: SNMP engine 'snmpkit' is not installed" in check.stderr
    assert "tierwatch[fast]" in check.stderr and "Traceback" not in check.stderr
