"""The `topology:` section of tierwatch.yaml, and the checks a graph needs beyond its schema.

One section per subsystem (`power`, `cooling`, `network`), each a list of capacity `groups`
(optional declared demands) and a list of `nodes`. A node is fed from other nodes; a node
with a `demand` (or a `demand_metric`) is a load and its `fed_from` entries are its cords.

Rules that decide how a topology is read (the engine in tier/graph.py follows them):

* Sources. A node is a source when it has no `fed_from` and its kind is a source kind of
  its subsystem: power {generator, utility}; cooling {chiller, crac, cooling_tower,
  dry_cooler} (a CRAC with no `fed_from` is a self-contained DX unit: its own compressor
  is its source; a CRAC fed from a loop is not a source); network {carrier}. Any other
  node with no `fed_from` is a configuration error: it would be a source by accident.
* Utility is shown but not counted: at Tier III the engine-generators are the primary
  source and losing the utility is not a failure, so utility nodes and their edges are left
  out of every tier computation (a load fed only from the utility is not served).
* Capacity groups. Nodes of one kind with a `capacity` form a group whose id is the kind,
  unless a node names its `group`. Loads and utility nodes never join a group. A group's
  demand is its declared demand (`groups:`), else the demand of the loads it serves.
* Node ids are unique across the whole topology (statuses are keyed by node id).
* Loops only through manual edges: the graph of auto feeds must be acyclic; a normally open
  tie written both ways (`mode: manual` on each side of a main-tie-main board) is fine.
* `unavailable_when` lists the node statuses that take a node out of service (default:
  failed, unknown, bypass, off). `degraded` (a UPS on battery) leaves it available but
  exposed.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from fractions import Fraction
from typing import Annotated, Any, Literal

import networkx as nx
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetPydanticSchema,
    SerializationInfo,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import core_schema

from tier.quantity import QuantityError, decimal_text, exact
from tier.rings import shortest_ring
from tier.services import ServicesTopology, validate_services
from tier.status import NodeStatus

SUBSYSTEMS: tuple[str, ...] = ("power", "cooling", "network")

NodeKind = Literal[
    # power
    "generator",
    "utility",
    "ats",
    "sts",
    "switchboard",
    "transformer",
    "busway",
    "ups",
    "pdu",
    "rpp",
    "rack",
    "server",
    # cooling
    "chiller",
    "cooling_tower",
    "dry_cooler",
    "pump",
    "loop",
    "crac",
    "crah",
    "inrow",
    "zone",
    # network
    "carrier",
    "router",
    "firewall",
    "core",
    "distribution",
    "access",
    "switch",
    "district",
    "site",
]

SOURCE_KINDS: dict[str, frozenset[str]] = {
    "power": frozenset({"generator", "utility"}),
    "cooling": frozenset({"chiller", "crac", "cooling_tower", "dry_cooler"}),
    "network": frozenset({"carrier"}),
}
# Shown in the output but left out of every tier computation.
NOT_COUNTED_KINDS: frozenset[str] = frozenset({"utility"})

DEFAULT_UNAVAILABLE_WHEN: tuple[NodeStatus, ...] = (
    NodeStatus.FAILED,
    NodeStatus.UNKNOWN,
    NodeStatus.BYPASS,
    NodeStatus.OFF,
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Feed(_Strict):
    """One `fed_from` entry: a feeder id and the mode of the connection."""

    id: str = Field(min_length=1)
    # manual: a normally open tie or a maintenance bypass, closed by hand for planned work.
    mode: Literal["auto", "manual"] = "auto"
    # the feeder device's port this link leaves from (network): LLDP checks it is there
    port: str | None = Field(default=None, min_length=1, max_length=255)
    # the name LLDP should see on that port (sysName or chassis id); default: the node's
    # own device
    neighbour: str | None = Field(default=None, min_length=1, max_length=255)

    @property
    def manual(self) -> bool:
        return self.mode == "manual"


class DemandMetric(_Strict):
    """Where a load's measured demand comes from; the service reads it, the model declares it."""

    device: str = Field(min_length=1)
    metric: str = Field(min_length=1)
    labels: dict[str, str] = Field(default_factory=dict)
    scale: float = 1.0  # e.g. 0.001 for a rack PDU reporting watts into a kW topology


