"""A topology dumped and read back keeps its exact quantities (tier/topology.py
`_serialized`): JSON gets the decimal as text, Python a Decimal; a fraction with no
finite decimal stays "p/q"."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from tests.tier.build import node, topology
from tier.quantity import QuantityError, decimal_text, exact, scale_for
from tier.topology import TopologyConfig


def test_a_decimal_capacity_dumps_as_a_decimal_and_as_text() -> None:
    topo = topology(
        power=[node("G1", "generator", capacity=40.5), node("R", "rack", "G1", demand=1)]
    )
    python = topo.power.model_dump()["nodes"][0]["capacity"]
    assert isinstance(python, Decimal) and python == Decimal("40.5")
    assert topo.power.model_dump(mode="json")["nodes"][0]["capacity"] == "40.5"
    again = TopologyConfig.model_validate({"power": topo.power.model_dump()})
    assert again.power.nodes[0].capacity == Fraction(81, 2)


def test_a_third_has_no_decimal_and_dumps_as_a_fraction() -> None:
    topo = topology(power=[
        node("G1", "generator", capacity=Fraction(1, 3)), node("R", "rack", "G1", demand=0)
    ])
    assert topo.power.model_dump(mode="json")["nodes"][0]["capacity"] == "1/3"
    # pydantic writes the Fraction kept for Python as "p/q" too (which the capacity
    # validator, expecting a decimal, does not read back: only Python callers can give one)
    assert topo.power.model_dump()["nodes"][0]["capacity"] == "1/3"


def test_decimal_text_of_tiny_quantities_is_exact() -> None:
    # 3e-25 is 3 / (2**25 * 5**25); 1/5**30 is 2**30 / 10**30 = 1073741824e-30. The
    # denominators are beyond a float's 53 bits: the reduction must stay in integers.
    assert decimal_text(Fraction(3, 10**25)) == "0." + "0" * 24 + "3"
    assert decimal_text(Fraction(1, 5**30)) == "0." + "0" * 20 + "1073741824"
    assert decimal_text(Fraction(1, 3)) == "1/3"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        # up to 30 digits before the point, and up to 30 places after it, written out
        (Fraction(10**29), "1" + "0" * 29),
        (Fraction(1, 10**30), "0." + "0" * 29 + "1"),
        # beyond, with an exponent: d.ddd E sign power
        (Fraction(10**30), "1E+30"),
        (Fraction(1, 10**31), "1E-31"),
        (Fraction(12345 * 10**30), "1.2345E+34"),
        (Fraction(12 * 10**30), "1.2E+31"),
        (Fraction(10**31 + 1, 10**31), "1." + "0" * 30 + "1E+0"),
    ],
)
def test_decimal_text_switches_to_an_exponent_beyond_30_digits(value: Fraction, text: str) -> None:
    assert decimal_text(value) == text


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("-5", "must be >= 0, got -5"),
        (" -0.25 ", "must be >= 0, got -0.25"),
        ("five", "must be a finite decimal number, got 'five'"),
    ],
)
def test_a_negative_or_unreadable_quantity_is_refused_by_name(given: str, message: str) -> None:
    with pytest.raises(QuantityError) as raised:
        exact(given)
    assert str(raised.value) == message


def test_quantity_text_with_a_plus_or_digit_groups() -> None:
    assert exact("1_000.5") == Fraction(2001, 2)
    assert exact(" +2.5 ") == Fraction(5, 2)


def test_scale_for_is_the_least_common_multiple_of_the_denominators() -> None:
    # halves and fifths: 10; from a start of 4 with sixths: 12; whole numbers: the start.
    assert scale_for([Fraction(1, 2), Fraction(1, 5)]) == 10
    assert scale_for([Fraction(1, 6)], start=4) == 12
    assert scale_for([Fraction(7), Fraction(3)]) == 1
