"""The monthly Tier III readiness report's figures, from records: pure, no store, no clock.

`build_report(inputs)` takes what the store held for a calendar month (report/monthly.py
reads it: `gather`) and returns a `MonthlyReport`, which renders to JSON as it is and to
HTML and PDF through report/html.py and pdf.py. Same inputs, same report.

How each figure is made:

* **Period and coverage.** The month runs from its first midnight to the next month's, in
  the site's time zone. A month still running is observed up to `now`. Unmonitored time
  (tierwatch not running, starting up, nothing recorded yet) is reported as such: it is
  neither uptime nor downtime (tier/availability.py). A month with no monitored time says
  "no data" instead of an availability.
* **Availability.** Downtime is the union of the load outages (kind `load`, written by the
  live Tier engine), over the site and per subsystem; A = 1 - D / M over the monitored time;
  the budget is (1 - target) x the whole month (7.8 min at Tier III in a 30-day month).
  Planned outages are downtime too (under Tier III planned work must not drop a load).
  Per local day as well, for the chart.
* **Redundancy over the month.** The statuses of the topology's bound nodes are rebuilt from
  the recorded device and component transitions (the same mapping the live engine reads,
  `tier.topology.node_status`), cut into spans of constant state, and each distinct state is
  scored (`tier.score.score`, declared demands). Over the monitored spans that gives, per
  subsystem, the time at each live tier and at N+1 or better; per capacity group, the time
  without a spare unit; and for each SPOF and each maintainability failure, how long it was
  present. The topology is the one configured when the report is made.
* **Readiness.** The readiness score (formula 8) of each span, with the month's environment
  share and budget burn, averaged over the monitored time; beside it the score as designed.
* **Exposure.** Time on battery and on bypass per device (the device-level intervals the
  history writes), monitored time only.
* **Environment.** For the inlet sensors (components of the environment devices), the share
  of the time their status was known in which none reported a temperature outside the
  ASHRAE recommended 18-27 °C (conditions `temp_out_of_recommended`, `temp_out_of_allowable`).
* **Maintenance.** The occurrences of maintenance windows within the month, with the load
  outages that happened during each (there should be none at Tier III).
* **E-government services** (report/service_figures.py): availability per service against
  its own target, outages with their cause, time at risk, what each agency could reach, and
  the certificates ending by the end of next month.
* **LLDP drift.** For each declared link with a port (the topology's `fed_from: [{id, port}]`),
  the monitored time its port showed the expected neighbour (ok), showed it on another port
  (moved, and where), did not show it (missing), and the rest (not known: the device did not
  answer LLDP, or nothing was recorded); the times it drifted; the neighbours nothing
  declares seen on its port, and elsewhere on the checked devices, with how long. From the
  verdict history the network room writes (tierwatch/core/store/nethealth.py).
* **Recommendations** are derived from the gaps: single-corded loads, groups without a
  spare, elements that cannot be maintained, downtime over budget, planned outages, time
  on bypass, unmonitored time, inlets out of band, links LLDP did not see where declared,
  unexpected neighbours, services below their target, certificates about to end.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from report.service_figures import (
    CertificateRecord,
    ServicesSection,
    build_services,
    services_json,
)
from report.service_figures import recommendations as service_recommendations
from tier.availability import (
    MIN_COVERAGE,
    NOT_ENOUGH_DATA,
    TIER_III_TARGET,
    AvailabilityReport,
    availability,
    merge,
    planned_downtime,
    subtract,
    verdict,
)
from tier.availability import total as length_of
from tier.graph import CompiledTopology, compile_topology
from tier.score import TierSnapshot, score
from tier.status import NodeStatus
from tier.topology import TopologyConfig, node_bindings, node_status, port_bindings
from tierwatch.core.model import Status

# a calendar month in years a monitor can have seen (and datetime can follow past)
MONTH_PATTERN = re.compile(r"^(19[7-9]\d|2\d{3})-(0[1-9]|1[0-2])$")
OUT_OF_BAND = frozenset({"temp_out_of_recommended", "temp_out_of_allowable"})
EXPOSURE_KINDS = ("on_battery", "bypass")
# A month is cut into at most this many distinct states to score; beyond, the report says
# the redundancy figures were cut short rather than take minutes.
MAX_STATES = 2000
UNMONITORED_WORTH_A_WORD = 0.01  # share of the month
ENVIRONMENT_WORTH_A_WORD = 0.99  # share of the time in band

Span = tuple[float, float]


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True, slots=True)
class Transition:
    """A device's or component's status change as stored (kinds `device`, `component`)."""

    ts: float
    kind: str
    subject: str  # device id, or "device/component"
    status: str
    conditions: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class OutageRecord:
    kind: str  # load | device
    subject: str
    subsystem: str | None
    start: float
    end: float | None
    cause: str = ""
    planned: bool = False
    affected: tuple[str, ...] = ()
    maintenance_id: int | None = None
    id: int = 0


@dataclass(frozen=True, slots=True)
class ExposureRecord:
    kind: str
    subject: str
    subsystem: str | None
    start: float
    end: float | None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Gap:
    """Time nobody was watching, and why."""

    start: float
    end: float
    reason: str


@dataclass(frozen=True, slots=True)
class MaintenanceRecord:
    """One occurrence of a maintenance window."""

    id: int
    title: str
    start: float
    end: float
    scope: Mapping[str, Any] = field(default_factory=dict)
    created_by: str = ""
    comment: str = ""
    recurrence: str = "none"


@dataclass(frozen=True, slots=True)
class LinkSpanRecord:
    """One LLDP verdict of a declared link, from when it began until it changed."""

    subsystem: str
    feeder: str
    node: str
    device: str
    port: str
    verdict: str  # ok | missing | moved | unknown
    start: float
    end: float | None
    expected: str = ""
    seen_on: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SightingRecord:
    """A neighbour nothing declares, seen on a port of a checked device."""

    device: str
    port: str
    name: str  # its system name, else its chassis id: the network's words, shown escaped
    start: float
    end: float | None
    declared_port: str | None = None  # the declared link's port it was seen on, if any
    neighbour_port: str = ""
    neighbour_device: str | None = None


@dataclass(frozen=True)
class ReportInputs:
    site: str
    timezone: str
    month: str  # YYYY-MM
    now: float  # when the report is made: a month still running is observed up to here
    topology: TopologyConfig
    transitions: Sequence[Transition] = ()
    outages: Sequence[OutageRecord] = ()
    exposures: Sequence[ExposureRecord] = ()
    unmonitored: Sequence[Gap] = ()
    maintenance: Sequence[MaintenanceRecord] = ()
    environment: frozenset[str] = frozenset()  # "device/component" of inlet sensors
    target: float = TIER_III_TARGET
    min_coverage: float = MIN_COVERAGE  # monitored share below which there is no verdict
    # the services' transitions (kind `service`) from the first service outage of the month
    service_transitions: Sequence[Transition] = ()
    certificates: Sequence[CertificateRecord] = ()  # those seen during the month
    # the power chain's month (power/history.py month_section) and the one-line diagram
    power: Mapping[str, Any] | None = None
    diagram: Mapping[str, str] = field(default_factory=dict)  # lang -> SVG
    lldp: Sequence[LinkSpanRecord] = ()
    sightings: Sequence[SightingRecord] = ()


def parse_month(month: str) -> tuple[int, int]:
    match = MONTH_PATTERN.match(month.strip()) if isinstance(month, str) else None
    if match is None:
        raise ValueError(f"{month!r} is not a month (write YYYY-MM, e.g. 2026-10)")
    return int(match.group(1)), int(match.group(2))


def month_period(month: str, timezone: str) -> tuple[float, float]:
    """The month's first instant and the next month's, in the site's time zone (epoch s)."""
    year, number = parse_month(month)
    zone = ZoneInfo(timezone)
    first = datetime(year, number, 1, tzinfo=zone)
    following = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=zone)
    return first.timestamp(), following.timestamp()


