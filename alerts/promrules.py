"""Checks on Prometheus rule files that promtool cannot make: the metric names they read.

Prometheus accepts a rule on a metric nobody exposes; it just never fires. A misspelt name
is a silent hole in on-call cover, so `tierwatch alerts check-rules` (and CI) refuses any
rule naming a metric tierwatch does not expose (alerts/catalog.py), with file and rule named.
It also asks every alert for a severity, a subsystem and the four annotations.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from alerts.catalog import known_metrics
from alerts.rules import REQUIRED_ANNOTATIONS, SEVERITIES

_KEYWORDS = {
    "and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right",
    "offset", "bool", "inf", "nan", "atan2", "start", "end",
    # aggregation operators (followed by `by`, `without` or a parenthesis)
    "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
    "bottomk", "topk", "quantile",
}
_LABEL_LIST_AFTER = {"by", "without", "on", "ignoring", "group_left", "group_right"}
_TOKEN = re.compile(
    r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`'  # strings
    r"|\{[^}]*\}"  # label matchers
    r"|\[[^\]]*\]"  # ranges and subqueries
    r"|[a-zA-Z_:][a-zA-Z0-9_:]*"  # identifiers
    r"|\d+(?:\.\d+)?(?:e[+-]?\d+)?[a-z]*"  # numbers and durations
    r"|\S")


def metric_names(expr: str) -> set[str]:
    """Metric names a PromQL expression selects (functions, keywords, labels left out)."""
    tokens = [t for t in _TOKEN.findall(expr)]
    names: set[str] = set()
    i = 0
    while i < len(tokens):
        token = tokens[i]
        lower = token.lower()
        if lower in _LABEL_LIST_AFTER:
            # skip the label list in parentheses that follows
            if i + 1 < len(tokens) and tokens[i + 1] == "(":
                depth, i = 0, i + 1
                while i < len(tokens):
                    depth += tokens[i] == "("
                    depth -= tokens[i] == ")"
                    if depth == 0:
                        break
                    i += 1
            i += 1
            continue
        if re.fullmatch(r"[a-zA-Z_:][a-zA-Z0-9_:]*", token) and lower not in _KEYWORDS:
            nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
            if nxt != "(":  # a function call otherwise
                names.add(token)
        if token.startswith("{") and (i == 0 or not re.fullmatch(
                r"[a-zA-Z_:][a-zA-Z0-9_:]*", tokens[i - 1])):
            found = re.search(r'__name__\s*=\s*"([^"]+)"', token)
            if found:
                names.add(found.group(1))
        i += 1
    return names


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def is_prometheus_file(path: Path) -> bool:
    try:
        data = load(path)
    except (OSError, yaml.YAMLError):
        return False
    for group in (data.get("groups") or []) if isinstance(data, dict) else []:
        for rule in group.get("rules") or []:
            return isinstance(rule.get("expr"), str)
    return False


def check_prometheus_file(path: Path, profile_dirs: Iterable[Path] = ()) -> list[str]:
    known = known_metrics(profile_dirs)
    data = load(path)
    recorded = {r["record"] for g in data.get("groups") or [] for r in g.get("rules") or []
                if "record" in r}
    problems: list[str] = []
    for group in data.get("groups") or []:
        for rule in group.get("rules") or []:
            name = rule.get("alert") or rule.get("record") or "?"
            at = f"{path}: rule {name}"
            for metric in sorted(metric_names(str(rule.get("expr", "")))):
                if metric not in known and metric not in recorded:
                    problems.append(f"{at}: unknown metric {metric!r} (not exposed by "
                                    "tierwatch; see alerts/catalog.py)")
            if "alert" not in rule:
                continue
            labels = rule.get("labels") or {}
            if labels.get("severity") not in SEVERITIES:
                problems.append(f"{at}: labels.severity must be one of {', '.join(SEVERITIES)}")
            carried = set().union(*(known[m].labels for m in metric_names(str(rule["expr"]))
                                    if m in known)) if rule.get("expr") else set()
            if "subsystem" not in labels and "subsystem" not in carried \
                    and "group_left (subsystem" not in str(rule["expr"]).replace("(subsystem",
                                                                                 " (subsystem"):
                problems.append(f"{at}: labels.subsystem needed (or series that carry it)")
            annotations = rule.get("annotations") or {}
            for key in REQUIRED_ANNOTATIONS:
                if not str(annotations.get(key, "")).strip():
                    problems.append(f"{at}: annotations.{key} required")
    return problems
