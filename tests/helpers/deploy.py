"""deploy/'s own Prometheus configuration, run for real against tierwatch instances.

The copy keeps the repository's layout (deploy/prometheus/prometheus.yml beside
targets/, alerts/rules two levels up) so the shipped file's relative paths resolve as they
do under promtool and in deploy/compose.yaml; only the targets and the intervals change.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from tests.helpers.procs import ROOT, Prometheus, http_get, need, process, wait_for

DEPLOY = ROOT / "deploy"
PROMETHEUS_YML = DEPLOY / "prometheus" / "prometheus.yml"


def shipped_site_label() -> str:
    """The `site` label deploy/prometheus/targets/tierwatch.yml puts on tierwatch."""
    groups = yaml.safe_load((DEPLOY / "prometheus" / "targets" / "tierwatch.yml").read_text())
    return str(groups[0]["labels"]["site"])


@contextlib.contextmanager
def run_deploy_prometheus(tmp: Path, targets: list[str], scrape_interval: str = "1s",
                          site: str | None = None) -> Iterator[Prometheus]:
    binary = need("prometheus")
    base = tmp / "deploy-copy"
    conf_dir = base / "deploy" / "prometheus"
    (conf_dir / "targets").mkdir(parents=True, exist_ok=True)
    (base / "alerts").mkdir(exist_ok=True)
    rules = ROOT / "alerts" / "rules"
    if rules.is_dir() and not (base / "alerts" / "rules").exists():
        (base / "alerts" / "rules").symlink_to(rules)
    config: dict[str, Any] = yaml.safe_load(PROMETHEUS_YML.read_text(encoding="utf-8"))
    config["global"]["scrape_interval"] = scrape_interval
    config["global"]["evaluation_interval"] = scrape_interval
    for job in config["scrape_configs"]:
        job.pop("scrape_interval", None)
        job["scrape_timeout"] = scrape_interval
        if job["job_name"] == "prometheus":
            job["static_configs"] = [{"targets": []}]
    (conf_dir / "prometheus.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    labels = {"site": site or shipped_site_label()}
    (conf_dir / "targets" / "tierwatch.yml").write_text(
        yaml.safe_dump([{"targets": targets, "labels": labels}]), encoding="utf-8")
    (conf_dir / "targets" / "alertmanager.yml").write_text("[]\n", encoding="utf-8")

    from tests.helpers.procs import free_port

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp / "deploy-prometheus.log"
    cmd = [binary, f"--config.file={conf_dir / 'prometheus.yml'}",
           f"--storage.tsdb.path={tmp / 'deploy-prometheus-data'}",
           f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"]
    with process(cmd, log) as proc:
        def ready() -> bool:
            if proc.poll() is not None:
                raise AssertionError(log.read_text())
            return http_get(f"{url}/-/ready")[0] == 200

        wait_for(ready, 30, "prometheus (deploy's config) to be ready")
        yield Prometheus(url, tmp / "deploy-prometheus-data")
