"""Properties of the tier engine on random topologies, against an independent reference.

`tests/tier/tier_reference.py` answers formulas 1-5 by brute force from the topology
as plain data (one networkx max-flow per question, on exact integers), sharing no code with
tier/. Random topologies have up to 60 nodes, manual ties (loops through them, a
main-tie-main tie written both ways, maintenance bypasses), capacities and demands written
with up to 6 decimals, declared group demands, pass-through loads and random statuses; the
engine reads them as tierwatch does, from YAML text.

Examples per test: TIER_PROPERTY_EXAMPLES (default 25, a few seconds each test in `make
test`); set it higher for a longer run, e.g. TIER_PROPERTY_EXAMPLES=2000.
"""

from __future__ import annotations

import json
import os
import re
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.tier.tier_reference import Reference
from tier.score import TierSnapshot, score
from tier.topology import TopologyConfig
from tierwatch.config import read_yaml

EXAMPLES = int(os.environ.get("TIER_PROPERTY_EXAMPLES", "25"))
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
STATUSES = ["ok", "degraded", "failed", "unknown", "bypass", "off"]


# --------------------------------------------------------------------------- strategies


@st.composite
def decimal_text(draw: st.DrawFn, low: int, high: int) -> str:
    """A decimal in [low, high] written with 0 to 6 decimals, as a person would type it."""
    places = draw(st.integers(0, 6))
    value = draw(st.integers(low * 10**places, high * 10**places))
    return str(Decimal(value).scaleb(-places)) if places else str(value)


