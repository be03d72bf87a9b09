"""Profile + client -> samples and component statuses for one device.

`PollPlan` compiles a device's profiles once (which OIDs to GET, which columns to walk, how
each maps to a sample) so that each poll is two requests to the client and one pass over
the answer. `poll()` is stateless: everything it needs comes in, everything it found goes
out in a `PollResult`. The plan remembers one thing between polls: each table row's labels
dict, handed out again while the row's labels stay the same (cheap to compare downstream).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence

from collector.profile import (
    TRANSFORMS,
    CompiledRule,
    MetricDef,
    Profile,
    TableDef,
    as_number,
    as_text,
    decode_index,
    precision_divisor,
    rule_metric_names,
    split_scale,
)
from collector.snmp.client import (
    Missing,
    SnmpClient,
    SnmpError,
    SnmpInternalError,
    Value,
    WalkResult,
)

# PollResult and MetricMeta live in tierwatch.core.model (every collector makes them); importing
# them from here keeps working.
from tierwatch.core.model import ComponentStatus, MetricMeta, PollResult, Sample, Status

log = logging.getLogger(__name__)


class _Component:
    """Folds the rule results for one component across profiles."""

    __slots__ = ("conditions", "evaluated", "reasons", "rollup", "status")

    def __init__(self, rollup: bool) -> None:
        self.status = Status.OK
        self.reasons: list[str] = []
        self.conditions: set[str] = set()
        self.evaluated = False  # at least one rule could be evaluated
        self.rollup = rollup

    def apply(self, rules: Sequence[CompiledRule], values: Mapping[str, float],
              names: Mapping[str, str], labels: Mapping[str, str]) -> None:
        for rule in rules:
            hit = rule.matches(values, names)
            if hit is None:
                continue
            self.evaluated = True
            if not hit:
                continue
            status = Status(rule.status)
            if status.severity > self.status.severity:
                self.status = status
            if rule.condition:
                self.conditions.add(rule.condition)
            self.reasons.append(_fill(rule.reason, labels) if rule.reason else rule.status)

    def result(self, name: str) -> ComponentStatus:
        if not self.evaluated:
            return ComponentStatus(name, Status.UNKNOWN, "no data for its status rules",
                                   rollup=self.rollup)
        return ComponentStatus(name, self.status, "; ".join(dict.fromkeys(self.reasons)),
                               frozenset(self.conditions), self.rollup)


class _Fallback(dict[str, str]):
    """Template labels; one the row lacks (no ifName on an old agent) becomes the index."""

    def __init__(self, labels: Mapping[str, str], fallback: str) -> None:
        super().__init__(labels)
        self.fallback = fallback

    def __missing__(self, key: str) -> str:
        return self.fallback


def _fill(template: str, labels: Mapping[str, str], fallback: str = "?") -> str:
    try:
        return template.format_map(_Fallback(labels, fallback))
    except (ValueError, IndexError):
        return template


# How a table metric is mapped. Most IF-MIB-like columns are PLAIN (the reading is the
# value); anything with per-row arithmetic, constant labels or a state set goes the
# GENERAL way through _emit().
_GENERAL, _PLAIN, _SCALED, _ENUM = range(4)
_UNSET: dict[str, str] = {}  # "row not seen yet" (None means "index does not decode")
_new_tuple = tuple.__new__  # Sample(...) without the generated __new__'s Python frame


class _MappedMetric:
    """One table metric compiled for the mapping loop."""

    __slots__ = ("div", "enum", "key", "kind", "metric", "mul", "name", "offset", "record",
                 "unavailable")

    def __init__(self, metric: MetricDef, read_by_rules: set[str], fast: bool) -> None:
        self.metric = metric
        self.name = metric.name
        self.key = metric.key
        self.enum = metric.enum
        self.unavailable = frozenset(metric.unavailable) or None
        self.mul, self.div = split_scale(metric.scale)
        self.offset = metric.offset
        # whether the table's status rules read this metric (the row keeps its value)
        self.record = any(n in read_by_rules for n in metric.all_names())
        if not fast or metric.per_row or metric.labels or metric.transform or (
                metric.enum is not None and metric.enum_as != "value"):
            self.kind = _GENERAL
        elif metric.enum is not None:
            self.kind = _ENUM
        elif metric.scale == 1.0 and not metric.offset:
            self.kind = _PLAIN
        else:
            self.kind = _SCALED


class _MappedTable:
    __slots__ = ("index_label", "metrics", "rules", "table")

    def __init__(self, table: TableDef, fast: bool) -> None:
        self.table = table
        self.rules = [CompiledRule(r.when, r.status, r.condition, r.reason)
                      for r in table.status]
        read = {name for r in table.status for name in rule_metric_names(r.when)}
        self.metrics = [_MappedMetric(m, read, fast) for m in table.metrics]
        # the usual one-arc integer index (ifIndex): its label is the suffix itself
        only = table.index[0] if len(table.index) == 1 else None
        self.index_label = (only.label if fast and only is not None and only.type == "int"
                            and only.map is None else None)


class PollPlan:
    """A device's profiles compiled: the requests to make and the mapping of the answers.

    `fast=False` maps every reading the general way (the reference the fast paths are
    tested against); the answers are the same.
    """

    def __init__(self, profiles: Sequence[Profile], *, fast: bool = True) -> None:
        self.profiles = list(profiles)
        self.get_oids: list[str] = list(
            dict.fromkeys(oid for p in self.profiles for oid in p.get_oids)
        )
        self.walk_roots: list[str] = list(
            dict.fromkeys(root for p in self.profiles for root in p.walk_roots)
        )
        self.metadata: dict[str, MetricMeta] = {}
        self._tables: dict[int, _MappedTable] = {}
        # Each table row's labels, by content, from the last poll and this one: a row whose
        # labels did not change gets the same dict as last time, so what compares a poll's
        # samples with the last one's (the /metrics templates) compares identities.
        self._rows_seen: dict[tuple[tuple[str, str], ...], dict[str, str]] = {}
        self._rows_now: dict[tuple[tuple[str, str], ...], dict[str, str]] = {}
        for profile in self.profiles:
            d = profile.definition
            for table in d.tables:
                self._tables[id(table)] = _MappedTable(table, fast)
            for metric in d.scalars:
                self._meta(metric)
            for info in d.info:
                self.metadata.setdefault(info.name, MetricMeta("info", info.help))
            for table in d.tables:
                for metric in table.metrics:
                    self._meta(metric)

    def _meta(self, metric: MetricDef) -> None:
        kind = "stateset" if metric.enum_as == "state_set" else metric.type
        help_text = metric.help
        if metric.enum and metric.enum_as == "value":
            states = ", ".join(f"{k}={v}" for k, v in sorted(metric.enum.items()))
            help_text = f"{help_text} ({states})" if help_text else states
        if metric.name_by is not None:
            for named in metric.name_by.names.values():
                self.metadata.setdefault(named.name, MetricMeta(kind, named.help or help_text))
            return
        self.metadata.setdefault(metric.name, MetricMeta(kind, help_text))

    def map(self, got: Mapping[str, Value], walked: WalkResult,
            base_labels: Mapping[str, str], ts: float) -> tuple[list[Sample],
                                                                list[ComponentStatus],
                                                                dict[str, float]]:
        """Turn the agent's answers into samples, component statuses and role readings."""
        samples: list[Sample] = []
        components: dict[str, _Component] = {}
        roles: dict[str, float] = {}
        self._rows_now = {}
        for profile in self.profiles:
            d = profile.definition
            values: dict[str, float] = {}
            names: dict[str, str] = {}
            for metric in d.scalars:
                raw = got.get(metric.oid)
                if raw is None or isinstance(raw, Missing):
                    continue
                if metric.scale_from is not None:
                    adjust = _scalar_adjust(metric, got)
                    if adjust is None:
                        continue
                    number = _emit(samples, metric, raw, base_labels, ts, values, names,
                                   (None, *adjust))
                else:
                    number = _emit(samples, metric, raw, base_labels, ts, values, names)
                if number is not None and metric.role:
                    roles[metric.role] = number
            for info in d.info:
                info_labels = dict(base_labels)
                for label, oid in info.labels.items():
                    text = as_text(got.get(oid), info.formats.get(label, "text"))
                    if text is not None:
                        info_labels[label] = text
                if len(info_labels) > len(base_labels):
                    samples.append(Sample(info.name, info_labels, 1.0, ts))
            if profile.rules and d.component:
                comp = components.setdefault(d.component, _Component(rollup=True))
                comp.apply(profile.rules, values, names, base_labels)
            for table in d.tables:
                self._map_table(table, got, walked, base_labels, ts, values, names,
                                samples, components)
        statuses = [comp.result(name) for name, comp in components.items()]
        self._rows_seen = self._rows_now
        return samples, statuses, roles

    def _same_row(self, labels: dict[str, str]) -> dict[str, str]:
        """`labels`, or the equal dict the last poll (or this one) gave a row."""
        key = tuple(labels.items())
        found = self._rows_now.get(key)
        if found is None:
            found = self._rows_now[key] = self._rows_seen.get(key, labels)
        return found

    def _map_table(self, table: TableDef, got: Mapping[str, Value], walked: WalkResult,
                   base: Mapping[str, str], ts: float, scalar_values: dict[str, float],
                   scalar_names: dict[str, str], samples: list[Sample],
                   components: dict[str, _Component]) -> None:
        mapped = self._tables[id(table)]
        # one labels dict per row, shared by every sample of that row
        row_labels: dict[str, dict[str, str] | None] = {}
        index_label = mapped.index_label
        labels_complete = False  # once the label columns are read, a new row is final

        def labels_for(suffix: str) -> dict[str, str] | None:
            labels = row_labels.get(suffix, _UNSET)
            if labels is _UNSET:
                if index_label is not None:
                    labels = None if "." in suffix else {**base, index_label: suffix}
                else:
                    index = decode_index(suffix, table.index)
                    labels = None if index is None else {**base, **index}
                if labels is not None and labels_complete:
                    labels = self._same_row(labels)
                row_labels[suffix] = labels
            return labels

        for label_def in table.labels:
            label = label_def.label
            for suffix, raw in walked.get(label_def.oid, ()):
                labels = labels_for(suffix)
                if labels is None:
                    continue
                text = _label_text(label_def.format, label_def.map, raw)
                if text is not None and (label_def.max_length is None
                                         or len(text) <= label_def.max_length):
                    labels[label] = text
            if label_def.fallback:
                for suffix, raw in walked.get(label_def.fallback, ()):
                    labels = labels_for(suffix)
                    if labels is None or labels.get(label):
                        continue
                    text = _label_text(label_def.format, label_def.map, raw)
                    if text is not None and (label_def.max_length is None
                                             or len(text) <= label_def.max_length):
                        labels[label] = text
        for suffix, labels in row_labels.items():
            if labels is not None:
                row_labels[suffix] = self._same_row(labels)
        labels_complete = True

        rules = mapped.rules
        keep_rows = bool(rules and table.component)
        # per row, the values and enum names the status rules read (rows without a reading
        # get no component)
        row_values: dict[str, dict[str, float]] = {}
        row_names: dict[str, dict[str, str]] = {}
        for m in mapped.metrics:
            if m.kind == _GENERAL:
                self._map_general(m.metric, got, walked, ts, labels_for, row_values,
                                  row_names, samples)
                continue
            self._map_column(m, walked.get(m.metric.oid, ()), ts, row_labels, labels_for,
                             row_values if keep_rows else None, row_names, samples)
        if not keep_rows:
            return
        for suffix, values in row_values.items():
            labels = row_labels[suffix]
            assert labels is not None
            name = _fill(table.component or "", labels, suffix)
            comp = components.setdefault(name, _Component(rollup=table.rollup))
            comp.apply(rules, {**scalar_values, **values},
                       {**scalar_names, **row_names[suffix]}, labels)

    @staticmethod
    def _map_column(m: _MappedMetric, rows: Iterable[tuple[str, Value]], ts: float,
                    row_labels: dict[str, dict[str, str] | None],
                    labels_for: Callable[[str], dict[str, str] | None],
                    row_values: dict[str, dict[str, float]] | None,
                    row_names: dict[str, dict[str, str]], samples: list[Sample]) -> None:
        """The hot loop: one column without per-row arithmetic (PLAIN, SCALED, ENUM)."""
        name, kind, unavailable = m.name, m.kind, m.unavailable
        mul, div, offset, enum, key = m.mul, m.div, m.offset, m.enum, m.key
        record = m.record and row_values is not None
        append = samples.append
        new = _new_tuple
        if kind == _PLAIN and not record and unavailable is None:
            # the commonest column of all (a counter, a gauge): the reading is the value
            for suffix, raw in rows:
                labels = row_labels.get(suffix, _UNSET)
                if labels is _UNSET:
                    labels = labels_for(suffix)
                if labels is None:
                    continue
                if row_values is not None and suffix not in row_values and raw is not None \
                        and raw.__class__ is not Missing:
                    row_values[suffix] = {}  # the row has a reading: it gets a component
                    row_names[suffix] = {}
                if raw.__class__ is int:
                    append(new(Sample, (name, labels, raw, ts)))
                elif raw is not None and raw.__class__ is not Missing:
                    text_number = as_number(raw)  # a number sent as text
                    if text_number is not None:
                        append(new(Sample, (name, labels, text_number, ts)))
            return
        for suffix, raw in rows:
            labels = row_labels.get(suffix, _UNSET)
            if labels is _UNSET:
                labels = labels_for(suffix)
            if labels is None:
                continue
            number: float | None
            if raw.__class__ is int:
                number = raw
            elif raw is None or raw.__class__ is Missing:
                continue
            else:
                number = as_number(raw)
            if row_values is not None and suffix not in row_values:
                row_values[suffix] = {}
                row_names[suffix] = {}
            if number is None or (unavailable is not None and number in unavailable):
                continue
            if kind == _PLAIN:
                value = number
            elif kind == _SCALED:
                value = number * mul / div + offset
            else:
                value = number
                if record:
                    assert enum is not None
                    state = enum.get(int(number))
                    if state is not None:
                        row_names[suffix][key] = state
            if record:
                row_values[suffix][key] = value  # type: ignore[index]
            append(new(Sample, (name, labels, value, ts)))

    @staticmethod
    def _map_general(metric: MetricDef, got: Mapping[str, Value], walked: WalkResult,
                     ts: float, labels_for: Callable[[str], dict[str, str] | None],
                     row_values: dict[str, dict[str, float]],
                     row_names: dict[str, dict[str, str]], samples: list[Sample]) -> None:
        """Any table metric, per-row arithmetic (name_by, scale_from, precision_from,
        only_if), constant labels and state sets included."""
        per_row = metric.per_row
        scalar_adjust: tuple[float, float, float] | None = None
        row: tuple[str | None, float, float, float] | None = None
        columns: dict[str, dict[str, Value]] = {}  # the columns per-row arithmetic reads
        if per_row:
            for oid in metric.row_columns:
                columns[oid] = dict(walked.get(oid, ()))
            scalar_adjust = (_scalar_adjust(metric, got)
                             if metric.scale_from and metric.scale_from.scalar else None)
        for suffix, raw in walked.get(metric.oid, ()):
            labels = labels_for(suffix)
            if labels is None or raw is None or isinstance(raw, Missing):
                continue
            if per_row:
                row = _row_adjust(metric, suffix, columns, scalar_adjust)
                if row is None:
                    continue
            values = row_values.get(suffix)
            if values is None:
                values = row_values[suffix] = {}
                row_names[suffix] = {}
            if row is not None:
                _emit(samples, metric, raw, labels, ts, values, row_names[suffix], row)
            else:
                _emit(samples, metric, raw, labels, ts, values, row_names[suffix])


