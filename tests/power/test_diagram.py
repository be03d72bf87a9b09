"""The one-line diagram of TIER-MODEL's example 2, drawn from the topology and a state."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from power.diagram import FILL, DiagramState, render_svg
from tier.topology import TopologyConfig

EXAMPLE_2 = TopologyConfig.model_validate({"power": {
    "groups": [{"id": "generator", "demand": 120}],
    "nodes": [
        {"id": "G1", "kind": "generator", "capacity": 150},
        {"id": "G2", "kind": "generator", "capacity": 150},
        {"id": "SWB-A", "kind": "switchboard", "fed_from": ["G1", "G2"]},
        {"id": "SWB-B", "kind": "switchboard", "fed_from": ["G1", "G2"]},
        {"id": "UPS-A", "kind": "ups", "capacity": 100, "fed_from": ["SWB-A"]},
        {"id": "UPS-B", "kind": "ups", "capacity": 100, "fed_from": ["SWB-B"]},
        {"id": "PDU-A", "kind": "pdu", "fed_from": ["UPS-A"]},
        {"id": "PDU-B", "kind": "pdu", "fed_from": [{"id": "UPS-B", "mode": "manual"}]},
        {"id": "R", "kind": "rack", "demand": 80, "fed_from": ["PDU-A", "PDU-B"]}]}})
NS = {"s": "http://www.w3.org/2000/svg"}


def _nodes(svg: str) -> dict[str, ET.Element]:
    root = ET.fromstring(svg)  # well-formed XML, or this raises
    return {g.get("id", "")[5:]: g for g in root.iter("{http://www.w3.org/2000/svg}g")
            if g.get("class") == "node"}


def _edge(svg: str, src: str, dst: str) -> str:
    found = re.search(rf'<path [^>]*class="edge (\w+)" data-from="{src}" data-to="{dst}"', svg)
    assert found, (src, dst)
    return found.group(1)


def test_design_state() -> None:
    svg = render_svg(EXAMPLE_2, DiagramState(spofs=frozenset({"SWB-A", "UPS-A", "PDU-A"})))
    nodes = _nodes(svg)
    assert set(nodes) == {"G1", "G2", "SWB-A", "SWB-B", "UPS-A", "UPS-B", "PDU-A", "PDU-B",
                          "R"}
    assert {n.get("data-status") for n in nodes.values()} == {"ok"}
    rect = nodes["UPS-B"].find("s:rect", NS)
    assert rect is not None and rect.get("fill") == FILL["ok"]
    # the normally open tie UPS-B -> PDU-B is dashed and never the active path
    assert _edge(svg, "UPS-B", "PDU-B") == "manual"
    assert 'stroke-dasharray="6 4" class="edge manual" data-from="UPS-B"' in svg
    assert _edge(svg, "UPS-A", "PDU-A") == "active"
    assert _edge(svg, "PDU-A", "R") == "active"
    # SPOFs: red border and a tag; a node that is not one has neither
    assert nodes["SWB-A"].get("data-spof") == "1" and nodes["SWB-B"].get("data-spof") is None
    # layers: generators above switchboards above UPSs above PDUs above the rack
    y = {k: float(n.find("s:rect", NS).get("y")) for k, n in nodes.items()}  # type: ignore[union-attr, arg-type]
    assert y["G1"] < y["SWB-A"] < y["UPS-A"] < y["PDU-A"] < y["R"]


def test_live_state_with_ups_a_out() -> None:
    state = DiagramState(statuses={"UPS-A": "failed", "R": "failed"},
                         reasons={"UPS-A": "bypass"}, hidden_spofs=frozenset({"R"}))
    svg = render_svg(EXAMPLE_2, state)
    nodes = _nodes(svg)
    rect = nodes["UPS-A"].find("s:rect", NS)
    assert rect is not None and rect.get("fill") == FILL["failed"]
    title = nodes["UPS-A"].find("s:title", NS)
    assert title is not None and title.text == "UPS-A (UPS-A, ups): failed - bypass"
    # below the failed UPS nothing is energised on path A
    assert _edge(svg, "SWB-A", "UPS-A") == "idle"
    assert _edge(svg, "UPS-A", "PDU-A") == "idle"
    assert _edge(svg, "G1", "SWB-B") == "active"
    assert "SPOF (cord)" in svg  # a rack one cord could not carry
