"""The achieved tier, design and live, per subsystem and for the site (formula 6).

`score(topology, statuses, demands)` analyses every subsystem twice: the design state
(every node available) and the live state (a node is out when its status is in its
`unavailable_when`; a node with no status is ok). Each state gives:

* served: a load is served when the nodes available can carry it with the manual ties
  closed (the all-edges view); `served_active` says whether it is carried without closing
  any. A load whose own status takes it out is not served.
* manual_transfer: the loads served only with manual ties closed, and the ties each cannot
  do without (the SPOFs, taken on the auto view, cannot show a load the auto view does not
  reach at all).
* tier: 0 when some load is not served; else I; II when every capacity group has R >= 1;
  III when, besides, every load has k_all >= 2 and the maintainability set is empty; IV
  when, besides, every load has k_active >= 2 and there is no SPOF.

The site's tier is the lowest of its subsystems' (subsystems with no nodes are skipped; a
topology with no node at all is tier 0). The readiness score (tier/readiness.py) is taken
on the live state.

`whatif(topology, statuses, remove)` answers "can these nodes go out of service now?": the
live state with the nodes removed, the loads served now that it would drop, and a verdict
naming the nodes already out that make it so.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import networkx as nx

from tier.flow import Demand, LoadUnits, serve
from tier.graph import CompiledTopology, SubsystemGraph, View, compile_topology
from tier.paths import dominators_of, manual_ties_needed, path_counts, removal_failures
from tier.quantity import QuantityError, decimal_text, display, exact
from tier.readiness import ScorePart, SubsystemFigures, readiness, score_parts
from tier.redundancy import GroupState, group_state
from tier.status import NodeStatus
from tier.topology import TopologyConfig

REMOVED = "removed"  # the status shown for a node taken out by `whatif`
ZERO = Fraction(0)


@dataclass(frozen=True, slots=True)
class LostLoad:
    load: str
    reason: str  # "no path", "capacity short", "removed", "unavailable (failed)", ...

    def to_json(self) -> dict[str, str]:
        return {"load": self.load, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class MaintenanceDrop:
    """An element that cannot be taken out without dropping loads, and the loads."""

    node: str
    lost: tuple[LostLoad, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "loads": [lost.load for lost in self.lost],
            "lost": [lost.to_json() for lost in self.lost],
        }


@dataclass(frozen=True, slots=True)
class LoadState:
    id: str
    demand: Fraction
    cords: int
    paths_all: int
    paths_active: int
    served: bool
    served_active: bool
    reason: str | None  # why it is not served

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "paths_all": self.paths_all,
            "paths_active": self.paths_active,
            "served": self.served,
            "served_active": self.served_active,
            "reason": self.reason,
            "demand": display(self.demand),
            "demand_exact": decimal_text(self.demand),
            "cords": self.cords,
        }


@dataclass(frozen=True, slots=True)
class ManualTransfer:
    """A load served only with manual ties closed (a normally open tie, a maintenance
    bypass): someone must close a switch to carry it. `ties` are the (feeder, node) edges it
    cannot do without; empty when any of several would do."""

    load: str
    ties: tuple[tuple[str, str], ...]

    def describe(self) -> str:
        if not self.ties:
            return f"{self.load} (any of several manual ties)"
        ties = ", ".join(f"{u} -> {v}" for u, v in self.ties)
        return f"{self.load} (tie {ties})"

    def to_json(self) -> dict[str, Any]:
        return {"load": self.load, "ties": [{"from": u, "to": v} for u, v in self.ties]}


@dataclass(frozen=True, slots=True)
class StateAnalysis:
    """One subsystem in one state (design or live)."""

    tier: int
    groups: tuple[GroupState, ...]
    loads: tuple[LoadState, ...]
    spofs: tuple[str, ...]  # sorted
    maintainability: tuple[MaintenanceDrop, ...]  # sorted by node
    elements: int  # how many elements the maintainability test covered
    manual_transfer: tuple[ManualTransfer, ...] = ()  # in load order

    @property
    def maintainability_failures(self) -> tuple[str, ...]:
        return tuple(drop.node for drop in self.maintainability)

    @property
    def unserved(self) -> tuple[str, ...]:
        return tuple(load.id for load in self.loads if not load.served)

    @property
    def concurrently_maintainable(self) -> bool:
        """Every element can be taken out without dropping a load, and none is dropped now
        (a state that is not carrying its load is not maintainable: formula 8)."""
        return not self.maintainability and not self.unserved

    @property
    def maintainability_note(self) -> str | None:
        """Why the state is not concurrently maintainable although no element fails."""
        unserved = self.unserved
        if not unserved:
            return None
        if len(unserved) == 1:
            return f"load {unserved[0]} is not served"
        return f"loads {_list(unserved)} are not served"

    def to_json(self) -> dict[str, Any]:
        return {
            "tier": self.tier,
            "groups": [g.to_json() for g in self.groups],
            "loads": [load.to_json() for load in self.loads],
            "spofs": list(self.spofs),
            "manual_transfer": [m.to_json() for m in self.manual_transfer],
            "concurrently_maintainable": self.concurrently_maintainable,
            "maintainability_note": self.maintainability_note,
            "maintainability_failures": list(self.maintainability_failures),
            "maintainability_details": [drop.to_json() for drop in self.maintainability],
            "maintainable_elements": self.elements,
        }


@dataclass(frozen=True, slots=True)
class NodeCondition:
    id: str
    status: str

    def to_json(self) -> dict[str, str]:
        return {"id": self.id, "status": self.status}


@dataclass(frozen=True, slots=True)
class SubsystemSnapshot:
    name: str
    design: StateAnalysis
    live: StateAnalysis
    unavailable: tuple[NodeCondition, ...]  # nodes out of service now
    exposed: tuple[NodeCondition, ...]  # nodes in service but not ok (a UPS on battery)
    not_counted: tuple[str, ...]  # utility: shown, not counted
    # edges (feeder, node) out of service in the live state although both ends are up (a
    # declared link LLDP does not see: unverified)
    unavailable_edges: tuple[tuple[str, str], ...] = ()

    def to_json(self) -> dict[str, Any]:
        live = self.live.to_json()
        design = self.design.to_json()
        del live["tier"], design["tier"]
        return {
            "design_tier": self.design.tier,
            "live_tier": self.live.tier,
            **live,
            "unavailable": [c.to_json() for c in self.unavailable],
            "exposed": [c.to_json() for c in self.exposed],
            "not_counted": list(self.not_counted),
            "unavailable_edges": [{"from": u, "to": v} for u, v in self.unavailable_edges],
            "design": design,
        }


@dataclass(frozen=True, slots=True)
class TierSnapshot:
    subsystems: tuple[SubsystemSnapshot, ...]
    design_tier: int
    live_tier: int
    score: float
    parts: tuple[ScorePart, ...]

    def subsystem(self, name: str) -> SubsystemSnapshot:
        for sub in self.subsystems:
            if sub.name == name:
                return sub
        raise KeyError(name)

    def to_json(self) -> dict[str, Any]:
        return {
            "site": {
                "design_tier": self.design_tier,
                "live_tier": self.live_tier,
                "score": self.score,
                "score_parts": {p.name: p.to_json() for p in self.parts},
            },
            "subsystems": {sub.name: sub.to_json() for sub in self.subsystems},
        }


@dataclass(frozen=True, slots=True)
class WhatIf:
    removed: tuple[str, ...]
    after: TierSnapshot  # the live state with the nodes removed (design unchanged)
    lost: tuple[LostLoad, ...]
    verdict: str
    blocking: tuple[NodeCondition, ...]  # nodes already out that make the removal drop loads

    @property
    def ok(self) -> bool:
        return not self.lost

    def to_json(self) -> dict[str, Any]:
        return {
            **self.after.to_json(),
            "removed": list(self.removed),
            "lost": [lost.to_json() for lost in self.lost],
            "ok": self.ok,
            "verdict": self.verdict,
            "blocking": [c.to_json() for c in self.blocking],
        }


# --------------------------------------------------------------------------- inputs


def _compiled(topology: TopologyConfig | CompiledTopology) -> CompiledTopology:
    if isinstance(topology, CompiledTopology):
        return topology
    return compile_topology(topology)


def _check_inputs(
    topo: CompiledTopology,
    statuses: Mapping[str, NodeStatus | str],
    demands: Mapping[str, object],
) -> tuple[dict[str, NodeStatus], dict[str, Fraction]]:
    """Statuses checked, and measured demands as exact quantities (a float as the decimal
    it prints as, tier/quantity.py)."""
    unknown = sorted(set(statuses) - topo.node_ids)
    if unknown:
        raise ValueError(f"status for unknown node(s): {', '.join(unknown)}")
    checked = {node: NodeStatus(status) for node, status in statuses.items()}
    measured = {}
    for node, value in demands.items():
        if node not in topo.node_ids:
            raise ValueError(f"demand for unknown node {node!r}")
        if not topo.spec(node).is_load:
            raise ValueError(f"demand for {node!r}, which is not a load")
        try:
            measured[node] = exact(value)
        except QuantityError as exc:
            raise ValueError(f"demand for {node!r} {exc}") from None
    return checked, measured


def _effective_demands(
    sub: SubsystemGraph, demands: Mapping[str, Fraction]
) -> dict[str, Fraction]:
    return {load: demands.get(load, sub.specs[load].demand or ZERO) for load in sub.loads}


def _unavailable(sub: SubsystemGraph, statuses: Mapping[str, NodeStatus]) -> dict[str, str]:
    out = {}
    for node, spec in sub.specs.items():
        status = statuses.get(node, NodeStatus.OK)
        if status in spec.unavailable_when:
            out[node] = status.value
    return out


# --------------------------------------------------------------------------- analysis


def _target_demand(view: View, loads: LoadUnits) -> Demand:
    units = loads.units
    need = {t: sum(units[ld] for ld in members) for t, members in view.members.items()}
    return loads.demand(view.sub, need)


def _analyse(
    sub: SubsystemGraph,
    unavailable: Mapping[str, str],
    demands: Mapping[str, Fraction],
    cut: frozenset[tuple[str, str]] = frozenset(),
) -> StateAnalysis:
    units = LoadUnits.of(sub, demands)
    key = (
        "analysis",
        frozenset(unavailable.items()),
        units.scale,
        tuple(units.units[ld] for ld in sub.loads),
        cut,
    )
    found = sub.memo.get(key)
    if isinstance(found, StateAnalysis):
        return found
    result = _analyse_now(sub, unavailable, demands, units, cut)
    sub.remember(key, result)
    return result


def _analyse_now(
    sub: SubsystemGraph,
    unavailable: Mapping[str, str],
    demands: Mapping[str, Fraction],
    units: LoadUnits,
    cut: frozenset[tuple[str, str]] = frozenset(),
) -> StateAnalysis:
    out = frozenset(unavailable)
    zero = units.zero(sub)
    view_all = sub.view(out, manual=True, zero=zero, cut=cut)
    view_auto = sub.view(out, manual=False, zero=zero, cut=cut)

    demand_all = _target_demand(view_all, units)
    base_all = serve(view_all, demand_all, with_through=True)
    served_all = frozenset(view_all.members) - base_all.unreachable - base_all.short
    k_all = path_counts(view_all)
    candidates = [n for n in view_all.graph if isinstance(n, str) and n not in sub.pure_loads]
    drops = removal_failures(view_all, demand_all, served_all, base_all, candidates)

    if view_auto is view_all:
        base_auto, served_auto, k_active = base_all, served_all, k_all
        capacity_spofs = set(drops)
    else:
        demand_auto = _target_demand(view_auto, units)
        base_auto = serve(view_auto, demand_auto, with_through=True)
        served_auto = frozenset(view_auto.members) - base_auto.unreachable - base_auto.short
        k_active = path_counts(view_auto)
        auto_candidates = [
            n for n in view_auto.graph if isinstance(n, str) and n not in sub.pure_loads
        ]
        capacity_spofs = set(
            removal_failures(
                view_auto, demand_auto, served_auto, base_auto, auto_candidates, details=False
            )
        )
    reachable_auto = [t for t in view_auto.members if view_auto.reachable(t)]
    spofs = tuple(sorted(dominators_of(view_auto, reachable_auto) | capacity_spofs))

    loads = []
    for load in sub.loads:
        t_all = view_all.target_of.get(load)
        t_auto = view_auto.target_of.get(load)
        if load in unavailable:
            reason: str | None = f"unavailable ({unavailable[load]})"
        elif t_all in base_all.unreachable:
            reason = "no path"
        elif t_all in base_all.short:
            reason = "capacity short"
        else:
            reason = None
        loads.append(
            LoadState(
                id=load,
                demand=demands[load],
                cords=sub.cords(load),
                paths_all=k_all.get(t_all, 0) if t_all is not None else 0,
                paths_active=k_active.get(t_auto, 0) if t_auto is not None else 0,
                served=reason is None,
                served_active=t_auto is not None and t_auto in served_auto,
                reason=reason,
            )
        )

    maintainability = tuple(
        MaintenanceDrop(node, _lost_loads(view_all, drop.no_path, drop.short))
        for node, drop in sorted(drops.items())
    )
    # A unit nothing feeds (its switchboard is off) gives no capacity, whatever its status.
    dead = frozenset(n for n in sub.structure if n not in out and not view_all.reachable(n))
    groups = tuple(group_state(sub, g, out | dead, units) for g in sub.groups)
    return StateAnalysis(
        tier=_tier(groups, loads, spofs, maintainability),
        groups=groups,
        loads=tuple(loads),
        spofs=spofs,
        maintainability=maintainability,
        elements=len(candidates),
        manual_transfer=_manual_transfers(view_all, demand_all, loads),
    )


def _manual_transfers(
    view_all: View, demand_all: Demand, loads: Sequence[LoadState]
) -> tuple[ManualTransfer, ...]:
    """The loads served only through manual ties, and the ties each needs. A SPOF list
    taken on the auto view cannot show them (the load is not reached there at all)."""
    manual_only = [ld.id for ld in loads if ld.served and not ld.served_active]
    if not manual_only:
        return ()
    targets = {load: view_all.target_of[load] for load in manual_only}
    ties = manual_ties_needed(view_all, demand_all, frozenset(targets.values()))
    return tuple(ManualTransfer(load, ties[targets[load]]) for load in manual_only)


def _lost_loads(
    view: View, no_path: frozenset[Hashable], short: frozenset[Hashable]
) -> tuple[LostLoad, ...]:
    order = view.sub.load_order
    lost = [LostLoad(load, "no path") for t in no_path for load in view.members[t]]
    lost += [LostLoad(load, "capacity short") for t in short for load in view.members[t]]
    return tuple(sorted(lost, key=lambda item: order[item.load]))


def _tier(
    groups: Sequence[GroupState],
    loads: Sequence[LoadState],
    spofs: Sequence[str],
    maintainability: Sequence[MaintenanceDrop],
) -> int:
    if not all(load.served for load in loads):
        return 0
    if not all(group.spare >= 1 for group in groups):
        return 1
    if not (all(load.paths_all >= 2 for load in loads) and not maintainability):
        return 2
    if not (all(load.paths_active >= 2 for load in loads) and not spofs):
        return 3
    return 4


def _snapshot(
    topo: CompiledTopology,
    statuses: Mapping[str, NodeStatus],
    demands: Mapping[str, Fraction],
    removed: frozenset[str],
    extras: Mapping[str, float | None],
    cut: frozenset[tuple[str, str]] = frozenset(),
) -> TierSnapshot:
    subsystems = []
    for name, sub in topo.subsystems.items():
        here = frozenset(e for e in cut if sub.structure.has_edge(*e))
        effective = _effective_demands(sub, demands)
        unavailable = _unavailable(sub, statuses)
        unavailable.update((node, REMOVED) for node in removed if node in sub.specs)
        exposed = tuple(
            NodeCondition(node, statuses[node].value)
            for node in sub.specs
            if node in statuses and statuses[node] != NodeStatus.OK and node not in unavailable
        )
        subsystems.append(
            SubsystemSnapshot(
                name=name,
                design=_analyse(sub, {}, effective),
                live=_analyse(sub, unavailable, effective, here),
                unavailable=tuple(NodeCondition(n, s) for n, s in unavailable.items()),
                exposed=exposed,
                not_counted=sub.not_counted,
                unavailable_edges=tuple(sorted(here)),
            )
        )
    figures = [
        SubsystemFigures(
            name=s.name,
            group_spares=[g.spare for g in s.live.groups],
            loads=[(ld.demand, ld.paths_all, ld.cords) for ld in s.live.loads],
            failing_elements=len(s.live.maintainability),
            elements=s.live.elements,
            unserved=[ld.id for ld in s.live.loads if not ld.served],
        )
        for s in subsystems
    ]
    parts = score_parts(figures, **extras)
    return TierSnapshot(
        subsystems=tuple(subsystems),
        design_tier=min((s.design.tier for s in subsystems), default=0),
        live_tier=min((s.live.tier for s in subsystems), default=0),
        score=readiness(parts),
        parts=parts,
    )


def _extras(
    fuel_hours: float | None, environment_share: float | None, availability_burn: float | None
) -> dict[str, float | None]:
    extras = {
        "fuel_hours": fuel_hours,
        "environment_share": environment_share,
        "availability_burn": availability_burn,
    }
    for name, value in extras.items():
        if value is not None and not math.isfinite(value):
            raise ValueError(f"{name} must be a finite number, got {value}")
    return extras


def score(
    topology: TopologyConfig | CompiledTopology,
    statuses: Mapping[str, NodeStatus | str] | None = None,
    demands: Mapping[str, float | Fraction] | None = None,
    *,
    fuel_hours: float | None = None,
    environment_share: float | None = None,
    availability_burn: float | None = None,
    unavailable_edges: Collection[tuple[str, str]] = (),
) -> TierSnapshot:
    """Score a topology in a state. Raises `TopologyError` (a ValueError) for an invalid
    topology and ValueError for statuses or demands naming unknown nodes.

    `fuel_hours` (hours of generator fuel at the current load), `environment_share` (0..1,
    share of time inlets were in the recommended band) and `availability_burn` (downtime
    budget burn, tier/availability.py) feed the readiness score; left out, they are neutral.
    `unavailable_edges` (feeder, node) are out of service in the live state although both
    their ends are available (links LLDP does not see); each must be a declared edge.
    """
    topo = _compiled(topology)
    checked, measured = _check_inputs(topo, statuses or {}, demands or {})
    extras = _extras(fuel_hours, environment_share, availability_burn)
    cut = _check_edges(topo, unavailable_edges)
    return _snapshot(topo, checked, measured, frozenset(), extras, cut)


def _check_edges(
    topo: CompiledTopology, edges: Collection[tuple[str, str]]
) -> frozenset[tuple[str, str]]:
    cut = frozenset((str(u), str(v)) for u, v in edges)
    for u, v in sorted(cut):
        name = topo.subsystem_of.get(v)
        if name is None or v not in topo.subsystems[name].specs:
            raise ValueError(f"unavailable edge {u} -> {v}: unknown node {v!r}")
        if u not in {feed.id for feed in topo.spec(v).fed_from}:
            raise ValueError(f"unavailable edge {u} -> {v}: {v} is not fed from {u}")
    return cut


# --------------------------------------------------------------------------- what if

_STATUS_WORDS = {
    "bypass": "is on bypass",
    "off": "is off",
    "failed": "has failed",
    "unknown": "is unknown (no status)",
    "degraded": "is degraded",
}


def _describe(node: str, status: str) -> str:
    return f"{node} {_STATUS_WORDS.get(status, 'is ' + status)}"


def _list(items: Sequence[str], limit: int = 6) -> str:
    shown = list(items[:limit])
    if len(items) > limit:
        shown.append(f"{len(items) - limit} more")
    return ", ".join(shown)


def _lost_after(
    sub: SubsystemGraph,
    out: frozenset[str],
    served_before: Sequence[str],
    demands: LoadUnits,
    cut: frozenset[tuple[str, str]] = frozenset(),
) -> dict[str, str]:
    """Of the loads served before, those the state with `out` unavailable would drop."""
    view = sub.view(out, manual=True, zero=demands.zero(sub), cut=cut)
    asked: dict[Hashable, int] = {}
    lost: dict[str, str] = {}
    for load in served_before:
        target = view.target_of.get(load)
        if target is None:
            lost[load] = REMOVED
        else:
            asked[target] = asked.get(target, 0) + demands.units[load]
    result = serve(view, demands.demand(sub, asked), frozenset(asked))
    for load in served_before:
        target = view.target_of.get(load)
        if target in result.unreachable:
            lost[load] = "no path"
        elif target in result.short:
            lost[load] = "capacity short"
    return lost


def whatif(
    topology: TopologyConfig | CompiledTopology,
    statuses: Mapping[str, NodeStatus | str] | None,
    remove: Sequence[str],
    demands: Mapping[str, float | Fraction] | None = None,
    *,
    fuel_hours: float | None = None,
    environment_share: float | None = None,
    availability_burn: float | None = None,
    unavailable_edges: Collection[tuple[str, str]] = (),
) -> WhatIf:
    """What taking `remove` out of service now would do. Raises ValueError naming any
    unknown node in `remove` (or in statuses and demands)."""
    topo = _compiled(topology)
    unknown = sorted(set(remove) - topo.node_ids)
    if unknown:
        raise ValueError(f"cannot remove unknown node(s): {', '.join(unknown)}")
    if not remove:
        raise ValueError("nothing to remove")
    checked, measured = _check_inputs(topo, statuses or {}, demands or {})
    extras = _extras(fuel_hours, environment_share, availability_burn)
    removed = frozenset(remove)
    cut = _check_edges(topo, unavailable_edges)
    after = _snapshot(topo, checked, measured, removed, extras, cut)

    lost: list[LostLoad] = []
    blocking: dict[str, str] = {}
    always: list[str] = []  # lost even with every other node available
    for sub in topo.subsystems.values():
        effective = LoadUnits.of(sub, _effective_demands(sub, measured))
        unavailable = _unavailable(sub, checked)
        out_now = frozenset(unavailable)
        here = frozenset(n for n in removed if n in sub.specs)
        edges = frozenset(e for e in cut if sub.structure.has_edge(*e))
        not_served_now = _lost_after(sub, out_now, sub.loads, effective, edges)
        served_before = [
            load for load in sub.loads if load not in here and load not in not_served_now
        ]
        dropped = _lost_after(sub, out_now | here, served_before, effective, edges)
        if not dropped:
            continue
        lost += [LostLoad(load, dropped[load]) for load in served_before if load in dropped]
        by_design = _lost_after(sub, frozenset(here), served_before, effective)
        always += [load for load in served_before if load in by_design and load in dropped]
        now_only = {load for load in dropped if load not in by_design}
        if now_only:
            blocking.update(
                _blockers(sub, unavailable, here, now_only, served_before, effective, edges)
            )

    verdict = _verdict(sorted(removed), lost, always, blocking, after)
    return WhatIf(
        removed=tuple(sorted(removed)),
        after=after,
        lost=tuple(lost),
        verdict=verdict,
        blocking=tuple(NodeCondition(n, s) for n, s in sorted(blocking.items())),
    )


def _blockers(
    sub: SubsystemGraph,
    unavailable: Mapping[str, str],
    removed: frozenset[str],
    dropped: set[str],
    served_before: Sequence[str],
    demands: LoadUnits,
    cut: frozenset[tuple[str, str]] = frozenset(),
) -> dict[str, str]:
    """The nodes already out without which the removal would not drop `dropped`."""
    upstream: set[str] = set()
    for load in dropped:
        upstream |= nx.ancestors(sub.structure, load)
    suspects = [n for n in unavailable if n in upstream or n in dropped]
    out_now = frozenset(unavailable)
    found = {}
    for node in suspects:
        still = _lost_after(sub, (out_now - {node}) | removed, served_before, demands, cut)
        if any(load not in still for load in dropped):
            found[node] = unavailable[node]
    if not found:  # no single node is to blame: together they are
        found = {node: unavailable[node] for node in suspects}
    return found


def _verdict(
    removed: Sequence[str],
    lost: Sequence[LostLoad],
    always: Sequence[str],
    blocking: Mapping[str, str],
    after: TierSnapshot,
) -> str:
    names = " and ".join(removed) if len(removed) <= 3 else _list(removed)
    if not lost:
        return f"yes: taking {names} out drops no load (live tier afterwards {after.live_tier})"
    described = _list([f"{item.load} ({item.reason})" for item in lost])
    why = "; ".join(_describe(node, status) for node, status in sorted(blocking.items()))
    if always:
        verdict = f"no: taking {names} out drops {described}, even with every other node available"
        return f"{verdict}; besides, now {why}" if why else verdict
    return f"not now: {why}; taking {names} out would drop {described}"


