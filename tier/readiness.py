"""Readiness score 0-100 (TIER-MODEL formula 8). It never overrides the tier gates.

Parts and weights:

    capacity         25  per capacity group 1 if R >= 1, 0.5 if R = 0, else 0; mean
    paths            20  share of load demand with k_all >= 2
    maintainability  25  1 - failing / maintainable elements; 0 while any load is unserved
    dual_corded      10  share of IT (power) load demand with two or more cords
    fuel              5  min(1, hours / 12)
    environment       5  share of time with inlets in the ASHRAE recommended band
    availability     10  max(0, 1 - budget burn)

Shares of demand are taken per subsystem (kW, kW of cooling and Mbit/s do not add up) and
averaged over the subsystems; a subsystem whose loads all have zero demand counts loads.
A part that cannot be computed - no capacity group, no maintainable element, no power
subsystem, or an input the caller did not give (fuel hours, environment share, burn) - is
neutral: it is left out and the weights of the parts that remain are scaled up to 100.
The score is 0 when no part is known. Every value is clamped to 0..1, so the score stays in
0..100.

The score never rises as more fails (a node taken out, on top of those already out). Each
part only falls: a group's spare, a load's paths and the set of loads served shrink, and
while every load is still served an element that could be taken out before can only be
missed more. The exception the formula had - a state that already drops a load judges the
remaining elements on the loads still served, so dropping more could clear them - is closed
by scoring maintainability 0 while any load is unserved: a site that is not carrying its
load is not concurrently maintainable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

WEIGHTS: dict[str, float] = {
    "capacity": 25.0,
    "paths": 20.0,
    "maintainability": 25.0,
    "dual_corded": 10.0,
    "fuel": 5.0,
    "environment": 5.0,
    "availability": 10.0,
}
FUEL_HOURS_FOR_FULL_MARKS = 12.0


@dataclass(frozen=True, slots=True)
class ScorePart:
    name: str
    weight: float
    value: float | None  # 0..1, None when neutral (left out)

    def to_json(self) -> dict[str, Any]:
        return {"weight": self.weight, "value": self.value}


@dataclass(frozen=True, slots=True)
class SubsystemFigures:
    """What the score needs from one subsystem's live analysis."""

    name: str
    group_spares: Sequence[int]
    loads: Sequence[tuple[Fraction, int, int]]  # (demand, paths_all, cords) per load
    failing_elements: int
    elements: int
    unserved: Sequence[str] = ()  # loads not served


def _clamp(value: float) -> float:
    return min(1.0, max(0.0, value))


def _demand_share(loads: Sequence[tuple[Fraction, int, int]], hit: list[bool]) -> float | None:
    if not loads:
        return None
    total = sum((demand for demand, _, _ in loads), Fraction(0))
    if total > 0:
        met = sum((d for (d, _, _), ok in zip(loads, hit, strict=True) if ok), Fraction(0))
        return float(met / total)
    return sum(hit) / len(hit)


def _mean(values: Sequence[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else None


def score_parts(
    figures: Sequence[SubsystemFigures],
    fuel_hours: float | None = None,
    environment_share: float | None = None,
    availability_burn: float | None = None,
) -> tuple[ScorePart, ...]:
    spares = [s for fig in figures for s in fig.group_spares]
    capacity = (
        _mean([1.0 if s >= 1 else 0.5 if s == 0 else 0.0 for s in spares]) if spares else None
    )
    paths = _mean(
        [_demand_share(f.loads, [paths >= 2 for _, paths, _ in f.loads]) for f in figures]
    )
    elements = sum(f.elements for f in figures)
    failing = sum(f.failing_elements for f in figures)
    if any(f.unserved for f in figures):
        maintainability: float | None = 0.0  # see the module notes: never rises as more fails
    else:
        maintainability = 1.0 - failing / elements if elements else None
    power = [f for f in figures if f.name == "power"]
    dual = (
        _demand_share(power[0].loads, [cords >= 2 for _, _, cords in power[0].loads])
        if power
        else None
    )
    fuel = None if fuel_hours is None else fuel_hours / FUEL_HOURS_FOR_FULL_MARKS
    availability = None if availability_burn is None else 1.0 - availability_burn
    values = {
        "capacity": capacity,
        "paths": paths,
        "maintainability": maintainability,
        "dual_corded": dual,
        "fuel": fuel,
        "environment": environment_share,
        "availability": availability,
    }
    return tuple(
        ScorePart(name, WEIGHTS[name], None if value is None else _clamp(value))
        for name, value in values.items()
    )


def readiness(parts: Sequence[ScorePart]) -> float:
    known = [p for p in parts if p.value is not None]
    weight = sum(p.weight for p in known)
    if weight <= 0:
        return 0.0
    total = sum(p.weight * (p.value or 0.0) for p in known)
    return round(_clamp(total / weight) * 100.0, 2)
