"""Device profiles: the YAML schema, and its compiled form the poller runs.

A profile says which OIDs to GET (scalars) and which table columns to walk, how each value
becomes a Prometheus sample (name, unit scale, enum names, values that mean "not
available"), which columns label a table's rows, and the status rules that derive a
component's status (ok / degraded / failed / unknown). Device knowledge is data: a new UPS
model is a new profile file. See docs/profiles.md for the guide.
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from collector.snmp.client import Missing, Value

_OID = r"^\d+(\.\d+)+$"
_METRIC = r"^[a-zA-Z_:][a-zA-Z0-9_:]*$"
_LABEL = r"^[a-zA-Z_][a-zA-Z0-9_]*$"

Oid = Annotated[str, Field(pattern=_OID)]
MetricName = Annotated[str, Field(pattern=_METRIC)]
LabelName = Annotated[str, Field(pattern=_LABEL)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# What `mw_to_dbm` gives a reading of 0 mW: no light at all. Below any receiver's range
# (SFF-8472 diagnostics resolve 0.1 uW, -40 dBm), so a dark fibre still reads as a power
# below every threshold rather than as no sample.
FLOOR_DBM = -40.0


def mw_to_dbm(milliwatts: float) -> float | None:
    """Optical power in mW as dBm (10 log10 mW); 0 as FLOOR_DBM; below 0 nothing (no
    power is negative: a sentinel the profile did not list, never a number)."""
    if milliwatts > 0:
        return 10.0 * math.log10(milliwatts)
    if milliwatts == 0:
        return FLOOR_DBM
    return None


# `transform:` of a metric: conversions no scale or offset can make, applied last
TRANSFORMS: dict[str, Callable[[float], float | None]] = {"mw_to_dbm": mw_to_dbm}


@lru_cache(maxsize=1024)
def split_scale(scale: float) -> tuple[float, float]:
    """A scale as (multiplier, divisor): 0.1 becomes (1, 10), so a reading of 232 tenths is
    computed as 232 / 10 = 23.2 (the double nearest the decimal) rather than
    232 x 0.1 = 23.200000000000003, which could cross a status threshold it should not."""
    if 0 < abs(scale) < 1:
        inverse = 1 / scale
        whole = round(inverse)
        if whole and abs(inverse - whole) <= 1e-9 * abs(inverse):
            return 1.0, float(whole)
    return float(scale), 1.0


class ScaleFrom(_Strict):
    """A multiplier (and an offset) read at poll time from another object of the device.

    `column`: a column of the same table, so each row has its own multiplier
    (hrStorageAllocationUnits, entPhySensorScale). `scalar`: one object for the whole device
    (the temperature unit a Geist monitor is set to). Without `factors` or `exponents` the
    object's value is the multiplier itself. A row whose object is missing, or has a value
    the maps do not list, gives no sample: a reading of unknown scale is never a number.
    """

    column: Oid | None = None
    scalar: Oid | None = None
    factors: dict[int, float] | None = None  # raw value -> multiplier
    exponents: dict[int, int] | None = None  # raw value -> power of ten
    offsets: dict[int, float] | None = None  # raw value -> added after multiplying

    @model_validator(mode="after")
    def _one_source(self) -> ScaleFrom:
        if (self.column is None) == (self.scalar is None):
            raise ValueError("scale_from: give exactly one of column, scalar")
        if self.factors is not None and self.exponents is not None:
            raise ValueError("scale_from: give factors or exponents, not both")
        return self

    def adjust(self, raw: float) -> tuple[float, float, float] | None:
        """(multiplier, divisor, offset) for the object's raw value, or None when the maps
        do not list it. Negative powers of ten come back as divisors (see split_scale)."""
        key = int(raw)
        mul, div = 1.0, 1.0
        if self.factors is not None:
            if key not in self.factors:
                return None
            mul, div = split_scale(self.factors[key])
        elif self.exponents is not None:
            if key not in self.exponents:
                return None
            exponent = self.exponents[key]
            if exponent >= 0:
                mul = 10.0**exponent
            else:
                div = 10.0**-exponent
        else:
            mul = float(raw)
        if self.offsets is not None:
            if key not in self.offsets:
                return None
            return mul, div, self.offsets[key]
        return mul, div, 0.0


class NamedAs(_Strict):
    """The metric a row becomes under `name_by`, with its own extra scale (percent -> ratio)."""

    name: MetricName
    scale: float = 1.0
    help: str = ""

    @property
    def mul_div(self) -> tuple[float, float]:
        return split_scale(self.scale)


class NameBy(_Strict):
    """Per-row metric name from a type column (entPhySensorType: celsius, voltsDC ...).

    Rows whose type is not listed give no sample.
    """

    column: Oid
    names: dict[int, NamedAs]

    @field_validator("names", mode="before")
    @classmethod
    def _plain_names(cls, value: object) -> object:
        if isinstance(value, dict):
            return {k: {"name": v} if isinstance(v, str) else v for k, v in value.items()}
        return value


class OnlyIf(_Strict):
    """A row gives a sample only while another column of it holds one of these values
    (entPhySensorOperStatus ok, a Geist sensor that is available)."""

    column: Oid
    in_: list[int] = Field(alias="in", min_length=1)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class MetricDef(_Strict):
    """One value: a scalar OID (ends in .0 as GET asks it) or a table column."""

    name: MetricName
    oid: Oid
    help: str = ""
    type: Literal["gauge", "counter"] = "gauge"
    scale: float = 1.0  # multiply the raw value (tenths of a degree -> 0.1)
    offset: float = 0.0  # then add (rarely needed)
    # raw integer -> state name; status rules compare against the names
    enum: dict[int, str] | None = None
    # `value`: one series carrying the raw number; `state_set`: one series per state, 1 or 0
    enum_as: Literal["value", "state_set"] = "value"
    # raw values the device uses to say "cannot measure" (-1 on a PDU without voltage
    # sensing): they give no sample, never a bogus number
    unavailable: list[int] = Field(default_factory=list)
    # applied after scale and offset: `mw_to_dbm` turns milliwatts into dBm (an optic that
    # reports uW: scale 0.001, then mw_to_dbm); see TRANSFORMS
    transform: Literal["mw_to_dbm"] | None = None
    # what the reboot detector reads: sysUpTime, snmpEngineBoots, hrSystemUptime
    role: Literal["uptime", "engine_boots", "host_uptime"] | None = None
    # --- optional per-row arithmetic, read from other objects at poll time (tables) ---
    scale_from: ScaleFrom | None = None
    # a column holding decimal places (EntitySensorPrecision): 1..9 divide by 10^p, others 1
    precision_from: Oid | None = None
    name_by: NameBy | None = None
    only_if: OnlyIf | None = None
    # constant labels on every sample of this metric, so that objects the MIB splits into
    # atsStatusSourceAStatus and atsStatusSourceBStatus become ats_source_status{source=...}
    labels: dict[LabelName, str] = Field(default_factory=dict)
    # the name status rules use for this metric (default: `name`); needed when two
    # definitions share a name and differ by their constant labels
    id: MetricName | None = None
    # read scale_from/precision_from/name_by/only_if columns at the first `row_of` arcs of
    # this row's index: the row of a parent table (a sensor's threshold, indexed
    # (entPhysicalIndex, thresholdIndex), takes the sensor's own scale and precision)
    row_of: int | None = Field(default=None, ge=1, le=16)

    @property
    def key(self) -> str:
        """What status rules call this metric."""
        return self.id or self.name

    @property
    def mul_div(self) -> tuple[float, float]:
        return split_scale(self.scale)

    @model_validator(mode="after")
    def _counter_named_total(self) -> MetricDef:
        for name in self.all_names():
            if self.type == "counter" and not name.endswith("_total"):
                raise ValueError(f"counter {name!r} must end in _total")
        if self.enum_as == "state_set" and not self.enum:
            raise ValueError("enum_as: state_set needs an enum")
        if self.enum is not None and (self.name_by or self.scale_from or self.precision_from):
            raise ValueError("an enum metric cannot use name_by, scale_from or precision_from")
        if self.name_by is not None and self.id is not None:
            raise ValueError("name_by metrics are known to rules by their per-row names; no id")
        if "state" in self.labels:
            raise ValueError("'state' is the label of state sets")
        if self.transform is not None and (self.enum is not None or self.type == "counter"):
            raise ValueError("a transform applies to a gauge's value, not to an enum or a "
                             "counter")
        return self

    def all_names(self) -> list[str]:
        """The names status rules know this definition by (its key, or one per name_by
        entry, which are also the sample names)."""
        if self.name_by is None:
            return [self.key]
        return list(dict.fromkeys(n.name for n in self.name_by.names.values()))

    @property
    def row_columns(self) -> list[str]:
        """Columns of the same table this metric reads per row besides its own."""
        cols = []
        if self.scale_from is not None and self.scale_from.column:
            cols.append(self.scale_from.column)
        if self.precision_from:
            cols.append(self.precision_from)
        if self.name_by is not None:
            cols.append(self.name_by.column)
        if self.only_if is not None:
            cols.append(self.only_if.column)
        return cols

    @property
    def per_row(self) -> bool:
        """Whether mapping a reading needs more than the reading itself."""
        return bool(self.row_columns) or self.scale_from is not None


class InfoDef(_Strict):
    """An `_info` series whose labels are string values (sysDescr, firmware, serial)."""

    name: MetricName
    help: str = ""
    labels: dict[LabelName, Oid]
    # label -> how its octets are read (text by default; auto: text if printable, else hex)
    formats: dict[LabelName, Literal["text", "hex", "auto"]] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _info_suffix(cls, value: str) -> str:
        if not value.endswith("_info"):
            raise ValueError(f"info metric {value!r} must end in _info")
        return value


class IndexPart(_Strict):
    """How a piece of a table row's index becomes a label."""

    label: LabelName
    # int: one arc; ipv4: four arcs; string: a length arc then that many character arcs;
    # implied_string: the rest of the index as characters
    type: Literal["int", "ipv4", "string", "implied_string"] = "int"
    # decoded text -> label text ("1": A, "2": B for an ATS's two sources)
    map: dict[str, str] | None = None


