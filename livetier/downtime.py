"""Availability per load, subsystem and site over any period, from the store.

`availability_report(store, scope, period, now, target)` is what the API and the monthly
report call; `AvailabilityCache` gives /metrics the same figures for fixed windows without
querying the whole history on every scrape. The arithmetic is tier/availability.py's.

Scopes:

    "site"                         every load of every subsystem
    "power", "cooling", "network"  the loads of one subsystem (also "subsystem:power")
    "load:R01" (or "R01")          one load

Downtime is the union of the scope's load outage intervals (outages of kind `load`, which
the live Tier engine derives from the topology: no available path or capacity short, not
only the load's own device). For a subsystem or the site that union means: down while any
of its loads is down.

How outages and unmonitored time combine. Unmonitored time is every interval nobody was
watching: tierwatch not running (from the last heartbeat to the next start,
`Store.start_instance`); tierwatch starting, until every bound device has answered
(livetier/recorder.py); the time before the store's first observation; and, when no
instance has beaten for `max_silence` (a report run while the monitor is down), the time
since the last heartbeat. Unmonitored time is taken out of the downtime and out of the
monitored time alike: an outage open across a gap counts before and after the gap, not
during it - what was not watched is not known to be down, nor up. Availability is
1 - D / M over the monitored time M; `availability_worst` counts the unmonitored time as
down too. The budget is (1 - target) x the whole period, and its burn D / B.

Planned outages (a maintenance window covered them) are downtime as well: under Tier III
planned work must not drop a load. Their share is reported as `planned_downtime_s`.
Exposure (spof, bypass, on_battery per load; no_spare per capacity group) is summed per
kind beside the downtime, never counted in it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from livetier.config import MONTH, TierLiveConfig
from livetier.recorder import LOAD_EXPOSURES, TIER_EXPOSURE_KINDS
from tier.availability import (
    TIER_III_TARGET,
    AvailabilityReport,
    availability,
    observed_until,
    planned_downtime,
)
from tier.topology import SUBSYSTEMS
from tierwatch.core.history import MAX_SILENCE, blind_spans
from tierwatch.core.store import Outage, Store


@dataclass(frozen=True, slots=True)
class Scope:
    kind: str  # site | subsystem | load
    name: str

    @classmethod
    def parse(cls, text: str) -> Scope:
        value = text.strip()
        if not value:
            raise ValueError("scope is empty (site, a subsystem, or load:ID)")
        if value == "site":
            return cls("site", "site")
        if value.startswith("subsystem:"):
            name = value.removeprefix("subsystem:")
            if name not in SUBSYSTEMS:
                raise ValueError(f"unknown subsystem {name!r} ({', '.join(SUBSYSTEMS)})")
            return cls("subsystem", name)
        if value in SUBSYSTEMS:
            return cls("subsystem", value)
        name = value.removeprefix("load:")
        if not name:
            raise ValueError("load: needs a load id (load:R01)")
        return cls("load", name)

    @property
    def label(self) -> str:
        """The `scope` label value of the metrics: site, power, load:R01."""
        return f"load:{self.name}" if self.kind == "load" else self.name


@dataclass(frozen=True)
class ScopeAvailability:
    scope: Scope
    report: AvailabilityReport
    events: tuple[Outage, ...]  # the load outages behind the downtime, as stored
    planned_downtime: float

    def to_json(self) -> dict[str, Any]:
        return {
            "scope": self.scope.label,
            **self.report.to_json(),
            "planned_downtime_s": self.planned_downtime,
            "events": [
                {
                    "load": o.subject,
                    "subsystem": o.subsystem,
                    "start": o.start,
                    "end": o.end,
                    "cause": o.cause,
                    "planned": o.planned,
                    "maintenance_id": o.maintenance_id,
                }
                for o in self.events
            ],
        }


@dataclass
class _Records:
    """What the store holds for a time range, read once for any number of scopes."""

    outages: list[Outage]
    blind: list[tuple[float, float | None]]
    exposures: list[Any]

    def select(self, scope: Scope) -> tuple[list[Outage], list[Any]]:
        if scope.kind == "site":
            return self.outages, self.exposures
        if scope.kind == "subsystem":
            return (
                [o for o in self.outages if o.subsystem == scope.name],
                [r for r in self.exposures if r.subsystem == scope.name],
            )
        return (
            [o for o in self.outages if o.subject == scope.name],
            [r for r in self.exposures if r.subject == scope.name and r.kind in LOAD_EXPOSURES],
        )


def _records(
    store: Store, start: float, stop: float, max_silence: float, exposure: bool = True
) -> _Records:
    outages = store.outages(since=start, until=stop, kind="load")
    blind = blind_spans(store, start, stop, max_silence)
    rows = (
        store.exposures(since=start, until=stop, kinds=TIER_EXPOSURE_KINDS, with_subsystem=True)
        if exposure
        else []
    )
    return _Records(outages, blind, rows)


def _exposure(rows: Iterable[Any]) -> dict[str, list[tuple[float, float | None]]]:
    kinds: dict[str, list[tuple[float, float | None]]] = {}
    for row in rows:
        kinds.setdefault(row.kind, []).append((row.start_ts, row.end_ts))
    return kinds


def _scope(scope: Scope | str) -> Scope:
    return scope if isinstance(scope, Scope) else Scope.parse(scope)


def availability_report(
    store: Store,
    scope: Scope | str,
    period: tuple[float, float],
    now: float | None = None,
    target: float = TIER_III_TARGET,
    *,
    max_silence: float = MAX_SILENCE,
) -> ScopeAvailability:
    """Downtime, availability, budget, burn and exposure of one scope over `period` (epoch
    seconds, end exclusive), as far as `now` (default: the clock) when the period is still
    running. Raises ValueError for a bad scope, period or target."""
    wanted = _scope(scope)
    start, end = period
    now = time.time() if now is None else now
    if not end > start:
        raise ValueError(f"period {period!r}: needs start < end")
    stop = observed_until(period, now)
    rec = _records(store, start, max(stop, start + 1e-9), max_silence)
    outages, exposure_rows = rec.select(wanted)
    spans = [(o.start, o.end) for o in outages]
    report = availability(
        spans,
        period,
        now=now,
        unmonitored=rec.blind,
        exposure=_exposure(exposure_rows),
        target=target,
    )
    planned = planned_downtime(outages, period, now=now, unmonitored=rec.blind)
    return ScopeAvailability(wanted, report, tuple(outages), planned)


# --------------------------------------------------------------------------- windows


def month_bounds(now: float, timezone: str) -> tuple[float, float]:
    """The calendar month around `now` in the site's time zone, as epoch seconds."""
    here = datetime.fromtimestamp(now, ZoneInfo(timezone))
    first = here.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    following = first.replace(year=first.year + (first.month == 12), month=first.month % 12 + 1)
    return first.timestamp(), following.timestamp()


