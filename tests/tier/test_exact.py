"""Capacities and demands are the exact decimals written (issue 15, items 1 and 2).

Every expected value below is worked out by hand from TIER-MODEL formula 1 with exact
decimal arithmetic; the comments show the sums.
"""

from __future__ import annotations

import copy
import pickle
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from tests.tier.build import (
    cli,
    cli_json,
    fixture_config_topology,
    fixture_path,
    manual,
    node,
    topology,
)
from tier.quantity import QuantityError, WrittenFloat, decimal_text, exact
from tier.redundancy import required_and_spare
from tier.score import score, whatif
from tierwatch.config import ConfigError, parse


def groups_of(doc: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    keys = ("required", "installed", "available", "spare", "label", "demand_exact")
    return {g["id"]: tuple(g[k] for k in keys) for g in doc["subsystems"]["power"]["groups"]}


# --------------------------------------------------------------------------- reading values


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (3.6, Fraction(36, 10)),  # the float 3.6 is 3.5999999999999996447...; written, 36/10
        ("3.6", Fraction(36, 10)),
        (WrittenFloat(3.6, "3.60"), Fraction(36, 10)),
        (30000.00002, Fraction(3000000002, 100000)),
        ("1e20", Fraction(10**20)),
        (WrittenFloat(float("inf"), "1.0e+400"), Fraction(10**400)),  # finite as written
        (WrittenFloat(3.6, "3.60000000000000000001"), Fraction(360000000000000000001, 10**20)),
        (100, Fraction(100)),
        (0, Fraction(0)),
        ("0.000001", Fraction(1, 10**6)),
    ],
)
def test_a_quantity_is_the_decimal_written(value: object, expected: Fraction) -> None:
    assert exact(value) == expected


def test_a_written_float_keeps_its_text_when_copied_or_pickled() -> None:
    # "3.60" is what the file said; the float is 3.6 and exact() reads 360/100 = 36/10
    written = WrittenFloat(3.6, "3.60")
    for again in (copy.copy(written), copy.deepcopy(written),
                  pickle.loads(pickle.dumps(written))):
        assert type(again) is WrittenFloat
        assert float(again) == 3.6
        assert again.text == "3.60"
        assert exact(again) == Fraction(36, 10)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (True, "must be a number, not a boolean (true)"),
        (float("nan"), "must be a finite number, got nan"),
        (float("inf"), "must be a finite number, got inf"),
        (-1, "must be >= 0, got -1"),
        (-0.5, "must be >= 0, got -0.5"),
        ("nan", "must be a finite decimal number, got 'nan'"),
        ("1/3", "must be a finite decimal number, got '1/3'"),
        (None, "must be a number, got NoneType"),
    ],
)
def test_what_is_not_a_quantity(value: object, message: str) -> None:
    with pytest.raises(QuantityError) as caught:
        exact(value)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Fraction(36, 10), "3.6"),
        (Fraction(3000000002, 100000), "30000.00002"),
        (Fraction(10**20 + 100), "100000000000000000100"),
        (Fraction(10**308), "1E+308"),
        (Fraction(1, 10**6), "0.000001"),
        (Fraction(30), "30"),
        (Fraction(0), "0"),
    ],
)
def test_exact_text(value: Fraction, text: str) -> None:
    assert decimal_text(value) == text


def test_the_sums_the_issue_names() -> None:
    # 3.6+8.8+8.8+8.8 is 30 exactly; in floats it is 30.000000000000004 in either order
    assert required_and_spare([exact(3.6), exact(8.8), exact(8.8), exact(8.8)], exact(30)) == (
        4,
        0,
    )
    # 30000 + 30000 = 60000 >= 30000.00002 needs both; one alone (30000) falls short
    assert required_and_spare([exact(30000), exact(30000)], exact(30000.00002)) == (2, 0)
    # without the 1e20 unit, 100 >= 80 still: one spare (floats: (1e20 + 100) - 1e20 = 0)
    assert required_and_spare([exact("1e20"), exact(100)], exact(80)) == (1, 1)


# --------------------------------------------------------------------------- item 1


