"""Loading the built-in engine's rule files (alerts/rules/builtin.yml and site files).

The file has Prometheus' shape (groups of rules with alert, for, labels, annotations) and
Alertmanager's inhibition rules; only `expr` differs: it is data in the condition language
of alerts/expr.py. Everything is checked at load and every problem is reported with its file,
line and rule:

    alerts/rules/site.yml:14: rule UpsOnBattery: expr.series.name: unknown metric 'ups_on_batery'
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from alerts import template
from alerts.catalog import known_metrics
from alerts.expr import Expr, ExprDef, compile_expr
from alerts.matchers import Matcher, MatcherError
from tierwatch.core.configerrors import line_index, nearest_line, pydantic_problems
from tierwatch.core.configtypes import parse_duration

SHIPPED_DIR = Path(__file__).resolve().parent / "rules"
BUILTIN_RULES = SHIPPED_DIR / "builtin.yml"
PROMETHEUS_RULES = SHIPPED_DIR / "tierwatch.rules.yml"

SEVERITIES = ("critical", "warning", "info")
REQUIRED_ANNOTATIONS = ("summary", "summary_vi", "runbook", "runbook_vi")
_ALERT_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class RuleLoader(yaml.SafeLoader):
    """YAML 1.2 booleans: only true and false. PyYAML's YAML 1.1 reads `on:` (PromQL's word
    for the labels to match on) and `off`, `yes`, `no` as booleans."""


RuleLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
RuleLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"))


def _duration(value: object) -> float:
    seconds = parse_duration(value)
    if seconds < 0:
        raise ValueError("must not be negative")
    return seconds


class RuleDef(_Strict):
    alert: str = Field(pattern=_ALERT_NAME)
    expr: ExprDef
    for_: Annotated[float, BeforeValidator(_duration)] = Field(default=0.0, alias="for")
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)


class GroupDef(_Strict):
    name: str
    rules: list[RuleDef] = Field(min_length=1)


class InhibitDef(_Strict):
    source_matchers: list[str] = Field(min_length=1)
    target_matchers: list[str] = Field(min_length=1)
    equal: list[str] = Field(default_factory=list)


class RuleFileDef(_Strict):
    groups: list[GroupDef] = Field(default_factory=list)
    inhibit_rules: list[InhibitDef] = Field(default_factory=list)


@dataclass(frozen=True)
class Rule:
    name: str
    group: str
    expr: Expr
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

    def metrics(self) -> set[str]:
        return set().union(*(r.expr.metrics() for r in self.rules)) if self.rules else set()

    def names(self) -> list[str]:
        return list(dict.fromkeys(r.name for r in self.rules))


class RuleError(Exception):
    """Rule files that cannot be used; `problems` are complete lines naming file and rule."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def load_rule_files(paths: Iterable[Path], profile_dirs: Iterable[Path] = ()) -> RuleSet:
    """Load and check every file; raise RuleError listing every problem in all of them."""
    known = known_metrics(profile_dirs)
    labels_of = {name: info.labels for name, info in known.items()}
    ruleset = RuleSet()
    problems: list[str] = []
    for path in paths:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            problems.append(f"{path}: cannot read: {exc.strerror or exc}")
            continue
        problems.extend(_load_one(path, text, known, labels_of, ruleset))
    if problems:
        raise RuleError(problems)
    return ruleset


def _load_one(path: Path, text: str, known: Mapping[str, object],
              labels_of: Mapping[str, frozenset[str]], out: RuleSet) -> list[str]:
    try:
        root = yaml.compose(text, Loader=RuleLoader)
        data = yaml.load(text, Loader=RuleLoader) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        return [f"{at}: not valid YAML: {getattr(exc, 'problem', None) or exc}"]
    lines = line_index(root)

    def where(key: str) -> str:
        line = nearest_line(lines, key)
        return f"{path}:{line}" if line else str(path)

    def rule_name(key: str) -> str:
        found = re.match(r"groups\[(\d+)\]\.rules\[(\d+)\]", key)
        if not found or not isinstance(data, dict):
            return ""
        try:
            name = data["groups"][int(found.group(1))]["rules"][int(found.group(2))]["alert"]
            return f"rule {name}: "
        except (KeyError, IndexError, TypeError):
            return ""

    try:
        parsed = RuleFileDef.model_validate(data)
    except ValidationError as exc:
        return [f"{where(key)}: {rule_name(key)}{key}: {msg}"
                for key, msg in pydantic_problems(exc)]

    problems: list[str] = []
    for gi, group in enumerate(parsed.groups):
        for ri, rd in enumerate(group.rules):
            key = f"groups[{gi}].rules[{ri}]"
            at = f"{where(key)}: rule {rd.alert}: "
            expr = compile_expr(rd.expr)
            for metric in sorted(expr.metrics()):
                if metric not in known:
                    problems.append(f"{at}expr: unknown metric {metric!r} (not exposed by "
                                    "tierwatch; see alerts/catalog.py)")
            severity = rd.labels.get("severity")
            if severity not in SEVERITIES:
                problems.append(f"{at}labels.severity: must be one of {', '.join(SEVERITIES)}")
            if "subsystem" not in rd.labels and "subsystem" not in expr.labels(labels_of):
                problems.append(f"{at}labels.subsystem: needed (or series that carry it)")
            for name, value in rd.labels.items():
                if not re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", name) or name.startswith("__"):
                    problems.append(f"{at}labels.{name}: not a valid label name")
                if "{{" in value:
                    problems.append(f"{at}labels.{name}: labels are not templated")
            for name in REQUIRED_ANNOTATIONS:
                if not rd.annotations.get(name, "").strip():
                    problems.append(f"{at}annotations.{name}: required (English and "
                                    "Vietnamese summary and runbook)")
            for name, value in rd.annotations.items():
                try:
                    template.check(value)
                except template.TemplateError as exc:
                    problems.append(f"{at}annotations.{name}: {exc}")
            out.rules.append(Rule(rd.alert, group.name, expr, rd.for_, dict(rd.labels),
                                  dict(rd.annotations), str(path)))
    for ii, inhibit in enumerate(parsed.inhibit_rules):
        key = f"inhibit_rules[{ii}]"
        try:
            out.inhibit.append(InhibitRule(
                tuple(Matcher.parse(m) for m in inhibit.source_matchers),
                tuple(Matcher.parse(m) for m in inhibit.target_matchers),
                tuple(inhibit.equal)))
        except MatcherError as exc:
            problems.append(f"{where(key)}: {key}: {exc}")
    out.files.append(path)
    return problems


def rules_by_name(rules: Sequence[Rule]) -> dict[str, list[Rule]]:
    out: dict[str, list[Rule]] = {}
    for rule in rules:
        out.setdefault(rule.name, []).append(rule)
    return out
