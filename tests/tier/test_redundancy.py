"""Formula 1: required units, spare and label."""

from __future__ import annotations

import pytest

from tests.tier.build import node, topology
from tier.redundancy import label, required_and_spare
from tier.score import score


@pytest.mark.parametrize(
    ("capacities", "demand", "unit", "required", "spare"),
    [
        ([100, 100], 90, None, 1, 1),
        ([60, 60], 50, None, 1, 1),
        ([100], 80, None, 1, 0),
        ([40, 40, 40], 100, None, 3, 0),
        ([40, 40], 100, 40, 3, -1),  # one 40 kW unit missing
        ([40], 100, 40, 3, -1),  # two missing
        ([100, 50, 50], 90, None, 1, 1),  # without the 100, 50+50 still covers
        ([100, 50, 30], 90, None, 1, 0),  # without the 100, 80 < 90
        ([500] * 5, 1875, None, 4, 1),
        ([50, 50, 50], 0, None, 0, 3),
        ([], 0, None, 0, 0),
        ([], 10, 5, 2, -1),
        ([0, 0], 10, 0, 3, -1),
        ([30, 30, 30], 90.0000001, None, 4, -1),
        # the boundaries, exactly: covering the demand exactly is enough
        ([40, 40, 40], 120, None, 3, 0),  # 120 >= 120 with all three; none spare
        ([60, 60], 60, None, 1, 1),  # one unit equals the demand: required 1
        ([50, 50, 50], 100, None, 2, 1),  # without one, 100 >= 100 still: one spare
        ([40], 100, 40, 3, -1),  # 60 missing: two more 40 kW units (ceil 1.5), not one
        # no unit size given: the missing units are counted at the largest given one
        ([100, 50], 400, None, 5, -1),  # 150 of 400: 250 missing, ceil(250/100) = 3 more
        ([], 10, None, 1, -1),  # nothing to size by: at least one unit missing
        ([1], 3, 1, 3, -1),  # units of one flow unit: 2 missing, ceil(2/1) = 2 more
    ],
)
def test_required_and_spare(
    capacities: list[float], demand: float, unit: float | None, required: int, spare: int
) -> None:
    assert required_and_spare(capacities, demand, unit) == (required, spare)


@pytest.mark.parametrize(
    ("required", "available", "spare", "two_n", "expected"),
    [
        (3, 2, -1, False, "N-1"),
        (5, 2, -1, False, "N-3"),
        (1, 1, 0, False, "N"),
        (1, 2, 1, False, "N+1"),
        (4, 6, 2, False, "N+2"),
        (1, 2, 1, True, "2N"),
    ],
)
def test_label(required: int, available: int, spare: int, two_n: bool, expected: str) -> None:
    assert label(required, available, spare, two_n) == expected


# --------------------------------------------------------------------------- groups in a site
#
# Issue 21: a declared group demand, a group short while its largest unit is down, "2N"
# with several units per side and one failed, and the capacities reported.


def _generators(declared: float | None) -> dict[str, object]:
    groups = {"power": [{"id": "generator", "demand": declared}]} if declared else None
    topo = topology(
        power=[
            node("G1", "generator", capacity=100),
            node("G2", "generator", capacity=100),
            node("SWB", "switchboard", "G1", "G2"),
            node("R", "rack", "SWB", demand=80),
        ],
        groups=groups,
    )
    (group,) = score(topo).subsystem("power").live.groups
    return group.to_json()


def test_a_declared_group_demand_replaces_what_the_loads_draw() -> None:
    # The loads draw 80: one 100 kW generator covers it, the other is spare (N+1).
    served = _generators(None)
    assert (served["demand_exact"], served["required"], served["spare"], served["label"]) == (
        "80", 1, 1, "N+1"
    )
    # Declared 120 (IT and mechanical): 100 < 120 <= 200, both needed, none spare (N).
    declared = _generators(120)
    assert (declared["demand_exact"], declared["required"], declared["spare"]) == ("120", 2, 0)
    assert declared["label"] == "N"
    assert (declared["demand"], served["demand"]) == (120.0, 80.0)  # the display figures
    # Declared 250: 200 < 250, one more 100 kW unit missing (N-1).
    short = _generators(250)
    assert (short["required"], short["spare"], short["label"]) == (3, -1, "N-1")