class LabelDef(_Strict):
    """A column whose value labels each row (ifName, the phase number, a sensor name)."""

    label: LabelName
    oid: Oid
    # auto: text when the octets are printable UTF-8, else hex (an LLDP chassis id is a MAC
    # address or a name, as its subtype says)
    format: Literal["text", "hex", "number", "auto"] = "text"
    # longer values are refused (the row gets no such label): text from the network is
    # bounded before it becomes a label (LLDP-MIB's strings are SIZE (0..255))
    max_length: int | None = Field(default=None, ge=1, le=65535)
    # a second column read where this one is missing or empty (entPhysicalDescr for a
    # sensor without an entPhysicalName)
    fallback: Oid | None = None
    # text -> label text (an OID value such as hrStorageType -> a short name)
    map: dict[str, str] | None = None

    @field_validator("map", mode="before")
    @classmethod
    def _text_keys(cls, value: object) -> object:
        if isinstance(value, dict):
            return {str(k): str(v) for k, v in value.items()}
        return value


class Condition(_Strict):
    """One test on one metric's latest value (in the same row, or the scalars)."""

    metric: MetricName
    # enum names (or raw numbers) that match
    in_: list[str | int] | None = Field(default=None, alias="in")
    not_in: list[str | int] | None = None
    above: float | str | None = None  # a number, or the name of another metric
    below: float | str | None = None
    at_least: float | str | None = None
    at_most: float | str | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _one_test(self) -> Condition:
        tests = [self.in_, self.not_in, self.above, self.below, self.at_least, self.at_most]
        if sum(t is not None for t in tests) != 1:
            raise ValueError("give exactly one of in, not_in, above, below, at_least, at_most")
        return self