def _quantity(owner: str, value: object, info: ValidationInfo) -> Fraction | None:
    """A capacity or demand as the exact decimal written (tier/quantity.py), or None."""
    if value is None:
        return None
    try:
        return exact(value)
    except QuantityError as exc:
        # Named here (not by a generic number type) so the message says which node or
        # group, not only which index.
        raise ValueError(f"{owner} {info.data.get('id')!r}: {info.field_name} {exc}") from None


def _serialized(value: object, info: SerializationInfo) -> object:
    # JSON gets the exact decimal as text (a float could not hold 1e20 + 100); Python a
    # Decimal of the same value (pydantic would turn a Fraction into a "p/q" string), so a
    # dump validates back to the same value. Anything else (pydantic may hand a result back
    # for a second pass) stays as it is.
    if not isinstance(value, Fraction):
        return value
    text = decimal_text(value)
    if info.mode_is_json():
        return text
    return Decimal(text) if "/" not in text else value


# A capacity or demand: checked by the model's own validator (which names the node), kept
# as a Fraction. The schema is given here in full: pydantic's own for Fraction would turn
# it into a "p/q" string when dumped.
Quantity = Annotated[
    Fraction,
    GetPydanticSchema(
        lambda _type, _handler: core_schema.any_schema(
            serialization=core_schema.plain_serializer_function_ser_schema(
                _serialized, info_arg=True
            )
        )
    ),
    WithJsonSchema({"type": "number", "minimum": 0}),
]


class GroupSpec(_Strict):
    """A capacity group's declared demand (e.g. generators also carry the mechanical load)."""

    id: str = Field(min_length=1)
    demand: Quantity
    kind: NodeKind | None = None

    @field_validator("demand", mode="plain")
    @classmethod
    def _exact(cls, value: object, info: ValidationInfo) -> Fraction | None:
        if value is None:
            raise ValueError(f"group {info.data.get('id')!r}: demand must be a number")
        return _quantity("group", value, info)



