"""The built-in engine's PromQL, held to Prometheus: the fixture test files that promtool
also runs (tests/fixtures/rules/, tests/alerts/test_promtool_rules.py), what promtool's
format cannot say (evaluation errors, IEEE corner cases, what is refused), and the bounded
history that range functions read in a running tierwatch."""

from __future__ import annotations

import math
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from alerts.engine import AlertState, evaluate
from alerts.promql import EvalError, Source, Span, Unsupported, compile_query
from alerts.rules import Rule
from alerts.ruletest import ExpAlert, RuleTestError, expand, load_test_file, run_file, run_group
from alerts.series_history import LiveSource, SeriesHistory
from tests.helpers import FIXTURES_DIR
from tierwatch.core.model import Sample

FIXTURES = FIXTURES_DIR / "rules"
FIXTURE_TESTS = sorted(FIXTURES.glob("*.test.yml"))
GROUPS = [(path, i, group.name) for path in FIXTURE_TESTS
          for i, group in enumerate(load_test_file(path)[0].tests)]


@pytest.mark.parametrize(("path", "index", "name"), GROUPS,
                         ids=[f"{p.name}: {n}" for p, _, n in GROUPS])
def test_builtin_engine_passes_the_fixture_tests_promtool_passes(path: Path, index: int,
                                                                 name: str) -> None:
    spec, ruleset = load_test_file(path)
    assert run_group(spec.tests[index], ruleset, spec.evaluation_interval) == []


def test_a_wrong_expectation_fails(tmp_path: Path) -> None:
    for path in FIXTURES.iterdir():
        shutil.copy(path, tmp_path / path.name)
    test_file = tmp_path / "range.rules.test.yml"
    text = test_file.read_text(encoding="utf-8")
    test_file.write_text(text.replace("value: 120}", "value: 121}"), encoding="utf-8")
    result = run_file(test_file)
    (failure,) = [f for failures in result.failures.values() for f in failures]
    assert "increase(if_in_errors_total{if_index=\"1\"}[5m])" in failure
    assert "time: 13m" in failure


# --------------------------------------------------------------------------- instant


def view(**series: list[tuple[dict[str, str], float]]) -> LiveSource:
    return LiveSource({name: [Sample(name, labels, value) for labels, value in items]
                       for name, items in series.items()}, now=1000.0)


def run(expr: str, src: Source) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for s in compile_query(expr).eval(src)}


A = {"device": "a"}
B = {"device": "b"}


@pytest.mark.parametrize(("expr", "want"), [
    ("x / 0", math.inf), ("-x / 0", -math.inf), ("(x - 2) / 0", math.nan),
    ("x % 0", math.nan), ("x ^ 0.5", math.sqrt(2)), ("-x ^ 0.5", -math.sqrt(2)),
    ("(0 * x) ^ -1", math.inf), ("(-x) ^ 0.5", math.nan), ("x ^ 2000", math.inf),
    ("x atan2 0", math.pi / 2), ("abs(-x)", 2.0), ("ceil(x / 3)", 1.0), ("floor(x / 3)", 0.0),
    ("clamp(x, 3, 5)", 3.0), ("clamp_min(x, 1)", 2.0),
])
def test_arithmetic_follows_go_floats(expr: str, want: float) -> None:
    (got,) = run(expr, view(x=[(A, 2.0)])).values()
    assert got == want or (math.isnan(got) and math.isnan(want))


def test_clamp_with_max_below_min_gives_nothing() -> None:
    assert run("clamp(x, 5, 3)", view(x=[(A, 2.0)])) == {}


def test_max_and_min_skip_a_leading_nan_as_prometheus_does() -> None:
    src = view(x=[(A, math.nan), (B, 3.0)])
    assert run("max(x)", src) == {("", ()): 3.0}
    assert run("min(x)", src) == {("", ()): 3.0}


def test_absent_label_matches_the_empty_string() -> None:
    src = view(x=[({"device": "a", "district": "q1"}, 1.0), (B, 2.0)])
    assert set(run('x{district=""}', src)) == {("x", (("device", "b"),))}
    assert set(run('x{district!~"q.*"}', src)) == {("x", (("device", "b"),))}


@pytest.mark.parametrize(("expr", "message"), [
    ("x + on () y", "duplicate series for the match group on the right-hand side"),
    ("y * on () group_right x", "duplicate series for the match group on the left-hand side"),
    ("x * ignoring (device) z", "multiple matches for labels: many-to-one matching must be "
                                "explicit"),
    # both ports take i="3" from the one side: one label set twice
    ("w / on (device) group_left (i) v", "multiple matches for labels: grouping labels must "
                                         "ensure unique matches"),
])
def test_what_prometheus_refuses_at_evaluation_is_an_error(expr: str, message: str) -> None:
    src = view(x=[(A, 1.0), (B, 2.0)], y=[(A, 1.0), (A | {"i": "2"}, 1.0)],
               z=[({"device": "c"}, 1.0)], w=[(A | {"i": "1"}, 1.0), (A | {"i": "2"}, 1.0)],
               v=[(A | {"i": "3"}, 1.0)])
    with pytest.raises(EvalError, match=message):
        compile_query(expr).eval(src)


