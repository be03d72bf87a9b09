"""The slice of Prometheus' annotation templates the built-in engine renders.

The built-in rules carry the very same annotation text as the Prometheus rules, so both
forms tell on-call staff the same words. Supported, exactly as Prometheus renders them:

    {{ $labels.device }}   {{ $value }}
    {{ $value | humanize }}   {{ $value | humanizeDuration }}   {{ $value | humanizePercentage }}

Anything else inside {{ }} is refused when the rule file loads, with the rule named.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

_ACTION = re.compile(r"{{-?\s*(.*?)\s*-?}}", re.S)
_LABEL_REF = re.compile(r"^\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)$")
_VALUE_REF = re.compile(r"^\$value(?:\s*\|\s*(humanize|humanizeDuration|humanizePercentage))?$")


class TemplateError(ValueError):
    pass


def check(template: str) -> None:
    """Raise TemplateError if the template uses something the built-in engine cannot render."""
    rest = _ACTION.sub("", template)
    if "{{" in rest or "}}" in rest:
        raise TemplateError(f"unbalanced braces in {template!r}")
    for action in _ACTION.findall(template):
        if not (_LABEL_REF.match(action) or _VALUE_REF.match(action)):
            raise TemplateError(
                f"{{{{ {action} }}}} is not supported (use $labels.NAME, $value, or $value "
                "piped to humanize, humanizeDuration or humanizePercentage)")


def render(template: str, labels: Mapping[str, str], value: float | None) -> str:
    def one(match: re.Match[str]) -> str:
        action = match.group(1)
        label = _LABEL_REF.match(action)
        if label:
            return labels.get(label.group(1), "")
        found = _VALUE_REF.match(action)
        if found is None:
            raise TemplateError(f"unsupported template action {action!r}")
        v = math.nan if value is None else float(value)
        func = found.group(1)
        if func == "humanize":
            return humanize(v)
        if func == "humanizeDuration":
            return humanize_duration(v)
        if func == "humanizePercentage":
            return f"{_g4(v * 100)}%"
        return go_float(v)

    return _ACTION.sub(one, template)


def _g4(v: float) -> str:
    """Go's %.4g."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    text = f"{v:.4g}"
    if "e" in text:  # Go writes e+06 as Python does, but keeps two exponent digits too
        mantissa, exp = text.split("e")
        sign = exp[0]
        digits = exp[1:].lstrip("0").rjust(2, "0")
        text = f"{mantissa}e{sign}{digits}"
    return text


def go_float(v: float) -> str:
    """Go's %v for a float64 (what {{ $value }} prints): shortest representation."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    if v == int(v) and abs(v) < 1e21:
        return str(int(v))
    text = repr(v)
    if "e" in text:
        mantissa, exp = text.split("e")
        sign = "-" if exp.startswith("-") else "+"
        digits = exp.lstrip("+-").lstrip("0").rjust(2, "0")
        return f"{mantissa}e{sign}{digits}"
    return text


def _scale_down(v: float) -> tuple[float, str]:
    """A magnitude below 1 as a number from 1 up and its SI prefix (0.0042 -> 4.2, "m")."""
    prefix = ""
    for p in ("m", "u", "n", "p", "f", "a", "z", "y"):
        if abs(v) >= 1:
            break
        prefix = p
        v *= 1000
    return v, prefix


def humanize(v: float) -> str:
    if v == 0 or math.isnan(v) or math.isinf(v):
        return _g4(v)
    if abs(v) >= 1:
        prefix = ""
        for p in ("k", "M", "G", "T", "P", "E", "Z", "Y"):
            if abs(v) < 1000:
                break
            prefix = p
            v /= 1000
        return f"{_g4(v)}{prefix}"
    v, prefix = _scale_down(v)
    return f"{_g4(v)}{prefix}"


def humanize_duration(v: float) -> str:
    if math.isnan(v) or math.isinf(v):
        return _g4(v)
    if v == 0:
        return "0s"
    if abs(v) >= 1:
        sign = "-" if v < 0 else ""
        v = abs(v)
        whole = int(v)
        seconds, minutes = whole % 60, (whole // 60) % 60
        hours, days = (whole // 3600) % 24, whole // 86400
        if days:
            return f"{sign}{days}d {hours}h {minutes}m {seconds}s"
        if hours:
            return f"{sign}{hours}h {minutes}m {seconds}s"
        if minutes:
            return f"{sign}{minutes}m {seconds}s"
        return f"{sign}{_g4(v)}s"
    v, prefix = _scale_down(v)
    return f"{_g4(v)}{prefix}s"
