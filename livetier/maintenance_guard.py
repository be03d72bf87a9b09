"""Maintenance against redundancy, when a window starts.

A window was checked when it was booked (the API and the CLI run the live what-if on its
scope), but the site can change between booking and the night of the work: UPS-B went on
bypass this afternoon. So when a window starts, its scope is checked again on the live
state of that moment; a load it would drop becomes a series,

    tierwatch_maintenance_load_at_risk{window="3", title="Thay ắc quy UPS-A", load="R01"} 1

that the `MaintenanceWouldDropLoad` rule pages on-call staff with, before anyone switches
anything. The series stays while the occurrence lasts (the check is of the moment it
started; later changes are the live tier's own alerts).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

from prometheus_client.core import GaugeMetricFamily, Metric

from livetier.engine import LiveTier
from tierwatch.core import maintenance
from tierwatch.core.maintenance import RedundancyCheck, Window
from tierwatch.core.runtime import Runtime

log = logging.getLogger(__name__)

CHECK_EVERY = 5.0  # seconds between looks for windows that started


@dataclass(frozen=True)
class StartCheck:
    window: Window
    occurrence: tuple[float, float]
    check: RedundancyCheck


class MaintenanceGuard:
    """A component of the live tier's room, started after it."""

    def __init__(self, live: LiveTier, every: float = CHECK_EVERY) -> None:
        self.live = live
        self.every = every
        self.checks: dict[tuple[int, float], StartCheck] = {}
        self.errors = 0
        self._rt: Runtime | None = None

    async def start(self, rt: Runtime) -> None:
        self._rt = rt
        rt.metrics.register(_GuardCollector(self))
        rt.scheduler.every("maintenance-guard", self.every, self.run)

    async def stop(self) -> None:
        if self._rt is not None:
            self._rt.scheduler.remove("maintenance-guard")

    async def run(self) -> None:
        """Check every window that has started since the last look; forget ended ones."""
        rt = self._rt
        if rt is None or self.live.snapshot is None:
            return
        now = rt.clock()
        tz = rt.site.timezone
        on: dict[tuple[int, float], tuple[Window, tuple[float, float]]] = {}
        for window in maintenance.windows(rt.store):
            occurrence = window.active_at(now, tz)
            if occurrence is not None:
                on[(window.id, occurrence[0])] = (window, occurrence)
        for key in list(self.checks):
            if key not in on:
                del self.checks[key]
        for key, (window, occurrence) in on.items():
            if key in self.checks:
                continue
            try:
                check = await self.live.maintenance_check(window.scope)
            except Exception:  # counted and logged; tried again at the next look
                self.errors += 1
                log.exception("checking maintenance window %s against redundancy failed",
                              window.id)
                continue
            self.checks[key] = StartCheck(window, occurrence, check)
            if check.ok:
                log.info("maintenance window %s (%s) started: no load at risk", window.id,
                         window.title)
            else:
                log.warning("maintenance window %s (%s) started: %s", window.id,
                            window.title, check.refusal())


class _GuardCollector:
    def __init__(self, guard: MaintenanceGuard) -> None:
        self.guard = guard

    def collect(self) -> Iterator[Metric]:
        at_risk = GaugeMetricFamily(
            "tierwatch_maintenance_load_at_risk", "A load the maintenance window that "
            "started would drop, checked on the live state when it started (1)",
            labels=["window", "title", "load"])
        tier_after = GaugeMetricFamily(
            "tierwatch_maintenance_tier_after", "The site's live tier with the scope of a "
            "window that is on taken out, checked when it started", labels=["window"])
        for start in self.guard.checks.values():
            window_id = str(start.window.id)
            tier_after.add_metric([window_id], start.check.tier_after)
            for load in start.check.dropped:
                at_risk.add_metric([window_id, start.window.title, load], 1)
        yield at_risk
        yield tier_after
