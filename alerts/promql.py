"""The built-in engine's PromQL: a rule's `expr`, parsed by promql-parser, checked against the
subset below at load, and compiled into a tree of small evaluators over tierwatch's series.

The subset (instant queries; everything else is refused at load, naming the part):

    selectors        name{l="v", l!="v", l=~"re", l!~"re"}   (one metric name, no offset, no @)
    numbers          600   0.997408   Inf   NaN
    arithmetic       + - * / % ^ atan2, and unary minus
    comparisons      == != > < >= <=, filtering or with `bool`
    set operators    and  or  unless
    vector matching  on(...) / ignoring(...), group_left(...) / group_right(...)
    aggregations     sum min max avg count group, by (...) or without (...)
    functions        abs ceil floor clamp clamp_min clamp_max time
    range functions  rate increase delta avg_over_time min_over_time max_over_time
                     sum_over_time count_over_time, over name{...}[window]

Every operation follows Prometheus 2.42's engine (promql/engine.go, functions.go), which is
what `promtool test rules` runs here: which labels a result keeps, when the metric name is
dropped, one-to-one and many-to-one matching and their errors, NaN and infinities, counter
resets and extrapolation in rate/increase/delta. alerts/ruletest.py runs the rule tests
promtool runs, with the same expectations, to hold the two to one answer.

A vector is a list of Samples: `name` is "" once an operation has dropped it, `labels` never
holds `__name__`. Instant series and range windows come from a Source: the live view and its
bounded history (alerts/series_history.py), or a rule test's input series (alerts/ruletest.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import promql_parser as pp

from alerts.matchers import Matcher, MatcherError, match_all
from tierwatch.core.model import Sample

Vector = list[Sample]
Value = float | Vector  # a scalar or an instant vector


class PromQLError(ValueError):
    """Not valid PromQL (the parser's own message)."""


class Unsupported(ValueError):
    """Valid PromQL outside the subset the built-in engine evaluates."""


class EvalError(Exception):
    """An evaluation Prometheus refuses too (many-to-many matching, duplicate series)."""


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True, slots=True)
class Span:
    """One series' samples in a range window, oldest first.

    From a rule test every point is one sample. The live history may have merged the
    samples of a short stretch into one bucket (alerts/series_history.py): then `counts`, `lows`,
    `highs` and `sums` describe each bucket, and `carries[i]` adds up the counter resets
    inside bucket i and at its start (what rate() adds back), so rate and the *_over_time
    functions stay exact over the merged samples but for the window's first bucket.
    """

    times: Sequence[float]  # of each bucket's last sample
    values: Sequence[float]  # each bucket's last sample
    counts: Sequence[float] | None = None
    lows: Sequence[float] | None = None
    highs: Sequence[float] | None = None
    sums: Sequence[float] | None = None
    carries: Sequence[float] | None = None

    def resets(self) -> float:
        """What counter resets after the first point add back (Prometheus: each sample
        lower than the one before adds the one before)."""
        if self.carries is not None:
            return math.fsum(self.carries[1:])
        total, prev = 0.0, self.values[0]
        for value in self.values[1:]:
            if value < prev:
                total += prev
            prev = value
        return total

    @property
    def merged(self) -> bool:
        return self.counts is not None and any(c != 1 for c in self.counts)


class Source(Protocol):
    """The series an evaluation at `now` reads."""

    @property
    def now(self) -> float: ...

    def instant(self, name: str) -> Sequence[Sample]:
        """The current sample of every series named `name`."""
        ...

    def window(self, name: str, seconds: float,
               keep: Callable[[Mapping[str, str]], bool]) -> Iterable[tuple[Mapping[str, str],
                                                                               Span]]:
        """Each series named `name` whose labels `keep` accepts, with its samples in
        [now - seconds, now] (stale markers left out); series without any are left out."""
        ...


# --------------------------------------------------------------------------- arithmetic

ARITHMETIC = ("+", "-", "*", "/", "%", "^", "atan2")
COMPARISON = ("==", "!=", ">", "<", ">=", "<=")
SET_OPS = ("and", "or", "unless")


def _div(a: float, b: float) -> float:
    if b == 0.0:
        if a == 0.0 or math.isnan(a):
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)
    return a / b