def _label_text(fmt: str, mapping: Mapping[str, str] | None, raw: Value) -> str | None:
    if fmt == "number":
        number = as_number(raw)
        text = None if number is None else f"{number:g}"
    else:
        text = as_text(raw, fmt)
    if mapping is not None and text is not None:
        return mapping.get(text, text)
    return text


def _scalar_adjust(metric: MetricDef, got: Mapping[str, Value]
                   ) -> tuple[float, float, float] | None:
    """(multiplier, divisor, offset) from a `scale_from.scalar` object, or None if it cannot
    be read."""
    assert metric.scale_from is not None and metric.scale_from.scalar is not None
    raw = as_number(got.get(metric.scale_from.scalar))
    return None if raw is None else metric.scale_from.adjust(raw)


Adjust = tuple[str | None, float, float, float]  # metric name, multiplier, divisor, offset


def _row_adjust(metric: MetricDef, suffix: str, columns: Mapping[str, Mapping[str, Value]],
                scalar_adjust: tuple[float, float, float] | None) -> Adjust | None:
    """(metric name, multiplier, divisor, offset) for one row, or None when the row gives no
    sample: a gate column says no, or its scale, precision or type cannot be read or is not
    listed."""
    if metric.row_of is not None:
        suffix = ".".join(suffix.split(".")[:metric.row_of])
    only_if = metric.only_if
    if only_if is not None:
        gate = as_number(columns[only_if.column].get(suffix))
        if gate is None or int(gate) not in only_if.in_:
            return None
    mul, div, offset = 1.0, 1.0, 0.0
    scale_from = metric.scale_from
    if scale_from is not None:
        if scale_from.column is not None:
            raw = as_number(columns[scale_from.column].get(suffix))
            adjust = None if raw is None else scale_from.adjust(raw)
        else:
            adjust = scalar_adjust
        if adjust is None:
            return None
        mul, div, offset = adjust
    if metric.precision_from:
        places = as_number(columns[metric.precision_from].get(suffix))
        if places is None:
            return None
        div *= precision_divisor(places)
    name: str | None = None
    if metric.name_by is not None:
        kind = as_number(columns[metric.name_by.column].get(suffix))
        named = None if kind is None else metric.name_by.names.get(int(kind))
        if named is None:
            return None
        name = named.name
        named_mul, named_div = named.mul_div
        mul *= named_mul
        div *= named_div
    return name, mul, div, offset


