"""Checks on Prometheus rules that promtool cannot make, read from promql-parser's AST.

Prometheus accepts a rule on a metric nobody exposes; it just never fires. A misspelt name
is a silent hole in on-call cover, so tierwatch refuses any rule naming a metric it does not
expose (alerts/catalog.py), and asks every alert for a severity, a subsystem (its own label,
or one the series it selects are sure to carry) and the four annotations. The same checks
serve the rules the built-in engine evaluates (alerts/rules.py) and files meant for
Prometheus alone (`tierwatch alerts check-rules --prometheus-only`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import promql_parser as pp

from alerts.promql import parse

SEVERITIES = ("critical", "warning", "info")
REQUIRED_ANNOTATIONS = ("summary", "summary_vi", "runbook", "runbook_vi")

_ZERO = re.compile(r"^(?:0|(?:0+(?:ms|s|m|h|d|w|y))+)$")


def duration(value: object) -> float:
    """A Prometheus duration (`1m`, `1h30m`, `0s`; whole numbers with units) in seconds."""
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a duration (write e.g. 30s, 5m, 1h30m)")
    if _ZERO.match(value):
        return 0.0
    try:
        return pp.parse_duration(value).total_seconds()
    except ValueError:
        raise ValueError(f"{value!r} is not a duration (write e.g. 30s, 5m, 1h30m)") from None


def _walk(ast: Any) -> list[Any]:
    nodes: list[Any] = []

    def visit(node: Any) -> bool:
        nodes.append(node)
        return True

    pp.walk(ast, visit)
    return nodes


def _selector_name(sel: Any) -> str | None:
    if sel.name:
        return str(sel.name)
    for m in sel.matchers.matchers:
        if m.name == "__name__" and m.op == pp.MatchOp.Equal:
            return str(m.value)
    return None


def metric_names(expr: str | Any) -> set[str]:
    """Metric names an expression selects (text: PromQLError if it is not PromQL)."""
    ast = parse(expr) if isinstance(expr, str) else expr
    names = set()
    for node in _walk(ast):
        if isinstance(node, pp.VectorSelector):
            name = _selector_name(node)
            if name:
                names.add(name)
    return names


def carried_labels(ast: Any, known: Mapping[str, frozenset[str]]) -> set[str]:
    """Labels every series of the result is sure to carry, as far as the expression and
    the catalogue (`known`: metric -> its fixed labels) tell."""
    node = ast
    if isinstance(node, pp.ParenExpr | pp.UnaryExpr | pp.SubqueryExpr):
        return carried_labels(node.expr, known)
    if isinstance(node, pp.MatrixSelector):
        return carried_labels(node.vector_selector, known)
    if isinstance(node, pp.VectorSelector):
        name = _selector_name(node)
        fixed = set(known.get(name, frozenset())) if name else set()
        return fixed | {m.name for m in node.matchers.matchers
                        if m.op == pp.MatchOp.Equal and m.value and m.name != "__name__"}
    if isinstance(node, pp.BinaryExpr):
        return _binary_labels(node, known)
    if isinstance(node, pp.AggregateExpr):
        inner = carried_labels(node.expr, known)
        op = str(node.op)
        if op in ("topk", "bottomk"):
            return inner
        mod = node.modifier
        if mod is None:
            out: set[str] = set()
        elif mod.type == pp.AggModifierType.Without:
            out = inner - set(mod.labels)
        else:
            out = inner & set(mod.labels)
        if op == "count_values" and isinstance(node.param, pp.StringLiteral):
            out.add(node.param.val)
        return out
    if isinstance(node, pp.Call):
        name = node.func.name
        vectors = [a for a in node.args if not isinstance(a, pp.NumberLiteral
                                                              | pp.StringLiteral)]
        if name == "absent":
            return {m.name for m in node.args[0].matchers.matchers
                    if m.op == pp.MatchOp.Equal and m.name != "__name__"} \
                if isinstance(node.args[0], pp.VectorSelector) else set()
        if not vectors or name in ("vector", "scalar", "time"):
            return set()
        out = carried_labels(vectors[0], known)
        if name in ("label_replace", "label_join") and isinstance(node.args[1],
                                                                    pp.StringLiteral):
            out.add(node.args[1].val)
        if name == "histogram_quantile":
            out.discard("le")
        return out
    return set()  # numbers, strings


def _is_scalar(node: Any) -> bool:
    if isinstance(node, pp.NumberLiteral):
        return True
    if isinstance(node, pp.ParenExpr | pp.UnaryExpr):
        return _is_scalar(node.expr)
    if isinstance(node, pp.BinaryExpr):
        return _is_scalar(node.lhs) and _is_scalar(node.rhs)
    if isinstance(node, pp.Call):
        return node.func.return_type == pp.ValueType.Scalar
    return False


def _binary_labels(node: Any, known: Mapping[str, frozenset[str]]) -> set[str]:
    op = str(node.op)
    lhs, rhs = carried_labels(node.lhs, known), carried_labels(node.rhs, known)
    if op in ("and", "unless"):
        return lhs
    if op == "or":
        return lhs & rhs
    scalar_l, scalar_r = _is_scalar(node.lhs), _is_scalar(node.rhs)
    if scalar_l or scalar_r:
        return rhs if scalar_l else lhs
    mod = node.modifier
    card = mod.card if mod is not None else pp.VectorMatchCardinality.OneToOne
    matching = mod.matching if mod is not None else None
    include = set(mod.group_labels or ()) if mod is not None else set()
    if card == pp.VectorMatchCardinality.OneToMany:
        lhs, rhs = rhs, lhs
    if card == pp.VectorMatchCardinality.OneToOne and matching is not None:
        if matching.type == pp.LabelModifierType.Include:
            return lhs & set(matching.labels)
        return lhs - set(matching.labels)
    return lhs | (include & rhs)


def alert_problems(rule: Mapping[str, Any], ast: Any,
                   known: Mapping[str, frozenset[str]],
                   recorded: frozenset[str] = frozenset()) -> list[tuple[str, str]]:
    """(key, message) for one alerting rule: metrics tierwatch does not expose, a missing
    severity, subsystem or annotation."""
    problems: list[tuple[str, str]] = []
    for metric in sorted(metric_names(ast)):
        if metric not in known and metric not in recorded:
            problems.append(("expr", f"unknown metric {metric!r} (not exposed by tierwatch; "
                                     "see alerts/catalog.py)"))
    labels = rule.get("labels") or {}
    if labels.get("severity") not in SEVERITIES:
        problems.append(("labels.severity", f"must be one of {', '.join(SEVERITIES)}"))
    if "subsystem" not in labels and "subsystem" not in carried_labels(ast, known):
        problems.append(("labels.subsystem", "needed (or series that carry it)"))
    annotations = rule.get("annotations") or {}
    for key in REQUIRED_ANNOTATIONS:
        if not str(annotations.get(key, "")).strip():
            problems.append((f"annotations.{key}", "required (English and Vietnamese "
                                                   "summary and runbook)"))
    return problems
