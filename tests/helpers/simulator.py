"""The simulated data center on its own (`tierwatch sim serve`) and `tierwatch run`
instances polling it with a config of the test's making (the demo's devices, plus whatever
sections the test adds: influx, a PostgreSQL store, a shard ...).
"""

from __future__ import annotations

import contextlib
import json
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.helpers.procs import (
    env_with_repo,
    free_port,
    http_get,
    process,
    tierwatch_cmd,
    wait_for,
)
from tierwatch.commands.demo import effective_demo_config


@dataclass
class Simulator:
    run_dir: Path
    addresses: dict[str, tuple[str, int]]

    def config(self, interval: float, store_url: str, **sections: Any) -> dict[str, Any]:
        """The demo's config (sim/demo.yaml) pointed at this simulator, plus `sections`."""
        raw = effective_demo_config(self.addresses, self.run_dir, interval)
        raw["store"] = {"url": store_url}
        raw.update(sections)
        return raw

    def sim(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(tierwatch_cmd("sim", *args, "--run-dir", str(self.run_dir)),
                              env=env_with_repo(), capture_output=True, text=True, check=True)


@contextlib.contextmanager
def run_simulator(tmp: Path, trap_sinks: Sequence[str] = ()) -> Iterator[Simulator]:
    """`tierwatch sim serve`; with `trap_sinks` (host:port each) its devices send their
    traps to every one of them when a fault is injected or cleared (sim/traps.py)."""
    run_dir = tmp / "sim"
    run_dir.mkdir(parents=True, exist_ok=True)
    log = tmp / "sim.log"
    sink = [arg for where in trap_sinks for arg in ("--trap-sink", where)]
    with process(tierwatch_cmd("sim", "serve", "--run-dir", str(run_dir), *sink), log,
                 env=env_with_repo()) as proc:
        def started() -> dict[str, Any] | None:
            if proc.poll() is not None:
                raise AssertionError(f"the simulator exited early:\n{log.read_text()}")
            path = run_dir / "sim.json"
            if not path.exists():
                return None
            info: dict[str, Any] = json.loads(path.read_text())
            return info if info.get("pid") == proc.pid else None

        info = wait_for(started, 30, "the simulator to start")
        addresses = {}
        for dev_id, dev in info["devices"].items():
            host, _, port = dev["address"].rpartition(":")
            addresses[dev_id] = (host, int(port))
        yield Simulator(run_dir, addresses)


@dataclass
class Instance:
    """A running `tierwatch run`."""

    base_url: str
    config_path: Path
    log: Path
    proc: subprocess.Popen[bytes]

    @property
    def metrics_url(self) -> str:
        return f"{self.base_url}/metrics"

    @property
    def target(self) -> str:
        return self.base_url.removeprefix("http://")

    def metrics(self) -> str:
        status, body = http_get(self.metrics_url)
        assert status == 200, body
        return body.decode()

    def up(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"tierwatch {self.config_path.stem} exited early:\n"
                                 f"{self.log.read_text()}")
        return http_get(f"{self.base_url}/healthz")[0] == 200

    def wait_up(self, timeout: float = 60) -> None:
        wait_for(self.up, timeout, f"tierwatch {self.config_path.stem} to serve /healthz")


@contextlib.contextmanager
def run_tierwatch(tmp: Path, name: str, config: dict[str, Any], *args: str,
                  env: dict[str, str] | None = None, wait: bool = True) -> Iterator[Instance]:
    """`tierwatch run -c <config> --listen 127.0.0.1:<free> [args]` until the context ends.
    `wait=False` returns at once (start several, then `wait_up()` each)."""
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False),
                    encoding="utf-8")
    port = free_port()
    log = tmp / f"{name}.log"
    cmd = tierwatch_cmd("run", "-c", str(path), "--listen", f"127.0.0.1:{port}", *args)
    with process(cmd, log, env=env_with_repo(**(env or {})), cwd=tmp) as proc:
        instance = Instance(f"http://127.0.0.1:{port}", path, log, proc)
        if wait:
            instance.wait_up()
        yield instance