class NodeSpec(_Strict):
    """One node of a subsystem graph."""

    id: str = Field(min_length=1)
    kind: NodeKind
    capacity: Quantity | None = None  # kW, kW of cooling or Mbit/s; exact (tier/quantity.py)
    demand: Quantity | None = None
    demand_metric: DemandMetric | None = None
    fed_from: tuple[Feed, ...] = ()
    device: str | None = None
    component: str | None = None
    unavailable_when: tuple[NodeStatus, ...] = DEFAULT_UNAVAILABLE_WHEN
    group: str | None = None
    compartment: str | None = None
    name: str | None = None

    @field_validator("capacity", "demand", mode="plain")
    @classmethod
    def _exact(cls, value: object, info: ValidationInfo) -> Fraction | None:
        return _quantity("node", value, info)


    @field_validator("fed_from", mode="before")
    @classmethod
    def _ids_are_auto_feeds(cls, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return [{"id": item} if isinstance(item, str) else item for item in value]
        return value

    @field_validator("unavailable_when")
    @classmethod
    def _ok_is_never_unavailable(cls, value: tuple[NodeStatus, ...]) -> tuple[NodeStatus, ...]:
        if NodeStatus.OK in value:
            raise ValueError("'ok' cannot make a node unavailable")
        return value

    @model_validator(mode="after")
    def _component_needs_device(self) -> NodeSpec:
        if self.component is not None and self.device is None:
            raise ValueError(f"node {self.id!r}: component {self.component!r} needs a device")
        return self

    @property
    def is_load(self) -> bool:
        return self.demand is not None or self.demand_metric is not None

    @property
    def label(self) -> str:
        return self.name or self.id


class SubsystemTopology(_Strict):
    groups: tuple[GroupSpec, ...] = ()
    nodes: tuple[NodeSpec, ...] = ()


class TopologyConfig(_Strict):
    power: SubsystemTopology = SubsystemTopology()
    cooling: SubsystemTopology = SubsystemTopology()
    network: SubsystemTopology = SubsystemTopology()
    # e-government services bound to the nodes above (tier/services.py); not scored for
    # the tier: `subsystems()` is the three the tier engine reads
    services: ServicesTopology = ServicesTopology()

    def subsystems(self) -> Iterator[tuple[str, SubsystemTopology]]:
        for name in SUBSYSTEMS:
            yield name, getattr(self, name)

    def node_ids(self) -> set[str]:
        return {node.id for _, sub in self.subsystems() for node in sub.nodes}


def node_bindings(topo: TopologyConfig) -> dict[str, tuple[str, str | None]]:
    """node id -> (device id, component or None) for every node bound to a device."""
    return {
        node.id: (node.device, node.component)
        for _, sub in topo.subsystems()
        for node in sub.nodes
        if node.device is not None
    }


class PortBinding(_Strict):
    """A declared link whose port LLDP can check: `node` is fed from `feeder` through
    `port` of the feeder's `device`; on that port LLDP should see `neighbour` (a name) or,
    when no name is declared, the node's device `neighbour_device`."""

    subsystem: str
    feeder: str
    node: str
    device: str
    port: str
    neighbour: str | None = None
    neighbour_device: str | None = None

    @property
    def edge(self) -> tuple[str, str]:
        return (self.feeder, self.node)


def port_bindings(topo: TopologyConfig) -> list[PortBinding]:
    """Every `fed_from` entry with a `port` (a valid topology: validate_topology checks that
    its feeder has a device and that there is something to expect on the port)."""
    out = []
    for name, sub in topo.subsystems():
        specs = {node.id: node for node in sub.nodes}
        for node in sub.nodes:
            for feed in node.fed_from:
                feeder = specs.get(feed.id)
                if feed.port is None or feeder is None or feeder.device is None:
                    continue
                own = node.device if node.device != feeder.device else None
                out.append(PortBinding(subsystem=name, feeder=feed.id, node=node.id,
                                       device=feeder.device, port=feed.port,
                                       neighbour=feed.neighbour,
                                       neighbour_device=None if feed.neighbour else own))
    return out


def demand_bindings(topo: TopologyConfig) -> dict[str, DemandMetric]:
    """load id -> where its measured demand comes from."""
    return {
        node.id: node.demand_metric
        for _, sub in topo.subsystems()
        for node in sub.nodes
        if node.demand_metric is not None
    }


# Conditions a device profile attaches to a component status that name a node status of
# their own (a UPS on bypass is failed as a device status, but the report says "bypass").
_CONDITION_STATUS = {"bypass": NodeStatus.BYPASS, "off": NodeStatus.OFF}


def node_status(status: str, conditions: frozenset[str] = frozenset()) -> NodeStatus:
    """The node status for a bound component's status (ok, degraded, failed, unknown: the
    collector's words) and conditions.

    `bypass` or `off` among the conditions wins over the status (an inverter off and the
    load on raw mains is exactly what makes a UPS unavailable); otherwise the status maps
    one to one (`degraded`, e.g. on battery, stays available but exposed).
    """
    for condition, named in _CONDITION_STATUS.items():
        if condition in conditions:
            return named
    return NodeStatus(str(status))


def is_source(subsystem: str, node: NodeSpec) -> bool:
    return not node.fed_from and node.kind in SOURCE_KINDS[subsystem]


def group_of(node: NodeSpec) -> str | None:
    """The capacity group a node belongs to, or None (loads and utility never join one)."""
    if node.is_load or node.kind in NOT_COUNTED_KINDS:
        return None
    if node.group is not None:
        return node.group
    return node.kind if node.capacity is not None else None


def validate_topology(topo: TopologyConfig, device_ids: set[str] | None = None) -> list[str]:
    """Every problem of a schema-valid topology, each as "key.path: message".

    Checked: duplicate ids (across subsystems too), feeds naming unknown nodes or another
    subsystem's node, a node fed twice from one feeder or from itself, loops of auto feeds
    (the nodes of each named; a loop through a manual edge, such as a main-tie-main board's
    normally open tie written both ways, is allowed), non-source nodes fed from nothing,
    loads with no path from a source, device bindings to unknown devices (when `device_ids`
    is given), group declarations and node `group`s that do not fit. Capacities and demands
    that are not finite numbers >= 0 are refused by the schema.
    """
    problems: list[str] = []
    first_seen: dict[str, str] = {}
    for name, sub in topo.subsystems():
        for i, node in enumerate(sub.nodes):
            key = f"topology.{name}.nodes[{i}]"
            if node.id in first_seen:
                problems.append(
                    f"{key}.id: duplicate id {node.id!r} (first at {first_seen[node.id]})"
                )
            else:
                first_seen[node.id] = key
    for name, sub in topo.subsystems():
        problems.extend(_validate_subsystem(name, sub, first_seen, device_ids))
    problems.extend(validate_services(topo.services, first_seen))
    return problems


def _validate_subsystem(
    name: str,
    sub: SubsystemTopology,
    first_seen: dict[str, str],
    device_ids: set[str] | None,
) -> list[str]:
    problems: list[str] = []
    base = f"topology.{name}"
    index = {node.id: i for i, node in reversed(list(enumerate(sub.nodes)))}
    graph: nx.DiGraph = nx.DiGraph()
    graph.add_nodes_from(index)
    edge_key: dict[tuple[str, str], str] = {}

    for i, node in enumerate(sub.nodes):
        key = f"{base}.nodes[{i}]"
        seen_feeds: set[str] = set()
        for j, feed in enumerate(node.fed_from):
            fkey = f"{key}.fed_from[{j}]"
            if feed.id == node.id:
                problems.append(f"{fkey}: node {node.id!r} is fed from itself")
            elif feed.id in seen_feeds:
                problems.append(f"{fkey}: node {node.id!r} lists feeder {feed.id!r} twice")
            elif feed.id not in index:
                where = first_seen.get(feed.id)
                hint = f" (it is {where}; feeds stay within one subsystem)" if where else ""
                problems.append(f"{fkey}: unknown node {feed.id!r}{hint}")
            else:
                graph.add_edge(feed.id, node.id, manual=feed.manual)
                edge_key.setdefault((feed.id, node.id), fkey)
                problems.extend(_port_problems(fkey, feed, sub.nodes[index[feed.id]], node))
            seen_feeds.add(feed.id)
        if not node.fed_from and not is_source(name, node):
            what = "load" if node.is_load else node.kind
            sources = ", ".join(sorted(SOURCE_KINDS[name]))
            problems.append(
                f"{key}.fed_from: {what} {node.id!r} is fed from nothing and is not a source "
                f"(sources in {name}: {sources})"
            )
        if device_ids is not None:
            if node.device is not None and node.device not in device_ids:
                problems.append(f"{key}.device: node {node.id!r}: unknown device {node.device!r}")
            metric = node.demand_metric
            if metric is not None and metric.device not in device_ids:
                problems.append(
                    f"{key}.demand_metric.device: node {node.id!r}: "
                    f"unknown device {metric.device!r}"
                )
        if node.group is not None and group_of(node) is not None and node.capacity is None:
            problems.append(
                f"{key}.group: node {node.id!r} names group {node.group!r} but has no capacity"
            )
        if node.group is not None and node.is_load:
            problems.append(f"{key}.group: load {node.id!r} cannot join a capacity group")

    problems.extend(_cycle_problems(graph, edge_key))
    problems.extend(_unreachable_load_problems(name, sub, graph, base))
    problems.extend(_group_problems(sub, base))
    return problems


def _port_problems(key: str, feed: Feed, feeder: NodeSpec, node: NodeSpec) -> list[str]:
    """A `port` is checked on the feeder's device, against a neighbour to expect there."""
    if feed.port is None:
        if feed.neighbour is not None:
            return [f"{key}.neighbour: a neighbour is checked on a port: give `port` too"]
        return []
    if feeder.device is None:
        return [f"{key}.port: feeder {feeder.id!r} has no device to read LLDP from"]
    if feed.neighbour is None and (node.device is None or node.device == feeder.device):
        return [f"{key}.neighbour: what should LLDP see on {feeder.device} port {feed.port}? "
                f"give `neighbour` (its sysName), or bind node {node.id!r} to its own device"]
    return []


def _cycle_problems(graph: nx.DiGraph, edge_key: dict[tuple[str, str], str]) -> list[str]:
    """A problem per loop of auto feeds; loops through a manual edge are allowed.

    The same file gives the same text: each loop is named from its smallest node id, along
    the shortest way back to it (ties broken by id), and reported at the `fed_from` entry
    that closes it (the smallest node's entry naming its feeder in the loop), so the key and
    its line point at one place whatever the order sets happen to iterate in.
    """
    auto = nx.subgraph_view(graph, filter_edge=lambda u, v: not graph[u][v]["manual"])
    problems = []
    for component in nx.strongly_connected_components(auto):
        if len(component) < 2:
            continue
        ring = shortest_ring(auto, min(component), component)
        closing = (ring[-2], ring[0])  # the last node feeds the first
        problems.append(
            f"{edge_key[closing]}: cycle {' -> '.join(ring)}: feeds in a loop must include a "
            "manual one (`mode: manual`, a normally open tie)"
        )
    return sorted(problems)


def _unreachable_load_problems(
    name: str, sub: SubsystemTopology, graph: nx.DiGraph, base: str
) -> list[str]:
    # Utility counts as a source here: such a load is wired, just not counted for the tier.
    sources = [node.id for node in sub.nodes if is_source(name, node)]
    reachable: set[str] = set(sources)
    for source in sources:
        reachable |= nx.descendants(graph, source)
    problems = []
    for i, node in enumerate(sub.nodes):
        if node.is_load and node.fed_from and node.id not in reachable:
            problems.append(
                f"{base}.nodes[{i}].fed_from: load {node.id!r} has no path from any source"
            )
    return problems


def _group_problems(sub: SubsystemTopology, base: str) -> list[str]:
    problems = []
    kinds: dict[str, set[str]] = {}
    for node in sub.nodes:
        group = group_of(node)
        if group is not None:
            kinds.setdefault(group, set()).add(node.kind)
    for group, group_kinds in kinds.items():
        if len(group_kinds) > 1:
            problems.append(
                f"{base}.nodes: group {group!r} mixes kinds {', '.join(sorted(group_kinds))}"
            )
    declared: set[str] = set()
    for i, spec in enumerate(sub.groups):
        key = f"{base}.groups[{i}]"
        if spec.id in declared:
            problems.append(f"{key}.id: group {spec.id!r} declared twice")
        declared.add(spec.id)
        if spec.id not in kinds:
            problems.append(
                f"{key}.id: unknown group {spec.id!r} (no node with a capacity forms it)"
            )
        elif spec.kind is not None and kinds[spec.id] != {spec.kind}:
            found = ", ".join(sorted(kinds[spec.id]))
            problems.append(
                f"{key}.kind: group {spec.id!r} is declared {spec.kind} but holds {found}"
            )
    return problems
