"""whatif: can these nodes go out of service now, and if not, why not."""

from __future__ import annotations

import json

import pytest

from tests.tier.build import FIXTURES, fixture_topology, node, topology
from tests.tier.test_cases import CAPACITY_BOUND, TWO_N_ACTIVE
from tests.tier.test_examples import run_cli
from tier.score import whatif

EXAMPLE_2 = fixture_topology("example2.yaml")


def test_not_now_names_the_node_already_out() -> None:
    answer = whatif(EXAMPLE_2, {"UPS-B": "bypass"}, ["UPS-A"])
    assert not answer.ok
    assert [(x.load, x.reason) for x in answer.lost] == [("R", "no path")]
    assert answer.verdict.startswith("not now: UPS-B is on bypass")
    assert "drop R (no path)" in answer.verdict
    assert [(c.id, c.status) for c in answer.blocking] == [("UPS-B", "bypass")]


def test_maintenance_over_the_manual_tie_is_fine_when_all_is_well() -> None:
    answer = whatif(EXAMPLE_2, {}, ["UPS-A"])
    assert answer.ok and answer.lost == ()
    assert answer.verdict.startswith("yes:")
    after = answer.after.subsystem("power")
    # Afterwards R hangs on path B alone, behind the manual tie.
    assert [
        (ld.id, ld.paths_all, ld.paths_active, ld.served, ld.served_active)
        for ld in after.live.loads
    ] == [("R", 1, 0, True, False)]
    assert after.unavailable[0].to_json() == {"id": "UPS-A", "status": "removed"}
    assert after.design.tier == 3 and after.live.tier == 1


def test_no_when_the_design_itself_cannot_take_it() -> None:
    answer = whatif(EXAMPLE_2, {}, ["UPS-A", "UPS-B"])
    assert answer.verdict.startswith("no: taking UPS-A and UPS-B out drops R (no path)")
    assert answer.blocking == ()


def test_capacity_short_removal() -> None:
    answer = whatif(CAPACITY_BOUND, {}, ["G1"])
    assert [(x.load, x.reason) for x in answer.lost] == [("R", "capacity short")]
    assert answer.verdict.startswith("no:")


def test_blame_goes_to_the_node_that_matters_only() -> None:
    # Side B is out at its switchboard; an unrelated CRAC-less rack's PDU is off too.
    topo = topology(
        power=[
            *TWO_N_ACTIVE.model_dump()["power"]["nodes"],
            node("PDU-C", "pdu", "SWB-A"),
            node("R2", "rack", "PDU-C", demand=1),
        ]
    )
    answer = whatif(topo, {"SWB-B": "off", "PDU-C": "failed"}, ["UPS-A"])
    assert [(c.id, c.status) for c in answer.blocking] == [("SWB-B", "off")]
    assert answer.verdict.startswith("not now: SWB-B is off;")


def test_removing_a_load_does_not_count_it_as_lost() -> None:
    answer = whatif(TWO_N_ACTIVE, {}, ["R"])
    assert answer.ok and answer.lost == ()


@pytest.mark.parametrize("remove", [["NOPE"], ["UPS-A", "NOPE", "ALSO"]])
def test_unknown_node_is_an_error(remove: list[str]) -> None:
    with pytest.raises(ValueError, match="NOPE"):
        whatif(EXAMPLE_2, {}, remove)


def test_whatif_json_has_the_score_shape_plus_lost_and_verdict() -> None:
    doc = whatif(EXAMPLE_2, {"UPS-B": "bypass"}, ["UPS-A"]).to_json()
    assert {"site", "subsystems", "lost", "verdict", "removed", "ok"} <= set(doc)
    assert doc["lost"] == [{"load": "R", "reason": "no path"}]
    power = doc["subsystems"]["power"]
    assert power["live_tier"] == 0 and power["design_tier"] == 3
    assert power["loads"][0]["served"] is False


def test_cli_whatif_exit_status_and_output() -> None:
    path = str(FIXTURES / "example2.yaml")
    done = run_cli("whatif", "-c", path, "--remove", "UPS-A", "--assume", "UPS-B=bypass")
    assert done.returncode == 3
    assert done.stdout.splitlines()[0].startswith("not now: UPS-B is on bypass")
    fine = run_cli("whatif", "-c", path, "--remove", "UPS-A", "--json")
    assert fine.returncode == 0, fine.stderr
    assert json.loads(fine.stdout)["ok"] is True
    bad = run_cli("whatif", "-c", path, "--remove", "UPS-Z")
    assert bad.returncode == 2 and "UPS-Z" in bad.stderr