def _mod(a: float, b: float) -> float:
    try:
        return math.fmod(a, b)  # Go's math.Mod: the sign of the dividend
    except ValueError:  # x % 0, Inf % y: Go answers NaN
        return math.nan


def _pow(a: float, b: float) -> float:
    try:
        return math.pow(a, b)
    except OverflowError:
        odd = b == math.floor(b) and math.fmod(b, 2.0) != 0.0
        return -math.inf if a < 0 and odd else math.inf
    except ValueError:  # 0 ^ negative: Go gives ±Inf; a negative base ^ a fraction: NaN
        if a == 0.0 and b < 0:
            odd = b == math.floor(b) and math.fmod(b, 2.0) != 0.0
            return math.copysign(math.inf, a) if odd else math.inf
        return math.nan


_ARITH: dict[str, Callable[[float, float], float]] = {
    "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
    "/": _div, "%": _mod, "^": _pow, "atan2": math.atan2,
}
_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "==": lambda a, b: a == b, "!=": lambda a, b: a != b, ">": lambda a, b: a > b,
    "<": lambda a, b: a < b, ">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b,
}


def _binop(op: str, a: float, b: float) -> tuple[float, bool]:
    """Prometheus' vectorElemBinop: (value, keep); a comparison keeps the left value."""
    compare = _COMPARE.get(op)
    if compare is not None:
        return a, compare(a, b)
    return _ARITH[op](a, b), True


def _go_max(a: float, b: float) -> float:
    if (math.isinf(a) and a > 0) or (math.isinf(b) and b > 0):
        return math.inf
    if math.isnan(a) or math.isnan(b):
        return math.nan
    return a if a > b else b


def _go_min(a: float, b: float) -> float:
    if (math.isinf(a) and a < 0) or (math.isinf(b) and b < 0):
        return -math.inf
    if math.isnan(a) or math.isnan(b):
        return math.nan
    return a if a < b else b


def _rounding(f: Callable[[float], int]) -> Callable[[float], float]:
    def go(v: float) -> float:
        return v if math.isnan(v) or math.isinf(v) else float(f(v))
    return go


# --------------------------------------------------------------------------- labels


def _get(s: Sample, label: str) -> str:
    return s.name if label == "__name__" else s.labels.get(label, "")


def _sig_on(labels: tuple[str, ...]) -> Callable[[Sample], tuple[Any, ...]]:
    return lambda s: tuple(_get(s, n) for n in labels)


def _sig_ignoring(labels: tuple[str, ...]) -> Callable[[Sample], tuple[Any, ...]]:
    drop = frozenset(labels)
    return lambda s: tuple(sorted(kv for kv in s.labels.items() if kv[0] not in drop))


def _identity(s: Sample) -> tuple[str, frozenset[tuple[str, str]]]:
    return s.name, frozenset(s.labels.items())


def _unique(out: Vector) -> Vector:
    """Prometheus refuses a result holding one label set twice (once names are dropped)."""
    if len(out) > 1 and len({_identity(s) for s in out}) != len(out):
        raise EvalError("vector cannot contain metrics with the same labelset")
    return out


# --------------------------------------------------------------------------- the tree


class Node:
    kind = "vector"  # or "scalar"

    def eval(self, src: Source) -> Any:
        raise NotImplementedError

    def children(self) -> Sequence[Node]:
        return ()


@dataclass(frozen=True, eq=False)
class Number(Node):
    value: float
    kind = "scalar"

    def eval(self, src: Source) -> float:
        return self.value


@dataclass(frozen=True, eq=False)
class Time(Node):
    kind = "scalar"

    def eval(self, src: Source) -> float:
        return float(src.now)


@dataclass(frozen=True, eq=False)
class Selector(Node):
    name: str
    matchers: tuple[Matcher, ...]

    def eval(self, src: Source) -> Vector:
        samples = src.instant(self.name)
        if not self.matchers:
            return list(samples)
        return [s for s in samples if match_all(self.matchers, s.labels)]


@dataclass(frozen=True, eq=False)
class Negate(Node):
    operand: Node

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", self.operand.kind)

    def eval(self, src: Source) -> Value:
        value = self.operand.eval(src)
        if isinstance(value, float):
            return -value
        return _unique([Sample("", s.labels, -s.value) for s in value])

    def children(self) -> Sequence[Node]:
        return (self.operand,)


