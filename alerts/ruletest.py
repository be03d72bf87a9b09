"""Rule unit tests in promtool's own format, run by the built-in engine.

    rule_files: [tierwatch.rules.yml]
    evaluation_interval: 15s
    tests:
      - name: ...
        interval: 15s
        input_series:
          - {series: 'tierwatch_device_up{device="ups-a"}', values: "1 1 0x10 _ stale"}
        alert_rule_test:
          - eval_time: 1m30s
            alertname: DeviceUnreachable
            exp_alerts: [{exp_labels: {...}, exp_annotations: {...}}]
        promql_expr_test:
          - {expr: 'rate(x[5m])', eval_time: 5m, exp_samples: [{labels: '{device="a"}', value: 1}]}

`promtool test rules FILE` runs a file against Prometheus; `run_file(FILE)` runs the same
file against tierwatch's engine and answers what promtool would complain about (an empty
list when every test passes). So one fixture of series in gives the same alerts out on
both, and the engine is held to promtool's expectations, labels and annotations included.

As promtool 2.42 does: the series are loaded at `interval` steps (`a+bxN` is N+1 values
from a by b, `axN` N+1 times a, `_` a missing sample, `_xN` N of them, `stale` a staleness
marker); rules are evaluated every `evaluation_interval` from 0 to the last eval_time, and
an alert test at eval_time t is checked against the evaluation at the last step <= t; an
instant selector looks back 5 minutes (both ends included), a range [t - w, t].
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import promql_parser as pp
import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from alerts.engine import Alert, AlertState, evaluate
from alerts.promql import PromQLError, Span, Unsupported, compile_node, parse
from alerts.promrules import duration
from alerts.rules import RuleError, RuleSet, load_rule_files
from tierwatch.core.configerrors import pydantic_problems
from tierwatch.core.model import Sample

LOOKBACK = 300.0  # Prometheus' default lookback delta

PromDuration = Annotated[float, BeforeValidator(duration)]


def _scalar_text(value: object) -> object:
    """promtool's YAML reads `if_index: 1` as the string "1": so does this reader."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if isinstance(value, int | float) else value