def test_one_series_twice_is_refused_once_arithmetic_drops_the_name() -> None:
    src = view(x=[(A, 1.0), (A, 2.0)])
    assert len(compile_query("x > 0").eval(src)) == 2  # a filter keeps what it is given
    with pytest.raises(EvalError, match="vector cannot contain metrics with the same labelset"):
        compile_query("x * 2").eval(src)


def test_a_failing_rule_keeps_its_alerts_as_prometheus_does() -> None:
    expr = compile_query("x * on () y")
    rule = Rule("Broken", "g", expr, 0.0, {"severity": "warning"}, {}, "test")
    first = evaluate([rule], view(x=[(A, 1.0)], y=[(B, 1.0)]), 0.0, {})
    assert [a.state for a in first.active.values()] == [AlertState.FIRING]
    broken = evaluate([rule], view(x=[(A, 1.0)], y=[(B, 1.0), ({"device": "c"}, 1.0)]),
                      10.0, first.active)
    assert broken.active == first.active and broken.transitions == []
    assert [(r.name, "duplicate series" in e) for r, e in broken.errors] == [("Broken", True)]


@pytest.mark.parametrize(("expr", "message"), [
    ("predict_linear(x[1h], 60) > 0", "function 'predict_linear' is not supported"),
    ("quantile(0.9, x)", "aggregation 'quantile' is not supported"),
    ("x offset 5m", "offset is not supported"),
    ("x @ 100", "@ is not supported"),
    ("rate(x[5m:1m])", "rate() reads a range of one selector"),
    ('{__name__=~"x|y"}', "a selector must name one metric"),
    ("x[5m]", "a range vector is only read by a range function"),
    ("vector(1)", "function 'vector' is not supported"),
    ("3", "the expression must give an instant vector"),
])
def test_outside_the_subset_is_refused_naming_the_part(expr: str, message: str) -> None:
    with pytest.raises(Unsupported) as caught:
        compile_query(expr)
    assert message in str(caught.value)


def test_a_query_names_its_metrics_and_the_windows_history_must_keep() -> None:
    query = compile_query("rate(a[5m]) > 1 and on (device) max_over_time(a[1h]) > b "
                          "unless delta(c[1d]) < -2")
    assert query.metrics() == {"a", "b", "c"}
    assert query.windows() == {"a": 3600.0, "c": 86400.0}


# --------------------------------------------------------------------------- range


def test_rate_adds_back_a_counter_reset() -> None:
    # 0, 60, 120 then reset: 10, 70 at 60 s steps; [0, 240]: 70 - 0 + 120 = 190 over 240 s,
    # the counter starts at 0 (no extrapolation before it), the last sample at the end
    span = Span([0.0, 60.0, 120.0, 180.0, 240.0], [0.0, 60.0, 120.0, 10.0, 70.0])
    assert span.resets() == 120.0
    src = _Windows({"c": [({"device": "a"}, span)]}, now=240.0)
    assert run("increase(c[240s])", src) == {("", (("device", "a"),)): 190.0}
    assert run("rate(c[240s])", src) == {("", (("device", "a"),)): 190.0 / 240.0}
    assert run("delta(c[240s])", src) == {("", (("device", "a"),)): 70.0}


def test_rate_needs_two_samples() -> None:
    src = _Windows({"c": [({"device": "a"}, Span([100.0], [5.0]))]}, now=100.0)
    assert run("rate(c[5m])", src) == {}
    assert run("count_over_time(c[5m])", src) == {("", (("device", "a"),)): 1.0}


@dataclass(frozen=True)
class _Windows:
    """A Source whose range windows are given directly (already cut to the window)."""

    spans: dict[str, list[tuple[dict[str, str], Span]]]
    now: float

    def instant(self, name: str) -> list[Sample]:
        return []

    def window(self, name: str, seconds: float, keep: Callable[[Mapping[str, str]], bool]
               ) -> list[tuple[Mapping[str, str], Span]]:
        return [(labels, span) for labels, span in self.spans.get(name, []) if keep(labels)]


# --------------------------------------------------------------------------- history


def _record(history: SeriesHistory, name: str, points: list[tuple[float, float]],
            labels: dict[str, str]) -> None:
    for t, v in points:
        history.record({name: [Sample(name, labels, v, t)]}, t)


