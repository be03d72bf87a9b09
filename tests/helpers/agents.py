"""A real node_exporter and a real `tierwatch run` for tests, on loopback, stopped by PID.

    with run_node_exporter(tmp) as ne:          # Debian's prometheus-node-exporter
        ne.write_textfile("hwmon", text)         # extra series through its textfile collector
        with run_tierwatch(tmp, config_text) as tw:
            tw.metrics()                          # tierwatch's /metrics, parsed
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.helpers.procs import (
    env_with_repo,
    free_port,
    http_get,
    need,
    process,
    tierwatch_cmd,
    wait_for,
)


@dataclass
class NodeExporter:
    url: str
    textfile_dir: Path

    def write_textfile(self, name: str, text: str) -> None:
        """Atomically (re)place a .prom file: node_exporter never reads half of it."""
        tmp = self.textfile_dir / f".{name}.prom.tmp"
        tmp.write_text(text)
        os.replace(tmp, self.textfile_dir / f"{name}.prom")


@contextlib.contextmanager
def run_node_exporter(tmp: Path) -> Iterator[NodeExporter]:
    binary = need("prometheus-node-exporter")
    port = free_port()
    textfiles = tmp / "node-exporter-textfiles"
    textfiles.mkdir(parents=True, exist_ok=True)
    log = tmp / "node-exporter.log"
    cmd = [binary, f"--web.listen-address=127.0.0.1:{port}",
           f"--collector.textfile.directory={textfiles}",
           "--no-collector.systemd"]  # needs a system D-Bus, which test machines lack
    with process(cmd, log) as proc:
        url = f"http://127.0.0.1:{port}/metrics"

        def ready() -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"node_exporter exited:\n{log.read_text()}")
            return http_get(url)[0] == 200

        wait_for(ready, 20, "node_exporter to answer")
        yield NodeExporter(url, textfiles)


@dataclass
class Tierwatch:
    url: str
    log: Path

    def metrics_text(self) -> str:
        status, body = http_get(f"{self.url}/metrics")
        assert status == 200, status
        return body.decode()

    def value(self, name: str, **labels: str) -> float | None:
        return sample_value(self.metrics_text(), name, **labels)


def sample_value(text: str, name: str, **labels: str) -> float | None:
    """The value of the first series `name{labels...}` in exposition text, or None."""
    for line in text.splitlines():
        head, _, value = line.rpartition(" ")
        metric, brace, rest = head.partition("{")
        if metric != name or line.startswith("#"):
            continue
        have = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', rest)) if brace else {}
        if all(have.get(k) == v for k, v in labels.items()):
            return float(value)
    return None


@contextlib.contextmanager
def run_tierwatch(tmp: Path, config_text: str, name: str = "tierwatch") -> Iterator[Tierwatch]:
    config = tmp / f"{name}.yaml"
    config.write_text(config_text, encoding="utf-8")
    port = free_port()
    log = tmp / f"{name}.log"
    cmd = tierwatch_cmd("run", "-c", str(config), "--listen", f"127.0.0.1:{port}")
    with process(cmd, log, env=env_with_repo()) as proc:
        url = f"http://127.0.0.1:{port}"

        def up() -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"tierwatch exited:\n{log.read_text()}")
            return http_get(f"{url}/healthz")[0] == 200

        wait_for(up, 30, "tierwatch to serve")
        yield Tierwatch(url, log)