# UPS modules of 100, 50 and 50 kW on one bus for a 180 kW load.
MODULES = topology(
    power=[
        node("G1", "generator"),
        node("SWB", "switchboard", "G1"),
        node("UPS-1", "ups", "SWB", capacity=100),
        node("UPS-2", "ups", "SWB", capacity=50),
        node("UPS-3", "ups", "SWB", capacity=50),
        node("UOB", "switchboard", "UPS-1", "UPS-2", "UPS-3"),
        node("R", "rack", "UOB", demand=180),
    ]
)


def test_a_group_short_while_its_largest_unit_is_down() -> None:
    # Design: 100 + 50 + 50 = 200 >= 180 (required 3), no unit to spare: N.
    (design,) = score(MODULES).subsystem("power").design.groups
    assert (design.required, design.spare, design.label) == (3, 0, "N")
    assert (design.capacity_installed, design.capacity_available) == (200, 200)
    # UPS-1 (100) failed: 50 + 50 = 100 available, 80 short. Units to add are counted at
    # the group's largest size, 100 kW: ceil(80 / 100) = 1 -> required 3, "N-1" (at the
    # size of the units still up, 50 kW, it would read N-2).
    (live,) = score(MODULES, {"UPS-1": "failed"}).subsystem("power").live.groups
    doc = live.to_json()
    assert (doc["required"], doc["available"], doc["spare"], doc["label"]) == (3, 2, -1, "N-1")
    assert (doc["capacity_installed_exact"], doc["capacity_available_exact"]) == ("200", "100")
    assert (doc["capacity_installed"], doc["capacity_available"]) == (200.0, 100.0)
    assert doc["unavailable_units"] == ["UPS-1"]


# Two UPS modules of 50 kW per side, each side to its own PDU; a dual-corded 80 kW rack.
TWO_SIDES = topology(
    power=[
        node("G1", "generator"),
        node("SWB-A", "switchboard", "G1"),
        node("SWB-B", "switchboard", "G1"),
        node("UPS-A1", "ups", "SWB-A", capacity=50),
        node("UPS-A2", "ups", "SWB-A", capacity=50),
        node("UPS-B1", "ups", "SWB-B", capacity=50),
        node("UPS-B2", "ups", "SWB-B", capacity=50),
        node("PDU-A", "pdu", "UPS-A1", "UPS-A2"),
        node("PDU-B", "pdu", "UPS-B1", "UPS-B2"),
        node("R", "rack", "PDU-A", "PDU-B", demand=80),
    ]
)


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        # 4 x 50 = 200 for 80: required 2, spare 2; each side alone 100 >= 80: 2N
        ({}, (2, 4, 2, "2N", "200")),
        # UPS-A1 failed: 150 available; required 2 (100 >= 80), spare 1 (100 left without
        # one 50), but side A alone is 50 < 80: not 2N any more, N+1
        ({"UPS-A1": "failed"}, (2, 3, 1, "N+1", "150")),
        # both A modules failed: side B alone 100 (required 2, spare 0): N
        ({"UPS-A1": "failed", "UPS-A2": "bypass"}, (2, 2, 0, "N", "100")),
    ],
)
def test_2n_with_several_units_per_side(
    statuses: dict[str, str], expected: tuple[object, ...]
) -> None:
    (group,) = score(TWO_SIDES, statuses).subsystem("power").live.groups
    doc = group.to_json()
    got = (doc["required"], doc["available"], doc["spare"], doc["label"])
    assert (*got, doc["capacity_available_exact"]) == expected
