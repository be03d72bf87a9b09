"""Agent profiles: what to keep from a host agent's /metrics, how to name it, how to judge it.

A host agent (node_exporter, windows_exporter, ipmi_exporter) already speaks the Prometheus
text format. A profile picks the series tierwatch keeps (`metrics`), renames them into
tierwatch's `host_` domain, drops or renames labels, adds up per-CPU rows; computes a few
ratios (`derived`); and derives component statuses with the same rule language as the SNMP
profiles (`components`). Device knowledge is data: a new agent is a new YAML file in
collector/agents/profiles/. See docs/agents-and-probes.md.

`AgentPlan.map()` is a pure function: parsed families in, samples and statuses out.
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from collector.profile import CompiledRule, Condition, StatusRule, When
from tierwatch.core.model import ComponentStatus, MetricMeta, Sample, Status

_METRIC = r"^[a-zA-Z_:][a-zA-Z0-9_:]*$"
_LABEL = r"^[a-zA-Z_][a-zA-Z0-9_]*$"

MetricName = Annotated[str, Field(pattern=_METRIC)]
LabelName = Annotated[str, Field(pattern=_LABEL)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _one_or_many(value: object) -> object:
    return [value] if isinstance(value, str) else value


class SeriesDef(_Strict):
    """One kept metric: a series from the agent, renamed and reshaped."""

    name: MetricName
    # sample name(s) as the agent writes them; the first one present wins (exporters rename
    # metrics between versions: windows_exporter's boot time is one example)
    source: Annotated[list[MetricName], Field(min_length=1)]
    help: str = ""  # empty: the agent's own HELP text
    type: Literal["gauge", "counter", "info"] = "gauge"
    # label -> regular expression the label's value must match fully (others are skipped)
    match: dict[LabelName, str] = Field(default_factory=dict)
    # label -> regular expression: series whose label matches fully are dropped
    exclude: dict[LabelName, str] = Field(default_factory=dict)
    # source labels kept (after `rename`); None keeps them all
    labels: list[LabelName] | None = None
    rename: dict[LabelName, LabelName] = Field(default_factory=dict)
    # how series that end up with the same labels are folded: per-CPU rows into one, ...
    aggregate: Literal["sum", "max", "min", "count"] | None = None
    scale: float = 1.0
    # raw integer -> state name; status rules compare against the names
    enum: dict[int, str] | None = None
    # what the reboot detector reads
    role: Literal["boot_time"] | None = None

    @field_validator("source", mode="before")
    @classmethod
    def _source_list(cls, value: object) -> object:
        return _one_or_many(value)

    @model_validator(mode="after")
    def _checks(self) -> SeriesDef:
        if self.name.startswith("tierwatch_"):
            raise ValueError(f"{self.name!r}: tierwatch_ names are tierwatch's own metrics")
        if self.type == "counter" and not self.name.endswith("_total"):
            raise ValueError(f"counter {self.name!r} must end in _total")
        if self.type == "info" and not self.name.endswith("_info"):
            raise ValueError(f"info metric {self.name!r} must end in _info")
        for key, pattern in (*self.match.items(), *self.exclude.items()):
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"label {key!r}: bad regular expression: {exc}") from None
        return self


class DerivedDef(_Strict):
    """A metric computed from two kept ones, series matched on identical labels.

    A label-less right-hand side applies to every series on the left (a per-CPU divisor).
    """

    name: MetricName
    op: Literal["divide", "subtract"]
    args: Annotated[list[MetricName], Field(min_length=2, max_length=2)]
    help: str = ""


class SummaryDef(_Strict):
    """Fold per-row components into one that counts toward the device.

    Each row keeps its exact status (a topology node can bind to "psu PS1") but does not
    roll up; the summary does, never worse than `at_most` (one failed supply of two leaves
    the server degraded, not failed).
    """

    name: str
    at_most: Literal["degraded", "failed"] = "degraded"


class ComponentDef(_Strict):
    """Components whose status the rules derive: one, or one per distinct `by` labels."""

    name: str  # template over the row's labels: "filesystem {mountpoint}"
    by: list[LabelName] = Field(default_factory=list)
    status: list[StatusRule] = Field(default_factory=list)
    rollup: bool = True
    # a row whose rules have nothing to read: `unknown` (the default), `ok` (a sensor with no
    # thresholds is not a problem) or `omit` (no component at all)
    no_data: Literal["unknown", "ok", "omit"] = "unknown"
    summary: SummaryDef | None = None

    @model_validator(mode="after")
    def _template(self) -> ComponentDef:
        for _, name, _, _ in string.Formatter().parse(self.name):
            if name and name not in self.by:
                raise ValueError(f"component {self.name!r}: {{{name}}} is not one of by: "
                                 f"{self.by}")
        if not self.status:
            raise ValueError(f"component {self.name!r}: needs status rules")
        return self


class AgentProfileDef(_Strict):
    name: str
    description: str = ""
    include: list[str] = Field(default_factory=list)
    metrics: list[SeriesDef] = Field(default_factory=list)
    derived: list[DerivedDef] = Field(default_factory=list)
    components: list[ComponentDef] = Field(default_factory=list)

    @model_validator(mode="after")
    def _references(self) -> AgentProfileDef:
        names = [m.name for m in self.metrics]
        counted: dict[str, int] = {}
        for name in names:
            counted[name] = counted.get(name, 0) + 1
        twice = sorted(n for n, c in counted.items() if c > 1)
        if twice:
            raise ValueError(f"metric(s) defined twice: {', '.join(twice)}")
        known = set(names)
        for d in self.derived:
            for arg in d.args:
                if arg not in known:
                    raise ValueError(f"derived {d.name!r}: unknown metric {arg!r}")
            known.add(d.name)
        for comp in self.components:
            for rule in comp.status:
                for name in referenced(rule.when):
                    if name not in known:
                        raise ValueError(f"component {comp.name!r}: status rule refers to "
                                         f"unknown metric {name!r}")
        return self


def referenced(when: Condition | When) -> list[str]:
    """The metric names a rule reads (its own metric and any metric used as a limit)."""
    if isinstance(when, Condition):
        names = [when.metric]
        names.extend(ref for ref in (when.above, when.below, when.at_least, when.at_most)
                     if isinstance(ref, str))
        return names
    out: list[str] = []
    for item in when.all or when.any or []:
        out.extend(referenced(item))
    return out


class AgentProfile:
    def __init__(self, definition: AgentProfileDef) -> None:
        self.definition = definition
        self.name = definition.name

    def __repr__(self) -> str:
        return f"AgentProfile({self.name!r})"


# --------------------------------------------------------------------------- the plan

Labels = dict[str, str]
Series = list[tuple[Labels, float]]


@dataclass
class Mapped:
    samples: list[Sample]
    components: list[ComponentStatus]
    roles: dict[str, float]
    metadata: dict[str, MetricMeta]
    kept: int  # series kept (after aggregation)


@dataclass
class _Compiled:
    definition: SeriesDef
    match: list[tuple[str, re.Pattern[str]]] = field(default_factory=list)
    exclude: list[tuple[str, re.Pattern[str]]] = field(default_factory=list)


class AgentPlan:
    """A host's agent profiles compiled once; `map()` runs on every scrape."""

    def __init__(self, profiles: Sequence[AgentProfile]) -> None:
        self.profiles = list(profiles)
        self.series: list[_Compiled] = []
        self.derived: list[DerivedDef] = []
        self.components: list[tuple[ComponentDef, list[CompiledRule], list[str]]] = []
        seen: set[str] = set()
        for profile in self.profiles:
            d = profile.definition
            for metric in d.metrics:
                if metric.name in seen:
                    continue  # an included profile already defines it
                seen.add(metric.name)
                self.series.append(_Compiled(
                    metric,
                    [(k, re.compile(v)) for k, v in metric.match.items()],
                    [(k, re.compile(v)) for k, v in metric.exclude.items()]))
            self.derived.extend(d.derived)
            for comp in d.components:
                rules = [CompiledRule(r.when, r.status, r.condition, r.reason)
                         for r in comp.status]
                reads = list(dict.fromkeys(n for r in comp.status for n in referenced(r.when)))
                self.components.append((comp, rules, reads))
        self.sources: frozenset[str] = frozenset(
            name for s in self.series for name in s.definition.source)
        self.enums = {s.definition.name: s.definition.enum for s in self.series
                      if s.definition.enum}

    def map(self, families: Iterable[object], base_labels: Mapping[str, str], ts: float
            ) -> Mapped:
        """Parsed metric families (prometheus_client's) -> samples, statuses, roles."""
        found: dict[str, Series] = {}
        helps: dict[str, str] = {}
        for family in families:
            doc = getattr(family, "documentation", "")
            for sample in getattr(family, "samples", ()):
                if sample.name in self.sources:
                    found.setdefault(sample.name, []).append((sample.labels, sample.value))
                    helps.setdefault(sample.name, doc)
        kept: dict[str, Series] = {}
        metadata: dict[str, MetricMeta] = {}
        roles: dict[str, float] = {}
        for compiled in self.series:
            d = compiled.definition
            source = next((s for s in d.source if s in found), None)
            if source is None:
                continue
            series = _reshape(compiled, found[source], base_labels)
            if not series:
                continue
            kept[d.name] = series
            metadata[d.name] = MetricMeta(d.type, d.help or helps.get(source, ""))
            if d.role:
                roles[d.role] = series[0][1]
        for derived in self.derived:
            series = _derive(derived, kept)
            if series:
                kept[derived.name] = series
                metadata[derived.name] = MetricMeta("gauge", derived.help)
        samples: list[Sample] = []
        for name, series in kept.items():
            for labels, value in series:
                samples.append(Sample(name, {**base_labels, **labels}, value, ts))
        components: list[ComponentStatus] = []
        for comp, rules, reads in self.components:
            components.extend(self._judge(comp, rules, reads, kept, base_labels))
        return Mapped(samples, components, roles, metadata, sum(map(len, kept.values())))

    def _judge(self, comp: ComponentDef, rules: list[CompiledRule], reads: list[str],
               kept: Mapping[str, Series], base: Mapping[str, str]) -> list[ComponentStatus]:
        # label-less readings are available to every row (a host-wide threshold)
        scalars = {name: kept[name][0][1] for name in reads
                   if name in kept and not kept[name][0][0]}
        rows: dict[tuple[str, ...], dict[str, float]] = {}
        row_labels: dict[tuple[str, ...], Labels] = {}
        if not comp.by:
            rows[()] = dict(scalars)
            row_labels[()] = {}
        else:
            for name in reads:
                for labels, value in kept.get(name, ()):
                    if not all(b in labels for b in comp.by):
                        continue
                    key = tuple(labels[b] for b in comp.by)
                    row = rows.get(key)
                    if row is None:
                        row = rows[key] = dict(scalars)
                        row_labels[key] = labels
                    row.setdefault(name, value)
        out: list[ComponentStatus] = []
        rollup = comp.rollup and comp.summary is None
        for key, values in rows.items():
            values = {k: v for k, v in values.items() if not math.isnan(v)}
            names = {k: self.enums[k].get(int(v), "") for k, v in values.items()
                     if k in self.enums}
            labels = {**base, **row_labels[key]}
            name = comp.name.format_map(_Fallback(labels))
            status, reasons, conditions, evaluated = Status.OK, [], set(), False
            for rule in rules:
                hit = rule.matches(values, names)
                if hit is None:
                    continue
                evaluated = True
                if not hit:
                    continue
                rule_status = Status(rule.status)
                if rule_status.severity > status.severity:
                    status = rule_status
                if rule.condition:
                    conditions.add(rule.condition)
                text = rule.reason.format_map(_Fallback(labels)) if rule.reason else rule.status
                reasons.append(text)
            if not evaluated:
                if comp.no_data == "omit":
                    continue
                if comp.no_data == "unknown":
                    out.append(ComponentStatus(name, Status.UNKNOWN,
                                               "no data for its status rules", rollup=rollup))
                    continue
            out.append(ComponentStatus(name, status, "; ".join(dict.fromkeys(reasons)),
                                       frozenset(conditions), rollup))
        if comp.summary is not None and out:
            out.append(_summary(comp.summary, out, comp.rollup))
        return out


