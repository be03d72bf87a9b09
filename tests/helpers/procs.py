"""Starting real servers for tests: free loopback ports, readiness polling, stop by PID.

Every process a test starts is stopped when its context ends, whatever happens.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")


def free_port(kind: int = socket.SOCK_STREAM, host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_for(check: Callable[[], T | None], timeout: float, what: str,
             interval: float = 0.1) -> T:
    """Call `check` until it returns something truthy; fail the test after `timeout`."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except Exception as exc:  # the server may not be up yet
            last_error = exc
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}"
                         + (f" (last error: {last_error})" if last_error else ""))


def need(binary: str) -> str:
    path = shutil.which(binary)
    if path is None:
        pytest.fail(f"{binary} is not installed: run `make system` (scripts/install-system)")
    return path


def tierwatch_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "tierwatch", *args]


def env_with_repo(**extra: str) -> dict[str, str]:
    env = {**os.environ, **extra}
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH")
                                     else "")
    return env


@contextlib.contextmanager
def process(cmd: list[str], log: Path, env: dict[str, str] | None = None,
            cwd: Path | None = None, umask: int = -1) -> Iterator[subprocess.Popen[bytes]]:
    """Run a process with its output in `log`; stop it (and its group) when done.
    `umask` (e.g. 0o022, a login shell's) is the child's; -1 keeps the test runner's."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd,
                                start_new_session=True, umask=umask)
        try:
            yield proc
        finally:
            stop(proc)


def stop(proc: subprocess.Popen[bytes], grace: float = 5.0) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(grace)


def http_get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def http_json(url: str, timeout: float = 5.0) -> Any:
    _status, body = http_get(url, timeout)
    return json.loads(body)


@dataclass
class Demo:
    """A running `tierwatch demo`, as tests see it."""

    info: dict[str, Any]
    run_dir: Path
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def metrics_url(self) -> str:
        return str(self.info["metrics"])

    @property
    def base_url(self) -> str:
        return self.metrics_url.rsplit("/", 1)[0]

    def sim(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(tierwatch_cmd("sim", *args, "--run-dir", str(self.run_dir)),
                              env=env_with_repo(), capture_output=True, text=True, check=True)


@contextlib.contextmanager
def run_demo(tmp: Path, interval: float = 2.0, extra: tuple[str, ...] = ()) -> Iterator[Demo]:
    run_dir = tmp / "demo"
    log = tmp / "demo.log"
    cmd = tierwatch_cmd("demo", "--listen", "127.0.0.1:0", "--run-dir", str(run_dir),
                        "--interval", str(interval), *extra)
    with process(cmd, log, env=env_with_repo()) as proc:
        def started() -> dict[str, Any] | None:
            if proc.poll() is not None:
                raise AssertionError(f"demo exited early:\n{log.read_text()}")
            path = run_dir / "demo.json"
            return json.loads(path.read_text()) if path.exists() else None

        info = wait_for(started, 30, "the demo to start")
        yield Demo(info, run_dir, proc, log)


@dataclass
class Prometheus:
    url: str
    data_dir: Path

    def query(self, expr: str) -> list[dict[str, Any]]:
        q = urllib.parse.urlencode({"query": expr})
        body = http_json(f"{self.url}/api/v1/query?{q}")
        if body.get("status") != "success":
            raise AssertionError(f"query {expr!r} failed: {body}")
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def value(self, expr: str) -> float | None:
        result = self.query(expr)
        return float(result[0]["value"][1]) if result else None


@contextlib.contextmanager
def run_prometheus(tmp: Path, targets: list[str], scrape_interval: str = "1s",
                   rule_files: list[Path] | None = None,
                   alertmanager: str | None = None) -> Iterator[Prometheus]:
    """A real Prometheus scraping `targets` (host:port with /metrics) every second."""
    binary = need("prometheus")
    port = free_port()
    config = {
        "global": {"scrape_interval": scrape_interval, "evaluation_interval": scrape_interval},
        "scrape_configs": [{"job_name": "tierwatch", "static_configs": [{"targets": targets}]}],
    }
    if rule_files:
        config["rule_files"] = [str(p) for p in rule_files]
    if alertmanager:
        config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]}
    cfg = tmp / "prometheus.yml"
    cfg.write_text(json.dumps(config))  # JSON is YAML
    data = tmp / "prometheus-data"
    cmd = [binary, f"--config.file={cfg}", f"--storage.tsdb.path={data}",
           f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"]
    with process(cmd, tmp / "prometheus.log") as proc:
        url = f"http://127.0.0.1:{port}"

        def ready() -> bool:
            if proc.poll() is not None:
                raise AssertionError((tmp / "prometheus.log").read_text())
            return http_get(f"{url}/-/ready")[0] == 200

        wait_for(ready, 30, "prometheus to be ready")
        yield Prometheus(url, data)