def previous_month(now: float, timezone: str) -> str:
    here = datetime.fromtimestamp(now, ZoneInfo(timezone))
    year, month = (here.year, here.month - 1) if here.month > 1 else (here.year - 1, 12)
    return f"{year:04d}-{month:02d}"


def day_starts(period: tuple[float, float], timezone: str) -> list[float]:
    """Local midnights from the period's start up to (not including) its end."""
    zone = ZoneInfo(timezone)
    start, end = period
    first = datetime.fromtimestamp(start, zone)
    out = []
    day = first.replace(hour=0, minute=0, second=0, microsecond=0)
    while day.timestamp() < end:
        out.append(day.timestamp())
        nxt = datetime.fromordinal(day.toordinal() + 1)
        day = nxt.replace(tzinfo=zone)
    return out


# --------------------------------------------------------------------------- outputs


@dataclass(frozen=True)
class Coverage:
    observed: float
    monitored: float
    unmonitored: float
    gaps: tuple[Gap, ...]  # clipped to the observed part of the month

    @property
    def has_data(self) -> bool:
        return self.monitored > 0

    @property
    def unmonitored_share(self) -> float:
        return self.unmonitored / self.observed if self.observed > 0 else 0.0

    @property
    def share(self) -> float:
        """The monitored share of the observed month (0 when nothing was observed)."""
        return self.monitored / self.observed if self.observed > 0 else 0.0


@dataclass(frozen=True)
class Availability:
    scope: str
    report: AvailabilityReport
    planned_downtime: float
    outages: int  # load outages overlapping the monitored time


@dataclass(frozen=True)
class DayFigure:
    start: float
    monitored: float
    unmonitored: float
    downtime: float
    availability: float | None


@dataclass(frozen=True)
class TimelineSpan:
    start: float
    end: float
    monitored: bool
    tier: int | None  # the live tier (None while unmonitored)
    spares: Mapping[str, int]  # group id -> live spare


@dataclass(frozen=True)
class GroupFigure:
    id: str
    kind: str
    design_label: str
    required: int
    installed: int
    design_spare: int
    without_spare: float  # monitored seconds with live spare < 1
    lowest_label: str | None  # the worst live label seen


@dataclass(frozen=True)
class ElementFigure:
    node: str
    present: float  # monitored seconds
    by_design: bool
    loads: tuple[str, ...] = ()  # for maintainability failures: the loads it would drop


@dataclass(frozen=True)
class SubsystemFigure:
    name: str
    design_tier: int
    live_tier_end: int | None
    lowest_live_tier: int | None
    time_at_tier: Mapping[int, float]
    n_plus_1: float | None  # monitored seconds with every group at spare >= 1
    groups: tuple[GroupFigure, ...]
    spofs: tuple[ElementFigure, ...]
    maintainability: tuple[ElementFigure, ...]
    availability: Availability | None
    timeline: tuple[TimelineSpan, ...]


@dataclass(frozen=True)
class ExposureFigure:
    kind: str
    device: str
    total: float
    spans: tuple[Span, ...]