@dataclass(frozen=True, eq=False)
class ScalarBinary(Node):
    op: str
    lhs: Node
    rhs: Node
    kind = "scalar"

    def eval(self, src: Source) -> float:
        a, b = self.lhs.eval(src), self.rhs.eval(src)
        value, keep = _binop(self.op, a, b)
        if self.op in COMPARISON:  # between scalars only with bool (the parser says so)
            return 1.0 if keep else 0.0
        return value

    def children(self) -> Sequence[Node]:
        return (self.lhs, self.rhs)


@dataclass(frozen=True, eq=False)
class VectorScalar(Node):
    """A vector and a scalar: `swap` when the scalar is on the left."""

    op: str
    vector: Node
    scalar: Node
    swap: bool
    bool_: bool

    def eval(self, src: Source) -> Vector:
        vec, scalar = self.vector.eval(src), self.scalar.eval(src)
        drop = self.op in ARITHMETIC or self.bool_
        comparison = self.op in COMPARISON
        out: Vector = []
        for s in vec:
            a, b = (scalar, s.value) if self.swap else (s.value, scalar)
            value, keep = _binop(self.op, a, b)
            if comparison and self.swap:
                value = b  # a comparison always yields the vector's value
            if self.bool_:
                value, keep = (1.0 if keep else 0.0), True
            if keep:
                out.append(Sample("" if drop else s.name, s.labels, value))
        return _unique(out) if drop else out

    def children(self) -> Sequence[Node]:
        return (self.vector, self.scalar)


@dataclass(frozen=True, eq=False)
class VectorVector(Node):
    """Arithmetic or comparison between two vectors, matched one-to-one, many-to-one
    (group_left) or one-to-many (group_right) on the `on` labels, or on all but the
    `ignoring` ones."""

    op: str
    lhs: Node
    rhs: Node
    on: bool
    labels: tuple[str, ...]
    card: str  # one-to-one | many-to-one | one-to-many
    include: tuple[str, ...]
    bool_: bool

    def eval(self, src: Source) -> Vector:
        lhs, rhs = self.lhs.eval(src), self.rhs.eval(src)
        swapped = self.card == "one-to-many"
        if swapped:
            lhs, rhs = rhs, lhs
        sig = _sig_on(self.labels) if self.on else _sig_ignoring(self.labels)
        one_side: dict[tuple[Any, ...], Sample] = {}
        for r in rhs:
            key = sig(r)
            if key in one_side:
                side = "left" if swapped else "right"
                raise EvalError(f"found duplicate series for the match group on the {side}-hand "
                                "side of the operation; many-to-many matching not allowed: "
                                "matching labels must be unique on one side")
            one_side[key] = r
        matched: dict[tuple[Any, ...], set[Any] | None] = {}
        out: Vector = []
        for s in lhs:
            key = sig(s)
            r = one_side.get(key)
            if r is None:
                continue
            a, b = (r.value, s.value) if swapped else (s.value, r.value)
            value, keep = _binop(self.op, a, b)
            if self.bool_:
                value = 1.0 if keep else 0.0
            elif not keep:
                continue
            result = self._result(s, r)
            if self.card == "one-to-one":
                if key in matched:
                    raise EvalError("multiple matches for labels: many-to-one matching must be "
                                    "explicit (group_left/group_right)")
                matched[key] = None
            else:
                seen = matched.setdefault(key, set())
                assert seen is not None
                ident = _identity(result)
                if ident in seen:
                    raise EvalError("multiple matches for labels: grouping labels must ensure "
                                    "unique matches")
                seen.add(ident)
            out.append(result._replace(value=value))
        return _unique(out)

    def _result(self, s: Sample, one: Sample) -> Sample:
        """Prometheus' resultMetric: the many side's labels, reduced for one-to-one
        matching, plus the group_x labels taken from the one side."""
        name = "" if self.op in ARITHMETIC or self.bool_ else s.name
        labels: Mapping[str, str] = s.labels
        if self.card == "one-to-one":
            if self.on:
                keep = set(self.labels)
                labels = {k: v for k, v in labels.items() if k in keep}
                if "__name__" not in keep:
                    name = ""
            else:
                drop = set(self.labels)
                labels = {k: v for k, v in labels.items() if k not in drop}
                if "__name__" in drop:
                    name = ""
        if self.include:
            labels = dict(labels)
            for label in self.include:
                value = _get(one, label)
                if label == "__name__":
                    name = value
                elif value:
                    labels[label] = value
                else:
                    labels.pop(label, None)
        return Sample(name, labels, 0.0)

    def children(self) -> Sequence[Node]:
        return (self.lhs, self.rhs)


