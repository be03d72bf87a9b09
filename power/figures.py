"""The power room's figures, as plain functions of numbers: no state, no store, no clock.

Fuel autonomy (hours of generator fuel), PUE (ISO/IEC 30134-2), the headroom of a
dual-corded rack's feeds, and the forecast (when a capacity group loses N+1 at the present
growth of demand; when the downtime budget is spent at the present burn). Each is tested
against numbers worked out by hand (tests/power/).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# ------------------------------------------------------------------------------ fuel

TIER_III_FUEL_HOURS = 12.0


@dataclass(frozen=True)
class FuelFigure:
    """One generator's fuel: litres in its tank, the consumption its autonomy assumes, and
    the hours that gives. `basis`: `measured` (running, its fuel rate now), `rated` (the
    fuel curve at rated load: stopped, or a running set that reports no rate), `unknown`."""

    node: str
    liters: float | None
    rate_lph: float | None
    basis: str
    hours: float | None

    def to_json(self) -> dict[str, object]:
        return {"node": self.node, "liters": self.liters, "rate_lph": self.rate_lph,
                "basis": self.basis, "hours": self.hours}


def generator_fuel(node: str, level_ratio: float | None, tank_liters: float | None,
                   running: bool, measured_lph: float | None, rated_lph: float | None
                   ) -> FuelFigure:
    liters = (level_ratio * tank_liters
              if level_ratio is not None and tank_liters is not None else None)
    if running and measured_lph is not None and measured_lph > 0:
        rate, basis = measured_lph, "measured"
    elif rated_lph is not None and rated_lph > 0:
        rate, basis = rated_lph, "rated"
    else:
        rate, basis = None, "unknown"
    hours = liters / rate if liters is not None and rate else None
    return FuelFigure(node, liters, rate, basis if liters is not None else "unknown", hours)


def site_fuel_hours(figures: Sequence[FuelFigure]) -> float | None:
    """The site's autonomy: all the fuel over all the consumption (each generator at its
    present rate when running, at its rated-load rate when stopped: if the utility failed
    now, every set would start and carry its rating). None while any generator's figure is
    unknown: an autonomy is never claimed for fuel nobody can see."""
    if not figures or any(f.liters is None or not f.rate_lph for f in figures):
        return None
    return sum(f.liters or 0.0 for f in figures) / sum(f.rate_lph or 0.0 for f in figures)


# ------------------------------------------------------------------------------ PUE

# ISO/IEC 30134-2: the category says where the IT energy is measured
PUE_CATEGORIES = {"ups_output": 1, "pdu_output": 2, "it_equipment": 3}


def pue(facility_w: float | None, it_w: float | None) -> float | None:
    """Total facility power over IT power, now (None without a positive IT power)."""
    if facility_w is None or it_w is None or it_w <= 0 or facility_w < 0:
        return None
    return facility_w / it_w


def energy(readings: Sequence[tuple[float, float]], start: float, end: float,
           max_gap: float) -> float:
    """Energy (J) in [start, end) from power readings (ts, W): each reading holds until the
    next one, for at most `max_gap` seconds (a silent meter counts nothing, never its last
    value for ever)."""
    total = 0.0
    for i, (ts, watts) in enumerate(readings):
        until = readings[i + 1][0] if i + 1 < len(readings) else end
        lo, hi = max(ts, start), min(until, ts + max_gap, end)
        if hi > lo:
            total += watts * (hi - lo)
    return total


def pue_over(facility: Sequence[tuple[float, float]], it: Sequence[tuple[float, float]],
             start: float, end: float, max_gap: float) -> float | None:
    """PUE over a period: facility energy over IT energy (ISO/IEC 30134-2 takes energy, not
    an average of ratios). None without IT energy."""
    it_energy = energy(it, start, end, max_gap)
    if it_energy <= 0:
        return None
    return energy(facility, start, end, max_gap) / it_energy


# ------------------------------------------------------------------------------ feeds

DERATE = 0.8  # a breaker carries 80 % of its rating continuously


@dataclass(frozen=True)
class Cord:
    """One cord of a rack: its PDU's breaker and the current it draws, per phase."""

    name: str
    breaker_amps: float
    phases: Mapping[str, float]  # phase -> amperes now