@dataclass(frozen=True)
class SensorFigure:
    subject: str
    known: float
    in_band: float

    @property
    def share(self) -> float | None:
        return self.in_band / self.known if self.known > 0 else None


@dataclass(frozen=True)
class MaintenanceFigure:
    record: MaintenanceRecord
    start: float  # clipped to the month
    end: float
    outages: tuple[OutageRecord, ...]  # load outages that started during it


@dataclass(frozen=True)
class SightingFigure:
    """An unexpected neighbour on one port over the month (monitored time only)."""

    device: str
    port: str
    name: str
    neighbour_port: str
    neighbour_device: str | None
    seen: float
    first: float
    last: float


@dataclass(frozen=True)
class LinkDriftFigure:
    """A declared link's LLDP verdicts over the month, in monitored seconds."""

    subsystem: str
    feeder: str
    node: str
    device: str
    port: str
    expected: str
    ok: float
    missing: float
    moved: float
    unknown: float  # the rest: no LLDP answer, or nothing recorded
    moved_to: tuple[str, ...]
    episodes: int  # times it went missing or moved
    unexpected: tuple[SightingFigure, ...]

    @property
    def drift(self) -> float:
        return self.missing + self.moved


@dataclass(frozen=True)
class Recommendation:
    key: str  # the i18n key of its sentence (report.rec.<key>)
    severity: str  # high | medium | low
    params: Mapping[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "severity": self.severity, "params": dict(self.params)}


@dataclass(frozen=True)
class MonthlyReport:
    site: str
    timezone: str
    month: str
    period: tuple[float, float]
    generated_at: float
    complete: bool  # the month is over
    target: float
    coverage: Coverage
    design_tier: int
    live_tier_end: int | None
    lowest_live_tier: int | None
    readiness_month: float | None
    readiness_design: float
    environment_share: float | None
    site_availability: Availability | None
    days: tuple[DayFigure, ...]
    subsystems: tuple[SubsystemFigure, ...]
    outages: tuple[OutageRecord, ...]  # load outages overlapping the observed month
    device_outages: tuple[OutageRecord, ...]
    exposure: tuple[ExposureFigure, ...]
    exposure_totals: Mapping[str, float]
    sensors: tuple[SensorFigure, ...]
    maintenance: tuple[MaintenanceFigure, ...]
    recommendations: tuple[Recommendation, ...]
    states_scored: int
    states_cut: bool  # more distinct states than MAX_STATES: redundancy figures partial
    min_coverage: float = MIN_COVERAGE
    services: ServicesSection | None = None  # None when no service is configured
    power: Mapping[str, Any] | None = None  # PUE, fuel, hidden SPOFs, forecast
    # the one-line diagram (SVG) when the report was made, per language
    diagram: Mapping[str, str] = field(default_factory=dict)
    lldp: tuple[LinkDriftFigure, ...] = ()  # declared links checked by LLDP
    lldp_elsewhere: tuple[SightingFigure, ...] = ()  # unexpected, on ports nobody declares

    @property
    def has_data(self) -> bool:
        return self.coverage.has_data

    @property
    def verdict(self) -> str:
        """The headline's word on the site's availability: "met", "missed", or
        "not_enough_data" while less than `min_coverage` of the month was monitored."""
        if self.site_availability is None:
            return NOT_ENOUGH_DATA
        return verdict(self.site_availability.report, self.min_coverage)

    def to_json(self) -> dict[str, Any]:
        return report_json(self)


# --------------------------------------------------------------------------- building


