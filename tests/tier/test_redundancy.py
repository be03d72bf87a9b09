"""Formula 1: required units, spare and label."""

from __future__ import annotations

import pytest

from tier.redundancy import label, required_and_spare


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