@dataclass(frozen=True, eq=False)
class SetOperation(Node):
    op: str  # and | or | unless
    lhs: Node
    rhs: Node
    on: bool
    labels: tuple[str, ...]

    def eval(self, src: Source) -> Vector:
        lhs = self.lhs.eval(src)
        if self.op == "and" and not lhs:
            return []
        rhs = self.rhs.eval(src)
        sig = _sig_on(self.labels) if self.on else _sig_ignoring(self.labels)
        if self.op == "and":
            keys = {sig(r) for r in rhs}
            return [s for s in lhs if sig(s) in keys] if rhs else []
        if self.op == "unless":
            keys = {sig(r) for r in rhs}
            return [s for s in lhs if sig(s) not in keys]
        keys = {sig(s) for s in lhs}
        return _unique(list(lhs) + [r for r in rhs if sig(r) not in keys])

    def children(self) -> Sequence[Node]:
        return (self.lhs, self.rhs)


class _Group:
    __slots__ = ("count", "labels", "mean", "name", "value")

    def __init__(self, name: str, labels: Mapping[str, str], value: float) -> None:
        self.name, self.labels = name, labels
        self.value = self.mean = value
        self.count = 1


@dataclass(frozen=True, eq=False)
class Aggregate(Node):
    op: str  # sum | min | max | avg | count | group
    operand: Node
    without: bool
    labels: tuple[str, ...]

    def eval(self, src: Source) -> Vector:
        vec = self.operand.eval(src)
        groups: dict[tuple[Any, ...], _Group] = {}
        key_of = _sig_ignoring(self.labels) if self.without else _sig_on(self.labels)
        by = set(self.labels)
        for s in vec:
            key = key_of(s)
            group = groups.get(key)
            if group is None:
                if self.without:
                    name, labels = "", {k: v for k, v in s.labels.items() if k not in by}
                else:
                    name = s.name if "__name__" in by else ""
                    labels = {k: v for k, v in s.labels.items() if k in by}
                group = groups[key] = _Group(name, labels, s.value)
                if self.op == "group":
                    group.value = 1.0
                continue
            v = s.value
            if self.op == "sum":
                group.value += v
            elif self.op == "max":
                if group.value < v or math.isnan(group.value):
                    group.value = v
            elif self.op == "min":
                if group.value > v or math.isnan(group.value):
                    group.value = v
            elif self.op == "count":
                group.count += 1
            elif self.op == "avg":
                group.count += 1
                if math.isinf(group.mean) and (
                        (math.isinf(v) and (group.mean > 0) == (v > 0))
                        or (not math.isinf(v) and not math.isnan(v))):
                    continue  # an infinite mean stays so (Inf - Inf would make NaN)
                group.mean += v / group.count - group.mean / group.count
        out = []
        for g in groups.values():
            value = {"count": float(g.count), "avg": g.mean}.get(self.op, g.value)
            out.append(Sample(g.name, g.labels, value))
        return out

    def children(self) -> Sequence[Node]:
        return (self.operand,)


_SIMPLE: dict[str, Callable[[float], float]] = {
    "abs": abs, "ceil": _rounding(math.ceil), "floor": _rounding(math.floor),
}


@dataclass(frozen=True, eq=False)
class Simple(Node):
    func: str
    operand: Node

    def eval(self, src: Source) -> Vector:
        f = _SIMPLE[self.func]
        return _unique([Sample("", s.labels, f(s.value)) for s in self.operand.eval(src)])

    def children(self) -> Sequence[Node]:
        return (self.operand,)


@dataclass(frozen=True, eq=False)
class Clamp(Node):
    operand: Node
    low: Node | None
    high: Node | None

    def eval(self, src: Source) -> Vector:
        vec = self.operand.eval(src)
        low = self.low.eval(src) if self.low is not None else None
        high = self.high.eval(src) if self.high is not None else None
        if low is not None and high is not None and high < low:
            return []
        out = []
        for s in vec:
            v = s.value
            if high is not None:
                v = _go_min(high, v)
            if low is not None:
                v = _go_max(low, v)
            out.append(Sample("", s.labels, v))
        return _unique(out)

    def children(self) -> Sequence[Node]:
        return tuple(n for n in (self.operand, self.low, self.high) if n is not None)


