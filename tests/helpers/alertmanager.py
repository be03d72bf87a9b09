"""A real Alertmanager (Debian's prometheus-alertmanager) for tests, on a free port.

    with run_alertmanager(tmp_path, webhook=hook.url) as am:
        am.url ... am.alerts() ... am.silences()

The default configuration routes everything to the webhook with 1 s group waits and sends
resolved notices, and carries tierwatch's inhibition rules. `am.stop()` / `am.start()`
restart it with the same storage (silences survive, as in production).
"""

from __future__ import annotations

import contextlib
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from tests.helpers.procs import free_port, http_get, http_json, need, stop, wait_for

ROOT = Path(__file__).resolve().parents[2]
INHIBIT = yaml.safe_load((ROOT / "deploy" / "alertmanager" / "alertmanager.yml").read_text(
    encoding="utf-8"))["inhibit_rules"]


def am_config(webhook: str, repeat_interval: str = "1h") -> dict[str, Any]:
    return {
        "route": {"receiver": "hook", "group_by": ["alertname", "device"],
                  "group_wait": "1s", "group_interval": "1s",
                  "repeat_interval": repeat_interval},
        "receivers": [{"name": "hook",
                       "webhook_configs": [{"url": webhook, "send_resolved": True}]}],
        "inhibit_rules": INHIBIT,
    }


class Alertmanager:
    def __init__(self, tmp: Path, config: dict[str, Any]) -> None:
        self.binary = need("prometheus-alertmanager")
        self.tmp = tmp
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config_path = tmp / "alertmanager.yml"
        self.config_path.write_text(json.dumps(config), encoding="utf-8")
        self.storage = tmp / "alertmanager-data"
        self.log = tmp / "alertmanager.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Alertmanager:
        cmd = [self.binary, f"--config.file={self.config_path}",
               f"--storage.path={self.storage}", f"--web.listen-address=127.0.0.1:{self.port}",
               "--cluster.listen-address=", "--log.level=warn"]
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)

        def ready() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(self.log.read_text())
            return http_get(f"{self.url}/-/ready")[0] == 200

        wait_for(ready, 30, "alertmanager to be ready")
        return self

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc)
            self.proc = None

    def alerts(self, alertname: str | None = None) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = http_json(f"{self.url}/api/v2/alerts")
        return [a for a in found
                if alertname is None or a["labels"].get("alertname") == alertname]

    def silences(self, state: str | None = None) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = http_json(f"{self.url}/api/v2/silences")
        return [s for s in found if state is None or s["status"]["state"] == state]


@contextlib.contextmanager
def run_alertmanager(tmp: Path, webhook: str | None = None,
                     config: dict[str, Any] | None = None) -> Iterator[Alertmanager]:
    if config is None:
        assert webhook is not None, "give a webhook URL or a whole config"
        config = am_config(webhook)
    am = Alertmanager(tmp, config)
    try:
        yield am.start()
    finally:
        am.stop()