class When(_Strict):
    all: list[Condition | When] | None = None
    any: list[Condition | When] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> When:
        if (self.all is None) == (self.any is None):
            raise ValueError("give either all or any")
        return self


class StatusRule(_Strict):
    when: Condition | When
    status: Literal["degraded", "failed", "unknown"]
    # machine-readable tag for the tier engine, alerts and the report (on_battery, bypass ...)
    condition: str | None = None
    reason: str = ""  # human text; {label} placeholders take the row's labels


class TableDef(_Strict):
    name: str
    index: list[IndexPart] = Field(default_factory=lambda: [IndexPart(label="index")])
    labels: list[LabelDef] = Field(default_factory=list)
    metrics: list[MetricDef] = Field(default_factory=list)
    # component name per row, from the row's labels: "phase {phase}", "port {ifName}"
    component: str | None = None
    status: list[StatusRule] = Field(default_factory=list)
    # whether a row's status counts toward the device's own status (a PDU phase does;
    # an access port that is down does not make the switch down)
    rollup: bool = True

    @model_validator(mode="after")
    def _component_with_rules(self) -> TableDef:
        if self.status and not self.component:
            raise ValueError(f"table {self.name!r}: status rules need a component template")
        return self


class ProfileDef(_Strict):
    name: str
    description: str = ""
    # sysObjectID prefixes that select this profile for `profile: auto`
    sys_object_id: list[Oid] = Field(default_factory=list)
    # OIDs (instances, asked with GET) whose answer also selects it: a vendor MIB behind a
    # generic sysObjectID (a UPS card that says it is Net-SNMP on Linux)
    detect: list[Oid] = Field(default_factory=list)
    include: list[str] = Field(default_factory=list)  # profiles always polled alongside
    component: str | None = None  # component that the scalar status rules describe
    scalars: list[MetricDef] = Field(default_factory=list)
    info: list[InfoDef] = Field(default_factory=list)
    tables: list[TableDef] = Field(default_factory=list)
    status: list[StatusRule] = Field(default_factory=list)
    # trap OIDs this profile understands (used by the trap receiver)
    traps: list[dict[str, Any]] = Field(default_factory=list)

    @model_validator(mode="after")
    def _rules_reference_metrics(self) -> ProfileDef:
        for metric in self.scalars:
            if metric.row_columns:
                raise ValueError(
                    f"scalar {metric.name!r}: name_by, precision_from, only_if and "
                    f"scale_from.column need a table row; use scale_from.scalar")
        for metrics, where in [(self.scalars, "scalars"),
                               *((t.metrics, f"table {t.name!r}") for t in self.tables)]:
            keys = [m.key for m in metrics if m.name_by is None]
            doubled = sorted({k for k in keys if keys.count(k) > 1})
            if doubled:
                raise ValueError(f"{where}: {doubled} defined twice; give each an `id`")
        scalar_names = {m.key for m in self.scalars}
        for rule in self.status:
            for name in rule_metric_names(rule.when):
                if name not in scalar_names:
                    raise ValueError(f"status rule refers to unknown scalar metric {name!r}")
        for table in self.tables:
            names = {n for m in table.metrics for n in m.all_names()} | scalar_names
            for rule in table.status:
                for name in rule_metric_names(rule.when):
                    if name not in names:
                        raise ValueError(
                            f"table {table.name!r}: status rule refers to unknown metric {name!r}"
                        )
            labels = {p.label for p in table.index} | {lab.label for lab in table.labels}
            for field_name in _template_fields(table.component or ""):
                if field_name not in labels:
                    raise ValueError(
                        f"table {table.name!r}: component template uses {{{field_name}}}, "
                        f"which is not a label of the table"
                    )
        if self.status and not self.component:
            raise ValueError("scalar status rules need `component:`")
        return self


