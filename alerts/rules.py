"""Loading rule files for the built-in engine: Prometheus' own format, so each alert is
written once and both Prometheus and tierwatch evaluate the very same file.

    alerts/rules/tierwatch.rules.yml     the shipped alerts (promtool-tested)
    alerts/rules/tierwatch.inhibit.yml   Alertmanager's inhibit_rules, which the built-in
                                         engine applies itself
    site files (*.rules.yml)             listed in alerts.rule_files

Every `expr` is parsed by promql-parser and compiled by alerts/promql.py. An expression
outside the subset the engine evaluates, an unknown metric, a missing severity, subsystem
or annotation, a template the engine cannot render: each is refused at load, and every
problem names its file, line and rule:

    site.rules.yml:14: rule X: expr: function 'predict_linear' is not supported by the
    built-in engine

A file in the old YAML condition language (alerts/legacy_rules.py, deprecated) still loads
for this release, with a warning naming it; the next release refuses it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Protocol

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from alerts import template
from alerts.catalog import known_metrics
from alerts.config import SHIPPED_RULE_FILES, SHIPPED_RULES_DIR
from alerts.matchers import Matcher, MatcherError
from alerts.promql import PromQLError, Query, Source, Unsupported, Vector, compile_node, parse
from alerts.promrules import REQUIRED_ANNOTATIONS, SEVERITIES, alert_problems, duration
from tierwatch.core.configerrors import line_index, nearest_line, pydantic_problems

PROMETHEUS_RULES, INHIBIT_RULES = SHIPPED_RULE_FILES
RULE_TESTS = SHIPPED_RULES_DIR / "tierwatch.rules.test.yml"

__all__ = ["INHIBIT_RULES", "PROMETHEUS_RULES", "REQUIRED_ANNOTATIONS", "RULE_TESTS",
           "SEVERITIES", "InhibitRule", "Rule", "RuleError", "RuleLoader", "RuleSet",
           "check_rule_files", "deprecated_rule_files", "load_rule_files"]

_ALERT_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
_METRIC_NAME = r"^[a-zA-Z_:][a-zA-Z0-9_:]*$"
DEPRECATION = ("written in the YAML condition language, which is deprecated and goes in the "
               "next release: write its rules in Prometheus format (*.rules.yml, "
               "docs/alerting.md)")


class RuleLoader(yaml.SafeLoader):
    """YAML 1.2 booleans: only true and false. PyYAML's YAML 1.1 reads `on:` and `off`,
    `yes`, `no` as booleans, which Prometheus (Go's YAML) does not."""


RuleLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
RuleLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"))


# --------------------------------------------------------------------------- file schemas


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _duration(value: object) -> float:
    return duration(value)


PromDuration = Annotated[float, BeforeValidator(_duration)]


class PromRuleDef(_Strict):
    """A rule as Prometheus reads it (rulefmt.RuleNode)."""

    alert: str | None = Field(default=None, pattern=_ALERT_NAME)
    record: str | None = Field(default=None, pattern=_METRIC_NAME)
    expr: str = Field(min_length=1)
    for_: PromDuration = Field(default=0.0, alias="for")
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _alert_or_record(self) -> PromRuleDef:
        if (self.alert is None) == (self.record is None):
            raise ValueError("give exactly one of alert and record")
        if self.record is not None and (self.for_ or self.annotations):
            raise ValueError("a recording rule has no for and no annotations")
        return self


class PromGroupDef(_Strict):
    name: str = Field(min_length=1)
    interval: PromDuration | None = None
    limit: int | None = None
    rules: list[PromRuleDef] = Field(default_factory=list)


class PromFileDef(_Strict):
    groups: list[PromGroupDef] = Field(default_factory=list)


class InhibitDef(_Strict):
    source_matchers: list[str] = Field(min_length=1)
    target_matchers: list[str] = Field(min_length=1)
    equal: list[str] = Field(default_factory=list)


class InhibitFileDef(_Strict):
    inhibit_rules: list[InhibitDef] = Field(default_factory=list)


# --------------------------------------------------------------------------- loaded rules


class RuleExpr(Protocol):
    """What the engine needs of an expression (alerts/promql.Query, or a deprecated one)."""

    def eval(self, src: Source) -> Vector: ...

    def metrics(self) -> set[str]: ...

    def windows(self) -> dict[str, float]: ...


@dataclass(frozen=True)
class Rule:
    name: str
    group: str
    expr: RuleExpr
    for_: float
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    file: str

    @property
    def severity(self) -> str:
        return self.labels.get("severity", "")


@dataclass(frozen=True)
class InhibitRule:
    source: tuple[Matcher, ...]
    target: tuple[Matcher, ...]
    equal: tuple[str, ...]


@dataclass
class RuleSet:
    rules: list[Rule] = field(default_factory=list)
    inhibit: list[InhibitRule] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def metrics(self) -> set[str]:
        return set().union(*(r.expr.metrics() for r in self.rules)) if self.rules else set()

    def windows(self) -> dict[str, float]:
        """Metric -> the longest window a range function reads it over."""
        out: dict[str, float] = {}
        for rule in self.rules:
            for name, seconds in rule.expr.windows().items():
                out[name] = max(out.get(name, 0.0), seconds)
        return out

    def names(self) -> list[str]:
        return list(dict.fromkeys(r.name for r in self.rules))


class RuleError(Exception):
    """Rule files that cannot be used; `problems` are complete lines naming file and rule."""

    def __init__(self, problems: list[str], warnings: list[str] | None = None) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems
        self.warnings = warnings or []


# --------------------------------------------------------------------------- loading


@dataclass
class _Context:
    """One file being loaded: where its keys are, and what the checks need."""

    path: Path
    data: Any
    lines: dict[str, int]
    known: Mapping[str, frozenset[str]]  # metric -> labels it always carries
    engine: bool  # False: the file is for Prometheus alone (no subset, no template checks)

    def where(self, key: str) -> str:
        line = nearest_line(self.lines, key)
        return f"{self.path}:{line}" if line else str(self.path)

    def rule_name(self, key: str) -> str:
        found = re.match(r"groups\[(\d+)\]\.rules\[(\d+)\]", key)
        if not found or not isinstance(self.data, dict):
            return ""
        try:
            rule = self.data["groups"][int(found.group(1))]["rules"][int(found.group(2))]
            return f"rule {rule.get('alert') or rule.get('record')}: "
        except (KeyError, IndexError, TypeError, AttributeError):
            return ""

    def pydantic(self, exc: ValidationError) -> list[str]:
        return [f"{self.where(key)}: {self.rule_name(key)}{key}: {msg}"
                for key, msg in pydantic_problems(exc)]


def _read(path: Path) -> tuple[Any, Any] | str:
    """(YAML node tree, data), or the problem line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        return f"{path}: cannot read: {exc.strerror or exc}"
    try:
        return yaml.compose(text, Loader=RuleLoader), yaml.load(text, Loader=RuleLoader) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        return f"{at}: not valid YAML: {getattr(exc, 'problem', None) or exc}"


def _is_legacy(data: Any) -> bool:
    """The old condition language: some rule's expr is a mapping, not PromQL text."""
    if not isinstance(data, dict) or not isinstance(data.get("groups"), list):
        return False
    for group in data["groups"]:
        rules = group.get("rules") if isinstance(group, dict) else None
        for rule in rules if isinstance(rules, list) else []:
            if isinstance(rule, dict) and isinstance(rule.get("expr"), dict):
                return True
    return False


def _load(paths: Iterable[Path], profile_dirs: Iterable[Path], engine: bool
          ) -> tuple[RuleSet, list[str]]:
    known = {name: info.labels for name, info in known_metrics(profile_dirs).items()}
    ruleset = RuleSet()
    problems: list[str] = []
    for path in paths:
        path = Path(path)
        read = _read(path)
        if isinstance(read, str):
            problems.append(read)
            continue
        root, data = read
        if not isinstance(data, dict):
            problems.append(f"{path}:1: a rule file is a mapping (groups: or inhibit_rules:)")
            continue
        ctx = _Context(path, data, line_index(root), known, engine)
        if _is_legacy(data):
            from alerts import legacy_rules  # deprecated: goes in the next release

            ruleset.warnings.append(f"{path}: {DEPRECATION}")
            problems.extend(legacy_rules.load(ctx, ruleset))
        elif "inhibit_rules" in data and "groups" not in data:
            problems.extend(_load_inhibit(ctx, ruleset))
        else:
            problems.extend(_load_prometheus(ctx, ruleset))
        ruleset.files.append(path)
    return ruleset, problems


def load_rule_files(paths: Iterable[Path], profile_dirs: Iterable[Path] = ()) -> RuleSet:
    """Load and check every file for the built-in engine; RuleError lists every problem in
    all of them. Deprecation notes are in the RuleSet's `warnings`."""
    ruleset, problems = _load(paths, profile_dirs, engine=True)
    if problems:
        raise RuleError(problems, ruleset.warnings)
    return ruleset


def check_rule_files(paths: Iterable[Path], profile_dirs: Iterable[Path] = (),
                     prometheus_only: bool = False) -> tuple[list[str], list[str]]:
    """(problems, warnings). `prometheus_only`: the files are for Prometheus alone, so any
    PromQL and any template goes; metric names and required labels are still checked."""
    ruleset, problems = _load(paths, profile_dirs, engine=not prometheus_only)
    return problems, ruleset.warnings


def deprecated_rule_files(paths: Iterable[Path]) -> list[Path]:
    """Files written in the old condition language (read, not checked)."""
    out = []
    for path in paths:
        read = _read(Path(path))
        if not isinstance(read, str) and _is_legacy(read[1]):
            out.append(Path(path))
    return out


def _load_prometheus(ctx: _Context, out: RuleSet) -> list[str]:
    try:
        parsed = PromFileDef.model_validate(ctx.data)
    except ValidationError as exc:
        return ctx.pydantic(exc)
    problems: list[str] = []
    recorded = frozenset(r.record for g in parsed.groups for r in g.rules if r.record)
    seen: set[str] = set()
    for gi, group in enumerate(parsed.groups):
        gkey = f"groups[{gi}]"
        if group.name in seen:
            problems.append(f"{ctx.where(gkey + '.name')}: {gkey}.name: group {group.name!r} "
                            "is repeated in the file")
        seen.add(group.name)
        if ctx.engine:
            for key in ("interval", "limit"):
                if getattr(group, key) is not None:
                    problems.append(f"{ctx.where(f'{gkey}.{key}')}: {gkey}.{key}: not "
                                    "supported by the built-in engine (it evaluates every "
                                    "alerts.evaluate_every, without a limit)")
        for ri, rd in enumerate(group.rules):
            problems.extend(_load_rule(ctx, f"{gkey}.rules[{ri}]", group.name, rd,
                                       recorded, out))
    return problems


def _load_rule(ctx: _Context, key: str, group: str, rd: PromRuleDef,
               recorded: frozenset[str], out: RuleSet) -> list[str]:
    name = rd.alert or rd.record

    def problem(sub: str, message: str) -> str:
        return f"{ctx.where(f'{key}.{sub}')}: rule {name}: {sub}: {message}"

    try:
        ast = parse(rd.expr)
    except PromQLError as exc:
        return [problem("expr", f"not valid PromQL: {exc}")]
    if rd.record is not None:
        if ctx.engine:
            return [problem("record", "recording rules are not evaluated by the built-in "
                                      "engine (write the expression into the alert)")]
        return []
    problems = [problem(sub, msg) for sub, msg in
                alert_problems(rd.model_dump(by_alias=True), ast, ctx.known, recorded)]
    if not ctx.engine:
        return problems
    query: Query | None = None
    try:
        root = compile_node(ast)
        if root.kind != "vector":
            raise Unsupported("the expression must give an instant vector, not a number")
        query = Query(rd.expr, root)
    except Unsupported as exc:
        problems.append(problem("expr", str(exc)))
    for label, value in rd.labels.items():
        if not re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", label) or label.startswith("__"):
            problems.append(problem(f"labels.{label}", "not a valid label name"))
        if "{{" in value:
            problems.append(problem(f"labels.{label}", "labels are not templated"))
    for annotation, value in rd.annotations.items():
        try:
            template.check(value)
        except template.TemplateError as exc:
            problems.append(problem(f"annotations.{annotation}", str(exc)))
    if query is not None:
        assert rd.alert is not None
        out.rules.append(Rule(rd.alert, group, query, rd.for_, dict(rd.labels),
                              dict(rd.annotations), str(ctx.path)))
    return problems


def _load_inhibit(ctx: _Context, out: RuleSet) -> list[str]:
    try:
        parsed = InhibitFileDef.model_validate(ctx.data)
    except ValidationError as exc:
        return ctx.pydantic(exc)
    return add_inhibit_rules(ctx.where, parsed.inhibit_rules, out)


def add_inhibit_rules(where: Callable[[str], str], rules: Sequence[InhibitDef],
                      out: RuleSet) -> list[str]:
    problems = []
    for ii, inhibit in enumerate(rules):
        key = f"inhibit_rules[{ii}]"
        try:
            out.inhibit.append(InhibitRule(
                tuple(Matcher.parse(m) for m in inhibit.source_matchers),
                tuple(Matcher.parse(m) for m in inhibit.target_matchers),
                tuple(inhibit.equal)))
        except MatcherError as exc:
            problems.append(f"{where(key)}: {key}: {exc}")
    return problems
