"""The live Tier engine on /metrics: tiers, capacity, paths, SPOFs, availability.

A client_python custom collector reading the last `LiveSnapshot` at scrape time (a removed
load or node leaves no stale series). Availability comes from the live tier's
`AvailabilityCache`, recomputed at most every `tier.availability_cache` seconds.

    tierwatch_tier{subsystem, kind="design|live"}          0-4; subsystem="site" is the lowest
    tierwatch_readiness_score                               0-100 (live state)
    tierwatch_capacity_required_units{subsystem, group}    N, live
    tierwatch_capacity_spare_units{subsystem, group}       R, live (-1 when short)
    tierwatch_load_paths{subsystem, load, mode="all|active"}  independent paths, live
    tierwatch_load_served{subsystem, load}                  1 served, 0 not (an outage)
    tierwatch_spof{subsystem, node, kind="design|live"}     1 for each single point of failure
    tierwatch_maintainability_failures{subsystem}           elements that cannot be taken out
    tierwatch_tier_unverified_link{subsystem, from, to}     1 for a link scored out (LLDP)
    tierwatch_availability_ratio{scope, window}             scope: site, power, ..., load:ID
    tierwatch_downtime_budget_remaining_seconds{scope, window}

and the engine's own figures: re-scores, how long the last took, when its state is from,
nodes still pending, errors by stage.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from livetier.engine import LiveTier

log = logging.getLogger(__name__)


class TierCollector(Collector):
    def __init__(self, live: LiveTier) -> None:
        self.live = live

    def collect(self) -> Iterator[Metric]:
        yield from self._snapshot_metrics()
        yield from self._availability_metrics()
        yield from self._self_metrics()

    def _snapshot_metrics(self) -> Iterator[Metric]:
        snap = self.live.snapshot
        if snap is None:
            return
        tier = GaugeMetricFamily(
            "tierwatch_tier",
            "Achieved tier (0-4; 0 when a load is not served): design = every node available, "
            'live = the statuses now; subsystem="site" is the lowest subsystem',
            labels=["subsystem", "kind"],
        )
        required = GaugeMetricFamily(
            "tierwatch_capacity_required_units",
            "Units a capacity group needs to carry its demand (N), live state",
            labels=["subsystem", "group"],
        )
        spare = GaugeMetricFamily(
            "tierwatch_capacity_spare_units",
            "Spare units of a capacity group beyond N, live state (-1 when short)",
            labels=["subsystem", "group"],
        )
        paths = GaugeMetricFamily(
            "tierwatch_load_paths",
            "Independent paths from the sources to a load, live state (mode=all counts manual "
            "ties and bypasses, mode=active does not)",
            labels=["subsystem", "load", "mode"],
        )
        served = GaugeMetricFamily(
            "tierwatch_load_served",
            "1 when the load has an available path with enough capacity, 0 during an outage",
            labels=["subsystem", "load"],
        )
        spof = GaugeMetricFamily(
            "tierwatch_spof",
            "1 for each single point of failure, in the design and in the live state",
            labels=["subsystem", "node", "kind"],
        )
        maintainability = GaugeMetricFamily(
            "tierwatch_maintainability_failures",
            "Elements that cannot be taken out of service without dropping a load, live state "
            "(Tier III needs 0)",
            labels=["subsystem"],
        )
        unverified = GaugeMetricFamily(
            "tierwatch_tier_unverified_link",
            "1 for each declared link the live tier scores out because LLDP does not see it "
            "where declared (missing or moved)",
            labels=["subsystem", "from", "to"],
        )
        for sub in snap.tier.subsystems:
            for feeder, node in sub.unavailable_edges:
                unverified.add_metric([sub.name, feeder, node], 1.0)
            tier.add_metric([sub.name, "design"], sub.design.tier)
            tier.add_metric([sub.name, "live"], sub.live.tier)
            for group in sub.live.groups:
                required.add_metric([sub.name, group.id], group.required)
                spare.add_metric([sub.name, group.id], group.spare)
            for load in sub.live.loads:
                paths.add_metric([sub.name, load.id, "all"], load.paths_all)
                paths.add_metric([sub.name, load.id, "active"], load.paths_active)
                served.add_metric([sub.name, load.id], 1.0 if load.served else 0.0)
            for node in sub.design.spofs:
                spof.add_metric([sub.name, node, "design"], 1.0)
            for node in sub.live.spofs:
                spof.add_metric([sub.name, node, "live"], 1.0)
            maintainability.add_metric([sub.name], len(sub.live.maintainability))
        tier.add_metric(["site", "design"], snap.tier.design_tier)
        tier.add_metric(["site", "live"], snap.tier.live_tier)
        readiness = GaugeMetricFamily(
            "tierwatch_readiness_score",
            "Tier III readiness score 0-100 of the live state (never overrides the tier gates)",
        )
        readiness.add_metric([], snap.tier.score)
        yield from (tier, readiness, required, spare, paths, served, spof, maintainability,
                    unverified)

    def _availability_metrics(self) -> Iterator[Metric]:
        cache = self.live.availability
        if cache is None:
            return
        try:
            figures = cache.figures()
        except Exception:  # a store hiccup must not take /metrics down; counted, logged
            cache.errors += 1
            log.exception("computing availability for /metrics failed")
            return
        ratio = GaugeMetricFamily(
            "tierwatch_availability_ratio",
            "Availability over the window's monitored time (1 - downtime / monitored); "
            "window=month is the calendar month so far",
            labels=["scope", "window"],
        )
        remaining = GaugeMetricFamily(
            "tierwatch_downtime_budget_remaining_seconds",
            "Downtime budget left in the window: (1 - target) x window length - downtime "
            "(negative when overspent)",
            labels=["scope", "window"],
        )
        for figure in figures:
            report = figure.report
            if report.availability is not None:
                ratio.add_metric([figure.scope, figure.window], report.availability)
            remaining.add_metric([figure.scope, figure.window], report.budget_remaining)
        yield from (ratio, remaining)

    def _self_metrics(self) -> Iterator[Metric]:
        live = self.live
        rescores = CounterMetricFamily("tierwatch_tier_rescores", "Re-scores of the live topology")
        rescores.add_metric([], live.rescores)
        changes = CounterMetricFamily(
            "tierwatch_tier_status_changes",
            "Status changes of bound devices seen by the live tier (bursts are debounced)",
        )
        changes.add_metric([], live.changes_seen)
        errors = CounterMetricFamily(
            "tierwatch_tier_errors",
            "Live tier failures by stage (score, record, subscriber, availability)",
            labels=["stage"],
        )
        for stage, count in sorted(live.errors.items()):
            errors.add_metric([stage], count)
        errors.add_metric(
            ["availability"], live.availability.errors if live.availability is not None else 0
        )
        yield from (rescores, changes, errors)
        snap = live.snapshot
        if snap is None:
            return
        duration = GaugeMetricFamily(
            "tierwatch_tier_score_duration_seconds", "How long the last re-score took"
        )
        duration.add_metric([], snap.duration)
        as_of = GaugeMetricFamily(
            "tierwatch_tier_snapshot_timestamp_seconds",
            "Time of the state the live snapshot scores",
        )
        as_of.add_metric([], snap.ts)
        pending = GaugeMetricFamily(
            "tierwatch_tier_pending_nodes",
            "Bound nodes whose device has not answered yet (counted as available)",
        )
        pending.add_metric([], len(snap.pending))
        yield from (duration, as_of, pending)
