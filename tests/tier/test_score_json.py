"""Fields of the score's JSON no other test reads, on the N-1 UPS site of test_cases.py
(G1 -> SWB -> UPS1..3 (40 kW) -> PDU -> R, 100 kW), worked out by hand."""

from __future__ import annotations

from typing import Any

from tests.tier.test_cases import N_MINUS_ONE, TWO_N_ACTIVE
from tier.score import score, whatif


def parts_of(doc: dict[str, Any]) -> dict[str, float | None]:
    return {name: part["value"] for name, part in doc["site"]["score_parts"].items()}


def test_the_maintainability_details_cords_and_elements() -> None:
    power = score(N_MINUS_ONE).to_json()["subsystems"]["power"]
    # Six elements could be taken out: G1, SWB, UPS1, UPS2, UPS3 and PDU (R is a load).
    assert power["maintainable_elements"] == 6
    assert power["maintainability_details"][0] == {
        "node": "G1", "loads": ["R"], "lost": [{"load": "R", "reason": "no path"}]
    }
    assert [(ld["id"], ld["cords"]) for ld in power["loads"]] == [("R", 1)]
    two_n = score(TWO_N_ACTIVE).to_json()["subsystems"]["power"]
    assert [(ld["id"], ld["cords"]) for ld in two_n["loads"]] == [("R", 2)]


def test_fuel_environment_and_availability_reach_the_score_parts() -> None:
    # fuel 6 h of the 12 h for full marks: 0.5; environment 0.5 as given; availability
    # 1 - 0.25 of the budget burnt: 0.75.
    parts = parts_of(score(N_MINUS_ONE, fuel_hours=6.0, environment_share=0.5,
                           availability_burn=0.25).to_json())
    assert (parts["fuel"], parts["environment"], parts["availability"]) == (0.5, 0.5, 0.75)
    after = parts_of(whatif(TWO_N_ACTIVE, {}, ["UPS-B"], fuel_hours=6.0, environment_share=0.5,
                            availability_burn=0.25).to_json())
    assert (after["fuel"], after["environment"], after["availability"]) == (0.5, 0.5, 0.75)
    bare = parts_of(score(N_MINUS_ONE).to_json())
    assert (bare["fuel"], bare["environment"], bare["availability"]) == (None, None, None)