def build_report(inputs: ReportInputs,
                 progress: Callable[[int, int], None] | None = None) -> MonthlyReport:
    """The month's report. Raises ValueError for a malformed month or one not begun at
    `now`. `progress(done, total)` is told about the states scored (for a progress bar)."""
    period = month_period(inputs.month, inputs.timezone)
    start, end = period
    if inputs.now <= start:
        raise ValueError(f"{inputs.month} has not begun yet")
    stop = min(end, inputs.now)
    gaps = tuple(sorted(
        (Gap(max(g.start, start), min(g.end, stop), g.reason) for g in inputs.unmonitored
         if min(g.end, stop) > max(g.start, start)), key=lambda g: (g.start, g.end)))
    blind = merge([(g.start, g.end) for g in gaps], start, stop)
    unmonitored = length_of(blind)
    coverage = Coverage(stop - start, stop - start - unmonitored, unmonitored, gaps)

    compiled = compile_topology(inputs.topology)
    design = score(compiled)

    load_outages = [o for o in inputs.outages if o.kind == "load"]
    device_outages = [o for o in inputs.outages if o.kind == "device"]
    site_av = _availability("site", load_outages, period, inputs, blind, coverage)
    days = _days(load_outages, period, stop, inputs, blind)

    exposure, exposure_totals = _exposure(inputs.exposures, start, stop, blind)
    sensors = _sensors(inputs, start, stop, blind)
    known = sum(s.known for s in sensors)
    env_share = sum(s.in_band for s in sensors) / known if known > 0 else None
    burn = site_av.report.burn if site_av is not None else None

    spans = _spans(inputs, compiled, start, stop, blind)
    distinct = list(dict.fromkeys(key for _, _, key, _ in spans))
    cut = len(distinct) > MAX_STATES
    scored: dict[frozenset[tuple[str, NodeStatus]], TierSnapshot] = {}
    for i, key in enumerate(distinct[:MAX_STATES]):
        scored[key] = score(compiled, dict(key), environment_share=env_share,
                            availability_burn=burn)
        if progress is not None:
            progress(i + 1, min(len(distinct), MAX_STATES))

    subsystems = tuple(
        _subsystem(name, design, spans, scored, load_outages, period, inputs, blind, coverage)
        for name in compiled.subsystems)
    monitored_spans = [(a, b, scored[k]) for a, b, k, m in spans if m and k in scored]
    weight = sum(b - a for a, b, _ in monitored_spans)
    readiness_month = (round(sum((b - a) * snap.score for a, b, snap in monitored_spans)
                             / weight, 2) if weight > 0 else None)
    design_scored = score(compiled, environment_share=env_share, availability_burn=burn)
    end_state = scored.get(spans[-1][2]) if spans and spans[-1][3] else None
    lowest = [s.lowest_live_tier for s in subsystems if s.lowest_live_tier is not None]
    maintenance = _maintenance(inputs.maintenance, load_outages, start, stop)
    services = build_services(inputs.topology.services, inputs.outages, inputs.exposures,
                              inputs.service_transitions, inputs.certificates, period,
                              inputs.now, inputs.timezone, blind, coverage.has_data,
                              inputs.min_coverage)
    lldp, elsewhere = _lldp(inputs, start, stop, blind, coverage)

    report = MonthlyReport(
        site=inputs.site,
        timezone=inputs.timezone,
        month=inputs.month,
        period=period,
        generated_at=inputs.now,
        complete=inputs.now >= end,
        target=inputs.target,
        coverage=coverage,
        design_tier=design.design_tier,
        live_tier_end=end_state.live_tier if end_state is not None else None,
        lowest_live_tier=min(lowest) if lowest else None,
        readiness_month=readiness_month,
        readiness_design=design_scored.score,
        environment_share=env_share,
        site_availability=site_av,
        days=days,
        subsystems=subsystems,
        outages=tuple(_overlapping(load_outages, start, stop)),
        device_outages=tuple(_overlapping(device_outages, start, stop)),
        exposure=exposure,
        exposure_totals=exposure_totals,
        sensors=sensors,
        maintenance=maintenance,
        recommendations=(),
        states_scored=len(scored),
        states_cut=cut,
        min_coverage=inputs.min_coverage,
        services=services,
        power=inputs.power,
        diagram=inputs.diagram,
        lldp=lldp,
        lldp_elsewhere=elsewhere,
    )
    return _with_recommendations(report, design, compiled)


def _overlapping(outages: Iterable[OutageRecord], start: float, stop: float
                 ) -> list[OutageRecord]:
    return sorted((o for o in outages if o.start < stop and (o.end is None or o.end > start)),
                  key=lambda o: (o.start, o.subject))


def _availability(scope: str, outages: Sequence[OutageRecord], period: tuple[float, float],
                  inputs: ReportInputs, blind: Sequence[Span], coverage: Coverage
                  ) -> Availability | None:
    if not coverage.has_data:
        return None
    start, _ = period
    stop = min(period[1], inputs.now)
    report = availability([(o.start, o.end) for o in outages], period, now=inputs.now,
                          unmonitored=blind, target=inputs.target)
    planned = planned_downtime(outages, period, now=inputs.now, unmonitored=blind)
    seen = [o for o in outages
            if subtract(merge([(o.start, o.end)], start, stop), blind)]
    return Availability(scope, report, planned, len(seen))


def _days(outages: Sequence[OutageRecord], period: tuple[float, float], stop: float,
          inputs: ReportInputs, blind: Sequence[Span]) -> tuple[DayFigure, ...]:
    starts = day_starts(period, inputs.timezone)
    bounds = [*starts[1:], period[1]]
    spans = [(o.start, o.end) for o in outages]
    out = []
    for day, day_end in zip(starts, bounds, strict=True):
        if day >= stop:
            break
        upto = min(day_end, stop)
        day_blind = merge(blind, day, upto)
        down = subtract(merge(spans, day, upto), day_blind)
        monitored = upto - day - length_of(day_blind)
        downtime = length_of(down)
        out.append(DayFigure(day, monitored, length_of(day_blind), downtime,
                             1.0 - downtime / monitored if monitored > 0 else None))
    return tuple(out)


def _exposure(records: Sequence[ExposureRecord], start: float, stop: float,
              blind: Sequence[Span]) -> tuple[tuple[ExposureFigure, ...], dict[str, float]]:
    """Device-level exposure (subsystem unset: the history's rows), monitored time only."""
    by_key: dict[tuple[str, str], list[tuple[float, float | None]]] = {}
    for row in records:
        if row.kind in EXPOSURE_KINDS and row.subsystem is None:
            by_key.setdefault((row.kind, row.subject), []).append((row.start, row.end))
    figures = []
    per_kind: dict[str, list[Span]] = {kind: [] for kind in EXPOSURE_KINDS}
    for (kind, device), spans in sorted(by_key.items()):
        seen = subtract(merge(spans, start, stop), blind)
        if seen:
            figures.append(ExposureFigure(kind, device, length_of(seen), tuple(seen)))
            per_kind[kind].extend(seen)
    totals = {kind: length_of(merge(spans, start, stop)) for kind, spans in per_kind.items()}
    return tuple(figures), totals


def _timeline(transitions: Iterable[Transition], subjects: set[str], start: float
              ) -> tuple[dict[str, Transition], list[Transition]]:
    """The last transition at or before `start` per subject, and those after it, in order."""
    initial: dict[str, Transition] = {}
    later: list[Transition] = []
    for t in sorted(transitions, key=lambda t: t.ts):  # stable: the store's order kept
        if t.subject not in subjects:
            continue
        if t.ts <= start:
            initial[t.subject] = t
        else:
            later.append(t)
    return initial, later