def _emit(samples: list[Sample], metric: MetricDef, raw: Value, labels: Mapping[str, str],
          ts: float, values: dict[str, float], names: dict[str, str],
          adjust: Adjust | None = None) -> float | None:
    """Append the sample(s) for one reading; record it for the status rules.

    `adjust` comes from the per-row arithmetic (name_by, scale_from, precision_from):
    value = raw x scale x multiplier / divisor + offset + adjust offset, with scales below 1
    applied as divisions so tenths and hundredths come out as the decimals they are.
    """
    number = as_number(raw)
    if number is None:
        return None
    if metric.unavailable and number in metric.unavailable:
        return None
    if metric.labels:
        labels = {**labels, **metric.labels}
    if metric.enum is not None:
        state = metric.enum.get(int(number))
        key = metric.id or metric.name
        values[key] = number
        if state is not None:
            names[key] = state
        if metric.enum_as == "state_set":
            for state_name in dict.fromkeys(metric.enum.values()):  # names may repeat
                samples.append(Sample(metric.name, {**labels, "state": state_name},
                                      1.0 if state_name == state else 0.0, ts))
            return number
        samples.append(Sample(metric.name, labels, number, ts))
        return number
    name = metric.name
    scale = metric.scale
    if adjust is not None:
        mul, div = split_scale(scale)
        row_name, row_mul, row_div, row_offset = adjust
        value = number * mul * row_mul / (div * row_div) + metric.offset + row_offset
        name = row_name or name
    elif scale != 1.0:
        mul, div = split_scale(scale)
        value = number * mul / div + metric.offset
    elif metric.offset:
        value = number + metric.offset
    else:
        value = number  # the reading as it came (an int stays exact, Counter64 included)
    if metric.transform is not None:
        converted = TRANSFORMS[metric.transform](value)
        if converted is None:
            return None
        value = converted
    values[metric.id or name] = value
    samples.append(Sample(name, labels, value, ts))
    return value