def rule_metric_names(when: Condition | When) -> list[str]:
    """Every metric a rule condition reads (compared, or compared against)."""
    if isinstance(when, Condition):
        names = [when.metric]
        for ref in (when.above, when.below, when.at_least, when.at_most):
            if isinstance(ref, str):
                names.append(ref)
        return names
    out: list[str] = []
    for item in when.all or when.any or []:
        out.extend(rule_metric_names(item))
    return out


def _template_fields(template: str) -> list[str]:
    return [f for _, f, _, _ in string.Formatter().parse(template) if f]


# --------------------------------------------------------------------------- value helpers

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def as_number(value: Value) -> float | None:
    """A numeric reading, or None (missing, or text that is not a number)."""
    if type(value) is int:
        return value
    if isinstance(value, bytes):
        try:
            return float(value.decode("ascii").strip())
        except (UnicodeDecodeError, ValueError):
            return None
    return None


def as_text(value: Value, fmt: str = "text") -> str | None:
    if value is None or isinstance(value, Missing):
        return None
    if isinstance(value, bytes):
        if fmt == "hex":
            return value.hex(":")
        if fmt == "auto":
            try:
                decoded = value.decode("utf-8")
            except UnicodeDecodeError:
                return value.hex(":")
            if not decoded.isprintable():
                return value.hex(":")
        text = value.decode("utf-8", errors="replace").rstrip("\x00").strip()
        return text if text.isprintable() else _CONTROL.sub("", text)
    if fmt == "hex" and isinstance(value, int):
        return f"{value:x}"
    return str(value)


