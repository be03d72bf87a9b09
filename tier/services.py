"""The `topology.services` subsystem: e-government services bound to the infrastructure under
them, and the pure rules that say whether each is up, at risk or down.

    topology:
      services:
        agencies:
          - {id: ubnd-q1, name: "UBND Quận 1", site: SITE-Q1}   # site: a network load
        nodes:
          - id: dns
            name: "DNS thành phố"
            depends_on: [DC-SERVERS]
          - id: portal
            name: "Cổng dịch vụ công"
            target: 99.9%
            depends_on:
              - dns                                   # another service
              - DC-SERVERS                            # a network load
              - {n_of: 2, of: [R-WEB1, R-WEB2, R-WEB3]}  # 2 of 3 web servers' racks
            agencies: [ubnd-q1]

A `depends_on` entry names a node of the power, cooling or network topology, or another
service; `{n_of: K, of: [...]}` needs K of its members. A service's state (`evaluate`):

* **down** while its checks fail (the cause is the infrastructure under it when that is down
  too, else the failing check); a service with no checks is down when its infrastructure is;
* **at risk** while its checks pass but the infrastructure under it has lost redundancy: a
  load it depends on has fewer independent paths than designed, or a single element's loss
  would now drop it (TIER-MODEL formulas 3 and 5), a node it depends on is exposed (a UPS on
  battery), an n-of-m group has no spare member left, or a service it depends on is itself at
  risk; also while the infrastructure says down but its checks pass (the checks are what
  users see; the disagreement is worth a look);
* **up** otherwise; **unknown** before its first check result.

An agency reaches a service while the service is not down and the agency's own site (a
network load) is served (`agency_reach`). Nothing here reads a clock or does I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import networkx as nx
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from tier.rings import shortest_ring

if TYPE_CHECKING:  # tier.score imports tier.topology, which holds this section
    from tier.score import TierSnapshot

_ID = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def _ratio(value: object) -> object:
    """`99.9%` or 0.999."""
    if isinstance(value, str) and value.strip().endswith("%"):
        try:
            return float(value.strip()[:-1]) / 100.0
        except ValueError:
            raise ValueError(f"{value!r} is not a percentage (e.g. 99.9%)") from None
    return value


Target = Annotated[float, BeforeValidator(_ratio), Field(gt=0.0, lt=1.0)]


class NOf(_Strict):
    """A cluster: `n_of` of the members `of` are needed (2 of 3 web servers)."""

    n_of: int = Field(ge=1)
    of: tuple[Annotated[str, Field(min_length=1)], ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _fits(self) -> NOf:
        if self.n_of > len(self.of):
            raise ValueError(f"n_of {self.n_of} is more than the {len(self.of)} members")
        twice = sorted({m for m in self.of if self.of.count(m) > 1})
        if twice:
            raise ValueError(f"member listed twice: {', '.join(twice)}")
        return self


def _dependency(value: object) -> object:
    return NOf(n_of=1, of=(value,)) if isinstance(value, str) else value


Dependency = Annotated[NOf, BeforeValidator(_dependency)]


class ServiceSpec(_Strict):
    id: str = Field(pattern=_ID)
    name: str | None = None
    target: Target = 0.999
    depends_on: tuple[Dependency, ...] = ()
    agencies: tuple[str, ...] = ()  # the agencies that use it (ids under `agencies:`)

    @property
    def label(self) -> str:
        return self.name or self.id

    def members(self) -> Iterator[str]:
        for dep in self.depends_on:
            yield from dep.of


class AgencySpec(_Strict):
    id: str = Field(pattern=_ID)
    name: str | None = None
    site: str | None = None  # the agency's site: a load of the network topology

    @property
    def label(self) -> str:
        return self.name or self.id


class ServicesTopology(_Strict):
    agencies: tuple[AgencySpec, ...] = ()
    nodes: tuple[ServiceSpec, ...] = ()

    def ids(self) -> list[str]:
        return [s.id for s in self.nodes]

    def service(self, service_id: str) -> ServiceSpec:
        for s in self.nodes:
            if s.id == service_id:
                return s
        raise KeyError(service_id)

    def users(self, service_id: str) -> list[str]:
        return list(self.service(service_id).agencies)


def validate_services(services: ServicesTopology, infra_nodes: Mapping[str, str],
                      base: str = "topology.services") -> list[str]:
    """Problems as "key.path: message": duplicate ids, a depends_on naming neither a
    topology node (`infra_nodes`: id -> where it is) nor a service, a service depending on
    itself, a cycle among services (its members named, smallest first), unknown agencies, an
    agency site that is not a network node."""
    problems: list[str] = []
    ids: dict[str, int] = {}
    for i, spec in enumerate(services.nodes):
        key = f"{base}.nodes[{i}].id"
        if spec.id in ids:
            problems.append(f"{key}: duplicate service id {spec.id!r} "
                            f"(first at {base}.nodes[{ids[spec.id]}])")
        elif spec.id in infra_nodes:
            problems.append(f"{key}: {spec.id!r} is already a node ({infra_nodes[spec.id]})")
        else:
            ids[spec.id] = i
    agencies: dict[str, int] = {}
    for i, agency in enumerate(services.agencies):
        key = f"{base}.agencies[{i}]"
        if agency.id in agencies:
            problems.append(f"{key}.id: duplicate agency id {agency.id!r}")
        agencies.setdefault(agency.id, i)
        if agency.site is not None:
            where = infra_nodes.get(agency.site)
            if where is None:
                problems.append(f"{key}.site: unknown node {agency.site!r} (an agency's site "
                                "is a load of topology.network)")
            elif not where.startswith("topology.network."):
                problems.append(f"{key}.site: {agency.site!r} is {where}, not a node of "
                                "topology.network")
    graph: nx.DiGraph = nx.DiGraph()
    graph.add_nodes_from(ids)
    edge_key: dict[tuple[str, str], str] = {}
    for i, spec in enumerate(services.nodes):
        for j, dep in enumerate(spec.depends_on):
            for k, member in enumerate(dep.of):
                key = (f"{base}.nodes[{i}].depends_on[{j}]" if len(dep.of) == 1 and dep.n_of == 1
                       else f"{base}.nodes[{i}].depends_on[{j}].of[{k}]")
                if member == spec.id:
                    problems.append(f"{key}: service {spec.id!r} depends on itself")
                elif member in ids:
                    graph.add_edge(spec.id, member)
                    edge_key.setdefault((spec.id, member), key)
                elif member not in infra_nodes:
                    problems.append(f"{key}: unknown depends_on id {member!r} (neither a node "
                                    "of the topology nor a service)")
        for j, agency_id in enumerate(spec.agencies):
            if agency_id not in agencies:
                problems.append(f"{base}.nodes[{i}].agencies[{j}]: unknown agency "
                                f"{agency_id!r} (declare it under {base}.agencies)")
    for component in sorted(nx.strongly_connected_components(graph), key=min):
        if len(component) < 2:
            continue
        ring = shortest_ring(graph, min(component), component)
        problems.append(f"{edge_key[(ring[0], ring[1])]}: cycle among services "
                        f"{' -> '.join(ring)}")
    return problems


def evaluation_order(services: ServicesTopology) -> list[str]:
    """Service ids, each after the services it depends on (the topology is acyclic)."""
    ids = set(services.ids())
    graph: nx.DiGraph = nx.DiGraph()
    graph.add_nodes_from(sorted(ids))
    for spec in services.nodes:
        for member in spec.members():
            if member in ids:
                graph.add_edge(member, spec.id)
    return list(nx.lexicographical_topological_sort(graph))


# --------------------------------------------------------------------------- states


class Health(StrEnum):
    UP = "up"
    AT_RISK = "at_risk"
    DOWN = "down"
    UNKNOWN = "unknown"


_RANK = {Health.UP: 0, Health.UNKNOWN: 1, Health.AT_RISK: 2, Health.DOWN: 3}


@dataclass(frozen=True, slots=True)
class NodeHealth:
    """A topology node as a service sees it, with the words behind it."""

    health: Health
    detail: str = ""


def infrastructure_health(tier: TierSnapshot) -> dict[str, NodeHealth]:
    """Every node of a live tier snapshot: down (a load not served, a node out of service),
    at risk (a load with fewer independent paths than designed, or one a single element's
    loss would now drop though the design would survive it; a node in service but exposed),
    up otherwise."""
    out: dict[str, NodeHealth] = {}
    for sub in tier.subsystems:
        for cond in sub.unavailable:
            out[cond.id] = NodeHealth(Health.DOWN, f"{cond.id} {cond.status}")
        for cond in sub.exposed:
            out.setdefault(cond.id, NodeHealth(Health.AT_RISK, f"{cond.id} {cond.status}"))
        design = {load.id: load for load in sub.design.loads}
        single_now = {lost.load: drop.node for drop in sub.live.maintainability
                      for lost in drop.lost}
        single_design = {lost.load for drop in sub.design.maintainability for lost in drop.lost}
        for load in sub.live.loads:
            planned = design.get(load.id)
            if not load.served:
                out[load.id] = NodeHealth(Health.DOWN,
                                          f"{load.id} not served ({load.reason or 'no path'})")
            elif planned is not None and load.paths_all < planned.paths_all:
                out[load.id] = NodeHealth(
                    Health.AT_RISK, f"{load.id} on {load.paths_all} of "
                                    f"{planned.paths_all} paths ({sub.name})")
            elif load.id in single_now and load.id not in single_design:
                out[load.id] = NodeHealth(
                    Health.AT_RISK, f"{load.id} would drop if {single_now[load.id]} failed "
                                    f"({sub.name})")
            else:
                out.setdefault(load.id, NodeHealth(Health.UP))
    return out


@dataclass(frozen=True, slots=True)
class CheckVerdict:
    """What the service's checks say: ok (all pass), failing, unknown (none ran yet), or
    none (the service has no checks)."""

    state: str  # ok | failing | unknown | none
    detail: str = ""


@dataclass(frozen=True, slots=True)
class ServiceState:
    id: str
    health: Health
    cause: str  # why down or at risk ("" when up)
    cause_kind: str  # check | infrastructure | "" (up)
    infrastructure: Health  # what the infrastructure under it says, alone
    checks: CheckVerdict

    @property
    def up(self) -> bool:
        """Usable: up or at risk (its users are served)."""
        return self.health in (Health.UP, Health.AT_RISK)


def _group(dep: NOf, health: Mapping[str, NodeHealth]) -> NodeHealth:
    states = [(m, health.get(m, NodeHealth(Health.UNKNOWN, f"{m} not known yet")))
              for m in dep.of]
    if len(dep.of) == 1:
        return states[0][1]
    usable = [m for m, h in states if h.health in (Health.UP, Health.AT_RISK)]
    healthy = [m for m, h in states if h.health == Health.UP]
    down = [h.detail or m for m, h in states if h.health not in (Health.UP, Health.AT_RISK)]
    what = f"{len(usable)} of {len(dep.of)} ({', '.join(dep.of)}), {dep.n_of} needed"
    if len(usable) < dep.n_of:
        unknown = all(h.health == Health.UNKNOWN for m, h in states if m not in usable)
        return NodeHealth(Health.UNKNOWN if unknown else Health.DOWN,
                          f"{what}: {'; '.join(down)}")
    if len(healthy) < min(len(dep.of), dep.n_of + 1):
        return NodeHealth(Health.AT_RISK, f"{what}, no spare")
    return NodeHealth(Health.UP)


def _worst(parts: Sequence[NodeHealth]) -> NodeHealth:
    if not parts:
        return NodeHealth(Health.UP)
    worst = max(parts, key=lambda h: _RANK[h.health])
    details = [p.detail for p in parts if p.health == worst.health and p.detail]
    return NodeHealth(worst.health, "; ".join(details))


def evaluate(services: ServicesTopology, checks: Mapping[str, CheckVerdict],
             infrastructure: Mapping[str, NodeHealth] | None) -> dict[str, ServiceState]:
    """Each service's state from its checks' verdicts and the infrastructure's health
    (`infrastructure_health` of the live snapshot; None when no topology is scored, then
    only the checks count)."""
    known: dict[str, NodeHealth] = dict(infrastructure or {})
    out: dict[str, ServiceState] = {}
    for sid in evaluation_order(services):
        spec = services.service(sid)
        parts = [_group(dep, known) for dep in spec.depends_on
                 if infrastructure is not None or not _infra_only(dep, services)]
        infra = _worst(parts)
        verdict = checks.get(sid, CheckVerdict("none"))
        state = _combine(sid, verdict, infra)
        out[sid] = state
        known[sid] = NodeHealth(state.health, f"service {sid} {state.health.value}"
                                + (f" ({state.cause})" if state.cause else ""))
    return out


def _infra_only(dep: NOf, services: ServicesTopology) -> bool:
    ids = set(services.ids())
    return not any(m in ids for m in dep.of)


def _combine(sid: str, verdict: CheckVerdict, infra: NodeHealth) -> ServiceState:
    if verdict.state == "failing":
        if infra.health == Health.DOWN:
            return ServiceState(sid, Health.DOWN, infra.detail, "infrastructure", infra.health,
                                verdict)
        return ServiceState(sid, Health.DOWN, verdict.detail, "check", infra.health, verdict)
    if verdict.state == "none":
        if infra.health in (Health.DOWN, Health.AT_RISK):
            return ServiceState(sid, infra.health, infra.detail, "infrastructure",
                                infra.health, verdict)
        return ServiceState(sid, infra.health, "", "", infra.health, verdict)
    if verdict.state == "unknown":
        return ServiceState(sid, Health.UNKNOWN, "", "", infra.health, verdict)
    # the checks pass
    if infra.health == Health.AT_RISK:
        return ServiceState(sid, Health.AT_RISK, infra.detail, "infrastructure", infra.health,
                            verdict)
    if infra.health == Health.DOWN:
        return ServiceState(sid, Health.AT_RISK,
                            f"checks pass but the infrastructure says down: {infra.detail}",
                            "infrastructure", infra.health, verdict)
    return ServiceState(sid, Health.UP, "", "", infra.health, verdict)


# --------------------------------------------------------------------------- agencies


@dataclass(frozen=True, slots=True)
class Reach:
    agency: str
    service: str
    reachable: bool | None  # None: not known yet
    cause: str = ""


def agency_reach(services: ServicesTopology, states: Mapping[str, ServiceState],
                 infrastructure: Mapping[str, NodeHealth] | None,
                 vantage: Mapping[tuple[str, str], CheckVerdict] | None = None
                 ) -> list[Reach]:
    """For each (agency, service it uses): whether the agency can reach it now. From the
    agency's own vantage point when its checks run from there (`vantage[(agency,
    service)]`); else the service is not down and the agency's site is served."""
    sites = {a.id: a.site for a in services.agencies}
    out: list[Reach] = []
    for spec in services.nodes:
        state = states.get(spec.id)
        for agency in spec.agencies:
            seen = (vantage or {}).get((agency, spec.id))
            site = sites.get(agency)
            site_health = (infrastructure or {}).get(site) if site is not None else None
            if seen is not None and seen.state in ("ok", "failing"):
                ok = seen.state == "ok"
                out.append(Reach(agency, spec.id, ok,
                                 "" if ok else f"from the agency's vantage point: {seen.detail}"))
            elif state is None or state.health == Health.UNKNOWN:
                out.append(Reach(agency, spec.id, None))
            elif state.health == Health.DOWN:
                out.append(Reach(agency, spec.id, False, f"{spec.id} down: {state.cause}"))
            elif site_health is not None and site_health.health == Health.DOWN:
                out.append(Reach(agency, spec.id, False, f"network: {site_health.detail}"))
            else:
                out.append(Reach(agency, spec.id, True))
    return out


@dataclass(frozen=True)
class ServicesView:
    """One evaluation: every service's state and every agency's reach (what the room
    publishes, the API shows and the recorder writes)."""

    ts: float
    services: Mapping[str, ServiceState]
    reach: tuple[Reach, ...] = ()
    infrastructure_known: bool = False
    extras: Mapping[str, Any] = field(default_factory=dict)

    def reach_of(self, agency: str) -> list[Reach]:
        return [r for r in self.reach if r.agency == agency]


def agencies_of(services: ServicesTopology) -> dict[str, list[str]]:
    """agency id -> the services it uses, in the order the services are written."""
    out: dict[str, list[str]] = {a.id: [] for a in services.agencies}
    for spec in services.nodes:
        for agency in spec.agencies:
            out.setdefault(agency, []).append(spec.id)
    return out


def all_members(specs: Iterable[ServiceSpec]) -> set[str]:
    return {m for s in specs for m in s.members()}