# --------------------------------------------------------------------------- range functions


def _kahan_inc(inc: float, total: float, c: float) -> tuple[float, float]:
    t = total + inc
    if abs(total) >= abs(inc):
        c += (total - t) + inc
    else:
        c += (inc - t) + total
    return t, c


def _kahan_sum(values: Iterable[float]) -> float:
    total = c = 0.0
    for v in values:
        total, c = _kahan_inc(v, total, c)
    return total if math.isinf(total) else total + c


def _extrapolated(span: Span, now: float, seconds: float, counter: bool,
                  per_second: bool) -> float | None:
    """rate, increase and delta as Prometheus 2.42 computes them (extrapolatedRate)."""
    times, values = span.times, span.values
    if len(times) < 2:
        return None
    result = values[-1] - values[0]
    if counter:
        result += span.resets()
    start, end = now - seconds, now
    to_start, to_end = times[0] - start, end - times[-1]
    sampled = times[-1] - times[0]
    average = sampled / (len(times) - 1)
    if counter and result > 0 and values[0] >= 0:
        # a counter does not go below zero: extrapolate no further back than its zero
        to_zero = sampled * (values[0] / result)
        to_start = min(to_start, to_zero)
    threshold = average * 1.1
    interval = sampled
    interval += to_start if to_start < threshold else average / 2
    interval += to_end if to_end < threshold else average / 2
    factor = interval / sampled
    if per_second:
        factor /= seconds
    return result * factor


def _avg_over_time(span: Span) -> float:
    if span.merged:
        assert span.sums is not None and span.counts is not None
        return _kahan_sum(span.sums) / math.fsum(span.counts)
    mean = c = count = 0.0
    for v in span.values:
        count += 1
        if math.isinf(mean) and ((math.isinf(v) and (mean > 0) == (v > 0))
                                 or (not math.isinf(v) and not math.isnan(v))):
            continue
        mean, c = _kahan_inc(v / count - mean / count, mean, c)
    return mean if math.isinf(mean) else mean + c


def _extreme(values: Sequence[float], better: Callable[[float, float], bool]) -> float:
    best = values[0]
    for v in values:
        if better(v, best) or math.isnan(best):
            best = v
    return best


RANGE_FUNCTIONS: dict[str, Callable[[Span, float, float], float | None]] = {
    "rate": lambda sp, now, sec: _extrapolated(sp, now, sec, counter=True, per_second=True),
    "increase": lambda sp, now, sec: _extrapolated(sp, now, sec, counter=True,
                                                   per_second=False),
    "delta": lambda sp, now, sec: _extrapolated(sp, now, sec, counter=False, per_second=False),
    "avg_over_time": lambda sp, now, sec: _avg_over_time(sp),
    "min_over_time": lambda sp, now, sec: _extreme(sp.lows or sp.values, lambda a, b: a < b),
    "max_over_time": lambda sp, now, sec: _extreme(sp.highs or sp.values, lambda a, b: a > b),
    "sum_over_time": lambda sp, now, sec: _kahan_sum(sp.sums or sp.values),
    "count_over_time": lambda sp, now, sec: float(sum(sp.counts) if sp.counts
                                                  else len(sp.times)),
}


@dataclass(frozen=True, eq=False)
class RangeCall(Node):
    func: str
    name: str
    matchers: tuple[Matcher, ...]
    seconds: float

    def eval(self, src: Source) -> Vector:
        f = RANGE_FUNCTIONS[self.func]
        out: Vector = []
        matchers = self.matchers

        def keep(labels: Mapping[str, str]) -> bool:
            return match_all(matchers, labels)

        for labels, span in src.window(self.name, self.seconds, keep):
            value = f(span, src.now, self.seconds)
            if value is not None:
                out.append(Sample("", labels, value))
        return _unique(out)


# --------------------------------------------------------------------------- compiling