def _subject(device: str, component: str | None) -> str:
    return device if component is None else f"{device}/{component}"


def _node_status(t: Transition) -> NodeStatus:
    try:
        status = Status(t.status)
    except ValueError:
        status = Status.UNKNOWN
    return node_status(status, t.conditions)


StateKey = frozenset[tuple[str, NodeStatus]]


def _spans(inputs: ReportInputs, compiled: CompiledTopology, start: float, stop: float,
           blind: Sequence[Span]) -> list[tuple[float, float, StateKey, bool]]:
    """Spans of constant node statuses over [start, stop), split at the unmonitored time:
    (start, end, statuses, monitored)."""
    bindings = node_bindings(inputs.topology)
    nodes_of: dict[str, list[str]] = {}
    for node, (device, component) in bindings.items():
        if node in compiled.node_ids:
            nodes_of.setdefault(_subject(device, component), []).append(node)
    initial, later = _timeline(inputs.transitions, set(nodes_of), start)
    current: dict[str, NodeStatus] = {}
    for subject, t in initial.items():
        for node in nodes_of[subject]:
            current[node] = _node_status(t)
    raw: list[tuple[float, float, StateKey]] = []
    cursor = start
    for t in later:
        if t.ts >= stop:
            break
        if t.ts > cursor:
            raw.append((cursor, t.ts, frozenset(current.items())))
            cursor = t.ts
        for node in nodes_of[t.subject]:
            current[node] = _node_status(t)
    if stop > cursor:
        raw.append((cursor, stop, frozenset(current.items())))
    merged: list[tuple[float, float, StateKey]] = []
    for a, b, key in raw:
        if merged and merged[-1][2] == key and merged[-1][1] == a:
            merged[-1] = (merged[-1][0], b, key)
        else:
            merged.append((a, b, key))
    out: list[tuple[float, float, StateKey, bool]] = []
    for a, b, key in merged:
        holes = merge(blind, a, b)
        for lo, hi in subtract([(a, b)], holes):
            out.append((lo, hi, key, True))
        for lo, hi in holes:
            out.append((lo, hi, key, False))
    out.sort(key=lambda s: s[0])
    return out


def _subsystem(name: str, design: TierSnapshot,
               spans: Sequence[tuple[float, float, StateKey, bool]],
               scored: Mapping[StateKey, TierSnapshot], outages: Sequence[OutageRecord],
               period: tuple[float, float], inputs: ReportInputs, blind: Sequence[Span],
               coverage: Coverage) -> SubsystemFigure:
    design_sub = design.subsystem(name)
    at_tier: dict[int, float] = {}
    without_spare: dict[str, float] = {g.id: 0.0 for g in design_sub.design.groups}
    lowest_label: dict[str, tuple[int, str]] = {}
    spof_time: dict[str, float] = {}
    maint_time: dict[str, float] = {}
    maint_loads: dict[str, set[str]] = {}
    n_plus_1 = 0.0
    timeline: list[TimelineSpan] = []
    for a, b, key, monitored in spans:
        snap = scored.get(key)
        if snap is None:  # beyond MAX_STATES
            continue
        live = snap.subsystem(name).live
        spares = {g.id: g.spare for g in live.groups}
        timeline.append(TimelineSpan(a, b, monitored, live.tier if monitored else None,
                                     spares if monitored else {}))
        if not monitored:
            continue
        length = b - a
        at_tier[live.tier] = at_tier.get(live.tier, 0.0) + length
        if all(g.spare >= 1 for g in live.groups):
            n_plus_1 += length
        for g in live.groups:
            if g.spare < 1:
                without_spare[g.id] = without_spare.get(g.id, 0.0) + length
            if g.id not in lowest_label or g.spare < lowest_label[g.id][0]:
                lowest_label[g.id] = (g.spare, g.label)
        for node in live.spofs:
            spof_time[node] = spof_time.get(node, 0.0) + length
        for drop in live.maintainability:
            maint_time[drop.node] = maint_time.get(drop.node, 0.0) + length
            maint_loads.setdefault(drop.node, set()).update(x.load for x in drop.lost)
    design_spofs = set(design_sub.design.spofs)
    design_maint = {d.node: d for d in design_sub.design.maintainability}
    for node, drop in design_maint.items():
        maint_loads.setdefault(node, set()).update(x.load for x in drop.lost)
    groups = tuple(
        GroupFigure(g.id, g.kind, g.label, g.required, g.installed, g.spare,
                    without_spare.get(g.id, 0.0),
                    lowest_label[g.id][1] if g.id in lowest_label else None)
        for g in design_sub.design.groups)
    spofs = tuple(sorted(
        (ElementFigure(n, spof_time.get(n, 0.0), n in design_spofs)
         for n in set(spof_time) | design_spofs),
        key=lambda e: (-e.present, e.node)))
    maint = tuple(sorted(
        (ElementFigure(n, maint_time.get(n, 0.0), n in design_maint,
                       tuple(sorted(maint_loads.get(n, ()))))
         for n in set(maint_time) | set(design_maint)),
        key=lambda e: (-e.present, e.node)))
    mine = [o for o in outages if o.subsystem == name]
    live_end = None
    if spans and spans[-1][3] and spans[-1][2] in scored:
        live_end = scored[spans[-1][2]].subsystem(name).live.tier
    return SubsystemFigure(
        name=name,
        design_tier=design_sub.design.tier,
        live_tier_end=live_end,
        lowest_live_tier=min(at_tier) if at_tier else None,
        time_at_tier=dict(sorted(at_tier.items(), reverse=True)),
        n_plus_1=n_plus_1 if design_sub.design.groups and coverage.has_data else None,
        groups=groups,
        spofs=spofs,
        maintainability=maint,
        availability=_availability(name, mine, period, inputs, blind, coverage),
        timeline=tuple(timeline),
    )