def _summary(summary: SummaryDef, rows: list[ComponentStatus], rollup: bool
             ) -> ComponentStatus:
    worst = Status.worst([c.status for c in rows])
    cap = Status(summary.at_most)
    status = cap if worst.severity > cap.severity else worst
    bad = [c for c in rows if c.status not in (Status.OK,)]
    reason = "; ".join(f"{c.component}: {c.reason or c.status}" for c in bad)
    conditions = frozenset().union(*(c.conditions for c in rows))
    return ComponentStatus(summary.name, status, reason, conditions, rollup)


class _Fallback(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "?"


def _reshape(compiled: _Compiled, rows: Series, base: Mapping[str, str]) -> Series:
    d = compiled.definition
    out: dict[tuple[tuple[str, str], ...], list[float]] = {}
    order: list[tuple[tuple[str, str], ...]] = []
    for labels, raw in rows:
        value = float(raw)
        if any(labels.get(k) is None or not p.fullmatch(labels[k]) for k, p in compiled.match):
            continue
        if any(labels.get(k) is not None and p.fullmatch(labels[k]) for k, p in compiled.exclude):
            continue
        mapped: Labels = {}
        for key, text in labels.items():
            key = d.rename.get(key, key)
            if d.labels is not None and key not in d.labels:
                continue
            if key in base:  # the agent's own `device` label must not hide tierwatch's
                key = f"exported_{key}"
            mapped[key] = text
        ident = tuple(sorted(mapped.items()))
        if ident not in out:
            out[ident] = []
            order.append(ident)
        out[ident].append(value)
    series: Series = []
    for ident in order:
        values = out[ident]
        if d.aggregate == "count":
            value = float(len(values))
        elif d.aggregate == "sum":
            value = math.fsum(values)
        elif d.aggregate == "max":
            value = max(values)
        elif d.aggregate == "min":
            value = min(values)
        else:
            value = values[0]  # not aggregated: duplicates keep the first
        if d.type == "info":
            value = 1.0
        elif d.scale != 1.0 and d.aggregate != "count":
            value *= d.scale
        series.append((dict(ident), value))
    return series


def _derive(derived: DerivedDef, kept: Mapping[str, Series]) -> Series:
    left, right = (kept.get(a) for a in derived.args)
    if not left or not right:
        return []
    by_labels = {tuple(sorted(lab.items())): v for lab, v in right}
    broadcast = by_labels.get(()) if len(right) == 1 else None
    out: Series = []
    for labels, a in left:
        b = by_labels.get(tuple(sorted(labels.items())), broadcast)
        if b is None:
            continue
        if derived.op == "divide":
            if b == 0 or math.isnan(b):
                continue
            out.append((labels, a / b))
        else:
            out.append((labels, a - b))
    return out


def parse_agent_profile(data: object) -> AgentProfileDef:
    return AgentProfileDef.model_validate(data)
