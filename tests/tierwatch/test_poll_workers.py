"""`snmp.workers: 2` in a real `tierwatch run` against a real snmpd: the same samples and
statuses on /metrics as one process polling the same devices; each worker's CPU and
restarts on /metrics; a worker killed with SIGKILL is started again, counted, and its
devices polled again; SIGTERM stops the service and its workers cleanly."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.procs import (
    env_with_repo,
    free_port,
    http_get,
    process,
    tierwatch_cmd,
    wait_for,
)
from tests.helpers.snmpd import Agent, SnmpdUser, run_snmpd, snmpd_available

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not snmpd_available(), reason="needs Net-SNMP snmpd")]

DEVICES = [f"sw-{i}" for i in range(6)]
# series whose value moves between two scrapes of the same agent whoever polls it (traffic,
# uptimes, rates, the poll's own timing and counts): compared by name and labels only
MOVING = re.compile(r"octets|uptime|per_second|utilisation|duration|timestamp|polls_total|"
                    r"varbinds_total|skipped")
SERIES = re.compile(r'^([a-z_]+)\{(.*)\} (\S+)$')


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Agent]:
    users = [SnmpdUser("ops", "SHA", "authpass123", "AES", "privpass123")]
    with run_snmpd(tmp_path_factory.mktemp("snmpd"), communities=["public"],
                   users=users) as running:
        yield running


def _config(tmp: Path, agent: Agent, workers: int, port: int) -> Path:
    # every third device over SNMPv3 authPriv: its engine state lives in its worker
    devices = "\n".join(
        f"  - {{id: {d}, address: '{agent.host}:{agent.port}', "
        f"credentials: {'v3' if i % 3 == 0 else 'v2'}, profile: [system, if-mib]}}"
        for i, d in enumerate(DEVICES))
    path = tmp / f"tw-{workers}.yaml"
    path.write_text(
        "site: {name: Trung tâm dữ liệu}\n"
        f"server: {{listen: '127.0.0.1:{port}'}}\n"
        f"store: {{url: 'sqlite:///{tmp / f'tw-{workers}.sqlite'}'}}\n"
        f"snmp: {{workers: {workers}, defaults: {{interval: 1s, timeout: 1s, retries: 1}}}}\n"
        "credentials:\n"
        "  v2: {version: 2c, community: '${TW_TEST_COMMUNITY}'}\n"
        "  v3: {version: 3, user: ops, auth_protocol: SHA, auth_key: '${TW_TEST_AUTH}', "
        "priv_protocol: AES, priv_key: '${TW_TEST_PRIV}'}\n"
        f"devices:\n{devices}\n")
    return path


def _env() -> dict[str, str]:
    return env_with_repo(TW_TEST_COMMUNITY="public", TW_TEST_AUTH="authpass123",
                         TW_TEST_PRIV="privpass123")


def _metrics(port: int) -> dict[tuple[str, str], str]:
    status, body = http_get(f"http://127.0.0.1:{port}/metrics")
    assert status == 200
    out: dict[tuple[str, str], str] = {}
    for line in body.decode().splitlines():
        found = SERIES.match(line)
        if found:
            out[(found.group(1), found.group(2))] = found.group(3)
    return out


def _device_series(metrics: dict[tuple[str, str], str]) -> dict[tuple[str, str], str]:
    return {k: v for k, v in metrics.items()
            if any(f'device="{d}"' in k[1] for d in DEVICES)}


def _polled(port: int, times: int) -> dict[tuple[str, str], str] | None:
    """/metrics once every device was polled at least `times` times, else None."""
    metrics = _metrics(port)
    counts = [float(metrics.get(("tierwatch_polls_total", f'device="{d}"'), "0"))
              for d in DEVICES]
    return metrics if min(counts) >= times else None


def _worker_pids(service_pid: int) -> dict[int, int]:
    """worker index -> pid, of the service's live poll worker processes."""
    out: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        fields = stat.rpartition(")")[2].split()
        if int(fields[1]) != service_pid or fields[0] == "Z" \
                or b"collector.snmp.worker" not in cmdline:
            continue
        for item in environ:
            if item.startswith(b"TIERWATCH_WORKER_INDEX="):
                out[int(item.split(b"=", 1)[1])] = int(entry.name)
    return out


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return True
    return state == "Z"