def decode_index(suffix: str, parts: list[IndexPart]) -> dict[str, str] | None:
    """Row index suffix ('3' or '4.101.116.104.48') -> labels, or None if it does not fit."""
    arcs = suffix.split(".")
    labels: dict[str, str] = {}
    pos = 0
    try:
        for part in parts:
            if part.type == "int":
                labels[part.label] = arcs[pos]
                pos += 1
            elif part.type == "ipv4":
                labels[part.label] = ".".join(arcs[pos : pos + 4])
                if len(arcs[pos : pos + 4]) != 4:
                    return None
                pos += 4
            elif part.type == "string":
                length = int(arcs[pos])
                chars = arcs[pos + 1 : pos + 1 + length]
                if len(chars) != length:
                    return None
                labels[part.label] = "".join(chr(int(c)) for c in chars)
                pos += 1 + length
            else:  # implied_string
                labels[part.label] = "".join(chr(int(c)) for c in arcs[pos:])
                pos = len(arcs)
            if part.map is not None:
                text = labels[part.label]
                labels[part.label] = part.map.get(text, text)
    except (IndexError, ValueError):
        return None
    return labels if pos == len(arcs) else None


def precision_divisor(raw: float) -> float:
    """EntitySensorPrecision (RFC 3433): 1..9 are decimal places; 0 and -8..-1 (a count of
    accurate digits) leave the value as it is."""
    places = int(raw)
    return 10.0**places if 1 <= places <= 9 else 1.0


Test = Callable[[Mapping[str, float], Mapping[str, str]], "bool | None"]


@dataclass(frozen=True)
class CompiledRule:
    when: Condition | When
    status: str
    condition: str | None
    reason: str
    test: Test = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "test", compile_when(self.when))

    def matches(self, values: Mapping[str, float], names: Mapping[str, str]) -> bool | None:
        """True/False, or None when a metric the rule needs has no value."""
        return self.test(values, names)


