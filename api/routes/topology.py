"""GET /api/v1/topology: the declared topology per subsystem (nodes, their feeds, capacity
groups) with each node's live status."""

from __future__ import annotations

from fractions import Fraction

from fastapi import APIRouter, Request
from pydantic import BaseModel

from api.deps import ContextDep, ReaderDep
from api.errors import ERRORS
from api.tierview import live_view
from tier.quantity import decimal_text, display

router = APIRouter(prefix="/api/v1/topology", tags=["tier"], responses=ERRORS)


class FeedOut(BaseModel):
    id: str
    mode: str  # auto | manual


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


@router.get("", response_model=TopologyOut)
def get_topology(_who: ReaderDep, request: Request, context: ContextDep) -> TopologyOut:
    view = live_view(context, request.app.state.cache)
    statuses = view.statuses if view is not None else {}
    pending = view.pending if view is not None else frozenset()
    out: dict[str, SubsystemTopologyOut] = {}
    for name, sub in context.config.topology.subsystems():
        if not sub.nodes:
            continue
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
                fed_from=[FeedOut(id=f.id, mode=f.mode) for f in n.fed_from],
                status="pending" if n.id in pending else statuses.get(n.id, "ok"),
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