def window_period(
    window: str, length: float | None, now: float, timezone: str
) -> tuple[float, float]:
    if length is None:  # the calendar month so far (its budget is the whole month's)
        return month_bounds(now, timezone)
    return now - length, now


@dataclass(frozen=True, slots=True)
class WindowFigure:
    scope: str
    window: str
    report: AvailabilityReport


class AvailabilityCache:
    """Availability of fixed scopes over fixed windows, recomputed at most every
    `availability_cache` seconds (or at once after `invalidate()`, which the live tier
    calls when a load outage opens or closes). One read of the store per recomputation,
    whatever the number of scopes and windows. Safe to call from scrape threads."""

    def __init__(
        self,
        store: Store,
        settings: TierLiveConfig,
        timezone: str,
        scopes: Sequence[str],
        *,
        clock: Callable[[], float] = time.time,
        max_silence: float = MAX_SILENCE,
    ) -> None:
        self.store = store
        self.target = settings.target
        self.windows = settings.window_seconds()
        self.ttl = settings.availability_cache
        self.timezone = timezone
        self.scopes = [Scope.parse(s) for s in scopes]
        self.clock = clock
        self.max_silence = max_silence
        self._lock = threading.Lock()
        self._figures: list[WindowFigure] = []
        self._at: float | None = None
        self.computations = 0
        self.errors = 0

    def invalidate(self) -> None:
        self._at = None

    def figures(self) -> list[WindowFigure]:
        with self._lock:
            now = self.clock()
            if self._at is None or now - self._at >= self.ttl:
                self._figures = self._compute(now)
                self._at = now
                self.computations += 1
            return self._figures

    def site_burn(self) -> float | None:
        """The site's budget burn over 30 days (else the month) from the last figures; no
        store read here."""
        found = {f.window: f.report for f in self._figures if f.scope == "site"}
        report = found.get("30d") or found.get(MONTH)
        return None if report is None else report.burn

    def _compute(self, now: float) -> list[WindowFigure]:
        periods = {
            w: window_period(w, length, now, self.timezone) for w, length in self.windows.items()
        }
        if not periods:
            return []
        earliest = min(start for start, _ in periods.values())
        rec = _records(self.store, earliest, now, self.max_silence, exposure=False)
        by_subject: dict[str, list[Outage]] = {}
        by_subsystem: dict[str, list[Outage]] = {}
        for outage in rec.outages:
            by_subject.setdefault(outage.subject, []).append(outage)
            by_subsystem.setdefault(outage.subsystem or "", []).append(outage)
        figures = []
        for scope in self.scopes:
            if scope.kind == "site":
                chosen = rec.outages
            elif scope.kind == "subsystem":
                chosen = by_subsystem.get(scope.name, [])
            else:
                chosen = by_subject.get(scope.name, [])
            spans = [(o.start, o.end) for o in chosen]
            for window, period in periods.items():
                report = availability(
                    spans, period, now=now, unmonitored=rec.blind, target=self.target
                )
                figures.append(WindowFigure(scope.label, window, report))
        return figures


