"""A topology dumped and read back keeps its exact quantities (tier/topology.py
`_serialized`): JSON gets the decimal as text, Python a Decimal; a fraction with no
finite decimal stays "p/q"."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from tests.tier.build import node, topology
from tier.quantity import decimal_text
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