@dataclass(frozen=True)
class Headroom:
    """If every cord but `survivor` failed: the whole rack's current on `phase` against
    the survivor's derated breaker. Negative headroom: the survivor would trip."""

    rack: str
    survivor: str
    phase: str
    load_amps: float
    limit_amps: float

    @property
    def headroom_amps(self) -> float:
        return self.limit_amps - self.load_amps

    @property
    def carries(self) -> bool:
        return self.load_amps <= self.limit_amps

    def to_json(self) -> dict[str, object]:
        return {"rack": self.rack, "survivor": self.survivor, "phase": self.phase,
                "load_amps": self.load_amps, "limit_amps": self.limit_amps,
                "headroom_amps": self.headroom_amps, "carries": self.carries}


def feed_headroom(rack: str, cords: Sequence[Cord], derate: float = DERATE
                  ) -> list[Headroom]:
    """For each cord as the survivor and each phase: the sum of every cord's draw on that
    phase against derate x the survivor's breaker."""
    phases = sorted({p for c in cords for p in c.phases})
    out = []
    for survivor in cords:
        for phase in phases:
            load = sum(c.phases.get(phase, 0.0) for c in cords)
            out.append(Headroom(rack, survivor.name, phase, load,
                                derate * survivor.breaker_amps))
    return out


def hidden_spof(headrooms: Sequence[Headroom]) -> bool:
    """A dual-corded rack is a hidden single point of failure when some cord could not
    carry the whole rack alone."""
    return any(not h.carries for h in headrooms)


# ------------------------------------------------------------------------------ forecast


def trend(points: Sequence[tuple[float, float]]) -> tuple[float, float] | None:
    """Least-squares line through (t, value): (slope per second, value at t = 0); None
    with fewer than two distinct times."""
    n = len(points)
    if n < 2:
        return None
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    var = sum((t - mean_t) ** 2 for t, _ in points)
    if var == 0:
        return None
    slope = sum((t - mean_t) * (v - mean_v) for t, v in points) / var
    return slope, mean_v - slope * mean_t


def n_plus_one_limit(capacities: Sequence[float]) -> float | None:
    """The demand above which a group has no spare unit (TIER-MODEL formula 1: spare >= 1
    while the units beyond the largest still cover the demand): total - largest."""
    if len(capacities) < 2:
        return None
    return sum(capacities) - max(capacities)


@dataclass(frozen=True)
class Forecast:
    """When a figure reaches a limit: `at` (epoch s), or None with `note` saying why."""

    at: float | None
    note: str

    def to_json(self) -> dict[str, object]:
        return {"at": self.at, "note": self.note}


def reaches(points: Sequence[tuple[float, float]], limit: float, now: float) -> Forecast:
    """When the trend of `points` goes above `limit`."""
    line = trend(points)
    if line is None:
        return Forecast(None, "not enough data")
    slope, intercept = line
    if slope * now + intercept > limit:
        return Forecast(now, "already")
    if slope <= 0:
        return Forecast(None, "not at the present growth")
    return Forecast((limit - intercept) / slope, "at the present growth")


def budget_spent(used_s: float, budget_s: float, recent_s: float, recent_window_s: float,
                 now: float, period_end: float = math.inf) -> Forecast:
    """When the downtime budget of a period is spent: what is left of it over the recent
    burn (downtime per second of the last `recent_window_s`); not after `period_end`, when
    a new budget starts."""
    left = budget_s - used_s
    if left <= 0:
        return Forecast(now, "already")
    if recent_s <= 0:
        return Forecast(None, "no downtime lately")
    at = now + left / (recent_s / recent_window_s)
    if at >= period_end:
        return Forecast(None, "not within the period at the present burn")
    return Forecast(at, "at the present burn")