INSTANT_FUNCTIONS = ("abs", "ceil", "floor", "clamp", "clamp_min", "clamp_max", "time")
AGGREGATIONS = ("sum", "min", "max", "avg", "count", "group")
# promql-parser's enums compare equal but do not hash: tables of pairs
_MATCH_OPS = ((pp.MatchOp.Equal, "="), (pp.MatchOp.NotEqual, "!="), (pp.MatchOp.Re, "=~"),
              (pp.MatchOp.NotRe, "!~"))
_CARD = ((pp.VectorMatchCardinality.OneToOne, "one-to-one"),
         (pp.VectorMatchCardinality.ManyToOne, "many-to-one"),
         (pp.VectorMatchCardinality.OneToMany, "one-to-many"),
         (pp.VectorMatchCardinality.ManyToMany, "many-to-many"))


def _lookup(table: Sequence[tuple[Any, str]], value: Any) -> str:
    return next(text for member, text in table if member == value)


def parse(text: str) -> Any:
    """promql-parser's AST of `text`; PromQLError with the parser's message if it is not
    PromQL."""
    try:
        return pp.parse(text)
    except (ValueError, TypeError) as exc:
        raise PromQLError(str(exc) or "invalid PromQL") from None


def _show(node: Any) -> str:
    try:
        return " ".join(node.prettify().split())
    except Exception:  # a node the parser cannot print: name its kind
        return type(node).__name__


def _matchers(sel: Any) -> tuple[str, tuple[Matcher, ...]]:
    if sel.offset is not None:
        raise Unsupported(f"offset is not supported by the built-in engine ({_show(sel)})")
    if sel.at is not None:
        raise Unsupported(f"@ is not supported by the built-in engine ({_show(sel)})")
    if sel.matchers.or_matchers:
        raise Unsupported(f"'or' inside a selector is not supported ({_show(sel)})")
    name = sel.name
    out = []
    for m in sel.matchers.matchers:
        op = _lookup(_MATCH_OPS, m.op)
        if m.name == "__name__":
            if op != "=" or name is not None:
                raise Unsupported(f"a selector must name one metric (__name__=\"...\"): "
                                  f"{_show(sel)}")
            name = m.value
            continue
        try:
            out.append(Matcher.build(m.name, op, m.value))
        except MatcherError as exc:
            raise Unsupported(f"{_show(sel)}: {exc}") from None
    if not name:
        raise Unsupported(f"a selector must name its metric: {_show(sel)}")
    return name, tuple(out)


def _matching(mod: Any) -> tuple[bool, tuple[str, ...]]:
    if mod is None or mod.matching is None:
        return False, ()
    return mod.matching.type == pp.LabelModifierType.Include, tuple(mod.matching.labels)


def compile_node(node: Any) -> Node:
    """The evaluator of one AST node; Unsupported names the part outside the subset."""
    if isinstance(node, pp.ParenExpr):
        return compile_node(node.expr)
    if isinstance(node, pp.NumberLiteral):
        return Number(float(node.val))
    if isinstance(node, pp.VectorSelector):
        name, matchers = _matchers(node)
        return Selector(name, matchers)
    if isinstance(node, pp.UnaryExpr):
        return Negate(compile_node(node.expr))
    if isinstance(node, pp.BinaryExpr):
        return _binary(node)
    if isinstance(node, pp.AggregateExpr):
        op = str(node.op)
        if op not in AGGREGATIONS:
            raise Unsupported(f"aggregation '{op}' is not supported by the built-in engine")
        operand = compile_node(node.expr)
        if operand.kind != "vector":
            raise Unsupported(f"{op} needs an instant vector: {_show(node)}")
        mod = node.modifier
        without = mod is not None and mod.type == pp.AggModifierType.Without
        return Aggregate(op, operand, without, tuple(mod.labels) if mod is not None else ())
    if isinstance(node, pp.Call):
        return _call(node)
    if isinstance(node, pp.MatrixSelector):
        raise Unsupported(f"a range vector is only read by a range function: {_show(node)}")
    if isinstance(node, pp.SubqueryExpr):
        raise Unsupported(f"subqueries are not supported by the built-in engine ({_show(node)})")
    if isinstance(node, pp.StringLiteral):
        raise Unsupported(f"a string is not a value here: {_show(node)}")
    raise Unsupported(f"{type(node).__name__} is not supported by the built-in engine")


