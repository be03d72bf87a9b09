"""Availability against a downtime budget (TIER-MODEL formula 7), from intervals.

Times are seconds (epoch or any common origin); nothing here reads a clock: the caller
passes `now`. An interval is `(start, end)`, `end=None` while it is still open.

* Downtime D: the length of the union of the outage intervals within the period, left out
  where the time was unmonitored (what was not watched is not known to be down, nor up).
* Observed time T: from the period's start to its end, or to `now` when the period is still
  running. Monitored time M = T - unmonitored time.
* Availability A = 1 - D / M (over the time that was watched); `availability_worst` counts
  the unmonitored time as down as well, 1 - (D + U) / T. `unmonitored_share` = U / T.
* Budget B = (1 - target) * the whole period's length (the month's 7.8 minutes at Tier III,
  whether or not the month is over); burn = D / B; remaining = B - D (negative when spent).
* Exposure (time on battery, on bypass, with a SPOF present ...) is summed per kind and in
  total, separately: it is not downtime. Planned maintenance is not excluded: under Tier
  III it must not cause downtime. `planned_downtime` gives the part of D during which a
  planned outage (one a maintenance window covered) was open: the one sum the API and the
  monthly report both show.

`burn_rate` and `multiwindow_burn` give SRE-style burn rates over trailing windows, for
fast- and slow-burn alerts (a pair of windows fires when both burn above the threshold).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol

TIER_III_TARGET = 0.99982

Interval = tuple[float, float | None]


def _check(interval: Interval) -> None:
    start, end = interval
    if not math.isfinite(start) or (end is not None and not math.isfinite(end)):
        raise ValueError(f"interval {interval!r}: times must be finite numbers")
    if end is not None and end < start:
        raise ValueError(f"interval {interval!r}: ends before it starts")


def merge(intervals: Iterable[Interval], start: float, end: float) -> list[tuple[float, float]]:
    """The union of `intervals` clipped to [start, end], as sorted disjoint pairs.

    An open interval (end None) runs to `end`.
    """
    clipped = []
    for interval in intervals:
        _check(interval)
        lo = max(interval[0], start)
        hi = min(end if interval[1] is None else interval[1], end)
        if hi > lo:
            clipped.append((lo, hi))
    clipped.sort()
    merged: list[tuple[float, float]] = []
    for lo, hi in clipped:
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def total(intervals: Sequence[tuple[float, float]]) -> float:
    return sum(hi - lo for lo, hi in intervals)


def subtract(
    base: Sequence[tuple[float, float]], holes: Sequence[tuple[float, float]]
) -> list[tuple[float, float]]:
    """`base` less `holes`; both sorted and disjoint (as `merge` returns them)."""
    out: list[tuple[float, float]] = []
    j = 0
    for lo, hi in base:
        cursor = lo
        while j < len(holes) and holes[j][1] <= cursor:
            j += 1
        k = j
        while k < len(holes) and holes[k][0] < hi:
            if holes[k][0] > cursor:
                out.append((cursor, holes[k][0]))
            cursor = max(cursor, holes[k][1])
            k += 1
        if cursor < hi:
            out.append((cursor, hi))
    return out


@dataclass(frozen=True, slots=True)
class AvailabilityReport:
    period_start: float
    period_end: float
    observed: float  # T: seconds from the period's start to its end or to now
    unmonitored: float  # U
    monitored: float  # M = T - U
    downtime: float  # D, monitored time only
    availability: float | None  # 1 - D / M; None when nothing was monitored
    availability_worst: float | None  # 1 - (D + U) / T; None when T is 0
    unmonitored_share: float  # U / T (0 when T is 0)
    target: float
    budget: float  # B over the whole period
    burn: float  # D / B
    budget_remaining: float  # B - D
    exposure: Mapping[str, float] = field(default_factory=dict)  # per kind
    exposure_total: float = 0.0  # the union over kinds
    outages: tuple[tuple[float, float], ...] = ()  # the merged, monitored outage intervals

    @property
    def met(self) -> bool | None:
        """Whether the target is met over the monitored time (None: nothing monitored)."""
        return None if self.availability is None else self.availability >= self.target

    def to_json(self) -> dict[str, Any]:
        return {
            "period": [self.period_start, self.period_end],
            "observed_s": self.observed,
            "monitored_s": self.monitored,
            "unmonitored_s": self.unmonitored,
            "unmonitored_share": self.unmonitored_share,
            "downtime_s": self.downtime,
            "availability": self.availability,
            "availability_worst": self.availability_worst,
            "target": self.target,
            "budget_s": self.budget,
            "burn": self.burn,
            "budget_remaining_s": self.budget_remaining,
            "met": self.met,
            "exposure_s": dict(self.exposure),
            "exposure_total_s": self.exposure_total,
            "outages": [list(pair) for pair in self.outages],
        }


def observed_until(period: tuple[float, float], now: float | None) -> float:
    """Where the observed time of `period` stops: its end, or `now` while it is running
    (never before its start)."""
    start, end = period
    return end if now is None else max(start, min(end, now))


class PlannedOutage(Protocol):
    """What `planned_downtime` reads of an outage (the store's `Outage`, the report's
    `OutageRecord`)."""

    @property
    def start(self) -> float: ...
    @property
    def end(self) -> float | None: ...
    @property
    def planned(self) -> bool: ...


def planned_downtime(
    outages: Iterable[PlannedOutage],
    period: tuple[float, float],
    *,
    now: float | None = None,
    unmonitored: Iterable[Interval] = (),
) -> float:
    """Seconds of downtime within `period` (as far as `now`) during which a planned outage
    was open: the union of the planned outages, less the unmonitored time, exactly as
    `availability` counts downtime, so it is never more than D. An open planned outage
    runs to `now`; unplanned outages do not count, even where they overlap."""
    start = period[0]
    stop = observed_until(period, now)
    blind = merge(unmonitored, start, stop)
    spans = [(o.start, o.end) for o in outages if o.planned]
    return total(subtract(merge(spans, start, stop), blind))


def availability(
    outages: Iterable[Interval],
    period: tuple[float, float],
    *,
    now: float | None = None,
    unmonitored: Iterable[Interval] = (),
    exposure: Mapping[str, Iterable[Interval]] | None = None,
    target: float = TIER_III_TARGET,
) -> AvailabilityReport:
    """Availability of one scope (a load, a subsystem, the site) over a period."""
    start, end = period
    if not (math.isfinite(start) and math.isfinite(end)) or end <= start:
        raise ValueError(f"period {period!r}: needs start < end")
    if not 0.0 < target < 1.0:
        raise ValueError(f"target {target!r}: must be between 0 and 1 (e.g. 0.99982)")
    if now is not None and not math.isfinite(now):
        raise ValueError("now must be a finite number")
    stop = observed_until(period, now)
    observed = stop - start
    blind = merge(unmonitored, start, stop)
    down = subtract(merge(outages, start, stop), blind)
    unmon = total(blind)
    monitored = observed - unmon
    downtime = total(down)
    budget = (1.0 - target) * (end - start)
    kinds = {kind: merge(spans, start, stop) for kind, spans in (exposure or {}).items()}
    all_exposure = merge((pair for spans in kinds.values() for pair in spans), start, stop)
    return AvailabilityReport(
        period_start=start,
        period_end=end,
        observed=observed,
        unmonitored=unmon,
        monitored=monitored,
        downtime=downtime,
        availability=1.0 - downtime / monitored if monitored > 0 else None,
        availability_worst=1.0 - (downtime + unmon) / observed if observed > 0 else None,
        unmonitored_share=unmon / observed if observed > 0 else 0.0,
        target=target,
        budget=budget,
        burn=downtime / budget,
        budget_remaining=budget - downtime,
        exposure=MappingProxyType({kind: total(spans) for kind, spans in kinds.items()}),
        exposure_total=total(all_exposure),
        outages=tuple(down),
    )


def availability_by_scope(
    outages: Mapping[str, Iterable[Interval]],
    period: tuple[float, float],
    *,
    now: float | None = None,
    unmonitored: Mapping[str, Iterable[Interval]] | None = None,
    exposure: Mapping[str, Mapping[str, Iterable[Interval]]] | None = None,
    target: float = TIER_III_TARGET,
) -> dict[str, AvailabilityReport]:
    """`availability` for each scope named in `outages` (a scope with no outage: pass [])."""
    return {
        scope: availability(
            spans,
            period,
            now=now,
            unmonitored=(unmonitored or {}).get(scope, ()),
            exposure=(exposure or {}).get(scope),
            target=target,
        )
        for scope, spans in outages.items()
    }


def burn_rate(
    outages: Iterable[Interval],
    now: float,
    window: float,
    *,
    unmonitored: Iterable[Interval] = (),
    target: float = TIER_III_TARGET,
) -> float | None:
    """How fast the budget burns over the trailing `window` seconds: the share of monitored
    time that was down, over the share the target allows (1.0 spends the budget exactly over
    the budget's period). None when nothing in the window was monitored."""
    if window <= 0:
        raise ValueError("window must be more than 0 seconds")
    start = now - window
    blind = merge(unmonitored, start, now)
    monitored = window - total(blind)
    if monitored <= 0:
        return None
    down = total(subtract(merge(outages, start, now), blind))
    return (down / monitored) / (1.0 - target)


@dataclass(frozen=True, slots=True)
class BurnWindow:
    """A pair of trailing windows and the burn rate both must exceed to fire."""

    long: float
    short: float
    threshold: float
    severity: str


# The multiwindow, multi-burn-rate alerts of Google's SRE workbook, for a 30-day budget:
# 2 % of the budget in 1 h, 5 % in 6 h (page), 10 % in 3 days (ticket).
DEFAULT_WINDOWS: tuple[BurnWindow, ...] = (
    BurnWindow(long=3600.0, short=300.0, threshold=14.4, severity="page"),
    BurnWindow(long=21600.0, short=1800.0, threshold=6.0, severity="page"),
    BurnWindow(long=259200.0, short=21600.0, threshold=1.0, severity="ticket"),
)


@dataclass(frozen=True, slots=True)
class BurnAlert:
    window: BurnWindow
    long_rate: float | None
    short_rate: float | None

    @property
    def firing(self) -> bool:
        t = self.window.threshold
        return (
            self.long_rate is not None
            and self.short_rate is not None
            and self.long_rate > t
            and self.short_rate > t
        )


def multiwindow_burn(
    outages: Sequence[Interval],
    now: float,
    windows: Sequence[BurnWindow] = DEFAULT_WINDOWS,
    *,
    unmonitored: Sequence[Interval] = (),
    target: float = TIER_III_TARGET,
) -> list[BurnAlert]:
    """Burn rates for each window pair; `.firing` when both exceed the pair's threshold."""
    return [
        BurnAlert(
            window=w,
            long_rate=burn_rate(outages, now, w.long, unmonitored=unmonitored, target=target),
            short_rate=burn_rate(outages, now, w.short, unmonitored=unmonitored, target=target),
        )
        for w in windows
    ]


# --------------------------------------------------------------------------- verdict

# The share of the observed period that must have been watched before availability is
# called met or missed: 100 % over 12 s of a 5-day month says nothing about the month.
MIN_COVERAGE = 0.95

MET, MISSED, NOT_ENOUGH_DATA = "met", "missed", "not_enough_data"


def coverage(report: AvailabilityReport) -> float:
    """Monitored share of the observed period, M / T (0 when nothing was observed)."""
    return report.monitored / report.observed if report.observed > 0 else 0.0


def verdict(report: AvailabilityReport, min_coverage: float = MIN_COVERAGE) -> str:
    """"met" or "missed" against the target, or "not_enough_data" while less than
    `min_coverage` of the observed period was monitored (the headline, the API and the
    status page say the same)."""
    if report.availability is None or coverage(report) < min_coverage:
        return NOT_ENOUGH_DATA
    return MET if report.met else MISSED
