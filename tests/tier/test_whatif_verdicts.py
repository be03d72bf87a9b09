"""whatif's answer word for word, on small sites worked out by hand.

The verdict's shape (tier/score.py `_verdict`): "yes: taking NAMES out drops no load (live
tier afterwards T)"; "no: taking NAMES out drops LOST, even with every other node available"
with "; besides, now WHY" when nodes already out add to it; "not now: WHY; taking NAMES out
would drop LOST". NAMES: up to three joined with " and ", more with ", ". LOST: up to six
"load (reason)", then "K more". WHY: each blocking node and its status, "; " between.
"""

from __future__ import annotations

from tests.tier.build import node, topology
from tests.tier.test_cases import TWO_N_ACTIVE
from tier.score import ManualTransfer, whatif


def test_three_names_are_joined_with_and_four_with_commas() -> None:
    # Side B of the 2N site out: R (80 kW) on G1 (150) -> SWB-A -> UPS-A (100) -> PDU-A.
    # One path, and the generator and UPS groups without a spare: Tier I afterwards.
    three = whatif(TWO_N_ACTIVE, {}, ["SWB-B", "G2", "PDU-B"])
    assert three.verdict == (
        "yes: taking G2 and PDU-B and SWB-B out drops no load (live tier afterwards 1)"
    )
    four = whatif(TWO_N_ACTIVE, {}, ["SWB-B", "G2", "PDU-B", "UPS-B"])
    assert four.verdict == (
        "yes: taking G2, PDU-B, SWB-B, UPS-B out drops no load (live tier afterwards 1)"
    )


def test_seven_loads_lost_show_six_and_one_more() -> None:
    topo = topology(power=[
        node("G1", "generator", capacity=100),
        node("PDU", "pdu", "G1"),
        *(node(f"R{i}", "rack", "PDU", demand=1) for i in range(1, 8)),
    ])
    answer = whatif(topo, {}, ["PDU"])
    assert [(x.load, x.reason) for x in answer.lost] == [(f"R{i}", "no path") for i in range(1, 8)]
    assert answer.verdict == (
        "no: taking PDU out drops R1 (no path), R2 (no path), R3 (no path), R4 (no path), "
        "R5 (no path), R6 (no path), 1 more, even with every other node available"
    )


def test_racks_on_one_switchboard_are_weighed_together() -> None:
    # G1, G2 (100 kW each) -> SWB -> R1, R2 (60 kW each): 120 kW on the 100 kW left.
    topo = topology(power=[
        node("G1", "generator", capacity=100),
        node("G2", "generator", capacity=100),
        node("SWB", "switchboard", "G1", "G2"),
        node("R1", "rack", "SWB", demand=60),
        node("R2", "rack", "SWB", demand=60),
    ])
    answer = whatif(topo, {}, ["G2"])
    assert [(x.load, x.reason) for x in answer.lost] == [
        ("R1", "capacity short"), ("R2", "capacity short")
    ]


def test_a_rack_that_needs_nothing_is_not_lost_with_its_neighbour() -> None:
    # G1, G2 (100 kW each) -> SWB -> R1 (150 kW), R0 (0 kW): without G2, R1 is short and
    # R0, which needs nothing, is still served.
    topo = topology(power=[
        node("G1", "generator", capacity=100),
        node("G2", "generator", capacity=100),
        node("SWB", "switchboard", "G1", "G2"),
        node("R1", "rack", "SWB", demand=150),
        node("R0", "rack", "SWB", demand=0),
    ])
    answer = whatif(topo, {}, ["G2"])
    assert [(x.load, x.reason) for x in answer.lost] == [("R1", "capacity short")]


# G1, G2 (1000 kW) -> SWB -> PDU-X, PDU-Y, PDU-Z; RA on PDU-X alone, RB on PDU-X and
# PDU-Y, RC on PDU-X and PDU-Z.
THREE_RACKS = topology(power=[
    node("G1", "generator", capacity=1000),
    node("G2", "generator", capacity=1000),
    node("SWB", "switchboard", "G1", "G2"),
    node("PDU-X", "pdu", "SWB"),
    node("PDU-Y", "pdu", "SWB"),
    node("PDU-Z", "pdu", "SWB"),
    node("RA", "rack", "PDU-X", demand=1),
    node("RB", "rack", "PDU-X", "PDU-Y", demand=1),
    node("RC", "rack", "PDU-X", "PDU-Z", demand=1),
])