def _sensors(inputs: ReportInputs, start: float, stop: float, blind: Sequence[Span]
             ) -> tuple[SensorFigure, ...]:
    subjects = set(inputs.environment)
    initial, later = _timeline(
        (t for t in inputs.transitions if t.kind == "component"), subjects, start)
    figures = []
    for subject in sorted(subjects):
        changes = [t for t in later if t.subject == subject and t.ts < stop]
        state = initial.get(subject)
        cursor = start
        known: list[Span] = []
        in_band: list[Span] = []
        for t in [*changes, None]:
            upto = stop if t is None else t.ts
            if state is not None and upto > cursor and state.status != Status.UNKNOWN.value:
                known.append((cursor, upto))
                if not (state.conditions & OUT_OF_BAND):
                    in_band.append((cursor, upto))
            if t is not None:
                state, cursor = t, max(cursor, t.ts)
        known_len = length_of(subtract(merge(known, start, stop), blind))
        band_len = length_of(subtract(merge(in_band, start, stop), blind))
        if known_len > 0:
            figures.append(SensorFigure(subject, known_len, band_len))
    return tuple(figures)


def _maintenance(records: Sequence[MaintenanceRecord], outages: Sequence[OutageRecord],
                 start: float, stop: float) -> tuple[MaintenanceFigure, ...]:
    out = []
    for rec in sorted(records, key=lambda r: (r.start, r.id)):
        lo, hi = max(rec.start, start), min(rec.end, stop)
        if hi <= lo:
            continue
        during = tuple(o for o in outages
                       if o.maintenance_id == rec.id or (lo <= o.start < hi and o.planned))
        out.append(MaintenanceFigure(rec, lo, hi, during))
    return tuple(out)


def _monitored(spans: Iterable[tuple[float, float | None]], start: float, stop: float,
               blind: Sequence[Span]) -> float:
    """Seconds of [start, stop) the spans cover, less the unmonitored time."""
    clipped = [(a, stop if b is None else b) for a, b in spans]
    return length_of(subtract(merge(clipped, start, stop), blind))


def _same_port(a: str, b: str) -> bool:
    return a.strip().casefold() == b.strip().casefold()  # as nethealth/lldp.py compares


def _sightings(records: Sequence[SightingRecord], start: float, stop: float,
               blind: Sequence[Span]) -> list[tuple[SightingRecord, SightingFigure]]:
    """One figure per neighbour and port (its sightings over the month added up), with a
    record of it for where it was seen; those seen only while unmonitored are left out."""
    by_key: dict[tuple[str, str, str, str], list[SightingRecord]] = {}
    for rec in records:
        key = (rec.device, rec.port, rec.name, rec.neighbour_port)
        by_key.setdefault(key, []).append(rec)
    out = []
    for (device, port, name, neighbour_port), recs in sorted(by_key.items()):
        seen = _monitored([(r.start, r.end) for r in recs], start, stop, blind)
        if seen <= 0:
            continue
        first = max(start, min(r.start for r in recs))
        last = min(stop, max(stop if r.end is None else r.end for r in recs))
        out.append((recs[-1], SightingFigure(device, port, name, neighbour_port,
                                             recs[-1].neighbour_device, seen, first, last)))
    return out


def _lldp(inputs: ReportInputs, start: float, stop: float, blind: Sequence[Span],
          coverage: Coverage) -> tuple[tuple[LinkDriftFigure, ...], tuple[SightingFigure, ...]]:
    """Each declared link's time ok, missing, moved and not known (monitored time), and the
    unexpected neighbours: on a declared link's port, or elsewhere."""
    links = port_bindings(inputs.topology)
    sightings = _sightings(inputs.sightings, start, stop, blind)
    claimed: set[int] = set()
    figures = []
    for b in links:
        spans = [r for r in inputs.lldp if (r.subsystem, r.feeder, r.node) == (
            b.subsystem, b.feeder, b.node) and _same_port(r.port, b.port)]
        time_in = {verdict: _monitored([(r.start, r.end) for r in spans
                                        if r.verdict == verdict], start, stop, blind)
                   for verdict in ("ok", "missing", "moved")}
        drifted = [r for r in spans if r.verdict in ("missing", "moved")
                   and _monitored([(r.start, r.end)], start, stop, blind) > 0]
        moved_to = sorted({p for r in drifted if r.verdict == "moved" for p in r.seen_on})
        here = []
        for i, (rec, figure) in enumerate(sightings):
            if rec.device == b.device and rec.declared_port is not None and _same_port(
                    rec.declared_port, b.port):
                here.append(figure)
                claimed.add(i)
        expected = next((r.expected for r in reversed(spans) if r.expected), "") or (
            b.neighbour or b.neighbour_device or "")
        figures.append(LinkDriftFigure(
            b.subsystem, b.feeder, b.node, b.device, b.port, expected, time_in["ok"],
            time_in["missing"], time_in["moved"],
            max(0.0, coverage.monitored - sum(time_in.values())), tuple(moved_to),
            len(drifted), tuple(here)))
    elsewhere = tuple(f for i, (_, f) in enumerate(sightings) if i not in claimed)
    return tuple(figures), elsewhere


