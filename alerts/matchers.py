"""Label matchers, written the way Alertmanager and PromQL write them.

    alertname="UpsOnBattery"   severity=~"critical|warning"   district!=""   if_alias!~"(?i)x.*"

One implementation serves rule selectors (built from promql-parser's AST), inhibition rules
and routes, so a matcher copied from the Alertmanager configuration means the same thing
here. Regular expressions are fully anchored, as in Prometheus.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

_LABEL = r"[a-zA-Z_][a-zA-Z0-9_]*"
_MATCHER = re.compile(rf'^\s*({_LABEL})\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*$')


class MatcherError(ValueError):
    pass


@dataclass(frozen=True)
class Matcher:
    name: str
    op: str  # = != =~ !~
    value: str
    _regex: re.Pattern[str] | None = None

    @classmethod
    def parse(cls, text: str) -> Matcher:
        found = _MATCHER.match(text)
        if found is None:
            raise MatcherError(f'{text!r} is not a matcher (write label="value", label!="v", '
                               'label=~"regex" or label!~"regex")')
        name, op, raw = found.groups()
        value = re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)),
                       raw)
        return cls.build(name, op, value, text)

    @classmethod
    def build(cls, name: str, op: str, value: str, text: str | None = None) -> Matcher:
        """A matcher from its parts (a PromQL selector's, parsed by promql-parser)."""
        regex = None
        if op in ("=~", "!~"):
            try:
                regex = re.compile(value)  # fullmatch anchors it, as RE2 in Prometheus
            except re.error as exc:
                shown = text if text is not None else f'{name}{op}"{value}"'
                raise MatcherError(f"{shown!r}: bad regular expression: {exc}") from None
        return cls(name, op, value, regex)

    def matches(self, labels: Mapping[str, str]) -> bool:
        have = labels.get(self.name, "")  # an absent label matches "" as in Prometheus
        if self.op == "=":
            return have == self.value
        if self.op == "!=":
            return have != self.value
        assert self._regex is not None
        hit = self._regex.fullmatch(have) is not None
        return hit if self.op == "=~" else not hit

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"')
        return f'{self.name}{self.op}"{escaped}"'

    def to_alertmanager(self) -> dict[str, object]:
        """The matcher as Alertmanager's v2 API writes it in a silence."""
        return {"name": self.name, "value": self.value, "isRegex": self.op in ("=~", "!~"),
                "isEqual": self.op in ("=", "=~")}


def parse_all(texts: Iterable[str]) -> list[Matcher]:
    return [Matcher.parse(t) for t in texts]


def match_all(matchers: Iterable[Matcher], labels: Mapping[str, str]) -> bool:
    return all(m.matches(labels) for m in matchers)