Text = Annotated[str, BeforeValidator(_scalar_text)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SeriesDef(_Strict):
    series: str
    values: str = ""


class ExpAlert(_Strict):
    exp_labels: dict[str, Text] = Field(default_factory=dict)
    exp_annotations: dict[str, Text] = Field(default_factory=dict)


class AlertTest(_Strict):
    eval_time: PromDuration = 0.0
    alertname: str = Field(min_length=1)
    exp_alerts: list[ExpAlert] = Field(default_factory=list)


class ExpSample(_Strict):
    labels: str
    value: float


class ExprTest(_Strict):
    expr: str
    eval_time: PromDuration = 0.0
    exp_samples: list[ExpSample] = Field(default_factory=list)


class RuleTestGroup(_Strict):
    name: str = ""
    interval: PromDuration | None = None
    input_series: list[SeriesDef] = Field(default_factory=list)
    alert_rule_test: list[AlertTest] = Field(default_factory=list)
    promql_expr_test: list[ExprTest] = Field(default_factory=list)


class RuleTestFile(_Strict):
    rule_files: list[str] = Field(default_factory=list)
    evaluation_interval: PromDuration = 60.0
    group_eval_order: list[str] = Field(default_factory=list)  # alerting rules only: moot
    tests: list[RuleTestGroup] = Field(default_factory=list)


class RuleTestError(ValueError):
    pass


# --------------------------------------------------------------------------- input series

_NUM = r"(?:(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[iI][nN][fF]|[nN][aA][nN])"
_ITEM = re.compile(rf"^(?:_(?:x(?P<blanks>\d+))?"
                   rf"|(?P<value>stale|[+-]?{_NUM})(?:(?P<step>[+-]{_NUM})?x(?P<times>\d+))?)$")


def expand(values: str) -> list[float | str | None]:
    """promtool's notation, one entry per interval: a number, None where `_` (no sample),
    "stale" for a staleness marker."""
    out: list[float | str | None] = []
    for token in values.split():
        found = _ITEM.match(token)
        if found is None:
            raise RuleTestError(f"{token!r} in {values!r} is not a series value (write 1, "
                                "1.5, -2, 1+2x3, 0x10, _, _x3 or stale)")
        if found.group(0).startswith("_"):
            out.extend([None] * int(found.group("blanks") or 1))
            continue
        text, times = found.group("value"), found.group("times")
        if text == "stale":
            if found.group("step"):
                raise RuleTestError(f"{token!r}: stale cannot be counted up")
            out.extend(["stale"] * (int(times) + 1 if times else 1))
            continue
        value = float(text)
        if times is None:
            out.append(value)
            continue
        step = float(found.group("step") or 0.0)
        for _ in range(int(times) + 1):
            out.append(value)
            value += step  # accumulated, as promtool does (0.1+0.1x3 ends 0.30000000000000004)
    return out


def parse_series(text: str) -> tuple[str, dict[str, str]]:
    """`name{label="value", ...}` -> (name, labels); promql-parser reads it."""
    try:
        node = parse(text)
    except PromQLError as exc:
        raise RuleTestError(f"{text!r}: {exc}") from None
    if not isinstance(node, pp.VectorSelector) or node.offset or node.at:
        raise RuleTestError(f"{text!r} is not a series (write name{{label=\"value\"}})")
    name, labels = node.name or "", {}
    for m in node.matchers.matchers:
        if m.op != pp.MatchOp.Equal:
            raise RuleTestError(f"{text!r}: a series has labels (=), not matchers")
        if m.name == "__name__":
            name = m.value
        else:
            labels[m.name] = m.value
    return name, labels


@dataclass
class Series:
    name: str
    labels: dict[str, str]
    times: list[float]
    values: list[float | None]  # None: a staleness marker


def load_series(group: RuleTestGroup, interval: float) -> dict[str, list[Series]]:
    out: dict[str, list[Series]] = {}
    for item in group.input_series:
        name, labels = parse_series(item.series)
        series = Series(name, labels, [], [])
        for i, value in enumerate(expand(item.values)):
            if value is None:
                continue
            series.times.append(i * interval)
            series.values.append(None if value == "stale" else float(value))
        out.setdefault(name, []).append(series)
    return out


@dataclass(frozen=True)
class StoredSource:
    """The input series as Prometheus' storage answers an evaluation at `now`."""

    series: Mapping[str, Sequence[Series]]
    now: float

    def instant(self, name: str) -> Sequence[Sample]:
        out = []
        for s in self.series.get(name, ()):
            latest = None
            for t, v in zip(s.times, s.values, strict=True):
                if t > self.now:
                    break
                latest = (t, v)
            if latest is None or latest[0] < self.now - LOOKBACK or latest[1] is None:
                continue
            out.append(Sample(name, s.labels, latest[1], latest[0]))
        return out

    def window(self, name: str, seconds: float, keep: Callable[[Mapping[str, str]], bool]
               ) -> Iterable[tuple[Mapping[str, str], Span]]:
        for s in self.series.get(name, ()):
            if not keep(s.labels):
                continue
            points = [(t, v) for t, v in zip(s.times, s.values, strict=True)
                      if self.now - seconds <= t <= self.now and v is not None]
            if points:
                yield s.labels, Span([t for t, _ in points], [v for _, v in points])


# --------------------------------------------------------------------------- running


def _alerts_text(items: Sequence[tuple[Mapping[str, str], Mapping[str, str]]]) -> str:
    if not items:
        return "[]"
    return "[\n" + ",\n".join(
        f"  {i}: labels {dict(labels)}\n     annotations {dict(annotations)}"
        for i, (labels, annotations) in enumerate(items)) + "\n]"


def _sorted(items: Iterable[tuple[Mapping[str, str], Mapping[str, str]]]
            ) -> list[tuple[dict[str, str], dict[str, str]]]:
    return sorted(((dict(a), dict(b)) for a, b in items),
                  key=lambda p: (sorted(p[0].items()), sorted(p[1].items())))


def run_group(group: RuleTestGroup, ruleset: RuleSet, evaluation_interval: float) -> list[str]:
    """What promtool would report for one test group (empty: it passes)."""
    title = f"    name: {group.name},\n" if group.name else ""
    try:
        series = load_series(group, group.interval or evaluation_interval)
    except RuleTestError as exc:
        return [f"{title}    {exc}"]
    failures: list[str] = []
    times = sorted({t.eval_time for t in group.alert_rule_test})
    tests_at: dict[float, list[AlertTest]] = {}
    for test in group.alert_rule_test:
        tests_at.setdefault(test.eval_time, []).append(test)
    last = max([t.eval_time for t in group.alert_rule_test]
               + [t.eval_time for t in group.promql_expr_test], default=0.0)
    step = evaluation_interval
    active: dict[str, Alert] = {}
    curr, k = 0, 0
    while k * step <= last + 1e-9:
        ts = k * step
        result = evaluate(ruleset.rules, StoredSource(series, ts), ts, active)
        if result.errors:
            return failures + [f"    rule: {rule.name}, time: {ts}s, err: {error}"
                               for rule, error in result.errors]
        active = result.active
        while curr < len(times) and ts <= times[curr] < ts + step:
            firing = [a for a in active.values() if a.state == AlertState.FIRING]
            for test in tests_at[times[curr]]:
                got = _sorted((a.labels, a.annotations) for a in firing
                              if a.name == test.alertname)
                want = _sorted(({**e.exp_labels, "alertname": test.alertname},
                                e.exp_annotations) for e in test.exp_alerts)
                if got != want:
                    failures.append(f"{title}    alertname: {test.alertname}, time: "
                                    f"{_duration_text(test.eval_time)},\n        exp: "
                                    f"{_alerts_text(want)},\n        got: {_alerts_text(got)}")
            curr += 1
        k += 1
    for expr_test in group.promql_expr_test:
        failures.extend(_expr_test(title, expr_test, series))
    return failures


def _expr_test(title: str, test: ExprTest, series: Mapping[str, Sequence[Series]]
               ) -> list[str]:
    at = f"{title}    expr: {test.expr!r}, time: {_duration_text(test.eval_time)}"
    try:
        root = compile_node(parse(test.expr))
    except (PromQLError, Unsupported) as exc:
        return [f"{at}, err: {exc}"]
    value = root.eval(StoredSource(series, test.eval_time))
    got_samples = [Sample("", {}, value)] if isinstance(value, float) else value
    got = sorted(((s.name, sorted(s.labels.items())), s.value) for s in got_samples)
    want = []
    for exp in test.exp_samples:
        try:
            name, labels = parse_series(exp.labels) if exp.labels.strip() not in ("", "{}") \
                else ("", {})
        except RuleTestError as exc:
            return [f"{at}, err: labels: {exc}"]
        want.append(((name, sorted(labels.items())), exp.value))
    want.sort()
    if len(got) != len(want) or any(
            g[0] != w[0] or not (g[1] == w[1] or (math.isnan(g[1]) and math.isnan(w[1])))
            for g, w in zip(got, want, strict=False)):
        return [f"{at},\n        exp: {want}\n        got: {got}"]
    return []


def _duration_text(seconds: float) -> str:
    whole = int(seconds)
    h, m, s = whole // 3600, whole // 60 % 60, whole % 60
    text = (f"{h}h" if h else "") + (f"{m}m" if m else "") + (f"{s}s" if s or not whole else "")
    return text


@dataclass
class FileResult:
    path: Path
    groups: list[RuleTestGroup] = field(default_factory=list)
    failures: dict[int, list[str]] = field(default_factory=dict)  # group index -> failures
    problems: list[str] = field(default_factory=list)  # the file itself cannot be used

    @property
    def ok(self) -> bool:
        return not self.problems and not any(self.failures.values())


def load_test_file(path: Path) -> tuple[RuleTestFile, RuleSet]:
    """The test file and the rules it names (paths relative to the file), loaded for the
    built-in engine; RuleTestError or RuleError when either cannot be used."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        spec = RuleTestFile.model_validate(data)
    except (OSError, yaml.YAMLError) as exc:
        raise RuleTestError(f"{path}: {exc}") from None
    except ValidationError as exc:
        raise RuleTestError("\n".join(f"{path}: {key}: {msg}"
                                      for key, msg in pydantic_problems(exc))) from None
    rule_paths: list[Path] = []
    for name in spec.rule_files:
        pattern = Path(name) if Path(name).is_absolute() else path.parent / name
        found = sorted(pattern.parent.glob(pattern.name))
        if not found:
            raise RuleTestError(f"{path}: rule_files: no file matches {name!r}")
        rule_paths.extend(found)
    return spec, load_rule_files(rule_paths)


def run_file(path: Path) -> FileResult:
    """Run every test group of a promtool test file with the built-in engine."""
    result = FileResult(path)
    try:
        spec, ruleset = load_test_file(path)
    except (RuleTestError, RuleError) as exc:
        result.problems = str(exc).splitlines()
        return result
    result.groups = list(spec.tests)
    for i, group in enumerate(spec.tests):
        result.failures[i] = run_group(group, ruleset, spec.evaluation_interval)
    return result
