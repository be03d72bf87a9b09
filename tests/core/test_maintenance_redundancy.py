"""What a maintenance window's scope takes out of the topology, and what a check refuses."""

from __future__ import annotations

import pytest

from tierwatch.core.maintenance import (
    RedundancyCheck,
    Scope,
    WouldDropLoads,
    require_safe,
    scope_nodes,
)

BINDINGS = {"UPS-A": ("ups-a", None), "UPS-B": ("ups-b", None),
            "PDU-R01-A": ("pdu-r01-a", None), "VNPT": ("edge-1", "port Gi0/0/0"),
            "EDGE-1": ("edge-1", None)}
NODES = [*BINDINGS, "MSB-A", "R01"]


@pytest.mark.parametrize(("scope", "nodes", "unchecked"), [
    ({"devices": ["ups-a"]}, ["UPS-A"], []),
    ({"components": ["MSB-A"]}, ["MSB-A"], []),
    # a component of a device: only the node bound to that component
    ({"components": ["edge-1/port Gi0/0/0"]}, ["VNPT"], []),
    # the device: every node bound to it
    ({"devices": ["edge-1"]}, ["EDGE-1", "VNPT"], []),
    ({"devices": ["ups-a"], "subsystems": ["cooling"]}, ["UPS-A"], ["subsystem cooling"]),
    ({"devices": ["env-1"]}, [], []),
])
def test_scope_nodes(scope: dict[str, list[str]], nodes: list[str], unchecked: list[str]
                     ) -> None:
    assert scope_nodes(Scope.from_json(scope), BINDINGS, NODES) == (nodes, unchecked)


def test_a_check_that_drops_loads_is_refused_unless_forced() -> None:
    check = RedundancyCheck(("UPS-A",), ("R01", "R02"), 2, 0, blocking=("UPS-B",))
    with pytest.raises(WouldDropLoads) as err:
        require_safe(check, force=False)
    assert str(err.value) == ("taking UPS-A out of service now would drop R01, R02 (out of "
                              "service already: UPS-B)")
    assert require_safe(check, force=True) == [
        "forced: taking UPS-A out of service now would drop R01, R02 (out of service "
        "already: UPS-B)", "the window would lower the live tier from 2 to 0"]
    lowers = RedundancyCheck(("UPS-A",), (), 2, 1)
    assert require_safe(lowers, force=False) == ["the window would lower the live tier from 2 to 1"]
    assert require_safe(RedundancyCheck(("PDU-R01-A",), (), 2, 2), force=False) == []
    assert require_safe(None, force=False) == []