def test_two_workers_show_what_one_process_shows_and_survive_a_killed_worker(
        agent: Agent, tmp_path: Path) -> None:
    one_port, two_port = free_port(), free_port()
    one_cfg = _config(tmp_path, agent, 1, one_port)
    two_cfg = _config(tmp_path, agent, 2, two_port)
    with process(tierwatch_cmd("run", "-c", str(one_cfg)), tmp_path / "one.log",
                 env=_env()) as one, \
            process(tierwatch_cmd("run", "-c", str(two_cfg)), tmp_path / "two.log",
                    env=_env()) as two:
        # three polls of every device each: interface rates (two polls) exist by then
        single = wait_for(lambda: _polled(one_port, 3), 90, "workers=1 polled thrice")
        double = wait_for(lambda: _polled(two_port, 3), 90, "workers=2 polled thrice")
        assert one.poll() is None and two.poll() is None

        # --- the same samples: every series of every device, by name and labels; and the
        # value of each one that does not move by itself between two polls
        want, got = _device_series(single), _device_series(double)
        assert set(got) == set(want)
        assert len(want) > 6 * 20  # system + if-mib of snmpd's interfaces, and statuses
        steady = {k for k in want if not MOVING.search(k[0])}
        assert {k: got[k] for k in steady} == {k: want[k] for k in steady}
        assert all(want[("tierwatch_device_up", f'device="{d}"')] == "1" for d in DEVICES)

        # --- the workers on /metrics: two, each with 3 of the 6 devices (the split deals
        # devices of one interval evenly), running, CPU used, nothing restarted or refused
        assert double[("tierwatch_snmp_worker_devices", 'worker="0"')] == "3.0"
        assert double[("tierwatch_snmp_worker_devices", 'worker="1"')] == "3.0"
        for w in ("0", "1"):
            assert double[("tierwatch_snmp_worker_up", f'worker="{w}"')] == "1.0"
            assert float(double[("tierwatch_snmp_worker_cpu_seconds_total",
                                 f'worker="{w}"')]) > 0
            assert double[("tierwatch_snmp_worker_restarts_total", f'worker="{w}"')] == "0.0"
        assert not any(float(v) for k, v in double.items()
                       if k[0] == "tierwatch_snmp_worker_refused_frames_total")
        # the one-process run has no workers
        assert not any(k[0].startswith("tierwatch_snmp_worker") for k in single)

        # --- SIGKILL worker 0: it is started again and counted, its devices polled again
        def two_workers() -> dict[int, int] | None:
            found = _worker_pids(two.pid)
            return found if len(found) == 2 else None

        pids = wait_for(two_workers, 30, "two worker processes")
        before = _metrics(two_port)
        os.kill(pids[0], signal.SIGKILL)

        def restarted() -> dict[tuple[str, str], str] | None:
            m = _metrics(two_port)
            ok = (m[("tierwatch_snmp_worker_restarts_total", 'worker="0"')] == "1.0"
                  and m[("tierwatch_snmp_worker_up", 'worker="0"')] == "1.0")
            return m if ok else None

        wait_for(restarted, 60, "worker 0 restarted")
        new = _worker_pids(two.pid)
        assert new[1] == pids[1] and new[0] != pids[0]

        def every_device_polled_again() -> bool:
            m = _metrics(two_port)
            return all(float(m[("tierwatch_polls_total", f'device="{d}"')])
                       >= float(before[("tierwatch_polls_total", f'device="{d}"')]) + 2
                       for d in DEVICES)

        wait_for(every_device_polled_again, 60, "every device polled after the restart")
        after = _metrics(two_port)
        assert after[("tierwatch_snmp_worker_restarts_total", 'worker="1"')] == "0.0"
        assert all(after[("tierwatch_device_up", f'device="{d}"')] == "1" for d in DEVICES)

        # --- SIGTERM: the service stops its workers and exits cleanly
        os.kill(two.pid, signal.SIGTERM)
        assert two.wait(30) == 0
        assert all(_gone(pid) for pid in new.values())
    log = (tmp_path / "two.log").read_text()
    assert "Traceback" not in log
    assert "poll worker 0 ended; starting it again" in log
    assert "poll worker 1 ended" not in log
    with contextlib.suppress(subprocess.TimeoutExpired):
        one.wait(1)


async def test_a_poll_now_goes_to_the_worker_that_owns_the_device(agent: Agent,
                                                                   tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch
                                                                   ) -> None:
    """`poll_once` (the traps' confirming polls, the API) on a running service asks the
    owning worker; before the service starts (`tierwatch poll -c`) it polls in-process."""
    from collector.snmp.workers import WorkerPolling
    from tierwatch.config import load
    from tierwatch.service import Service

    for key, value in (("TW_TEST_COMMUNITY", "public"), ("TW_TEST_AUTH", "authpass123"),
                       ("TW_TEST_PRIV", "privpass123")):
        monkeypatch.setenv(key, value)
    service = Service(load(_config(tmp_path, agent, 2, free_port())))
    assert isinstance(service.snmp, WorkerPolling)
    before = await service.poll_once("sw-0")  # no worker yet: polled here (SNMPv3)
    assert before.ok and any(s.name == "if_oper_status" for s in before.samples)
    try:
        await service.start()
        assert service.runtime is not None
        for device in ("sw-0", "sw-1"):  # v3 and v2c, each from its worker
            result = await service.poll_once(device)
            assert result.ok, result.message
            assert result.device == device
            names = {s.name for s in result.samples}
            assert {"if_oper_status", "snmp_uptime_seconds"} <= names
            assert service.state.devices[device].last_poll_ts == result.ts
    finally:
        await service.stop()
    assert all(not w.up for w in service.snmp.workers)