def test_lost_by_design_and_besides_two_nodes_out_now() -> None:
    # Without PDU-X, RA is lost whatever; RB only because PDU-Y has failed, RC only because
    # PDU-Z is off. G2 has failed too, but G1 alone carries everything: not to blame.
    answer = whatif(THREE_RACKS, {"PDU-Y": "failed", "PDU-Z": "off", "G2": "failed"}, ["PDU-X"])
    assert [(x.load, x.reason) for x in answer.lost] == [
        ("RA", "no path"), ("RB", "no path"), ("RC", "no path")
    ]
    assert [(c.id, c.status) for c in answer.blocking] == [("PDU-Y", "failed"), ("PDU-Z", "off")]
    assert answer.verdict == (
        "no: taking PDU-X out drops RA (no path), RB (no path), RC (no path), even with every "
        "other node available; besides, now PDU-Y has failed; PDU-Z is off"
    )
    assert answer.to_json()["blocking"] == [
        {"id": "PDU-Y", "status": "failed"}, {"id": "PDU-Z", "status": "off"}
    ]


def test_two_nodes_out_together_are_blamed_together() -> None:
    # R on PDU-X, and on PDU-Y behind its own switchboard SWB-Y; PDU-Y has failed and SWB-Y
    # is off: bringing back either alone leaves R on PDU-X only, so both are named. PDU-Q is
    # off too, but RQ behind it was not served before: not to blame.
    topo = topology(power=[
        node("G1", "generator", capacity=100),
        node("SWB", "switchboard", "G1"),
        node("SWB-Y", "switchboard", "SWB"),
        node("PDU-X", "pdu", "SWB"),
        node("PDU-Y", "pdu", "SWB-Y"),
        node("PDU-Q", "pdu", "SWB"),
        node("R", "rack", "PDU-X", "PDU-Y", demand=1),
        node("RQ", "rack", "PDU-Q", demand=1),
    ])
    answer = whatif(topo, {"PDU-Y": "failed", "SWB-Y": "off", "PDU-Q": "failed"}, ["PDU-X"])
    assert answer.verdict == (
        "not now: PDU-Y has failed; SWB-Y is off; taking PDU-X out would drop R (no path)"
    )


# power: G1 (100 kW) -> PDU -> R (10 kW); cooling: CRAC1..3 (50 kW each) -> Z (80 kW)
TWO_SUBSYSTEMS = topology(
    power=[
        node("G1", "generator", capacity=100),
        node("PDU", "pdu", "G1"),
        node("R", "rack", "PDU", demand=10),
    ],
    cooling=[
        *(node(f"CRAC{i}", "crac", capacity=50) for i in (1, 2, 3)),
        node("Z", "zone", "CRAC1", "CRAC2", "CRAC3", demand=80),
    ],
)


def test_a_removal_in_cooling_after_nothing_in_power() -> None:
    # CRAC3 has failed: without CRAC2, 50 kW for an 80 kW zone; by design CRAC1 and CRAC3
    # would give 100.
    answer = whatif(TWO_SUBSYSTEMS, {"CRAC3": "failed"}, ["CRAC2"])
    assert answer.verdict == (
        "not now: CRAC3 has failed; taking CRAC2 out would drop Z (capacity short)"
    )


def test_losses_in_two_subsystems_are_all_listed() -> None:
    # Power loses R by design (its one PDU); cooling loses Z only now (CRAC3 failed).
    answer = whatif(TWO_SUBSYSTEMS, {"CRAC3": "failed"}, ["PDU", "CRAC2"])
    assert [(x.load, x.reason) for x in answer.lost] == [
        ("R", "no path"), ("Z", "capacity short")
    ]
    assert answer.verdict == (
        "no: taking CRAC2 and PDU out drops R (no path), Z (capacity short), even with every "
        "other node available; besides, now CRAC3 has failed"
    )


def test_a_load_behind_two_named_ties_lists_both() -> None:
    transfer = ManualTransfer("R", (("SWB", "PDU"), ("UPS-B", "PDU-B")))
    assert transfer.describe() == "R (tie SWB -> PDU, UPS-B -> PDU-B)"
    assert ManualTransfer("R", ()).describe() == "R (any of several manual ties)"


def test_an_unavailable_edge_counts_now_and_afterwards() -> None:
    # The 2N site plus R2 (1 kW) on PDU-B alone, with the link UPS-B -> PDU-B unverified
    # (out): R2 is not served now, so taking UPS-A out cannot lose it; R loses path A and
    # path B is cut: no path, and nothing is served afterwards (live tier 0).
    topo = topology(power=[
        *TWO_N_ACTIVE.model_dump()["power"]["nodes"],
        node("R2", "rack", "PDU-B", demand=1),
    ])
    answer = whatif(topo, {}, ["UPS-A"], unavailable_edges=[("UPS-B", "PDU-B")])
    assert [(x.load, x.reason) for x in answer.lost] == [("R", "no path")]
    assert answer.after.live_tier == 0
    assert answer.verdict.startswith("not now: ")
