"""The records that cross room boundaries: samples, statuses, poll results, status changes.

Collectors produce `PollResult`s (samples and component statuses); the state keeps them;
exporters, the tier engine, alerts and the store consume them. Nothing else crosses a
boundary.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import NamedTuple

EMPTY_LABELS: Mapping[str, str] = MappingProxyType({})
DEVICE_COMPONENT = "device"  # the component name a device's own status goes by


class Status(StrEnum):
    """Health of a device or a component, as its profile's status rules derive it."""

    OK = "ok"
    DEGRADED = "degraded"  # still doing its job, but exposed (a UPS on battery)
    FAILED = "failed"  # not doing its job (a UPS on bypass or off, a phase overloaded)
    UNKNOWN = "unknown"  # cannot be told (device unreachable, value missing)

    @property
    def severity(self) -> int:
        """Order used to fold several statuses into one: the worst wins."""
        return _SEVERITY[self]

    @classmethod
    def worst(cls, statuses: list[Status] | tuple[Status, ...]) -> Status:
        return max(statuses, key=_SEVERITY.__getitem__, default=cls.OK)


_SEVERITY = {Status.OK: 0, Status.UNKNOWN: 1, Status.DEGRADED: 2, Status.FAILED: 3}


class Sample(NamedTuple):
    """One measured value: a Prometheus-style metric name, its labels, value and time.

    `ts` is seconds since the epoch (UTC) of the poll that produced it. Immutable. A named
    tuple rather than a frozen dataclass because a poll makes one per varbind: building a
    tuple costs half as much, and reading a field is a C-level index. Samples of one table
    row share one labels mapping; treat it as read-only.
    """

    name: str
    labels: Mapping[str, str]
    value: float
    ts: float = 0.0

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "labels": dict(self.labels), "value": self.value}


@dataclass(frozen=True, slots=True)
class ComponentStatus:
    """Status of one component of a device (the device itself, a UPS output, a PDU phase).

    `conditions` are machine-readable tags the status rules attach (`on_battery`, `bypass`,
    `battery_low`, `overload`, ...): the tier engine and the report read them, the alert
    rules key on them. `reason` is the human sentence.
    """

    component: str
    status: Status
    reason: str = ""
    conditions: frozenset[str] = field(default_factory=frozenset)
    # whether this component's status counts toward its device's status (a PDU phase does;
    # a switch port that is down does not make the switch down)
    rollup: bool = True


@dataclass(frozen=True, slots=True)
class StatusChange:
    """A component's status moved. Emitted by the state, consumed by store, alerts, tier.

    The device as a whole is the component named `DEVICE_COMPONENT`.
    """

    device: str
    component: str
    old: Status | None  # None: first status ever seen for this component
    new: Status
    reason: str
    ts: float
    conditions: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True, slots=True)
class MetricMeta:
    """What the exporter writes in # HELP and # TYPE for a metric family."""

    type: str  # gauge, counter, info, stateset
    help: str


@dataclass(slots=True)
class PollResult:
    """One poll of one device by any collector (SNMP, agent scrape, probe round).

    `State.update()` folds it into the live picture: an ok result sets the statuses, a
    failed one counts toward unreachable-after-N. A failed result may still carry current
    samples (a probe round with no answer still measured its loss).
    """

    device: str
    ts: float  # when the poll started (epoch seconds)
    duration: float = 0.0
    samples: list[Sample] = field(default_factory=list)
    components: list[ComponentStatus] = field(default_factory=list)
    varbinds: int = 0
    error: str | None = None  # reason code for poll_errors_total{reason}; None when ok
    message: str = ""  # the error in words (never with a secret in it)
    # the readings the reboot detector needs (role -> value), when present
    roles: dict[str, float] = field(default_factory=dict)
    # HELP and TYPE of the metric families in `samples` (the plan's, shared)
    metadata: Mapping[str, MetricMeta] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_json(self, status: str) -> dict[str, object]:
        return {
            "device": self.device,
            "status": status,
            "samples": [s.to_json() for s in self.samples],
            "components": [
                {"component": c.component, "status": str(c.status), "reason": c.reason}
                for c in self.components
            ],
            "error": self.error,
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """What a device is, as configured (and, for `profile: auto`, as resolved): the alert
    rules join on it (`tierwatch_device_info`), the API and the status page show it."""

    id: str
    name: str  # the configured name, else the id
    kind: str  # snmp | agent | link | site
    address: str | None = None  # host[:port] (an agent's URL shows host:port only)
    profiles: tuple[str, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