def compile_when(when: Condition | When) -> Test:
    """The condition as a function of (values, enum names): what `_eval` answers, with
    the walk over the condition tree and its sets of wanted names done once."""
    if isinstance(when, When):
        parts = [compile_when(item) for item in (when.all or when.any or [])]
        if when.all is not None:
            def all_of(values: Mapping[str, float], names: Mapping[str, str]) -> bool | None:
                unknown = False
                for part in parts:
                    result = part(values, names)
                    if result is False:
                        return False
                    if result is None:
                        unknown = True
                return None if unknown else True
            return all_of

        def any_of(values: Mapping[str, float], names: Mapping[str, str]) -> bool | None:
            unknown = False
            for part in parts:
                result = part(values, names)
                if result is True:
                    return True
                if result is None:
                    unknown = True
            return None if unknown else False
        return any_of
    metric = when.metric
    if when.in_ is not None or when.not_in is not None:
        wanted = when.in_ if when.in_ is not None else when.not_in
        assert wanted is not None
        wanted_names = frozenset(w for w in wanted if isinstance(w, str))
        wanted_numbers = frozenset(w for w in wanted if not isinstance(w, str))
        negate = when.in_ is None

        def member(values: Mapping[str, float], names: Mapping[str, str]) -> bool | None:
            value = values.get(metric)
            if value is None:
                return None
            hit = names.get(metric) in wanted_names or value in wanted_numbers
            return not hit if negate else hit
        return member
    return lambda values, names: _eval(when, values, names)  # thresholds: rare, no gain


def _eval(when: Condition | When, values: Mapping[str, float], names: Mapping[str, str]
          ) -> bool | None:
    if isinstance(when, When):
        results = [_eval(item, values, names) for item in (when.all or when.any or [])]
        if when.all is not None:
            if any(r is False for r in results):
                return False
            return None if any(r is None for r in results) else True
        if any(r is True for r in results):
            return True
        return None if any(r is None for r in results) else False
    value = values.get(when.metric)
    if value is None:
        return None
    if when.in_ is not None or when.not_in is not None:
        wanted = when.in_ if when.in_ is not None else when.not_in
        assert wanted is not None
        name = names.get(when.metric)
        hit = any((name == w) if isinstance(w, str) else (value == w) for w in wanted)
        return hit if when.in_ is not None else not hit
    for threshold, op in ((when.above, float.__gt__), (when.below, float.__lt__),
                          (when.at_least, float.__ge__), (when.at_most, float.__le__)):
        if threshold is None:
            continue
        limit = values.get(threshold) if isinstance(threshold, str) else threshold
        if limit is None:
            return None
        return bool(op(float(value), float(limit)))
    return None


class Profile:
    """A loaded profile with its lookups compiled for the poller's hot path."""

    def __init__(self, definition: ProfileDef) -> None:
        self.definition = definition
        self.name = definition.name
        self.rules = [CompiledRule(r.when, r.status, r.condition, r.reason)
                      for r in definition.status]

    @cached_property
    def get_oids(self) -> list[str]:
        oids = [m.oid for m in self.definition.scalars]
        for info in self.definition.info:
            oids.extend(info.labels.values())
        metrics = [*self.definition.scalars,
                   *(m for t in self.definition.tables for m in t.metrics)]
        oids.extend(m.scale_from.scalar for m in metrics if m.scale_from and m.scale_from.scalar)
        return list(dict.fromkeys(oids))

    @cached_property
    def walk_roots(self) -> list[str]:
        roots: list[str] = []
        for table in self.definition.tables:
            for lab in table.labels:
                roots.append(lab.oid)
                if lab.fallback:
                    roots.append(lab.fallback)
            for m in table.metrics:
                roots.append(m.oid)
                roots.extend(m.row_columns)
        return list(dict.fromkeys(roots))

    def __repr__(self) -> str:
        return f"Profile({self.name!r})"


def parse_profile(data: object) -> ProfileDef:
    return ProfileDef.model_validate(data)
