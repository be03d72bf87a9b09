"""Every dashboard query against a real Prometheus that scrapes `tierwatch demo`.

No Grafana server runs here: each panel target's PromQL, with the template variables
substituted by values queried from Prometheus (as Grafana would fill them), goes through
/api/v1/query. None may fail (`bad_data`); a panel the generator marks as showing data in
the demo must return a series. Prometheus runs deploy/'s own configuration.
"""

from __future__ import annotations

import importlib.util
import json
import re
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from tests.helpers.deploy import run_deploy_prometheus
from tests.helpers.procs import ROOT, Prometheus, http_json, run_demo, wait_for
from tests.helpers.simulator import run_tierwatch

pytestmark = pytest.mark.integration

GRAFANA = ROOT / "grafana"
BUILTINS = {"__rate_interval": "1m", "__interval": "15s", "__range": "1h",
            "__range_s": "3600", "__interval_ms": "15000"}
_VAR = re.compile(r"\$(\w+)")
_LABEL_VALUES = re.compile(r"^label_values\((?:(.*),\s*)?(\w+)\)$", re.S)


def load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("grafana_generate", GRAFANA / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    import sys

    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


GEN = load_generator()


def dashboard_files() -> dict[str, dict[str, Any]]:
    return {p.name: json.loads(p.read_text(encoding="utf-8"))
            for p in sorted((GRAFANA / "dashboards").glob("*.json"))}


def provisioned_uids() -> set[str]:
    uids = set()
    for path in (GRAFANA / "provisioning" / "datasources").glob("*.yaml"):
        for ds in yaml.safe_load(path.read_text(encoding="utf-8"))["datasources"]:
            uids.add(ds["uid"])
    return uids


# --------------------------------------------------------------------------- structure


def test_the_json_is_what_the_generator_makes() -> None:
    assert GEN.main(["--check"]) == 0, "run `python grafana/generate.py`"
    names = {f"{b.uid.removeprefix('tierwatch-')}.json" for b in GEN.dashboards()}
    assert set(dashboard_files()) == names  # no stray hand-made file either


def test_structure_ids_datasources_variables_layout() -> None:
    uids = provisioned_uids()
    assert {"tierwatch-prometheus", "tierwatch-influxdb"} <= uids
    seen_uids = set()
    for name, board in dashboard_files().items():
        assert board["uid"] not in seen_uids, name
        seen_uids.add(board["uid"])
        assert "grafana/generate.py" in board["description"], name
        ids = [p["id"] for p in board["panels"]]
        assert len(ids) == len(set(ids)), f"{name}: duplicate panel ids"
        names = {v["name"] for v in board["templating"]["list"]}
        for var in board["templating"]["list"]:
            if "datasource" in var:
                assert var["datasource"]["uid"] in uids, (name, var["name"])
        cells: set[tuple[int, int]] = set()
        for panel in board["panels"]:
            pos = panel["gridPos"]
            assert pos["x"] >= 0 and pos["x"] + pos["w"] <= 24, (name, panel["title"])
            mine = {(x, y) for x in range(pos["x"], pos["x"] + pos["w"])
                    for y in range(pos["y"], pos["y"] + pos["h"])}
            assert not cells & mine, f"{name}: {panel['title']!r} overlaps another panel"
            cells |= mine
            if panel["type"] == "row":
                continue
            assert panel["datasource"]["uid"] in uids, (name, panel["title"])
            assert panel["targets"], (name, panel["title"])
            for target in panel["targets"]:
                assert target["datasource"]["uid"] in uids, (name, panel["title"])
                for used in _VAR.findall(target["expr"]):
                    assert used in names or used in BUILTINS, (
                        f"{name}: {panel['title']!r} uses ${used}, which is not defined")


def test_provisioning_matches_the_compose_mounts() -> None:
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text(encoding="utf-8"))
    mounts = dict(m.split(":")[:2] for m in compose["services"]["grafana"]["volumes"])
    provider = yaml.safe_load(
        (GRAFANA / "provisioning" / "dashboards" / "tierwatch.yaml").read_text())
    path = provider["providers"][0]["options"]["path"]
    assert mounts["../grafana/dashboards"] == path
    assert mounts["../grafana/provisioning"] == "/etc/grafana/provisioning"
    env = compose["services"]["grafana"]["environment"]
    for path in (GRAFANA / "provisioning" / "datasources").glob("*.yaml"):
        for ref in re.findall(r"\$\{(\w+)\}", path.read_text()):
            assert ref in env or ref == "INFLUX_TOKEN", f"{path.name}: ${{{ref}}} is never set"


# --------------------------------------------------------------------------- queries


@dataclass
class Stack:
    prom: Prometheus
    probes: bool


