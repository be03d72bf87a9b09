"""Formula 7: downtime, availability, budget and burn, from intervals; time injected."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tier.availability import (
    DEFAULT_WINDOWS,
    BurnWindow,
    availability,
    availability_by_scope,
    burn_rate,
    merge,
    multiwindow_burn,
    planned_downtime,
    subtract,
)

DAY = 86400.0
MONTH = 30 * DAY


def test_merge_clips_and_unions() -> None:
    spans = [(50, 70), (-10, 5), (60, 80), (90, None), (200, 300)]
    assert merge(spans, 0, 100) == [(0, 5), (50, 80), (90, 100)]


def test_subtract() -> None:
    assert subtract([(0, 10), (20, 30)], [(5, 22), (25, 26)]) == [(0, 5), (22, 25), (26, 30)]
    assert subtract([(0, 10)], []) == [(0, 10)]
    assert subtract([(0, 10)], [(0, 10)]) == []


def test_tier_iii_month_budget() -> None:
    report = availability([], (0, MONTH))
    assert report.budget == pytest.approx((1 - 0.99982) * MONTH)
    assert report.budget / 60 == pytest.approx(7.776, abs=0.001)  # about 7.8 min per 30 days
    assert report.availability == 1.0 and report.burn == 0.0 and report.met


def test_downtime_is_the_union_of_overlapping_outages() -> None:
    outages = [(1000, 1300), (1200, 1400), (5000, None)]
    report = availability(outages, (0, MONTH), now=5100)
    assert report.downtime == 400 + 100
    assert report.observed == 5100
    assert report.availability == pytest.approx(1 - 500 / 5100)
    assert report.burn == pytest.approx(500 / ((1 - 0.99982) * MONTH))
    assert report.budget_remaining == pytest.approx(report.budget - 500)
    assert report.outages == ((1000, 1400), (5000, 5100))
    assert report.met is False


def test_unmonitored_time_is_neither_up_nor_down() -> None:
    report = availability([(100, 300)], (0, 1000), unmonitored=[(200, 600)], target=0.9)
    assert report.unmonitored == 400
    assert report.monitored == 600
    assert report.downtime == 100  # 200-300 was not watched
    assert report.availability == pytest.approx(1 - 100 / 600)
    assert report.availability_worst == pytest.approx(1 - 500 / 1000)
    assert report.unmonitored_share == pytest.approx(0.4)


def test_exposure_is_summed_apart_from_downtime() -> None:
    report = availability(
        [],
        (0, 1000),
        exposure={"on_battery": [(10, 40), (30, 50)], "bypass": [(45, 100)], "spof": []},
    )
    assert dict(report.exposure) == {"on_battery": 40, "bypass": 55, "spof": 0}
    assert report.exposure_total == 90
    assert report.downtime == 0


def test_nothing_monitored() -> None:
    report = availability([(0, 10)], (0, 100), unmonitored=[(0, 100)])
    assert report.availability is None and report.met is None
    assert report.availability_worst == 0.0


@pytest.mark.parametrize(
    "bad",
    [
        {"outages": [(10, 5)], "period": (0, 100)},
        {"outages": [], "period": (100, 100)},
        {"outages": [], "period": (0, 100), "target": 1.0},
        {"outages": [(float("nan"), 5)], "period": (0, 100)},
        {"outages": [], "period": (float("nan"), 100)},
        {"outages": [], "period": (0, float("inf"))},
        {"outages": [], "period": (0, 100), "target": 0.0},
        {"outages": [], "period": (0, 100), "now": float("nan")},
    ],
)
def test_bad_inputs(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        availability(**bad)  # type: ignore[arg-type]


def test_by_scope() -> None:
    reports = availability_by_scope(
        {"R1": [(0, 10)], "R2": []}, (0, 100), unmonitored={"R2": [(50, 100)]}, target=0.5
    )
    assert reports["R1"].downtime == 10 and reports["R2"].monitored == 50


def test_burn_rates_over_trailing_windows() -> None:
    now = 10 * DAY
    outages = [(now - 120, None)]  # down for the last two minutes
    allowed = 1 - 0.99982
    assert burn_rate(outages, now, 300) == pytest.approx((120 / 300) / allowed)
    assert burn_rate(outages, now, 3600) == pytest.approx((120 / 3600) / allowed)
    assert burn_rate(outages, now, 300, unmonitored=[(now - 300, now)]) is None
    alerts = multiwindow_burn(outages, now)
    assert [a.window for a in alerts] == list(DEFAULT_WINDOWS)
    assert [a.firing for a in alerts] == [True, True, True]
    # The same two minutes, over 48 minutes ago: the short windows have gone quiet, only
    # the slow-burn pair (3 days / 6 hours) still fires.
    ended = [(now - 3000, now - 2880)]
    assert [a.firing for a in multiwindow_burn(ended, now)] == [False, False, True]


def test_no_burn_no_alert() -> None:
    assert not any(a.firing for a in multiwindow_burn([], 1e6))


@dataclass(frozen=True)
class Out:
    start: float
    end: float | None
    planned: bool = False


def test_planned_downtime_with_mixed_outages() -> None:
    outages = [
        Out(100.0, 200.0, planned=True),
        Out(120.0, 180.0, planned=True),  # a second planned outage inside the first
        Out(150.0, 300.0),  # unplanned, overlapping: not planned time
        Out(500.0, 520.0, planned=True),
        Out(600.0, 700.0),
    ]
    # planned: (100, 200) and (500, 520) = 120 s; all downtime: (100, 300), (500, 520),
    # (600, 700) = 320 s
    assert planned_downtime(outages, (0.0, 1000.0)) == 120.0
    spans = [(o.start, o.end) for o in outages]
    assert availability(spans, (0.0, 1000.0)).downtime == 320.0


def test_planned_downtime_leaves_out_an_unmonitored_gap() -> None:
    outages = [Out(100.0, 400.0, planned=True), Out(250.0, 450.0)]
    gap = [(200.0, 300.0)]
    # planned (100, 400) less the gap (200, 300): 200 s
    assert planned_downtime(outages, (0.0, 1000.0), unmonitored=gap) == 200.0
    assert availability([(100.0, 400.0), (250.0, 450.0)], (0.0, 1000.0),
                        unmonitored=gap).downtime == 250.0


def test_an_open_planned_outage_runs_to_now_not_to_the_period_end() -> None:
    outages = [Out(500.0, None, planned=True), Out(900.0, None, planned=True)]
    assert planned_downtime(outages, (0.0, 1000.0), now=600.0) == 100.0
    assert planned_downtime(outages, (0.0, 1000.0)) == 500.0  # a finished period: to its end
    assert planned_downtime(outages, (0.0, 1000.0), now=2000.0) == 500.0
    assert planned_downtime(outages, (0.0, 1000.0), now=-5.0) == 0.0  # not begun


def test_touching_intervals_merge_into_one() -> None:
    assert merge([(10.0, 20.0), (0.0, 10.0), (20.0, 30.0)], 0.0, 100.0) == [(0.0, 30.0)]
    report = availability([(100.0, 200.0), (200.0, 300.0)], (0.0, 1000.0))
    assert report.outages == ((100.0, 300.0),)


@pytest.mark.parametrize(("down", "met"), [(100.0, True), (101.0, False)])
def test_met_includes_equality(down: float, met: bool) -> None:
    # 1 - 100 / 6400 = 0.984375, a binary fraction: equality is exact
    report = availability([(0.0, down)], (0.0, 6400.0), target=0.984375)
    assert report.met is met
    assert report.to_json()["met"] is met


def test_the_json_names_every_figure() -> None:
    """What GET /api/v1/availability and the report read: every key, worked out by hand.
    Period 0-1000, now 800: observed 800, 100 of it unwatched (700-800 less nothing),
    outages 100-200 and 650-750 (the latter half unwatched), battery 300-400."""
    report = availability(
        [(100.0, 200.0), (650.0, 750.0)], (0.0, 1000.0), now=800.0,
        unmonitored=[(700.0, 800.0)], exposure={"on_battery": [(300.0, 400.0)]}, target=0.75)
    assert report.to_json() == {
        "period": [0.0, 1000.0],
        "observed_s": 800.0,
        "monitored_s": 700.0,
        "unmonitored_s": 100.0,
        "unmonitored_share": 0.125,
        "downtime_s": 150.0,  # 100 + 50
        "availability": 1 - 150 / 700,
        "availability_worst": 1 - 250 / 800,
        "target": 0.75,
        "budget_s": 250.0,  # (1 - 0.75) x the whole 1000 s
        "burn": 0.6,
        "budget_remaining_s": 100.0,
        "met": True,  # 0.786 >= 0.75
        "exposure_s": {"on_battery": 100.0},
        "exposure_total_s": 100.0,
        "outages": [[100.0, 200.0], [650.0, 700.0]],
    }


def test_zero_length_intervals_are_no_time_and_no_error() -> None:
    assert merge([(50.0, 50.0), (60.0, None)], 0.0, 60.0) == []
    assert availability([(50.0, 50.0)], (0.0, 100.0)).outages == ()


def test_subtract_skips_every_hole_before_a_span() -> None:
    holes = [(0.0, 10.0), (20.0, 30.0), (40.0, 50.0), (150.0, 160.0)]
    assert subtract([(100.0, 200.0)], holes) == [(100.0, 150.0), (160.0, 200.0)]


def test_a_period_shorter_than_a_second() -> None:
    report = availability([(0.0, 0.25)], (0.0, 0.5))
    assert (report.availability, report.availability_worst) == (0.5, 0.5)
    blind = availability([], (0.0, 0.5), unmonitored=[(0.0, 0.125)])
    assert blind.unmonitored_share == 0.25
    assert burn_rate([(0.0, 0.25)], 0.5, 0.5, target=0.5) == 1.0  # half down, half allowed


def test_a_period_not_yet_begun_has_no_figures() -> None:
    report = availability([], (100.0, 200.0), now=50.0)
    assert report.observed == 0.0
    assert (report.availability, report.availability_worst) == (None, None)
    assert report.unmonitored_share == 0.0


def test_by_scope_passes_now_exposure_and_target() -> None:
    reports = availability_by_scope(
        {"R1": [(0.0, 10.0)]}, (0.0, 100.0), now=50.0,
        exposure={"R1": {"bypass": [(20.0, 30.0)]}}, target=0.5)
    r1 = reports["R1"]
    assert (r1.observed, r1.exposure_total, r1.target, r1.budget) == (50.0, 10.0, 0.5, 50.0)


def test_burn_window_must_be_positive() -> None:
    with pytest.raises(ValueError):
        burn_rate([], 100.0, 0.0)


def test_multiwindow_burn_uses_the_gaps_and_the_target() -> None:
    now = 10 * DAY
    outages = [(now - 120.0, None)]
    window = BurnWindow(long=600.0, short=300.0, threshold=1.0, severity="page")
    (alert,) = multiwindow_burn(outages, now, [window], unmonitored=[(now - 300.0, now - 240.0)],
                                target=0.9)
    # long: 120 down of 540 watched, over 0.1 allowed; short: 120 of 240
    assert alert.long_rate == pytest.approx((120 / 540) / 0.1)
    assert alert.short_rate == pytest.approx((120 / 240) / 0.1)
