"""A real VictoriaMetrics (Debian's victoria-metrics) for tests: the InfluxDB line-protocol
endpoint (/api/v2/write) tierwatch's influx exporter writes to, on a free loopback port.

It can be stopped and started again on the same port and data directory, to play a
database outage. Stopped by PID when the context ends.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.helpers.procs import free_port, http_get, need, stop, wait_for


@dataclass
class Victoria:
    data_dir: Path
    log: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        binary = need("victoria-metrics")
        out = open(self.log, "ab")  # noqa: SIM115 (the process owns it until stop)
        self.proc = subprocess.Popen(
            [binary, f"-httpListenAddr=127.0.0.1:{self.port}",
             f"-storageDataPath={self.data_dir}", "-search.latencyOffset=0s",
             "-loggerLevel=WARN"],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        out.close()

        def ready() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(self.log.read_text())
            return http_get(f"{self.url}/health")[0] == 200

        wait_for(ready, 30, "victoria-metrics to be ready")

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc)
            self.proc = None

    def export(self, match: str) -> list[dict[str, Any]]:
        """Every stored sample of the series matching `match` (after a forced flush)."""
        http_get(f"{self.url}/internal/force_flush")
        q = urllib.parse.urlencode({"match[]": match})
        status, body = http_get(f"{self.url}/api/v1/export?{q}", timeout=30)
        assert status == 200, body
        return [json.loads(line) for line in body.decode().splitlines() if line.strip()]


@contextlib.contextmanager
def run_victoria(tmp: Path) -> Iterator[Victoria]:
    vm = Victoria(tmp / "vm-data", tmp / "victoria.log")
    vm.start()
    try:
        yield vm
    finally:
        vm.stop()