def probe_config(tmp: Path, demo_target: str) -> dict[str, Any]:
    """A second tierwatch probing the dedicated network: the simulator answers SNMP only,
    so the demo has no probes. A trunk and a site, probed over TCP; the demo's own HTTP
    port stands in for the far end."""
    check = [{"tcp": demo_target}]
    return {
        "site": {"name": "probes"},
        "store": {"url": f"sqlite:///{tmp / 'probes.sqlite'}"},
        "probes": {"interval": "1s", "timeout": "500ms", "icmp": "off",
                   "links": [{"id": "trunk-ninhkieu", "name": "Trục Ninh Kiều",
                              "checks": check}],
                   "sites": [{"id": "site-ubnd-tp", "name": "UBND thành phố",
                              "checks": check}]},
    }


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("grafana")
    with run_demo(tmp, interval=2.0) as demo:
        target = demo.metrics_url.removeprefix("http://").removesuffix("/metrics")
        with run_tierwatch(tmp, "probes", probe_config(tmp, target)) as prober, \
                run_deploy_prometheus(tmp, [target, prober.target]) as prom:
            devices = [*demo.info["devices"], "trunk-ninhkieu", "site-ubnd-tp"]
            wait_for(lambda: len(prom.query("tierwatch_device_up == 1")) == len(devices), 60,
                     "every demo device and probe target up in Prometheus")
            # rate() over $__rate_interval needs two scrapes of a polled counter
            wait_for(lambda: prom.query("rate(if_hc_in_octets_total[1m]) > 0"), 60,
                     "interface counters to have a rate")
            wait_for(lambda: prom.query("tierwatch_readiness_score"), 60,
                     "the tier engine's metrics")
            # the services room: states, agencies' reach (once the live tier has settled),
            # certificates, and availability (once the store has monitored time)
            wait_for(lambda: all(prom.query(q) for q in (
                "tierwatch_agency_service_reachable", "tierwatch_service_availability",
                "tierwatch_service_certificate_days_left",
                "rate(tierwatch_service_checks_total[1m]) > 0")), 90,
                "the e-government services' series")
            # the power room's figures follow the polls of the meters and generators
            wait_for(lambda: all(prom.query(q) for q in (
                "tierwatch_fuel_autonomy_hours", "tierwatch_fuel_liters", "tierwatch_pue",
                "tierwatch_facility_power_watts", "tierwatch_feed_headroom_amperes")), 90,
                "the power room's series")
            yield Stack(prom, probes=True)


def label_values(prom: Prometheus, query: str) -> list[str]:
    match = _LABEL_VALUES.match(query.strip())
    assert match, f"not a label_values() query: {query}"
    selector, label = match.group(1), match.group(2)
    args = {"match[]": selector} if selector else {}
    q = urllib.parse.urlencode(args)
    body = http_json(f"{prom.url}/api/v1/label/{label}/values?{q}")
    assert body["status"] == "success", body
    return sorted(body["data"])


def substitute(expr: str, values: dict[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in values:
            return values[name]
        if name in BUILTINS:
            return BUILTINS[name]
        raise AssertionError(f"${name} is not defined")

    return _VAR.sub(one, expr)


def available(needs: str | None, stack: Stack) -> bool:
    if needs == "probes":
        return stack.probes
    return True


def resolve_variables(board: Any, stack: Stack, overrides: dict[str, str],
                      concrete: bool) -> dict[str, str]:
    """Values as Grafana would fill them: `All` (the regex .*) for multi-value variables
    unless `concrete`, else the first value the variable's query returns."""
    values: dict[str, str] = {}
    for var in board.variables:
        if var.kind == "textbox":
            values[var.name] = var.query
            continue
        found = label_values(stack.prom, substitute(var.query, values))
        if available(var.needs, stack):
            assert found, f"{board.title}: variable ${var.name} ({var.query}) resolves to nothing"
        if var.name in overrides:
            assert overrides[var.name] in found, (board.title, var.name, found)
            values[var.name] = overrides[var.name]
        elif var.include_all and not concrete:
            values[var.name] = ".*"
        else:
            values[var.name] = found[0] if found else "none"
    return values


def run_query(prom: Prometheus, expr: str) -> list[dict[str, Any]]:
    q = urllib.parse.urlencode({"query": expr})
    body = http_json(f"{prom.url}/api/v1/query?{q}")
    assert body.get("status") == "success", f"{expr}\n-> {body}"
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


BOARDS = {b.uid: b for b in GEN.dashboards()}


@pytest.mark.parametrize("uid", sorted(BOARDS))
def test_every_panel_query_runs_and_shows_the_demo(uid: str, stack: Stack) -> None:
    board = BOARDS[uid]
    empty, waiting = [], []
    for _panel_id, panel in board.panels():
        # every target parses and runs, with All and with concrete values
        for concrete in (False, True):
            values = resolve_variables(board, stack, {}, concrete)
            for target in panel.targets:
                run_query(stack.prom, substitute(target.expr, values))
        if panel.expect is None:
            continue
        values = resolve_variables(board, stack, panel.expect, concrete=False)
        series = [s for t in panel.targets
                  for s in run_query(stack.prom, substitute(t.expr, values))]
        if not available(panel.needs, stack):
            waiting.append(f"{panel.title} (needs {panel.needs})")
            continue
        if not series:
            empty.append(panel.title)
    assert not empty, f"{board.title}: panels without data in the demo: {empty}"
    if waiting:
        print(f"\n{board.title}: not checked for data until main has it: {waiting}")
