"""The `power:` section of tierwatch.yaml: what the power room reads, and where.

    power:
      interval: 30s
      fuel:                       # generators: their controller and their fuel curve
        - {node: G1, device: gen-1, rated_lph: 27}          # litres/hour at rated load
        - {node: G2, device: gen-2, rated_lph: 27, tank_liters: 2000}
      pue:
        it_measured_at: ups_output    # ISO/IEC 30134-2 category 1 (pdu_output: 2,
                                      # it_equipment: 3)
        facility: [{device: meter-msb-a, metric: meter_power_watts},
                   {device: meter-msb-b, metric: meter_power_watts}]
        it: [{device: ups-a, metric: ups_output_power_watts},
             {device: ups-b, metric: ups_output_power_watts}]
      feeds:                      # dual-corded racks: each cord's PDU and its breaker
        - rack: R01
          cords: [{device: pdu-r01-a, breaker_amps: 16}, {device: pdu-r01-b, breaker_amps: 16}]

Fuel is read from the generator controller's series (the genset-controller map's names:
generator_fuel_level_ratio, generator_fuel_tank_liters, generator_fuel_rate_liters_per_hour,
generator_engine_running); a controller with another map keeps those names.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Literal

from pydantic import Field

from tierwatch.core.configtypes import Duration, Interval, Labels, Strict


class GeneratorFuel(Strict):
    node: str  # the topology's generator node
    device: str  # its controller
    rated_lph: float = Field(gt=0, description="fuel curve: litres per hour at rated load")
    tank_liters: float | None = Field(default=None, gt=0)  # else the controller's own


class Metered(Strict):
    device: str
    metric: str
    labels: Labels = Field(default_factory=dict)
    scale: float = 1.0  # to watts


class PueConfig(Strict):
    it_measured_at: Literal["ups_output", "pdu_output", "it_equipment"] = "ups_output"
    facility: list[Metered] = Field(min_length=1)
    it: list[Metered] = Field(min_length=1)


class CordConfig(Strict):
    device: str  # the rack PDU of this cord
    breaker_amps: float = Field(gt=0)
    metric: str = "pdu_phase_current_amperes"  # per phase, label `phase`


class RackFeeds(Strict):
    rack: str
    cords: list[CordConfig] = Field(min_length=2)


class PowerConfig(Strict):
    interval: Interval = 30.0
    fuel: list[GeneratorFuel] = Field(default_factory=list)
    pue: PueConfig | None = None
    feeds: list[RackFeeds] = Field(default_factory=list)
    derate: float = Field(default=0.8, gt=0.0, le=1.0)
    forecast_days: int = Field(default=30, ge=2, le=365)
    keep: Duration = 400 * 86400.0  # readings older than this are pruned

    @property
    def enabled(self) -> bool:
        return bool(self.fuel or self.pue or self.feeds)


def check_power(power: PowerConfig, device_ids: Collection[str], nodes: Collection[str]
                ) -> list[tuple[str, str]]:
    problems = []
    for i, gen in enumerate(power.fuel):
        if gen.node not in nodes:
            problems.append((f"power.fuel[{i}].node", f"unknown topology node {gen.node!r}"))
        if gen.device not in device_ids:
            problems.append((f"power.fuel[{i}].device", f"unknown device {gen.device!r}"))
    if power.pue is not None:
        for side in ("facility", "it"):
            for i, m in enumerate(getattr(power.pue, side)):
                if m.device not in device_ids:
                    problems.append((f"power.pue.{side}[{i}].device",
                                     f"unknown device {m.device!r}"))
    for i, rack in enumerate(power.feeds):
        if rack.rack not in nodes:
            problems.append((f"power.feeds[{i}].rack", f"unknown topology node {rack.rack!r}"))
        for j, cord in enumerate(rack.cords):
            if cord.device not in device_ids:
                problems.append((f"power.feeds[{i}].cords[{j}].device",
                                 f"unknown device {cord.device!r}"))
    return problems