# --------------------------------------------------------------------------- recommendations


def _with_recommendations(report: MonthlyReport, design: TierSnapshot,
                          compiled: CompiledTopology) -> MonthlyReport:
    from dataclasses import replace

    return replace(report, recommendations=tuple(recommend(report, design, compiled)))


def recommend(report: MonthlyReport, design: TierSnapshot, compiled: CompiledTopology
              ) -> list[Recommendation]:
    """What to do about the gaps the month showed, most important first."""
    recs: list[Recommendation] = []
    if not report.has_data:
        recs.append(Recommendation("no_data", "high", {}))
    if "power" in compiled.subsystems:
        single = [ld.id for ld in design.subsystem("power").design.loads
                  if ld.cords < 2 and compiled.spec(ld.id).kind in ("rack", "server")]
        if single:
            recs.append(Recommendation("single_corded", "high", {"loads": single}))
    for sub in design.subsystems:
        for group in sub.design.groups:
            if group.spare < 1:
                recs.append(Recommendation("no_spare_design", "high", {
                    "subsystem": sub.name, "group": group.id, "label": group.label}))
        nodes = [d.node for d in sub.design.maintainability]
        if nodes:
            recs.append(Recommendation("maintainability_design", "high",
                                       {"subsystem": sub.name, "nodes": nodes}))
    site = report.site_availability
    if site is not None and site.report.downtime > site.report.budget:
        recs.append(Recommendation("budget_spent", "high", {
            "downtime_s": site.report.downtime, "budget_s": site.report.budget,
            "outages": site.outages}))
    planned = [o.subject for o in report.outages if o.planned]
    if planned:
        recs.append(Recommendation("planned_outage", "high",
                                   {"loads": sorted(set(planned))}))
    for figure in report.subsystems:
        for kept in figure.groups:
            if kept.design_spare >= 1 and kept.without_spare > 0:
                recs.append(Recommendation("no_spare_live", "medium", {
                    "subsystem": figure.name, "group": kept.id,
                    "duration_s": kept.without_spare}))
    bypass = [e for e in report.exposure if e.kind == "bypass"]
    if bypass:
        recs.append(Recommendation("bypass", "medium", {
            "devices": [e.device for e in bypass],
            "duration_s": report.exposure_totals.get("bypass", 0.0)}))
    battery = [e for e in report.exposure if e.kind == "on_battery"]
    if battery:
        recs.append(Recommendation("on_battery", "low", {
            "devices": [e.device for e in battery],
            "duration_s": report.exposure_totals.get("on_battery", 0.0)}))
    if report.has_data and report.coverage.unmonitored_share > UNMONITORED_WORTH_A_WORD:
        recs.append(Recommendation("unmonitored", "medium", {
            "duration_s": report.coverage.unmonitored,
            "share": report.coverage.unmonitored_share}))
    if report.environment_share is not None and (
            report.environment_share < ENVIRONMENT_WORTH_A_WORD):
        recs.append(Recommendation("environment", "medium",
                                   {"share": report.environment_share}))
    if not report.sensors and report.has_data:
        recs.append(Recommendation("no_sensors", "low", {}))
    drifted = [f for f in report.lldp if f.drift > 0]
    if drifted:
        recs.append(Recommendation("lldp_drift", "medium", {
            "links": [f"{f.feeder} → {f.node} ({f.device} {f.port})" for f in drifted],
            "duration_s": sum(f.drift for f in drifted)}))
    strangers = len({(f.device, f.port, f.name) for f in report.lldp_elsewhere}
                    | {(s.device, s.port, s.name) for f in report.lldp for s in f.unexpected})
    if strangers:
        recs.append(Recommendation("lldp_unexpected", "low", {"count": strangers}))
    # the services' own: the high ones after the infrastructure's high ones, the rest last
    stop = min(report.period[1], report.generated_at)
    extra = [Recommendation(key, severity, params)
             for key, severity, params in service_recommendations(report.services, stop)]
    highs = max((i + 1 for i, r in enumerate(recs) if r.severity == "high"), default=0)
    first = [r for r in extra if r.severity == "high"]
    return [*recs[:highs], *first, *recs[highs:], *(r for r in extra if r not in first)]


# --------------------------------------------------------------------------- JSON


def _iso(ts: float | None, tz: str) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, ZoneInfo(tz)).isoformat()