def _binary(node: Any) -> Node:
    op = str(node.op)
    if op not in ARITHMETIC + COMPARISON + SET_OPS:
        raise Unsupported(f"operator '{op}' is not supported by the built-in engine")
    mod = node.modifier
    fill = getattr(mod, "fill_values", None)
    if fill is not None and (fill.lhs is not None or fill.rhs is not None):
        raise Unsupported("fill() is not supported by the built-in engine")
    lhs, rhs = compile_node(node.lhs), compile_node(node.rhs)
    bool_ = bool(mod is not None and mod.return_bool)
    if op in SET_OPS:
        if lhs.kind != "vector" or rhs.kind != "vector":
            raise Unsupported(f"'{op}' needs vectors on both sides: {_show(node)}")
        on, labels = _matching(mod)
        return SetOperation(op, lhs, rhs, on, labels)
    if lhs.kind == "scalar" and rhs.kind == "scalar":
        return ScalarBinary(op, lhs, rhs)
    if lhs.kind == "scalar" or rhs.kind == "scalar":
        swap = lhs.kind == "scalar"
        return VectorScalar(op, rhs if swap else lhs, lhs if swap else rhs, swap, bool_)
    on, labels = _matching(mod)
    card = _lookup(_CARD, mod.card) if mod is not None else "one-to-one"
    include = tuple(mod.group_labels or ()) if mod is not None else ()
    return VectorVector(op, lhs, rhs, on, labels, card, include, bool_)


def _call(node: Any) -> Node:
    name = node.func.name
    args = list(node.args)
    if name in RANGE_FUNCTIONS:
        arg = args[0] if len(args) == 1 else None
        if not isinstance(arg, pp.MatrixSelector):
            raise Unsupported(f"{name}() reads a range of one selector, name{{...}}[window], "
                              f"in the built-in engine: {_show(node)}")
        metric, matchers = _matchers(arg.vector_selector)
        seconds = arg.range.total_seconds()
        if seconds <= 0:
            raise Unsupported(f"{name}(): the window must be positive: {_show(node)}")
        return RangeCall(name, metric, matchers, seconds)
    if name not in INSTANT_FUNCTIONS:
        raise Unsupported(f"function '{name}' is not supported by the built-in engine")
    compiled = [compile_node(a) for a in args]
    if name == "time":
        return Time()
    operand, rest = compiled[0], compiled[1:]
    if operand.kind != "vector" or any(a.kind != "scalar" for a in rest):
        raise Unsupported(f"{name}() takes an instant vector and numbers: {_show(node)}")
    if name in _SIMPLE:
        return Simple(name, operand)
    if name == "clamp":
        return Clamp(operand, rest[0], rest[1])
    if name == "clamp_min":
        return Clamp(operand, rest[0], None)
    return Clamp(operand, None, rest[0])


def _walk(node: Node) -> Iterable[Node]:
    yield node
    for child in node.children():
        yield from _walk(child)


@dataclass(frozen=True, eq=False)
class Query:
    """A compiled expression: `eval(source)` gives the instant vector at `source.now`."""

    text: str
    root: Node

    def eval(self, src: Source) -> Vector:
        result = self.root.eval(src)
        assert isinstance(result, list)
        return result

    def metrics(self) -> set[str]:
        """Names the expression reads (the live view gathers only these)."""
        out = set()
        for node in _walk(self.root):
            if isinstance(node, Selector | RangeCall):
                out.add(node.name)
        return out

    def windows(self) -> dict[str, float]:
        """Metric -> the longest range a range function reads it over (what the live
        history must keep)."""
        out: dict[str, float] = {}
        for node in _walk(self.root):
            if isinstance(node, RangeCall):
                out[node.name] = max(out.get(node.name, 0.0), node.seconds)
        return out


def compile_query(text: str) -> Query:
    """Parse and compile; PromQLError (not PromQL) or Unsupported (outside the subset)."""
    root = compile_node(parse(text))
    if root.kind != "vector":
        raise Unsupported("the expression must give an instant vector, not a number")
    return Query(text, root)


__all__ = ["AGGREGATIONS", "INSTANT_FUNCTIONS", "RANGE_FUNCTIONS", "EvalError", "Node",
           "PromQLError", "Query", "Source", "Span", "Unsupported", "Vector", "compile_node",
           "compile_query", "parse"]