def test_history_reads_like_prometheus_when_every_sample_fits() -> None:
    """The fixture's counter, one poll a minute: rate over 5m at 5m is 0.5/s, as promtool
    says (range.rules.test.yml)."""
    history = SeriesHistory({"errors": 300.0})
    _record(history, "errors", [(60.0 * i, 30.0 * i) for i in range(6)], A)
    src = LiveSource({}, 300.0, history)
    assert run("rate(errors[5m])", src) == {("", (("device", "a"),)): 0.5}
    assert history.point_count() == 6


def test_a_poll_seen_by_several_evaluations_is_one_sample() -> None:
    history = SeriesHistory({"errors": 300.0})
    for now in (60.0, 65.0, 70.0, 120.0, 125.0):  # evaluations every 5 s, polls every 60 s
        poll = 60.0 * (now // 60)
        history.source({"errors": [Sample("errors", A, poll / 2, poll)]}, now)
    assert history.point_count() == 2


def test_a_series_ages_out_with_its_window() -> None:
    history = SeriesHistory({"errors": 300.0})
    _record(history, "errors", [(0.0, 1.0)], A)
    _record(history, "errors", [(301.0, 1.0)], B)
    assert history.series_count() == 1


def test_merged_buckets_keep_counter_resets_and_extremes_exact() -> None:
    """A counter polled every second for 10 minutes, kept in 60 buckets of 10 s: it grows
    10/s, resets at 301 s and then grows 1000/s, so after the reset it passes its old value
    inside one bucket (a rate over the buckets' last values alone would miss the reset)."""
    history = SeriesHistory({"c": 600.0}, max_points=60)

    def value(t: int) -> float:
        return 10.0 * t if t < 301 else 1000.0 * (t - 301)

    _record(history, "c", [(float(t), value(t)) for t in range(601)], A)
    assert history.point_count() == 61  # buckets start at 0, 10, ... 600
    src = LiveSource({}, 600.0, history)
    key = ("", (("device", "a"),))
    # Prometheus over all 601 samples: 299000 - 0 + 3000 (the reset) = 302000, no
    # extrapolation (samples at both ends)
    assert run("increase(c[10m])", src)[key] == pytest.approx(302000.0, rel=1e-12)
    assert run("count_over_time(c[10m])", src)[key] == 601.0
    assert run("max_over_time(c[10m])", src)[key] == 299000.0
    assert run("min_over_time(c[10m])", src)[key] == 0.0
    # 10 x (0 + ... + 300) + 1000 x (0 + ... + 299)
    assert run("sum_over_time(c[10m])", src)[key] == 451500.0 + 44850000.0
    assert run("avg_over_time(c[10m])", src)[key] == pytest.approx(45301500.0 / 601)


def test_history_memory_is_bounded() -> None:
    history = SeriesHistory({"c": 3600.0}, max_points=120)
    _record(history, "c", [(float(t), float(t)) for t in range(0, 20000, 2)], A)
    assert history.point_count() <= 121
    ((labels, span),) = history.windows_of("c", 3600.0, 19998.0, lambda labels: True)
    assert labels == A and span.times[0] >= 19998.0 - 3600.0 and span.times[-1] == 19998.0


# --------------------------------------------------------------------------- the test format


@pytest.mark.parametrize(("values", "points"), [
    ("1+2x3", [1.0, 3.0, 5.0, 7.0]),
    ("0x2", [0.0, 0.0, 0.0]),  # N+1 values, and not hexadecimal
    ("-1-1x2 _ 4", [-1.0, -2.0, -3.0, None, 4.0]),
    ("_x3 stale 1e3", [None, None, None, "stale", 1000.0]),
    ("stalex1 Inf -NaN", ["stale", "stale", math.inf, math.nan]),
    ("0.1+0.1x2", [0.1, 0.2, 0.30000000000000004]),  # accumulated, as promtool does
])
def test_promtool_series_notation(values: str, points: list[object]) -> None:
    got = expand(values)
    assert len(got) == len(points)
    for g, p in zip(got, points, strict=True):
        assert g == p or (isinstance(g, float) and isinstance(p, float)
                          and math.isnan(g) and math.isnan(p))


@pytest.mark.parametrize("values", ["1+2", "abc", "1x", "0x1f", "1+x2", "stale+1x2"])
def test_what_is_not_series_notation_is_refused(values: str) -> None:
    with pytest.raises(RuleTestError, match=r"is not a series value|cannot be counted"):
        expand(values)


def test_unquoted_numbers_in_expected_labels_read_as_promtool_reads_them() -> None:
    alert = ExpAlert.model_validate({"exp_labels": {"if_index": 1, "up": True}})
    assert alert.exp_labels == {"if_index": "1", "up": "true"}
