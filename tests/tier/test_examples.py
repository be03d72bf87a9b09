"""The worked examples of TIER-MODEL.md, exactly as stated, directly and through the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.procs import ROOT
from tests.tier.build import FIXTURES, fixture_topology
from tier.score import score

REPO = ROOT


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tierwatch", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=120,
        check=False,
    )


def cli_json(*args: str) -> dict[str, Any]:
    done = run_cli(*args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def group_view(groups: list[dict[str, Any]]) -> dict[str, tuple[Any, ...]]:
    keys = ("kind", "required", "installed", "available", "spare", "label")
    return {g["id"]: tuple(g[k] for k in keys) for g in groups}


def load_view(loads: list[dict[str, Any]]) -> dict[str, tuple[Any, ...]]:
    return {ld["id"]: (ld["paths_all"], ld["paths_active"], ld["served"]) for ld in loads}


EXAMPLE_1 = {
    "design_tier": 2,
    "live_tier": 2,
    "groups": {
        "generator": ("generator", 1, 2, 2, 1, "N+1"),
        "ups": ("ups", 1, 2, 2, 1, "N+1"),
    },
    "loads": {"R1": (1, 1, True)},
    "spofs": ["ATS1", "GPB", "PDU1", "UOB"],
    "maintainability_failures": ["ATS1", "GPB", "PDU1", "UOB"],
}
EXAMPLE_2 = {
    "design_tier": 3,
    "live_tier": 3,
    "groups": {
        "generator": ("generator", 1, 2, 2, 1, "N+1"),
        "ups": ("ups", 1, 2, 2, 1, "2N"),
    },
    "loads": {"R": (2, 1, True)},
    "spofs": ["PDU-A", "SWB-A", "UPS-A"],
    "maintainability_failures": [],
}
EXAMPLE_2_UPS_B_BYPASS = {
    "design_tier": 3,
    "live_tier": 1,
    "groups": {
        "generator": ("generator", 1, 2, 2, 1, "N+1"),
        "ups": ("ups", 1, 2, 1, 0, "N"),
    },
    "loads": {"R": (1, 1, True)},
    "spofs": ["PDU-A", "SWB-A", "UPS-A"],
    "maintainability_failures": ["PDU-A", "SWB-A", "UPS-A"],
}
CASES = [
    ("example1.yaml", [], EXAMPLE_1),
    ("example2.yaml", [], EXAMPLE_2),
    ("example2.yaml", ["UPS-B=bypass"], EXAMPLE_2_UPS_B_BYPASS),
]
IDS = ["example1", "example2", "example2-ups-b-bypass"]


def check_power(doc: dict[str, Any], expected: dict[str, Any]) -> None:
    power = doc["subsystems"]["power"]
    assert list(doc["subsystems"]) == ["power"]  # empty subsystems are skipped
    assert power["design_tier"] == expected["design_tier"]
    assert power["live_tier"] == expected["live_tier"]
    assert group_view(power["groups"]) == expected["groups"]
    assert load_view(power["loads"]) == expected["loads"]
    assert power["spofs"] == expected["spofs"]
    assert power["maintainability_failures"] == expected["maintainability_failures"]
    assert doc["site"]["design_tier"] == expected["design_tier"]
    assert doc["site"]["live_tier"] == expected["live_tier"]
    assert 0.0 <= doc["site"]["score"] <= 100.0


@pytest.mark.parametrize(("fixture", "assume", "expected"), CASES, ids=IDS)
def test_worked_example_through_the_functions(
    fixture: str, assume: list[str], expected: dict[str, Any]
) -> None:
    statuses = dict(item.split("=") for item in assume)
    check_power(score(fixture_topology(fixture), statuses).to_json(), expected)


@pytest.mark.parametrize(("fixture", "assume", "expected"), CASES, ids=IDS)
def test_worked_example_through_the_cli(
    fixture: str, assume: list[str], expected: dict[str, Any]
) -> None:
    args = ["score", "-c", str(FIXTURES / fixture), "--json"]
    for item in assume:
        args += ["--assume", item]
    check_power(cli_json(*args), expected)


def test_json_contract_types() -> None:
    doc = cli_json("score", "-c", str(FIXTURES / "example2.yaml"), "--json")
    site = doc["site"]
    assert {"design_tier", "live_tier", "score"} <= set(site)
    assert isinstance(site["design_tier"], int) and isinstance(site["live_tier"], int)
    assert isinstance(site["score"], float)
    power = doc["subsystems"]["power"]
    required = {"design_tier", "live_tier", "groups", "loads", "spofs", "maintainability_failures"}
    assert required <= set(power)
    for group in power["groups"]:
        assert {"id", "kind", "required", "installed", "available", "spare", "label"} <= set(group)
        assert all(
            isinstance(group[k], int) for k in ("required", "installed", "available", "spare")
        )
    for load in power["loads"]:
        assert {"id", "paths_all", "paths_active", "served"} <= set(load)
        assert isinstance(load["served"], bool)


def test_example1_utility_is_shown_but_not_counted() -> None:
    doc = score(fixture_topology("example1.yaml")).to_json()
    power = doc["subsystems"]["power"]
    assert power["not_counted"] == ["U"]
    # Were U counted, ATS1's second input would take GPB out of the SPOFs.
    assert "GPB" in power["spofs"]


def test_example2_live_keeps_the_design_view_beside_it() -> None:
    doc = score(fixture_topology("example2.yaml"), {"UPS-B": "bypass"}).to_json()
    power = doc["subsystems"]["power"]
    assert power["unavailable"] == [{"id": "UPS-B", "status": "bypass"}]
    assert power["design"]["maintainability_failures"] == []
    assert power["design"]["loads"][0]["paths_all"] == 2
    details = {d["node"]: d["lost"] for d in power["maintainability_details"]}
    assert details == {n: [{"load": "R", "reason": "no path"}] for n in ("PDU-A", "SWB-A", "UPS-A")}


def test_ups_on_battery_is_exposed_not_unavailable() -> None:
    doc = score(fixture_topology("example2.yaml"), {"UPS-B": "degraded"}).to_json()
    power = doc["subsystems"]["power"]
    assert power["live_tier"] == 3
    assert power["exposed"] == [{"id": "UPS-B", "status": "degraded"}]
    assert power["unavailable"] == []


def test_human_output_names_tiers_and_sets() -> None:
    done = run_cli("score", "-c", str(FIXTURES / "example2.yaml"), "--assume", "UPS-B=bypass")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "design tier III, live tier I" in out
    assert "UPS-B (bypass)" in out
    assert "Single points of failure: PDU-A, SWB-A, UPS-A" in out
    assert "UPS-A: R (no path)" in out


def test_a_config_without_topology_scores_nothing(tmp_path: Path) -> None:
    path = tmp_path / "tierwatch.yaml"
    path.write_text("site: {name: empty}\ndevices: []\n", encoding="utf-8")
    done = run_cli("score", "-c", str(path))
    assert done.returncode == 0, done.stderr
    assert "No topology configured" in done.stdout
    doc = cli_json("score", "-c", str(path), "--json")
    assert doc["subsystems"] == {} and doc["site"]["design_tier"] == 0
