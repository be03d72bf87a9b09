"""DEPRECATED, goes in the next release: the old YAML condition language of built-in rules.

Until this release the built-in engine read its own rule language; now it evaluates
Prometheus rule files (alerts/rules.py, alerts/promql.py), so every alert is written once.
A site file in the old language still loads for one release: `tierwatch check` warns,
naming the file. Nothing else uses this module; delete it, and the `_is_legacy` branch of
alerts/rules.py, in the next release.

A rule's `expr` was one of five nodes (YAML mappings), each a small piece of PromQL:

    series:   {name: M, matchers: ['l="v"', ...], op: "<", value: 18,
               join: {name: INFO, matchers: [...], on: [device], labels: [subsystem]}}
              (PromQL `M{...} < 18 * on(..) group_left(..) INFO{...}`)
    and:      [EXPR, EXPR, ...]  with  on: [labels]
    or:       [EXPR, EXPR, ...]
    unless:   [EXPR, EXPR]       with  on: [labels]
    compare:  {left: SERIES, op: "<", right: SERIES, on: [labels]}
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from alerts import template
from alerts.matchers import Matcher, match_all
from alerts.promql import Source
from alerts.promrules import REQUIRED_ANNOTATIONS, SEVERITIES
from alerts.rules import InhibitDef, Rule, RuleSet, _Context, add_inhibit_rules
from tierwatch.core.configtypes import parse_duration
from tierwatch.core.model import Sample

View = Mapping[str, Sequence[Sample]]
Op = Literal["==", "!=", "<", "<=", ">", ">="]
OPS: dict[str, Callable[[float, float], bool]] = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
    ">": operator.gt, ">=": operator.ge,
}
_LABEL = r"^[a-zA-Z_][a-zA-Z0-9_]*$"
_METRIC = r"^[a-zA-Z_:][a-zA-Z0-9_:]*$"


@dataclass(frozen=True, slots=True)
class Instance:
    """One series an expression selects: its labels (no metric name) and its value."""

    labels: Mapping[str, str]
    value: float


def _seconds(value: object) -> float:
    seconds = parse_duration(value)
    if seconds < 0:
        raise ValueError("must not be negative")
    return seconds


def _key(labels: Mapping[str, str], on: Sequence[str]) -> tuple[str, ...]:
    return tuple(labels.get(name, "") for name in on)


# --------------------------------------------------------------------------- schema


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class JoinDef(_Strict):
    name: str = Field(pattern=_METRIC)
    matchers: list[str] = Field(default_factory=list)  # which partner series may join
    on: list[str] = Field(min_length=1)
    labels: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _matchers_parse(self) -> JoinDef:
        for text in self.matchers:
            Matcher.parse(text)
        return self


class SeriesDef(_Strict):
    name: str = Field(pattern=_METRIC)
    matchers: list[str] = Field(default_factory=list)
    op: Op | None = None
    value: float | None = None
    join: JoinDef | None = None

    @model_validator(mode="after")
    def _op_with_value(self) -> SeriesDef:
        if (self.op is None) != (self.value is None):
            raise ValueError("op and value go together")
        for text in self.matchers:
            Matcher.parse(text)  # MatcherError is a ValueError: reported at its key
        return self


class CompareDef(_Strict):
    left: SeriesDef
    op: Op
    right: SeriesDef
    on: list[str] = Field(min_length=1)


class ExprDef(_Strict):
    series: SeriesDef | None = None
    and_: list[ExprDef] | None = Field(default=None, alias="and", min_length=2)
    or_: list[ExprDef] | None = Field(default=None, alias="or", min_length=2)
    unless: list[ExprDef] | None = Field(default=None, min_length=2, max_length=2)
    compare: CompareDef | None = None
    on: list[str] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> ExprDef:
        kinds = [k for k in ("series", "and_", "or_", "unless", "compare")
                 if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError("give exactly one of series, and, or, unless, compare")
        needs_on = kinds[0] in ("and_", "unless")
        if needs_on and not self.on:
            raise ValueError(f"{kinds[0].rstrip('_')} needs on: [labels] to match series by")
        if not needs_on and self.on is not None:
            raise ValueError("on: applies to and/unless only (compare has its own)")
        return self


# --------------------------------------------------------------------------- compiled


class Expr:
    def eval(self, view: View) -> list[Instance]:
        raise NotImplementedError

    def metrics(self) -> set[str]:
        raise NotImplementedError

    def labels(self, known: Mapping[str, frozenset[str]]) -> set[str]:
        """Labels every selected series is sure to carry (for checks at load)."""
        raise NotImplementedError


@dataclass(frozen=True)
class Series(Expr):
    name: str
    matchers: tuple[Matcher, ...] = ()
    op: str | None = None
    value: float | None = None
    join: JoinDef | None = None
    join_matchers: tuple[Matcher, ...] = ()

    def eval(self, view: View) -> list[Instance]:
        test = OPS[self.op] if self.op else None
        out: list[Instance] = []
        for sample in view.get(self.name, ()):
            if self.matchers and not match_all(self.matchers, sample.labels):
                continue
            if test is not None and not test(sample.value, self.value):  # type: ignore[arg-type]
                continue
            out.append(Instance(sample.labels, sample.value))
        if self.join is None or not out:
            return out
        partners: dict[tuple[str, ...], Mapping[str, str]] = {}
        for sample in view.get(self.join.name, ()):
            if self.join_matchers and not match_all(self.join_matchers, sample.labels):
                continue
            partners.setdefault(_key(sample.labels, self.join.on), sample.labels)
        joined = []
        for inst in out:
            partner = partners.get(_key(inst.labels, self.join.on))
            if partner is None:
                continue
            labels = dict(inst.labels)
            for name in self.join.labels:
                if partner.get(name):
                    labels[name] = partner[name]
                else:
                    labels.pop(name, None)
            joined.append(Instance(labels, inst.value))
        return joined

    def metrics(self) -> set[str]:
        return {self.name} | ({self.join.name} if self.join else set())

    def labels(self, known: Mapping[str, frozenset[str]]) -> set[str]:
        base = set(known.get(self.name, frozenset()))
        if self.join:
            base |= set(self.join.labels)
        return base


@dataclass(frozen=True)
class And(Expr):
    items: tuple[Expr, ...]
    on: tuple[str, ...]

    def eval(self, view: View) -> list[Instance]:
        result = self.items[0].eval(view)
        for other in self.items[1:]:
            if not result:
                break
            keys = {_key(i.labels, self.on) for i in other.eval(view)}
            result = [i for i in result if _key(i.labels, self.on) in keys]
        return result

    def metrics(self) -> set[str]:
        return set().union(*(i.metrics() for i in self.items))

    def labels(self, known: Mapping[str, frozenset[str]]) -> set[str]:
        return self.items[0].labels(known)


@dataclass(frozen=True)
class Or(Expr):
    items: tuple[Expr, ...]

    def eval(self, view: View) -> list[Instance]:
        seen: set[tuple[tuple[str, str], ...]] = set()
        out: list[Instance] = []
        for item in self.items:
            for inst in item.eval(view):
                key = tuple(sorted(inst.labels.items()))
                if key not in seen:
                    seen.add(key)
                    out.append(inst)
        return out

    def metrics(self) -> set[str]:
        return set().union(*(i.metrics() for i in self.items))

    def labels(self, known: Mapping[str, frozenset[str]]) -> set[str]:
        sets = [i.labels(known) for i in self.items]
        return set.intersection(*sets) if sets else set()


@dataclass(frozen=True)
class Unless(Expr):
    left: Expr
    right: Expr
    on: tuple[str, ...]

    def eval(self, view: View) -> list[Instance]:
        result = self.left.eval(view)
        if not result:
            return result
        keys = {_key(i.labels, self.on) for i in self.right.eval(view)}
        return [i for i in result if _key(i.labels, self.on) not in keys]

    def metrics(self) -> set[str]:
        return self.left.metrics() | self.right.metrics()

    def labels(self, known: Mapping[str, frozenset[str]]) -> set[str]:
        return self.left.labels(known)


@dataclass(frozen=True)
class Compare(Expr):
    left: Series
    op: str
    right: Series
    on: tuple[str, ...]

    def eval(self, view: View) -> list[Instance]:
        rights: dict[tuple[str, ...], float] = {}
        for inst in self.right.eval(view):
            rights.setdefault(_key(inst.labels, self.on), inst.value)
        test = OPS[self.op]
        out = []
        for inst in self.left.eval(view):
            other = rights.get(_key(inst.labels, self.on))
            if other is not None and test(inst.value, other):
                kept = {k: inst.labels[k] for k in self.on if inst.labels.get(k)}
                out.append(Instance(kept, inst.value))
        return out

    def metrics(self) -> set[str]:
        return self.left.metrics() | self.right.metrics()

    def labels(self, known: Mapping[str, frozenset[str]]) -> set[str]:
        return set(self.on) & self.left.labels(known)


def _series(d: SeriesDef) -> Series:
    join_matchers = tuple(Matcher.parse(m) for m in d.join.matchers) if d.join else ()
    return Series(d.name, tuple(Matcher.parse(m) for m in d.matchers), d.op, d.value, d.join,
                  join_matchers)


def compile_expr(d: ExprDef) -> Expr:
    if d.series is not None:
        return _series(d.series)
    if d.and_ is not None:
        return And(tuple(compile_expr(i) for i in d.and_), tuple(d.on or ()))
    if d.or_ is not None:
        return Or(tuple(compile_expr(i) for i in d.or_))
    if d.unless is not None:
        return Unless(compile_expr(d.unless[0]), compile_expr(d.unless[1]), tuple(d.on or ()))
    assert d.compare is not None
    c = d.compare
    return Compare(_series(c.left), c.op, _series(c.right), tuple(c.on))


# --------------------------------------------------------------------------- loading


class LegacyRuleDef(_Strict):
    alert: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    expr: ExprDef
    for_: Annotated[float, BeforeValidator(_seconds)] = Field(default=0.0, alias="for")
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)


class LegacyGroupDef(_Strict):
    name: str
    rules: list[LegacyRuleDef] = Field(min_length=1)


class LegacyFileDef(_Strict):
    groups: list[LegacyGroupDef] = Field(default_factory=list)
    inhibit_rules: list[InhibitDef] = Field(default_factory=list)


@dataclass(frozen=True)
class LegacyQuery:
    """An old expression as the engine sees a PromQL one."""

    expr: Expr

    def eval(self, src: Source) -> list[Sample]:
        view = {name: src.instant(name) for name in self.expr.metrics()}
        return [Sample("", inst.labels, inst.value) for inst in self.expr.eval(view)]

    def metrics(self) -> set[str]:
        return self.expr.metrics()

    def windows(self) -> dict[str, float]:
        return {}


def load(ctx: _Context, out: RuleSet) -> list[str]:
    """Load one old-language file into `out`; the problems, each naming file, line, rule."""
    try:
        parsed = LegacyFileDef.model_validate(ctx.data)
    except ValidationError as exc:
        return ctx.pydantic(exc)
    problems: list[str] = []
    for gi, group in enumerate(parsed.groups):
        for ri, rd in enumerate(group.rules):
            at = f"{ctx.where(f'groups[{gi}].rules[{ri}]')}: rule {rd.alert}: "
            expr = compile_expr(rd.expr)
            for metric in sorted(expr.metrics()):
                if metric not in ctx.known:
                    problems.append(f"{at}expr: unknown metric {metric!r} (not exposed by "
                                    "tierwatch; see alerts/catalog.py)")
            if rd.labels.get("severity") not in SEVERITIES:
                problems.append(f"{at}labels.severity: must be one of {', '.join(SEVERITIES)}")
            if "subsystem" not in rd.labels and "subsystem" not in expr.labels(ctx.known):
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
            out.rules.append(Rule(rd.alert, group.name, LegacyQuery(expr), rd.for_,
                                  dict(rd.labels), dict(rd.annotations), str(ctx.path)))
    problems.extend(add_inhibit_rules(ctx.where, parsed.inhibit_rules, out))
    return problems
