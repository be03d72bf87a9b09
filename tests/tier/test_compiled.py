"""One compiled topology scored again and again: what it keeps between scores must follow
the inputs. And the error a broken topology raises. Hand-computed figures."""

from __future__ import annotations

from typing import Any

import pytest

from tests.tier.build import node, topology
from tests.tier.test_cases import N_MINUS_ONE
from tier.graph import TopologyError, compile_topology
from tier.score import score

# G1 (200 kW) -> SWB -> UPS1..3 (40 kW each) -> PDU -> R (100 kW): test_cases' N-1 site
THREE_UPS = N_MINUS_ONE


def ups_group(snap_json: dict[str, Any]) -> tuple[Any, ...]:
    sub = snap_json["subsystems"]["power"]
    ups = next(g for g in sub["groups"] if g["id"] == "ups")
    return (sub["loads"][0]["served"], ups["required"], ups["spare"], ups["label"])


def test_a_demand_in_halves_after_whole_ones_is_weighed_in_halves() -> None:
    # Whole kW first (one flow unit a kW), then 80.5 kW: the capacities must be counted in
    # half kW too. 80 kW needs 2 of the 40 kW UPSs (one spare: N+1); 80.5 kW needs all 3
    # (120 kW >= 80.5 > 80), none spare, and is served.
    compiled = compile_topology(THREE_UPS)
    assert ups_group(score(compiled, demands={"R": 80.0}).to_json()) == (True, 2, 1, "N+1")
    assert ups_group(score(compiled, demands={"R": 80.5}).to_json()) == (True, 3, 0, "N")
    assert ups_group(score(compiled, demands={"R": 120.25}).to_json()) == (False, 4, -1, "N-1")
    assert ups_group(score(compiled, demands={"R": 80.0}).to_json()) == (True, 2, 1, "N+1")


def test_the_error_names_every_problem() -> None:
    problems = ["power.nodes[1].fed_from: unknown node 'X'", "power.nodes[2].id: duplicate"]
    err = TopologyError(problems)
    assert err.problems == problems
    assert str(err) == (
        "power.nodes[1].fed_from: unknown node 'X'; power.nodes[2].id: duplicate"
    )
    broken = topology(power=[node("R", "rack", "NOPE", demand=1)])
    with pytest.raises(TopologyError) as raised:
        compile_topology(broken)
    assert str(raised.value) == "; ".join(raised.value.problems)
    assert len(raised.value.problems) >= 1