# 30000.00002 W on two 30000 W UPSs, one per path: both are needed, so every element of
# either UPS path is a SPOF and cannot be maintained; tier I (served, UPS spare 0).
EXACT_2N = {
    "design_tier": 1,
    "groups": {
        # generators: 40000 >= 30000.00002 (required 1); without it 40000 still (spare 1)
        "generator": (1, 2, 2, 1, "N+1", "30000.00002"),
        # UPS: 30000 < 30000.00002 <= 60000 (required 2); without the largest, short
        "ups": (2, 2, 2, 0, "N", "30000.00002"),
    },
    "spofs": ["PDU-A", "PDU-B", "SWB-A", "SWB-B", "UPS-A", "UPS-B"],
}


def test_a_demand_just_above_one_ups_needs_both_through_the_cli() -> None:
    doc = cli_json("score", "-c", fixture_path("exact-2n-30000.yaml"))
    power = doc["subsystems"]["power"]
    assert power["design_tier"] == EXACT_2N["design_tier"]
    assert groups_of(doc) == EXACT_2N["groups"]
    assert power["spofs"] == EXACT_2N["spofs"]
    assert power["maintainability_failures"] == EXACT_2N["spofs"]
    rack = power["loads"][0]
    assert (rack["demand"], rack["demand_exact"]) == (30000.00002, "30000.00002")
    assert rack["served"] is True
    ups = next(g for g in power["groups"] if g["id"] == "ups")
    assert (ups["capacity_installed_exact"], ups["capacity_available_exact"]) == ("60000", "60000")


def test_a_demand_just_above_one_ups_needs_both_in_the_library() -> None:
    topo = fixture_config_topology("exact-2n-30000.yaml")
    live = score(topo).subsystem("power").live
    assert live.tier == 1
    assert {g.id: (g.required, g.spare, g.label) for g in live.groups} == {
        "generator": (1, 1, "N+1"),
        "ups": (2, 0, "N"),
    }
    assert list(live.spofs) == EXACT_2N["spofs"]
    assert live.groups[1].demand == Fraction(3000000002, 100000)


def test_whatif_compares_exactly() -> None:
    path = fixture_path("exact-2n-30000.yaml")
    doc = cli_json("whatif", "-c", path, "--remove", "UPS-B", code=3)
    assert doc["lost"] == [{"load": "R", "reason": "capacity short"}]
    assert doc["verdict"].startswith("no: taking UPS-B out drops R (capacity short)")
    # the UPS group afterwards: 30000 available against 30000.00002 -> one unit missing
    ups = next(g for g in doc["subsystems"]["power"]["groups"] if g["id"] == "ups")
    assert (ups["available"], ups["spare"], ups["label"]) == (1, -1, "N-1")
    assert ups["capacity_available_exact"] == "30000"


def test_exactly_equal_is_enough(tmp_path: Path) -> None:
    # The same site for 30000 W: each UPS alone covers it (>=, exactly): 2N, no SPOF, and a
    # UPS can be taken out: tier IV.
    text = Path(fixture_path("exact-2n-30000.yaml")).read_text(encoding="utf-8")
    path = tmp_path / "equal.yaml"
    path.write_text(text.replace("demand: 30000.00002", "demand: 30000"), encoding="utf-8")
    doc = cli_json("score", "-c", str(path))
    power = doc["subsystems"]["power"]
    assert (power["design_tier"], power["spofs"]) == (4, [])
    assert groups_of(doc)["ups"] == (1, 2, 2, 1, "2N", "30000")
    answer = cli_json("whatif", "-c", str(path), "--remove", "UPS-B")
    assert answer["ok"] is True and answer["lost"] == []


def test_modules_that_sum_exactly_to_the_load() -> None:
    doc = cli_json("score", "-c", fixture_path("exact-modules.yaml"))
    power = doc["subsystems"]["power"]
    # 8.8 + 8.8 + 8.8 = 26.4 < 30 <= 26.4 + 3.6 = 30: four needed, none spare
    assert groups_of(doc) == {"ups": (4, 4, 4, 0, "N", "30")}
    assert power["loads"][0]["served"] is True
    assert power["design_tier"] == 1
    # the 3.6 kW module is as needed as the others: each is a SPOF
    assert power["spofs"] == ["G1", "SWB", "UOB", "UPS-1", "UPS-2", "UPS-3", "UPS-4"]


def test_modules_a_millionth_short(tmp_path: Path) -> None:
    text = Path(fixture_path("exact-modules.yaml")).read_text(encoding="utf-8")
    path = tmp_path / "short.yaml"
    path.write_text(text.replace("demand: 30,", "demand: 30.000001,"), encoding="utf-8")
    doc = cli_json("score", "-c", str(path))
    power = doc["subsystems"]["power"]
    # 30 < 30.000001: short by 0.000001, one more 8.8 kW unit closes it -> N-1, tier 0
    assert groups_of(doc) == {"ups": (5, 4, 4, -1, "N-1", "30.000001")}
    assert power["loads"][0]["reason"] == "capacity short"
    assert power["design_tier"] == 0


