"""A simulated site and a tierwatch process with a config the test writes.

    with run_sim(tmp) as sim:                          # `tierwatch sim serve`
        config = site_config(sim, tmp, alerts={...})   # the demo's devices, the test's alerts
        with run_tierwatch(tmp, config) as tw:         # `tierwatch run -c ...`
            sim.fault("ups-a", "on-battery")
            tw.metric('tierwatch_alerts{alertname="UpsOnBattery",state="firing"}')
            tw.kill9(); tw.start()                     # a crash and a restart

Every process is stopped by PID when its context ends.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from tests.helpers.procs import (
    env_with_repo,
    free_port,
    http_get,
    stop,
    tierwatch_cmd,
    wait_for,
)


class Sim:
    def __init__(self, run_dir: Path, proc: subprocess.Popen[bytes]) -> None:
        self.run_dir = run_dir
        self.proc = proc
        info = json.loads((run_dir / "sim.json").read_text(encoding="utf-8"))
        self.devices: dict[str, str] = {k: v["address"] for k, v in info["devices"].items()}

    def _cli(self, *args: str) -> None:
        subprocess.run(tierwatch_cmd("sim", *args, "--run-dir", str(self.run_dir)),
                       env=env_with_repo(), capture_output=True, text=True, check=True)

    def fault(self, device: str, fault: str) -> None:
        self._cli("fault", device, fault)

    def clear(self, device: str | None = None) -> None:
        self._cli("clear", *([device] if device else []))


@contextlib.contextmanager
def run_sim(tmp: Path, trap_sink: tuple[str, int] | None = None) -> Iterator[Sim]:
    run_dir = tmp / "sim"
    args = ["sim", "serve", "--run-dir", str(run_dir)]
    if trap_sink:
        args += ["--trap-sink", f"{trap_sink[0]}:{trap_sink[1]}"]
    log = tmp / "sim.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(tierwatch_cmd(*args), stdout=out, stderr=subprocess.STDOUT,
                                env=env_with_repo(), start_new_session=True)
    try:
        def served() -> bool:
            if proc.poll() is not None:
                raise AssertionError(log.read_text())
            return (run_dir / "sim.json").exists() and "ups-a" in log.read_text()

        wait_for(served, 30, "the simulator")
        yield Sim(run_dir, proc)
    finally:
        stop(proc)


def site_config(sim: Sim, tmp: Path, alerts: dict[str, Any] | None = None,
                interval: float = 2.0, devices: tuple[str, ...] = ("ups-a", "ups-b")
                ) -> dict[str, Any]:
    """The demo's UPSs (and others if asked) with the test's alerting section."""
    names = {"ups-a": ("UPS-A", "apc-ups"), "ups-b": ("UPS-B", "apc-ups"),
             "core-1": ("CORE-1", "if-mib"), "core-2": ("CORE-2", "if-mib")}
    return {
        "site": {"name": "Test DC", "timezone": "Asia/Ho_Chi_Minh"},
        "snmp": {"defaults": {"interval": interval, "timeout": 1, "retries": 1},
                 "unreachable_after": 2, "jitter": 0},
        "credentials": {"sim": {"version": "2c", "community": "public"}},
        "devices": [{"id": d, "name": names[d][0], "address": sim.devices[d],
                     "credentials": "sim", "profile": names[d][1]} for d in devices],
        "store": {"url": f"sqlite:///{tmp / 'tierwatch.sqlite'}"},
        "alerts": alerts or {},
    }


class Tierwatch:
    def __init__(self, tmp: Path, config: dict[str, Any], env: dict[str, str] | None = None,
                 name: str = "tierwatch") -> None:
        self.tmp = tmp
        self.config = config
        self.config_path = tmp / f"{name}.yaml"
        self.config_path.write_text(yaml.safe_dump(config, allow_unicode=True),
                                    encoding="utf-8")
        self.log = tmp / f"{name}.log"
        self.env = env_with_repo(**(env or {}))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> Tierwatch:
        self.starts += 1
        with open(self.log, "ab") as out:
            out.write(f"\n==== start {self.starts} ====\n".encode())
            self.proc = subprocess.Popen(
                tierwatch_cmd("run", "-c", str(self.config_path), "--listen",
                              f"127.0.0.1:{self.port}"),
                stdout=out, stderr=subprocess.STDOUT, env=self.env, start_new_session=True)

        def ready() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"tierwatch exited:\n{self.log.read_text()}")
            return http_get(f"{self.url}/readyz")[0] == 200

        wait_for(ready, 30, "tierwatch to be ready")
        return self

    def kill9(self) -> None:
        """SIGKILL: no shutdown, nothing flushed; as a power cut or the OOM killer does."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc)
            self.proc = None

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(tierwatch_cmd(*args[:2], "-c", str(self.config_path), *args[2:]),
                              env=self.env, capture_output=True, text=True, check=check)

    def metrics(self) -> str:
        status, body = http_get(f"{self.url}/metrics")
        assert status == 200
        return body.decode("utf-8")

    def metric(self, selector: str) -> float | None:
        """Sum of the samples matching `name{label="v",...}` (labels in any order)."""
        name, _, rest = selector.partition("{")
        wanted = dict(re.findall(r'(\w+)="([^"]*)"', rest))
        total, found = 0.0, False
        for line in self.metrics().splitlines():
            if not line.startswith(name) or line.startswith("#"):
                continue
            match = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)$", line)
            if not match or match.group(1) != name:
                continue
            labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(2) or ""))
            if all(labels.get(k) == v for k, v in wanted.items()):
                total += float(match.group(3))
                found = True
        return total if found else None


@contextlib.contextmanager
def run_tierwatch(tmp: Path, config: dict[str, Any], env: dict[str, str] | None = None
                  ) -> Iterator[Tierwatch]:
    tw = Tierwatch(tmp, config, env)
    try:
        yield tw.start()
    finally:
        tw.stop()
