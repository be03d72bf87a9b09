"""The power room at run time: live fuel autonomy, PUE and feed headroom from the state,
written to the store every interval, with the day's and month's PUE and the forecast
refreshed from the store every few minutes; their series on /metrics.

What it offers other rooms goes through the wiring: `fuel_hours()` (the site's autonomy)
feeds the live tier's readiness score; `view()` is what the API and the status page show.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from prometheus_client.core import GaugeMetricFamily, Metric

from power import history
from power.config import PowerConfig
from power.figures import (
    PUE_CATEGORIES,
    Cord,
    Forecast,
    FuelFigure,
    Headroom,
    feed_headroom,
    generator_fuel,
    hidden_spof,
    pue,
    site_fuel_hours,
)
from tier.score import TierSnapshot
from tier.topology import TopologyConfig
from tierwatch.core.runtime import Runtime
from tierwatch.core.state import State
from tierwatch.core.store.power import add_power_readings, prune_power_readings

log = logging.getLogger(__name__)

SLOW_EVERY = 600.0  # seconds between recomputing the day's and month's PUE and the forecast


@dataclass(frozen=True)
class PowerView:
    """The live figures, immutable: read freely by /metrics, the API and the status page."""

    ts: float
    fuel: tuple[FuelFigure, ...] = ()
    site_fuel_hours: float | None = None
    facility_w: float | None = None
    it_w: float | None = None
    pue_live: float | None = None
    pue_day: float | None = None
    pue_month: float | None = None
    category: int | None = None
    headroom: Mapping[str, tuple[Headroom, ...]] = field(default_factory=dict)
    n_plus_one: Mapping[str, Forecast] = field(default_factory=dict)
    budget: Forecast | None = None

    @property
    def hidden_spofs(self) -> list[str]:
        return sorted(rack for rack, rows in self.headroom.items() if hidden_spof(rows))

    def to_json(self) -> dict[str, Any]:
        return {
            "ts": self.ts, "fuel": [f.to_json() for f in self.fuel],
            "site_fuel_hours": self.site_fuel_hours,
            "pue": {"live": self.pue_live, "day": self.pue_day, "month": self.pue_month,
                    "category": self.category, "facility_w": self.facility_w,
                    "it_w": self.it_w},
            "headroom": {r: [h.to_json() for h in rows] for r, rows in self.headroom.items()},
            "hidden_spofs": self.hidden_spofs,
            "forecast": {"n_plus_one": {g: f.to_json() for g, f in self.n_plus_one.items()},
                         "budget": None if self.budget is None else self.budget.to_json()},
        }


def _values(state: State, device: str, metric: str, labels: Mapping[str, str] | None = None
            ) -> list[tuple[Mapping[str, str], float]]:
    dev = state.devices.get(device)
    if dev is None or not dev.reachable:
        return []
    want = labels or {}
    return [(s.labels, s.value) for s in dev.samples if s.name == metric
            and all(s.labels.get(k) == v for k, v in want.items()) and math.isfinite(s.value)]


def _one(state: State, device: str, metric: str) -> float | None:
    found = _values(state, device, metric)
    return found[0][1] if found else None


def live_figures(config: PowerConfig, state: State, now: float) -> PowerView:
    """The figures the state gives now (pure over the state: the tests call it too)."""
    fuel = []
    for gen in config.fuel:
        tank = gen.tank_liters or _one(state, gen.device, "generator_fuel_tank_liters")
        fuel.append(generator_fuel(
            gen.node, _one(state, gen.device, "generator_fuel_level_ratio"), tank,
            bool(_one(state, gen.device, "generator_engine_running")),
            _one(state, gen.device, "generator_fuel_rate_liters_per_hour"), gen.rated_lph))
    facility = it = None
    category = None
    if config.pue is not None:
        category = PUE_CATEGORIES[config.pue.it_measured_at]

        def total(side: list[Any]) -> float | None:
            parts = []
            for m in side:
                found = _values(state, m.device, m.metric, m.labels)
                if not found:
                    return None  # a meter not heard: no total (never a partial one)
                parts.append(sum(v for _, v in found) * m.scale)
            return sum(parts)

        facility, it = total(config.pue.facility), total(config.pue.it)
    headroom: dict[str, tuple[Headroom, ...]] = {}
    for rack in config.feeds:
        cords = []
        for cord in rack.cords:
            phases = {str(lab.get("phase", "1")): v
                      for lab, v in _values(state, cord.device, cord.metric)}
            if not phases:
                break
            cords.append(Cord(cord.device, cord.breaker_amps, phases))
        else:
            headroom[rack.rack] = tuple(feed_headroom(rack.rack, cords, config.derate))
    return PowerView(ts=now, fuel=tuple(fuel), site_fuel_hours=site_fuel_hours(fuel),
                     facility_w=facility, it_w=it, pue_live=pue(facility, it),
                     category=category, headroom=headroom)


class PowerComponent:
    def __init__(self, config: PowerConfig, topology: TopologyConfig, target: float,
                 tier: Callable[[], TierSnapshot | None] = lambda: None) -> None:
        self.config = config
        self.topology = topology
        self.target = target
        self.tier = tier
        self.view: PowerView | None = None
        self.errors = 0
        self._slow: dict[str, Any] = {}
        self._slow_at = -math.inf
        self._rt: Runtime | None = None

    def fuel_hours(self) -> float | None:
        """The site's fuel autonomy now (the readiness score's `fuel` input)."""
        return None if self.view is None else self.view.site_fuel_hours

    async def start(self, rt: Runtime) -> None:
        self._rt = rt
        rt.metrics.register(PowerCollector(self))
        rt.scheduler.every("power", self.config.interval, self.refresh)

    async def stop(self) -> None:
        if self._rt is not None:
            self._rt.scheduler.remove("power")

    async def refresh(self) -> PowerView | None:
        rt = self._rt
        assert rt is not None
        now = rt.clock()
        try:
            view = live_figures(self.config, rt.state, now)
            await asyncio.to_thread(self._record, rt, view)
            if now - self._slow_at >= SLOW_EVERY:
                self._slow = await asyncio.to_thread(self._from_store, rt, now)
                self._slow_at = now
        except Exception:  # counted and logged; the last view stays
            self.errors += 1
            log.exception("computing the power figures failed")
            return self.view
        self.view = PowerView(**{**view.__dict__, **self._slow})
        return self.view

    def _record(self, rt: Runtime, view: PowerView) -> None:
        rows: list[tuple[str, str, float]] = []
        if view.facility_w is not None and view.it_w is not None:
            rows += [("facility_w", "site", view.facility_w), ("it_w", "site", view.it_w)]
        rows += [("fuel_l", f.node, f.liters) for f in view.fuel if f.liters is not None]
        if view.site_fuel_hours is not None:
            rows.append(("fuel_h", "site", view.site_fuel_hours))
        rows += [("hidden_spof", rack, 1.0 if hidden_spof(h) else 0.0)
                 for rack, h in view.headroom.items()]
        snap = self.tier()
        if snap is not None:
            for sub in snap.subsystems:
                rows += [("demand", f"{sub.name}/{g.id}", float(g.demand))
                         for g in sub.live.groups]
        add_power_readings(rt.store, view.ts, rows)

    def _from_store(self, rt: Runtime, now: float) -> dict[str, Any]:
        tz = rt.site.timezone
        max_gap = 3 * self.config.interval
        local = datetime.fromtimestamp(now, ZoneInfo(tz))
        month_start, _ = history.month_bounds(local.year, local.month, tz)
        budget, _figures = history.budget_forecast(rt.store, now, tz, self.target,
                                                   self.config.forecast_days)
        prune_power_readings(rt.store, now - self.config.keep)
        return {
            "pue_day": history.pue_between(rt.store, history.local_midnight(now, tz), now,
                                           max_gap),
            "pue_month": history.pue_between(rt.store, month_start, now, max_gap),
            "n_plus_one": history.n_plus_one_forecast(rt.store, self.topology, now, tz,
                                                      self.config.forecast_days),
            "budget": budget,
        }


class PowerCollector:
    def __init__(self, component: PowerComponent) -> None:
        self.component = component

    def collect(self) -> Iterator[Metric]:
        view = self.component.view
        hours = GaugeMetricFamily("tierwatch_fuel_autonomy_hours", "Hours of generator fuel "
                                  "at the present load (stopped sets at their rated load), "
                                  "per generator and for the site", labels=["scope"])
        liters = GaugeMetricFamily("tierwatch_fuel_liters", "Fuel in each generator's tank",
                                   labels=["scope"])
        pue_family = GaugeMetricFamily("tierwatch_pue", "Power usage effectiveness (ISO/IEC "
                                       "30134-2): facility over IT energy; window live, day, "
                                       "month; category where IT is measured (1 UPS output, "
                                       "2 PDU output, 3 IT equipment)",
                                       labels=["window", "category"])
        facility = GaugeMetricFamily("tierwatch_facility_power_watts",
                                     "Total facility power (the meters named in power.pue)")
        it = GaugeMetricFamily("tierwatch_it_power_watts", "IT power (power.pue.it)")
        headroom = GaugeMetricFamily("tierwatch_feed_headroom_amperes", "What one cord of a "
                                     "dual-corded rack could still take if the others "
                                     "failed: derated breaker minus the whole rack's draw",
                                     labels=["rack", "survivor", "phase"])
        spof = GaugeMetricFamily("tierwatch_feed_hidden_spof", "1 when one cord of the rack "
                                 "could not carry it alone (a hidden single point of "
                                 "failure)", labels=["rack"])
        n1 = GaugeMetricFamily("tierwatch_forecast_n_plus_one_loss_timestamp_seconds",
                               "When the capacity group would lose N+1 at the present growth "
                               "of demand", labels=["group"])
        budget = GaugeMetricFamily("tierwatch_forecast_budget_spent_timestamp_seconds",
                                   "When this year's downtime budget would be spent at the "
                                   "present burn")
        if view is not None:
            for f in view.fuel:
                if f.hours is not None:
                    hours.add_metric([f.node], f.hours)
                if f.liters is not None:
                    liters.add_metric([f.node], f.liters)
            if view.site_fuel_hours is not None:
                hours.add_metric(["site"], view.site_fuel_hours)
            category = "" if view.category is None else str(view.category)
            for window, value in (("live", view.pue_live), ("day", view.pue_day),
                                  ("month", view.pue_month)):
                if value is not None:
                    pue_family.add_metric([window, category], value)
            if view.facility_w is not None:
                facility.add_metric([], view.facility_w)
            if view.it_w is not None:
                it.add_metric([], view.it_w)
            for rack, rows in view.headroom.items():
                for h in rows:
                    headroom.add_metric([rack, h.survivor, h.phase], h.headroom_amps)
                spof.add_metric([rack], 1.0 if hidden_spof(rows) else 0.0)
            for group, forecast in view.n_plus_one.items():
                if forecast.at is not None:
                    n1.add_metric([group], forecast.at)
            if view.budget is not None and view.budget.at is not None:
                budget.add_metric([], view.budget.at)
        yield from (hours, liters, pue_family, facility, it, headroom, spof, n1, budget)


