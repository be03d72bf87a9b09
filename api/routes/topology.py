"""GET /api/v1/topology: the declared topology per subsystem (nodes, their feeds, capacity
groups) with each node's live status, and for a link whose port is declared, what LLDP
sees there: the feed's verdict and whether the live tier counts it, the node's `lldp` the
worst of its links' verdicts (docs/network-health.md)."""

from __future__ import annotations

from fractions import Fraction

from fastapi import APIRouter, Request
from pydantic import BaseModel

from api.deps import ContextDep, ReaderDep
from api.errors import ERRORS
from api.tierview import live_view
from nethealth.lldp import LinkCheck, node_verdicts
from tier.quantity import decimal_text, display

router = APIRouter(prefix="/api/v1/topology", tags=["tier"], responses=ERRORS)


class LinkOut(BaseModel):
    """What LLDP sees on the declared port of a link."""

    verdict: str  # ok | missing | moved | unknown
    expected: str  # the neighbour expected on the port (a name or a device id)
    seen_on: list[str]  # moved: the ports it is seen on instead
    seen_here: list[str]  # who the declared port sees (neighbours' own names)
    since: float | None  # when the verdict last changed


class FeedOut(BaseModel):
    id: str
    mode: str  # auto | manual
    port: str | None = None  # the feeder device's port this link leaves from
    lldp: LinkOut | None = None  # where the port is declared and LLDP is checked
    counted: bool = True  # false: the live tier scores this link out (unverified)


class NodeOut(BaseModel):
    id: str
    name: str | None
    kind: str
    capacity: float | None  # for display; the exact decimal written is in *_exact
    demand: float | None
    capacity_exact: str | None
    demand_exact: str | None
    device: str | None
    component: str | None
    group: str | None
    compartment: str | None
    fed_from: list[FeedOut]
    status: str  # live: ok, degraded, failed, unknown, bypass, off; pending before a poll
    lldp: str | None = None  # the worst verdict of its declared links; None: none declared


class GroupDeclOut(BaseModel):
    id: str
    demand: float
    demand_exact: str


class SubsystemTopologyOut(BaseModel):
    nodes: list[NodeOut]
    groups: list[GroupDeclOut]


class TopologyOut(BaseModel):
    subsystems: dict[str, SubsystemTopologyOut]


def _display(value: Fraction | None) -> float | None:
    return None if value is None else display(value)


def _exact(value: Fraction | None) -> str | None:
    return None if value is None else decimal_text(value)


def _link(check: LinkCheck | None) -> LinkOut | None:
    if check is None:
        return None
    return LinkOut(verdict=check.verdict, expected=check.expected, seen_on=list(check.seen_on),
                   seen_here=list(check.seen_here), since=check.since)


@router.get("", response_model=TopologyOut)
def get_topology(_who: ReaderDep, request: Request, context: ContextDep) -> TopologyOut:
    view = live_view(context, request.app.state.cache)
    statuses = view.statuses if view is not None else {}
    pending = view.pending if view is not None else frozenset()
    checks = context.network.links() if context.network is not None else []
    by_edge = {(c.binding.subsystem, *c.binding.edge): c for c in checks}
    node_lldp = node_verdicts(checks)
    out: dict[str, SubsystemTopologyOut] = {}
    for name, sub in context.config.topology.subsystems():
        if not sub.nodes:
            continue
        cut = (set(view.snapshot.subsystem(name).unavailable_edges)
               if view is not None else set())
        nodes = [
            NodeOut(
                id=n.id,
                name=n.name,
                kind=n.kind,
                capacity=_display(n.capacity),
                demand=_display(n.demand),
                capacity_exact=_exact(n.capacity),
                demand_exact=_exact(n.demand),
                device=n.device,
                component=n.component,
                group=n.group,
                compartment=n.compartment,
                fed_from=[FeedOut(id=f.id, mode=f.mode, port=f.port,
                                  lldp=_link(by_edge.get((name, f.id, n.id))),
                                  counted=(f.id, n.id) not in cut) for f in n.fed_from],
                status="pending" if n.id in pending else statuses.get(n.id, "ok"),
                lldp=node_lldp.get(n.id),
            )
            for n in sub.nodes
        ]
        out[name] = SubsystemTopologyOut(
            nodes=nodes,
            groups=[
                GroupDeclOut(id=g.id, demand=display(g.demand), demand_exact=decimal_text(g.demand))
                for g in sub.groups
            ],
        )
    return TopologyOut(subsystems=out)
