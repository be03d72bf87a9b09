"""The power room's figures over time, from the store: PUE by day and month, the fuel over
a month, hidden SPOFs seen, the forecast. Plain functions of a store and times (no clock):
the component calls them for its series, the monthly report through ReportSettings (the
wiring hands it `month_section`), the tests with a seeded month."""

from __future__ import annotations

import calendar
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from power.figures import Forecast, budget_spent, n_plus_one_limit, pue_over, reaches
from tier import availability
from tier.topology import TopologyConfig, group_of
from tierwatch.core.store import Store
from tierwatch.core.store.power import power_readings_of, power_subjects

DAY = 86400.0


def local_midnight(ts: float, tz: str) -> float:
    moment = datetime.fromtimestamp(ts, ZoneInfo(tz))
    return moment.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


def month_bounds(year: int, month: int, tz: str) -> tuple[float, float]:
    zone = ZoneInfo(tz)
    start = datetime(year, month, 1, tzinfo=zone)
    days = calendar.monthrange(year, month)[1]
    return start.timestamp(), (start + timedelta(days=days)).timestamp()


def pue_between(store: Store, start: float, end: float, max_gap: float) -> float | None:
    facility = power_readings_of(store, "facility_w", "site", start - max_gap, end)
    it = power_readings_of(store, "it_w", "site", start - max_gap, end)
    return pue_over(facility, it, start, end, max_gap)


def daily_pue(store: Store, start: float, end: float, tz: str, max_gap: float
              ) -> list[tuple[str, float | None]]:
    """(YYYY-MM-DD, PUE of that site-local day) for each day in [start, end)."""
    zone = ZoneInfo(tz)
    out = []
    day = local_midnight(start, tz)
    while day < end:
        nxt = (datetime.fromtimestamp(day, zone) + timedelta(days=1)).replace(
            hour=0, minute=0, second=0, microsecond=0).timestamp()
        label = datetime.fromtimestamp(day, zone).strftime("%Y-%m-%d")
        out.append((label, pue_between(store, max(day, start), min(nxt, end), max_gap)))
        day = nxt
    return out


def capacities(topology: TopologyConfig) -> dict[str, list[float]]:
    """'subsystem/group' -> the unit capacities of each capacity group."""
    out: dict[str, list[float]] = {}
    for name, sub in topology.subsystems():
        for node in sub.nodes:
            group = group_of(node)
            if group is not None and node.capacity is not None:
                out.setdefault(f"{name}/{group}", []).append(float(node.capacity))
    return out


def daily_means(points: Sequence[tuple[float, float]], tz: str) -> list[tuple[float, float]]:
    """(the day's midpoint, the mean of its readings) per site-local day with readings."""
    days: dict[float, list[float]] = {}
    for ts, value in points:
        days.setdefault(local_midnight(ts, tz), []).append(value)
    return [(day + DAY / 2, sum(v) / len(v)) for day, v in sorted(days.items())]


def n_plus_one_forecast(store: Store, topology: TopologyConfig, now: float, tz: str,
                        days: int = 30) -> dict[str, Forecast]:
    """Per capacity group: when its demand, growing as it did over the last `days` days
    (a line through the daily means), would leave it without a spare unit."""
    out = {}
    since = now - days * DAY
    for group, caps in capacities(topology).items():
        limit = n_plus_one_limit(caps)
        if limit is None:
            continue
        points = daily_means(power_readings_of(store, "demand", group, since, now), tz)
        out[group] = reaches(points, limit, now)
    return out


def site_downtime(store: Store, start: float, end: float) -> float:
    """Seconds in [start, end) when some load was not served (the union of load outages)."""
    intervals = [(o.start, o.end) for o in store.outages(since=start, until=end, kind="load")]
    return availability.total(availability.merge(intervals, start, end))


def budget_forecast(store: Store, now: float, tz: str, target: float, days: int = 30
                    ) -> tuple[Forecast, dict[str, float]]:
    """When this year's downtime budget ((1 - target) x the year) is spent at the burn of
    the last `days` days; with the figures behind it."""
    zone = ZoneInfo(tz)
    local = datetime.fromtimestamp(now, zone)
    year_start = datetime(local.year, 1, 1, tzinfo=zone).timestamp()
    year_end = datetime(local.year + 1, 1, 1, tzinfo=zone).timestamp()
    budget = (1.0 - target) * (year_end - year_start)
    used = site_downtime(store, year_start, now)
    window = days * DAY
    recent = site_downtime(store, now - window, now)
    figures = {"budget_s": budget, "used_s": used, "recent_s": recent, "window_s": window}
    return budget_spent(used, budget, recent, window, now, year_end), figures


def month_section(store: Store, start: float, end: float, *, timezone: str,
                  topology: TopologyConfig, target: float, interval: float = 30.0,
                  category: int | None = None, days: int = 30) -> dict[str, Any]:
    """What the monthly report shows of the power chain for [start, end): the month's PUE
    and its daily trend, fuel autonomy (lowest and latest), the racks seen as hidden SPOFs
    and for how long, and the forecast as of the month's end."""
    max_gap = 3 * interval
    fuel = power_readings_of(store, "fuel_h", "site", start, end)
    spof_racks: dict[str, float] = {}
    for rack in power_subjects(store, "hidden_spof", start, end):
        readings = power_readings_of(store, "hidden_spof", rack, start, end)
        flagged = [(ts, 1.0 if v else 0.0) for ts, v in readings]
        seconds = _held(flagged, end, max_gap)
        if seconds > 0:
            spof_racks[rack] = seconds
    n1 = n_plus_one_forecast(store, topology, end, timezone, days)
    budget, budget_figures = budget_forecast(store, end, timezone, target, days)
    return {
        "pue": {"month": pue_between(store, start, end, max_gap), "category": category,
                "daily": [{"day": d, "pue": v} for d, v in
                          daily_pue(store, start, end, timezone, max_gap)]},
        "fuel_hours": {"lowest": min((v for _, v in fuel), default=None),
                       "latest": fuel[-1][1] if fuel else None},
        "hidden_spofs": dict(sorted(spof_racks.items())),
        "forecast": {"n_plus_one": {g: f.to_json() for g, f in sorted(n1.items())},
                     "budget": {**budget.to_json(), **budget_figures}},
    }


def _held(readings: Sequence[tuple[float, float]], end: float, max_gap: float) -> float:
    """Seconds a 0/1 reading held 1 (each reading holds until the next, at most max_gap)."""
    total = 0.0
    for i, (ts, value) in enumerate(readings):
        until = readings[i + 1][0] if i + 1 < len(readings) else end
        total += value * max(0.0, min(until, ts + max_gap, end) - ts)
    return total


def fuel_series(store: Store, start: float, end: float) -> Mapping[str, list[tuple[float, float]]]:
    return {s: power_readings_of(store, "fuel_l", s, start, end)
            for s in power_subjects(store, "fuel_l", start, end)}