@st.composite
def designs(draw: st.DrawFn, max_nodes: int = 60) -> dict[str, Any]:
    """A power topology as plain data: generators (a utility now and then), layers of
    switchboards, UPSs, PDUs and ATSs fed forward by auto feeds, racks, now and then a
    pass-through load, and manual ties in any direction (loops through them allowed)."""
    nodes: list[dict[str, Any]] = []
    cap = st.one_of(st.none(), decimal_text(1, 400))
    sources = []
    for i in range(draw(st.integers(1, 4))):
        nodes.append({"id": f"G{i}", "kind": "generator", "capacity": draw(cap)})
        sources.append(f"G{i}")
    if draw(st.booleans()):
        nodes.append({"id": "U", "kind": "utility"})
        sources.append("U")
    earlier = list(sources)
    budget = draw(st.integers(len(nodes) + 2, max_nodes))
    racks = draw(st.integers(1, max(1, min(20, (budget - len(nodes)) // 2))))
    middle = budget - len(nodes) - racks
    for j in range(middle):
        kind = draw(st.sampled_from(["switchboard", "ups", "pdu", "ats"]))
        spec: dict[str, Any] = {
            "id": f"N{j:02d}",
            "kind": kind,
            "fed_from": draw(st.lists(st.sampled_from(earlier), min_size=1, max_size=3,
                                      unique=True)),
        }
        if kind != "ats":
            spec["capacity"] = draw(cap)
        if kind == "ups" and spec["capacity"] is not None and draw(st.booleans()):
            spec["group"] = f"ups-{draw(st.integers(0, 1))}"
        if draw(st.integers(0, 9)) == 0:  # a district: a load that feeds others
            spec.update(kind="district", demand=draw(decimal_text(0, 20)))
            spec.pop("capacity", None)
            spec.pop("group", None)
        nodes.append(spec)
        earlier.append(spec["id"])
    cordable = [n["id"] for n in nodes if n["id"] not in sources] or sources
    for k in range(racks):
        nodes.append({
            "id": f"R{k:02d}",
            "kind": "rack",
            "fed_from": draw(st.lists(st.sampled_from(cordable), min_size=1, max_size=2,
                                      unique=True)),
            "demand": draw(decimal_text(0, 25)),
        })
    by_id = {n["id"]: n for n in nodes}
    fed = [n for n in nodes if n["id"] not in sources]
    ties = draw(st.lists(st.tuples(st.sampled_from([n["id"] for n in nodes
                                                    if "demand" not in n]),
                                   st.sampled_from([n["id"] for n in fed])), max_size=6))
    middles = [n["id"] for n in fed if n["kind"] == "switchboard"]
    if len(middles) >= 2 and draw(st.booleans()):  # a main-tie-main tie, both ways
        a, b = draw(st.lists(st.sampled_from(middles), min_size=2, max_size=2, unique=True))
        ties += [(a, b), (b, a)]
    for u, v in ties:
        feeds = by_id[v]["fed_from"]
        names = [f if isinstance(f, str) else f["id"] for f in feeds]
        if u != v and u not in names:
            feeds.append({"id": u, "mode": "manual"})
    design: dict[str, Any] = {"nodes": nodes}
    rated_generators = [n for n in nodes if n["kind"] == "generator" and n["capacity"]]
    if rated_generators and draw(st.booleans()):
        design["groups"] = [{"id": "generator", "demand": draw(decimal_text(0, 300))}]
    return design


def statuses_for(design: dict[str, Any]) -> st.SearchStrategy[dict[str, str]]:
    ids = [n["id"] for n in design["nodes"]]
    return st.dictionaries(st.sampled_from(ids), st.sampled_from(STATUSES), max_size=4)


def engine_topology(design: dict[str, Any]) -> TopologyConfig:
    """The design as tierwatch reads it: YAML text, quantities written unquoted."""
    text = json.dumps({"power": design})
    text = re.sub(r'"(capacity|demand)": "([0-9.]+)"', r'"\1": \2', text)
    return TopologyConfig.model_validate(read_yaml(text))


def live(snap: TierSnapshot) -> Any:
    return snap.subsystem("power").live


# --------------------------------------------------------------------------- properties


@SETTINGS
@given(st.data())
def test_engine_agrees_with_the_reference(data: st.DataObject) -> None:
    design = data.draw(designs())
    statuses = data.draw(statuses_for(design))
    state = live(score(engine_topology(design), statuses))
    ref = Reference(design, statuses)
    loads = {ld.id: ld for ld in state.loads}

    assert {ld: loads[ld].paths_all for ld in ref.loads} == ref.paths(manual=True)
    assert {ld: loads[ld].paths_active for ld in ref.loads} == ref.paths(manual=False)
    assert {ld: loads[ld].served for ld in ref.loads} == ref.served(manual=True)
    assert {ld: loads[ld].served_active for ld in ref.loads} == ref.served(manual=False)
    assert set(state.maintainability_failures) == ref.failures(manual=True)
    assert set(state.spofs) == ref.spofs()
    engine_groups = {
        g.id: (g.required, g.installed, g.available, g.spare, g.label, g.demand,
               g.capacity_available)
        for g in state.groups
    }
    assert engine_groups == ref.groups()


@SETTINGS
@given(st.data())
def test_readiness_never_rises_when_a_node_is_taken_out(data: st.DataObject) -> None:
    design = data.draw(designs())
    statuses = data.draw(statuses_for(design))
    victim = data.draw(st.sampled_from([n["id"] for n in design["nodes"]]))
    fuel = data.draw(st.one_of(st.none(), st.floats(0, 48)))
    env = data.draw(st.one_of(st.none(), st.floats(0, 1)))
    burn = data.draw(st.one_of(st.none(), st.floats(0, 3)))
    topo = engine_topology(design)
    extras = {"fuel_hours": fuel, "environment_share": env, "availability_burn": burn}
    before = score(topo, statuses, **extras)
    after = score(topo, {**statuses, victim: "failed"}, **extras)
    assert after.score <= before.score
    assert 0.0 <= after.score <= 100.0
    assert after.design_tier == before.design_tier >= before.live_tier >= after.live_tier
    for old, new in zip(live(before).loads, live(after).loads, strict=True):
        assert new.paths_all <= old.paths_all
        assert new.paths_active <= min(old.paths_active, new.paths_all)


@st.composite
def halls(draw: st.DrawFn) -> dict[str, Any]:
    """Scaled-down halls like bench/tier_score.py, with tight capacities so that batched
    removals fail and split, and the engine's shortcuts (load classes, twins, batches) are
    all exercised."""
    cap = st.sampled_from(["20", "30", "45.5", "60", "90", "150.000001"])
    nodes: list[dict[str, Any]] = []
    gens = [f"G{i}" for i in range(draw(st.integers(1, 4)))]
    nodes += [{"id": g, "kind": "generator", "capacity": draw(st.one_of(st.none(), cap))}
              for g in gens]
    pdus: dict[str, list[str]] = {"A": [], "B": []}
    per_block = draw(st.booleans())  # else one UPS group over both sides: 2N possible
    for side in "AB":
        nodes.append({"id": f"GPB-{side}", "kind": "switchboard", "fed_from": list(gens)})
        for b in range(draw(st.integers(1, 2))):
            mods = [f"UPS-{side}{b}{m}" for m in range(draw(st.integers(1, 3)))]
            nodes += [{"id": m, "kind": "ups", "capacity": draw(cap), "fed_from": [f"GPB-{side}"]}
                      for m in mods]
            if per_block:
                for spec in nodes[-len(mods):]:
                    spec["group"] = f"ups-{side}{b}"
            feeds: list[Any] = list(mods)
            if draw(st.booleans()):
                feeds.append({"id": f"GPB-{side}", "mode": "manual"})
            nodes.append({"id": f"UOB-{side}{b}", "kind": "switchboard", "fed_from": feeds})
            for p in range(draw(st.integers(1, 3))):
                pdu = f"PDU-{side}{b}{p}"
                nodes.append({"id": pdu, "kind": "pdu", "capacity": draw(cap),
                              "fed_from": [f"UOB-{side}{b}"], "group": pdu})
                pdus[side].append(pdu)
    for r in range(draw(st.integers(1, 12))):
        cords = [draw(st.sampled_from(pdus["A"]))]
        if draw(st.integers(0, 3)):
            cords.append(draw(st.sampled_from(pdus["B"])))
        nodes.append({"id": f"R{r}", "kind": "rack", "fed_from": cords,
                      "demand": draw(st.sampled_from(["3", "8.25", "15", "25.000001"]))})
    return {"nodes": nodes}


@SETTINGS
@given(st.data())
def test_engine_agrees_with_the_reference_on_halls(data: st.DataObject) -> None:
    design = data.draw(halls())
    statuses = data.draw(statuses_for(design))
    state = live(score(engine_topology(design), statuses))
    ref = Reference(design, statuses)
    loads = {ld.id: ld for ld in state.loads}
    assert {ld: loads[ld].paths_all for ld in ref.loads} == ref.paths(manual=True)
    assert {ld: loads[ld].served for ld in ref.loads} == ref.served(manual=True)
    assert set(state.maintainability_failures) == ref.failures(manual=True)
    assert set(state.spofs) == ref.spofs()
    assert {g.id: (g.required, g.spare, g.label) for g in state.groups} == {
        k: v[0:1] + v[3:5] for k, v in ref.groups().items()
    }