# --------------------------------------------------------------------------- item 2


def test_huge_beside_small() -> None:
    doc = cli_json("score", "-c", fixture_path("huge-magnitudes.yaml"))
    power = doc["subsystems"]["power"]
    groups = {g["id"]: g for g in power["groups"]}
    # 1e20 >= 80 (required 1); without it 100 >= 80 (spare 1): N+1
    ups = groups["ups"]
    assert (ups["required"], ups["spare"], ups["label"]) == (1, 1, "N+1")
    assert ups["capacity_installed_exact"] == "100000000000000000100"
    assert ups["capacity_installed"] == 1e20  # the float for display cannot hold the 100
    gens = groups["generator"]
    assert (gens["required"], gens["spare"], gens["label"]) == (1, 1, "N+1")
    assert gens["capacity_installed_exact"] == "2E+308"
    assert gens["capacity_available"] == 1.7976931348623157e308  # display saturates
    assert power["loads"][0]["served"] is True
    # one path (SWB and UOB are single): tier II, both capacity groups N+1
    assert power["design_tier"] == 2
    assert power["spofs"] == ["SWB", "UOB"]


def test_huge_in_the_library_and_whatif() -> None:
    topo = fixture_config_topology("huge-magnitudes.yaml")
    ups = score(topo).subsystem("power").live.groups[1]
    assert ups.capacity_installed == 10**20 + 100
    # taking the 1e20 unit out leaves 100 for 80: no load dropped
    answer = whatif(topo, {}, ["UPS-1"])
    assert answer.ok
    after = answer.after.subsystem("power").live.groups[1]
    assert (after.available, after.spare, after.label) == (1, 0, "N")
    doc = cli_json("whatif", "-c", fixture_path("huge-magnitudes.yaml"), "--remove", "UPS-2")
    assert doc["ok"] is True


BAD = """\
site: {name: bad}
topology:
  power:
    groups:
      - {id: ups, demand: .inf}
    nodes:
      - {id: G1, kind: generator, capacity: .nan}
      - {id: G2, kind: generator, capacity: -5}
      - {id: SWB, kind: switchboard, fed_from: [G1, G2]}
      - {id: UPS, kind: ups, capacity: true, fed_from: [SWB]}
      - {id: R, kind: rack, demand: inf, fed_from: [UPS]}
"""


def test_bad_quantities_are_config_errors_naming_the_node(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(BAD, encoding="utf-8")
    expected = [
        f"{path}:5: topology.power.groups[0].demand: group 'ups': demand must be a finite "
        "decimal number, got inf",
        f"{path}:7: topology.power.nodes[0].capacity: node 'G1': capacity must be a finite "
        "decimal number, got nan",
        f"{path}:8: topology.power.nodes[1].capacity: node 'G2': capacity must be >= 0, got -5",
        f"{path}:10: topology.power.nodes[3].capacity: node 'UPS': capacity must be a number, "
        "not a boolean (true)",
        f"{path}:11: topology.power.nodes[4].demand: node 'R': demand must be a finite decimal "
        "number, got 'inf'",
    ]
    with pytest.raises(ConfigError) as caught:
        parse(BAD, path)
    assert caught.value.problems == expected
    code, out, err = cli("score", "-c", str(path), "--offline")
    assert (code, out) == (1, "")
    assert err.splitlines() == [f"error: {line}" for line in expected]


def test_measured_demands_are_checked_too() -> None:
    topo = topology(
        power=[node("G1", "generator"), node("R", "rack", manual("G1"), demand=1)]
    )
    with pytest.raises(ValueError, match=r"demand for 'R' must be a finite number, got nan"):
        score(topo, demands={"R": float("nan")})
    with pytest.raises(ValueError, match=r"demand for 'R' must be a number, not a boolean"):
        score(topo, demands={"R": True})
    # a measured float is the decimal it prints as: 0.1 * 3 is 0.30000000000000004
    load = score(topo, demands={"R": 0.1 * 3}).subsystem("power").live.loads[0]
    assert load.demand == Fraction("0.30000000000000004")
