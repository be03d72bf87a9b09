"""Capacity groups: how many units are required, how many spare, and the label (formula 1).

For a group with demand D and unit capacities c_1 >= c_2 >= ... (the available units in the
live view, every unit in the design view):

Every sum and comparison is exact (capacities and demands are exact decimals,
tier/quantity.py): no tolerance.

* required N_req = the least m with c_1 + .. + c_m >= D. When all units together fall
  short, N_req counts the units there are plus as many more of the group's largest unit
  size as would close the gap (so "N-1" says one unit is missing).
* spare R = the largest k such that the units beyond the k largest still cover D; R = -1
  when all units together fall short.
* label: "N-x" (x = N_req - available units) when short, "N" when R = 0, "N+R" otherwise,
  and "2N" when the group has two sides (tier/graph.py `_two_sides`: the units reached
  through one cord of a load are one side, exactly two sides, every load has a cord on
  each) and each side's available capacity alone covers D.

A unit is available when its status leaves it in service and something feeds it (a UPS
whose switchboard is off gives no capacity). A group's demand is its declared demand, else
the sum of the demands (measured where given) of the loads downstream of any of its units,
every node present: a failed unit does not make the demand it should carry go away.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, TypeVar

from tier.flow import LoadUnits
from tier.graph import GroupDef, SubsystemGraph
from tier.quantity import decimal_text, display


@dataclass(frozen=True, slots=True)
class GroupState:
    id: str
    kind: str
    demand: Fraction
    required: int
    installed: int
    available: int
    spare: int
    label: str
    capacity_installed: Fraction
    capacity_available: Fraction
    unavailable_units: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "required": self.required,
            "installed": self.installed,
            "available": self.available,
            "spare": self.spare,
            "label": self.label,
            "demand": display(self.demand),
            "capacity_installed": display(self.capacity_installed),
            "capacity_available": display(self.capacity_available),
            "demand_exact": decimal_text(self.demand),
            "capacity_installed_exact": decimal_text(self.capacity_installed),
            "capacity_available_exact": decimal_text(self.capacity_available),
            "unavailable_units": list(self.unavailable_units),
        }


Q = TypeVar("Q", int, Fraction)


def required_and_spare(
    capacities: Sequence[Q], demand: Q, unit_size: Q | None = None
) -> tuple[int, int]:
    """(N_req, R) for units of these capacities against a demand, compared exactly (whole
    flow units, or Fractions).

    `unit_size` is the size assumed for units that would have to be added when the given
    ones fall short (default: the largest given).
    """
    ordered = sorted(capacities, reverse=True)
    total = sum(ordered)
    if total < demand:
        size = unit_size if unit_size is not None else (ordered[0] if ordered else 0)
        # ceil((demand - total) / size), exactly
        missing = -((total - demand) // size) if size > 0 else 1
        return len(ordered) + max(1, missing), -1
    running: int | Fraction = 0
    required = 0
    for capacity in ordered:
        if running >= demand:
            break
        running += capacity
        required += 1
    spare = 0
    remaining = total
    for capacity in ordered:
        if remaining - capacity < demand:
            break
        remaining -= capacity
        spare += 1
    return required, spare


def label(required: int, available: int, spare: int, two_n: bool) -> str:
    if spare < 0:
        return f"N-{max(1, required - available)}"
    if spare == 0:
        return "N"
    return "2N" if two_n else f"N+{spare}"


def group_demand(group: GroupDef, loads: LoadUnits) -> int:
    """The group's demand in flow units: declared, else what the loads it serves draw."""
    if group.declared_demand is not None:
        declared = group.declared_demand
        return declared.numerator * (loads.scale // declared.denominator)
    return sum(loads.units[load] for load in group.serves)


def group_state(
    sub: SubsystemGraph,
    group: GroupDef,
    unavailable: frozenset[str],
    loads: LoadUnits,
) -> GroupState:
    caps = sub.flow_capacities(loads.scale)
    capacity = {unit: caps.get(unit, 0) for unit in group.units}
    up = [unit for unit in group.units if unit not in unavailable]
    demand = group_demand(group, loads)
    largest = max(capacity.values(), default=0)
    required, spare = required_and_spare([capacity[u] for u in up], demand, largest)
    two_n = False
    if group.sides is not None and spare >= 1:
        two_n = all(
            sum(capacity[u] for u in side if u not in unavailable) >= demand
            for side in group.sides
        )
    return GroupState(
        id=group.id,
        kind=group.kind,
        demand=loads.exact(demand),
        required=required,
        installed=len(group.units),
        available=len(up),
        spare=spare,
        label=label(required, len(up), spare, two_n),
        capacity_installed=loads.exact(sum(capacity.values())),
        capacity_available=loads.exact(sum(capacity[u] for u in up)),
        unavailable_units=tuple(u for u in group.units if u in unavailable),
    )
