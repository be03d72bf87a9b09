"""Formula 8: the readiness score's parts, weights and neutral inputs."""

from __future__ import annotations

from fractions import Fraction

import pytest

from tests.tier.build import fixture_topology
from tier.readiness import SubsystemFigures, readiness, score_parts
from tier.score import score


def parts_of(**kwargs: float | None) -> dict[str, float | None]:
    power = SubsystemFigures(
        name="power",
        group_spares=[1, 0, -1],  # 1, 0.5, 0 -> 0.5
        loads=[(30.0, 2, 2), (10.0, 1, 1)],  # 75 % of demand on two paths and two cords
        failing_elements=1,
        elements=4,  # 0.75
    )
    return {p.name: p.value for p in score_parts([power], **kwargs)}


def test_parts_from_the_formula() -> None:
    assert parts_of(fuel_hours=6, environment_share=0.9, availability_burn=0.25) == {
        "capacity": 0.5,
        "paths": 0.75,
        "maintainability": 0.75,
        "dual_corded": 0.75,
        "fuel": 0.5,
        "environment": 0.9,
        "availability": 0.75,
    }


def test_all_parts_known_weighs_to_100() -> None:
    power = SubsystemFigures("power", [1], [(1.0, 2, 2)], 0, 3)
    parts = score_parts([power], fuel_hours=24, environment_share=1.0, availability_burn=0.0)
    assert readiness(parts) == 100.0
    parts = score_parts([power], fuel_hours=0, environment_share=0.0, availability_burn=3.0)
    assert readiness(parts) == 80.0  # fuel 5 + environment 5 + availability 10 lost


def test_unknown_inputs_are_neutral() -> None:
    power = SubsystemFigures("power", [1], [(1.0, 2, 2)], 0, 3)
    assert readiness(score_parts([power])) == 100.0
    half = SubsystemFigures("power", [0], [(1.0, 2, 2)], 0, 3)  # capacity 0.5
    # 25 * 0.5 + 20 + 25 + 10 over 80 known points
    assert readiness(score_parts([half])) == pytest.approx(100 * 67.5 / 80, abs=0.01)


def test_zero_demand_loads_count_by_number() -> None:
    net = SubsystemFigures("network", [], [(0.0, 2, 2), (0.0, 1, 1)], 0, 0)
    parts = {p.name: p.value for p in score_parts([net])}
    assert parts["paths"] == 0.5
    assert parts["capacity"] is None and parts["maintainability"] is None
    assert parts["dual_corded"] is None  # no power subsystem


def test_example_scores() -> None:
    assert score(fixture_topology("example2.yaml")).score == 100.0
    live = score(fixture_topology("example2.yaml"), {"UPS-B": "bypass"})
    # capacity (1 + 0.5)/2, paths 0, maintainability 1 - 3/7, dual-corded 1; 80 points known
    expected = 100 * (25 * 0.75 + 0 + 25 * (1 - 3 / 7) + 10) / 80
    assert live.score == pytest.approx(expected, abs=0.01)
    with_extras = score(fixture_topology("example2.yaml"), fuel_hours=3.0, availability_burn=2)
    assert with_extras.score == pytest.approx(100 * (80 + 5 * 0.25) / 95, abs=0.01)


def test_non_finite_extras_are_refused() -> None:
    with pytest.raises(ValueError, match="fuel_hours"):
        score(fixture_topology("example2.yaml"), fuel_hours=float("nan"))


def test_each_part_shows_its_weight_and_value() -> None:
    # The weights of formula 8; fuel 6 h of 12 -> 0.5; the others as in parts_of().
    loads = [(Fraction(30), 2, 2), (Fraction(10), 1, 1)]
    power = SubsystemFigures("power", [1, 0, -1], loads, 1, 4)
    parts = score_parts([power], fuel_hours=6)
    assert {p.name: p.to_json() for p in parts} == {
        "capacity": {"weight": 25.0, "value": 0.5},
        "paths": {"weight": 20.0, "value": 0.75},
        "maintainability": {"weight": 25.0, "value": 0.75},
        "dual_corded": {"weight": 10.0, "value": 0.75},
        "fuel": {"weight": 5.0, "value": 0.5},
        "environment": {"weight": 5.0, "value": None},
        "availability": {"weight": 10.0, "value": None},
    }


def test_small_demands_are_weighed_by_demand_not_counted() -> None:
    # 0.75 + 0.25 = 1 Mbit/s in all: the load with two paths carries 0.75 of it (by count it
    # would be 1 of 2 loads, 0.5). Only loads that all draw nothing are counted.
    net = SubsystemFigures("network", [], [(Fraction("0.75"), 2, 2), (Fraction("0.25"), 1, 1)],
                           0, 0)
    parts = {p.name: p.value for p in score_parts([net])}
    assert parts["paths"] == 0.75