def _num(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(value, 6)


def _availability_json(av: Availability | None) -> dict[str, Any] | None:
    if av is None:
        return None
    r = av.report
    return {
        "availability": _num(r.availability),
        "availability_worst": _num(r.availability_worst),
        "target": r.target,
        "met": r.met,
        "downtime_s": _num(r.downtime),
        "planned_downtime_s": _num(av.planned_downtime),
        "budget_s": _num(r.budget),
        "budget_used": _num(r.burn),
        "budget_remaining_s": _num(r.budget_remaining),
        "outages": av.outages,
    }


def _outage_json(o: OutageRecord, start: float, stop: float, tz: str) -> dict[str, Any]:
    end = o.end if o.end is not None else stop
    return {
        "subject": o.subject,
        "subsystem": o.subsystem,
        "start": _iso(o.start, tz),
        "end": _iso(o.end, tz),
        "open": o.end is None,
        "duration_s": _num(end - o.start),
        "duration_in_month_s": _num(max(0.0, min(end, stop) - max(o.start, start))),
        "cause": o.cause,
        "planned": o.planned,
        "maintenance_id": o.maintenance_id,
        "affected": list(o.affected),
    }


def _sighting_json(s: SightingFigure, tz: str) -> dict[str, Any]:
    return {"device": s.device, "port": s.port, "neighbour": s.name,
            "neighbour_port": s.neighbour_port, "neighbour_device": s.neighbour_device,
            "seen_s": _num(s.seen), "first": _iso(s.first, tz), "last": _iso(s.last, tz)}


def report_json(r: MonthlyReport) -> dict[str, Any]:
    tz = r.timezone
    start, end = r.period
    stop = min(end, r.generated_at)
    return {
        "power": r.power,
        "report": "tierwatch monthly Tier III readiness",
        "site": r.site,
        "month": r.month,
        "timezone": tz,
        "period": {"start": _iso(start, tz), "end": _iso(end, tz)},
        "generated_at": _iso(r.generated_at, tz),
        "complete": r.complete,
        "has_data": r.has_data,
        "coverage": {
            "observed_s": _num(r.coverage.observed),
            "monitored_s": _num(r.coverage.monitored),
            "unmonitored_s": _num(r.coverage.unmonitored),
            "unmonitored_share": _num(r.coverage.unmonitored_share),
            "monitored_share": _num(r.coverage.share),
            "min_monitored_share": r.min_coverage,
            "unmonitored": [{"start": _iso(g.start, tz), "end": _iso(g.end, tz),
                             "duration_s": _num(g.end - g.start), "reason": g.reason}
                            for g in r.coverage.gaps],
        },
        "summary": {
            "readiness_score": r.readiness_month,
            "readiness_score_design": r.readiness_design,
            "design_tier": r.design_tier,
            "live_tier_end": r.live_tier_end,
            "lowest_live_tier": r.lowest_live_tier,
            "availability": _availability_json(r.site_availability),
            "verdict": r.verdict,
            "environment_share": _num(r.environment_share),
        },
        "days": [{"date": datetime.fromtimestamp(d.start, ZoneInfo(tz)).date().isoformat(),
                  "availability": _num(d.availability), "downtime_s": _num(d.downtime),
                  "monitored_s": _num(d.monitored), "unmonitored_s": _num(d.unmonitored)}
                 for d in r.days],
        "subsystems": {s.name: {
            "design_tier": s.design_tier,
            "live_tier_end": s.live_tier_end,
            "lowest_live_tier": s.lowest_live_tier,
            "time_at_tier_s": {str(k): _num(v) for k, v in s.time_at_tier.items()},
            "n_plus_1_s": _num(s.n_plus_1),
            "availability": _availability_json(s.availability),
            "groups": [{"id": g.id, "kind": g.kind, "design_label": g.design_label,
                        "required": g.required, "installed": g.installed,
                        "design_spare": g.design_spare, "without_spare_s": _num(g.without_spare),
                        "lowest_label": g.lowest_label} for g in s.groups],
            "spofs": [{"node": e.node, "present_s": _num(e.present), "by_design": e.by_design}
                      for e in s.spofs],
            "maintainability_failures": [
                {"node": e.node, "present_s": _num(e.present), "by_design": e.by_design,
                 "loads": list(e.loads)} for e in s.maintainability],
            "timeline": [{"start": _iso(t.start, tz), "end": _iso(t.end, tz),
                          "monitored": t.monitored, "tier": t.tier,
                          "spares": dict(t.spares)} for t in s.timeline],
        } for s in r.subsystems},
        "outages": [_outage_json(o, start, stop, tz) for o in r.outages],
        "device_outages": [_outage_json(o, start, stop, tz) for o in r.device_outages],
        "exposure": {
            "totals_s": {k: _num(v) for k, v in r.exposure_totals.items()},
            "devices": [{"kind": e.kind, "device": e.device, "duration_s": _num(e.total),
                         "intervals": [[_iso(a, tz), _iso(b, tz)] for a, b in e.spans]}
                        for e in r.exposure],
        },
        "environment": {
            "share_in_recommended_band": _num(r.environment_share),
            "band_celsius": [18, 27],
            "sensors": [{"sensor": s.subject, "known_s": _num(s.known),
                         "in_band_s": _num(s.in_band), "share": _num(s.share)}
                        for s in r.sensors],
        },
        "maintenance": [{
            "id": m.record.id, "title": m.record.title, "start": _iso(m.start, tz),
            "end": _iso(m.end, tz), "duration_s": _num(m.end - m.start),
            "recurrence": m.record.recurrence, "scope": dict(m.record.scope),
            "created_by": m.record.created_by, "comment": m.record.comment,
            "outages": [o.subject for o in m.outages],
        } for m in r.maintenance],
        "services": services_json(r.services, lambda ts: _iso(ts, tz), _num),
        "lldp": {
            "links": [{
                "subsystem": f.subsystem, "from": f.feeder, "to": f.node, "device": f.device,
                "port": f.port, "expected": f.expected, "ok_s": _num(f.ok),
                "missing_s": _num(f.missing), "moved_s": _num(f.moved),
                "unknown_s": _num(f.unknown), "moved_to": list(f.moved_to),
                "episodes": f.episodes,
                "unexpected": [_sighting_json(s, tz) for s in f.unexpected],
            } for f in r.lldp],
            "elsewhere": [_sighting_json(s, tz) for s in r.lldp_elsewhere],
        },
        "recommendations": [rec.to_json() for rec in r.recommendations],
        "states_scored": r.states_scored,
        "states_cut": r.states_cut,
    }