async def poll(device_id: str, client: SnmpClient, plan: PollPlan,
               base_labels: Mapping[str, str], now: float | None = None) -> PollResult:
    """Poll one device once. Errors are returned in the result, never raised: an engine's
    as their reason, anything unexpected (a defect) as `internal` with its type."""
    ts = time.time() if now is None else now
    started = time.perf_counter()
    result = PollResult(device=device_id, ts=ts, metadata=plan.metadata)
    get_walk = getattr(client, "get_walk", None)  # an engine's one-request-fewer path
    try:
        if get_walk is not None and plan.get_oids and plan.walk_roots:
            got, walked = await get_walk(plan.get_oids, plan.walk_roots)
        else:
            got = await client.get(plan.get_oids) if plan.get_oids else {}
            walked = await client.walk(plan.walk_roots) if plan.walk_roots else {}
    except SnmpError as exc:
        if isinstance(exc, SnmpInternalError):  # its traceback, for whoever debugs
            log.debug("poll of %s: %s", device_id, exc, exc_info=exc)
        return _failed(result, exc.reason, str(exc) or exc.__class__.__name__, started)
    except Exception as exc:  # a defect in an engine: this poll's error, never the caller's
        log.debug("poll of %s: internal error", device_id, exc_info=exc)
        return _failed(result, "internal", _internal(exc), started)
    result.varbinds = len(got) + sum(map(len, walked.values()))
    if plan.get_oids and all(isinstance(v, Missing) for v in got.values()) and not any(
        walked.values()
    ):
        # the agent answers but has none of what the profile asks: a profile that does not
        # fit this device, worth an error rather than an empty "ok"
        result.error = "no_data"
        result.message = "the agent has none of the OIDs the profile asks for"
    try:
        result.samples, result.components, result.roles = plan.map(got, walked, base_labels,
                                                                   ts)
    except Exception as exc:  # values the mapping cannot take: the poll fails, counted
        log.debug("poll of %s: mapping failed", device_id, exc_info=exc)
        result.samples, result.components, result.roles = [], [], {}
        return _failed(result, "internal", _internal(exc), started)
    result.duration = time.perf_counter() - started
    return result


def _internal(exc: Exception) -> str:
    return f"internal error: {type(exc).__name__}: {exc}"


def _failed(result: PollResult, reason: str, message: str, started: float) -> PollResult:
    result.error = reason
    result.message = message
    result.duration = time.perf_counter() - started
    return result


def device_status(result: PollResult) -> Status:
    """The device's own status from a successful poll: the worst rolled-up component."""
    return Status.worst([c.status for c in result.components if c.rollup])
