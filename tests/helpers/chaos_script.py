"""The chaos harness's ground truth: a scripted month of faults, compressed into minutes.

A script is a list of faults (which simulated device, which fault, from when to when, in
seconds from the script's start) and the moments the leader is killed. It is made from a
seed by `make_script`, so a run that fails can be run again exactly. Nothing here runs a
process: tests/helpers/chaos.py plays a script, tests/helpers/chaos_compare.py checks the
store against it.

What "compressed" means: a month of a city data center (a few dozen UPS transfers, agents
that go quiet, a trunk cut, ...) keeps its order, its overlaps between devices and its
kills, but each fault lasts tens of seconds instead of minutes to hours, because the
service polls at most once a second: every edge must fall at least a few polls apart.
Alert hold times (`for:`) are scaled down by FOR_SCALE for the same reason.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from sim import agent as sim_agent
from sim.traps import traps_for

# the shipped rules' `for:` divided by this (DeviceUnreachable 1m -> 2 s, InterfaceDown 30 s
# -> 1 s): a month's minute is a few seconds here
FOR_SCALE = 30.0


@dataclass(frozen=True)
class FaultKind:
    """A kind of fault the script uses and what the store must show for it."""

    name: str  # the script's word: outage, battery, bypass, battery-low, trunk-cut
    fault: str  # the simulator's fault (sim/models.yaml, or silent / port-down)
    devices: tuple[str, ...]  # devices it may strike
    status: str  # the subject's status while the fault holds
    condition: str  # a condition the subject carries while it holds
    alerts: tuple[str, ...]  # alerts that must page for it (the device label is the device)
    outage: bool = False  # a device outage row (kind device)
    exposure: str | None = None  # a device exposure row of this kind
    port: int | None = None  # port-down: the ifIndex; the subject is that port's component
    component: str | None = None  # the transitions' subject below the device, if not it
    load: str | None = None  # a load the topology loses while it holds (kind load outage)
    weight: float = 1.0  # how often it happens in a month, relatively


UPS = ("ups-a", "ups-b", "ups-net")
AGENTS = ("ups-a", "ups-b", "ups-net", "pdu-r01-a", "pdu-r01-b", "pdu-r02-a", "pdu-r02-b",
          "ats-1", "ats-2", "env-1", "env-2", "core-1", "core-2", "edge-1", "edge-2",
          "srv-db-01")

# What each fault does to the demo's data center (sim/demo.yaml), as the simulator's models
# and the shipped profiles say; checked once by hand against a running instance:
#   silent       device unknown {unreachable}, a device outage, DeviceUnreachable
#   on-battery   device degraded {on_battery}, exposure on_battery, UpsOnBattery
#   on-bypass    device failed {bypass}, exposure bypass, UpsOnBypass
#   battery-low  device degraded {battery_low}, UpsBatteryLow
#   port-down 15 on core-1: port Gi1/0/15 failed {link_down}; the district node Ninh Kiều
#                is cut, and with it the single-homed site SITE-P-ANHOA (a load outage);
#                InterfaceDown (ifAlias "trunk: ...")
KINDS: dict[str, FaultKind] = {k.name: k for k in (
    FaultKind("outage", "silent", AGENTS, "unknown", "unreachable", ("DeviceUnreachable",),
              outage=True, weight=3),
    FaultKind("battery", "on-battery", UPS, "degraded", "on_battery", ("UpsOnBattery",),
              exposure="on_battery", weight=3),
    FaultKind("bypass", "on-bypass", UPS, "failed", "bypass", ("UpsOnBypass",),
              exposure="bypass", weight=2),
    FaultKind("battery-low", "battery-low", UPS, "degraded", "battery_low",
              ("UpsBatteryLow",), weight=1),
    FaultKind("trunk-cut", "port-down", ("core-1",), "failed", "link_down",
              ("InterfaceDown",), port=15, component="port Gi1/0/15", load="SITE-P-ANHOA",
              weight=1),
)}


@dataclass(frozen=True)
class Fault:
    """One scripted fault: `kind` on `device` from `start` to `end` (seconds from the start
    of the script)."""

    id: int
    kind: FaultKind
    device: str
    start: float
    end: float

    @property
    def params(self) -> dict[str, Any]:
        return {"port": self.kind.port} if self.kind.port is not None else {}

    @property
    def subject(self) -> tuple[str, str]:
        """(transition kind, subject) of the status this fault moves."""
        if self.kind.component:
            return "component", f"{self.device}/{self.kind.component}"
        return "device", self.device

    def traps(self, cleared: bool) -> list[str]:
        """Trap OIDs the simulated device sends when the fault starts (or ends)."""
        model = _models()[_inventory()[self.device]]
        return [oid for oid, _ in traps_for(self.kind.fault, self.params, cleared, model.traps)]

    def label(self) -> str:
        return f"#{self.id} {self.kind.name} {self.device}"


@dataclass(frozen=True)
class Script:
    seed: int
    duration: float  # seconds of faults; then every fault is cleared and the store settles
    interval: float  # the poll interval the instances run with
    faults: tuple[Fault, ...]
    kills: tuple[float, ...]  # when the leader gets SIGKILL (seconds from the start)
    days: float = 30.0  # what `duration` stands for
    # SNMP timeout and retries, scaled with the interval as the demo's are (5 s polls, 1 s
    # timeout, one retry): a failed poll ends before the next is due, so a device coming
    # back is seen by the next poll, never a skipped one
    timeout: float = 0.4
    retries: int = 1
    notes: list[str] = field(default_factory=list, compare=False)

    def describe(self) -> str:
        per_day = self.duration / self.days
        return (f"seed {self.seed}: {self.days:g} days in {self.duration:.0f} s "
                f"({per_day:.1f} s a day), {len(self.faults)} faults, {len(self.kills)} "
                f"leader kills, polls every {self.interval:g} s (timeout "
                f"{self.timeout:g} s x {self.retries + 1})")


_MODELS: dict[str, sim_agent.Model] = {}
_INVENTORY: dict[str, str] = {}


def _models() -> dict[str, sim_agent.Model]:
    if not _MODELS:
        _MODELS.update(sim_agent.load_models())
    return _MODELS


def _inventory() -> dict[str, str]:
    if not _INVENTORY:
        _INVENTORY.update({spec.id: spec.model for spec in sim_agent.load_inventory()})
    return _INVENTORY


def make_script(seed: int, duration: float, faults: int, kills: int,
                interval: float = 1.0, timeout: float = 0.4, retries: int = 1,
                min_fault: float = 12.0, max_fault: float = 30.0,
                quiet: float = 6.0, kill_gap: float = 25.0) -> Script:
    """A reproducible month: `faults` faults of the KINDS (by weight) on random devices, each
    lasting `min_fault`..`max_fault` seconds, none overlapping another on the same device
    (with `quiet` seconds between them, so every edge is seen by a poll of its own), and
    `kills` leader kills at random moments at least `kill_gap` apart (a restart takes a few
    seconds on a loaded machine; the next kill should find the instance running)."""
    if timeout * (retries + 1) >= interval:
        raise ValueError(f"a failed poll ({timeout} s x {retries + 1}) must end before the "
                         f"next is due ({interval} s)")
    if min_fault < 8 * interval:
        raise ValueError(f"a fault of {min_fault} s is too short to see with polls every "
                         f"{interval} s")
    rng = random.Random(seed)
    kinds = list(KINDS.values())
    busy: dict[str, list[tuple[float, float]]] = {}
    made: list[Fault] = []
    attempts = 0
    while len(made) < faults:
        attempts += 1
        if attempts > 200 * faults:
            raise ValueError(f"cannot fit {faults} faults into {duration} s")
        kind = rng.choices(kinds, weights=[k.weight for k in kinds])[0]
        device = rng.choice(kind.devices)
        length = rng.uniform(min_fault, max_fault)
        start = rng.uniform(2 * interval, duration - length)
        end = start + length
        lanes = busy.setdefault(device, [])
        if any(start < e + quiet and s < end + quiet for s, e in lanes):
            continue
        lanes.append((start, end))
        made.append(Fault(0, kind, device, round(start, 2), round(end, 2)))
    ordered = sorted(made, key=lambda f: f.start)
    numbered = tuple(Fault(i + 1, f.kind, f.device, f.start, f.end)
                     for i, f in enumerate(ordered))
    moments: list[float] = []
    attempts = 0
    while len(moments) < kills:
        attempts += 1
        if attempts > 1000 * max(kills, 1):
            raise ValueError(f"cannot fit {kills} kills {kill_gap} s apart into {duration} s")
        moment = round(rng.uniform(0.1 * duration, 0.9 * duration), 2)
        if all(abs(moment - m) >= kill_gap for m in moments):
            moments.append(moment)
    return Script(seed, duration, interval, numbered, tuple(sorted(moments)),
                  timeout=timeout, retries=retries)
