"""Availability as the API computes it from the store (livetier/downtime.py): the
figures a user reads in GET /api/v1/availability and on /metrics, each worked out by hand
from the outages and gaps written into a real SQLite store.

Times are small epoch seconds; the store first sees something at 0, so nothing before is
"not yet watched" unless a test says so."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from livetier.config import TierLiveConfig
from livetier.downtime import AvailabilityCache, Scope, availability_report, month_bounds
from tierwatch.core.store import Store

TZ = "Asia/Ho_Chi_Minh"
DAY = 86400.0


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store.open(f"sqlite:///{tmp_path / 'a.sqlite'}")
    s.record_transition("load", "R1", None, "served", 0.0)  # watched from 0
    return s


def outage(store: Store, subject: str, start: float, end: float | None, *,
           planned: bool = False, subsystem: str = "power") -> None:
    store.open_outage("load", subject, start, "x", subsystem=subsystem, planned=planned)
    if end is not None:
        store.close_outage("load", subject, end)


def test_planned_downtime_counts_only_the_planned_outages(store: Store) -> None:
    outage(store, "R1", 100.0, 200.0, planned=True)  # maintenance dropped R1: 100 s
    outage(store, "R1", 300.0, 400.0)  # a fault: 100 s
    outage(store, "R2", 150.0, 250.0)  # a fault overlapping the planned one
    site = availability_report(store, "site", (0.0, 1000.0), now=1000.0)
    # site downtime: (100, 250) and (300, 400) = 150 + 100; planned: (100, 200) only
    assert site.report.downtime == 250.0
    assert site.planned_downtime == 100.0
    assert site.to_json()["planned_downtime_s"] == 100.0
    r1 = availability_report(store, "load:R1", (0.0, 1000.0), now=1000.0)
    assert (r1.report.downtime, r1.planned_downtime) == (200.0, 100.0)
    r2 = availability_report(store, "R2", (0.0, 1000.0), now=1000.0)
    assert (r2.report.downtime, r2.planned_downtime) == (100.0, 0.0)


def test_an_outage_across_an_unmonitored_gap_counts_before_and_after_it(store: Store) -> None:
    store.start_instance("a", 0.0, 60.0)
    store.heartbeat("a", 300.0)
    store.start_instance("a", 500.0, 60.0)  # silent from 300 to 500: a gap of 200 s
    store.heartbeat("a", 1000.0)
    outage(store, "R1", 200.0, 600.0, planned=True)  # 400 s, 200 of them unwatched
    outage(store, "R2", 250.0, 550.0)  # 300 s, 200 of them unwatched
    site = availability_report(store, "site", (0.0, 1000.0), now=1000.0)
    assert site.report.unmonitored == 200.0
    assert site.report.monitored == 800.0
    assert site.report.downtime == 200.0  # (200, 300) and (500, 600)
    assert site.planned_downtime == 200.0  # the same: R1 was down for planned work
    assert site.report.availability == pytest.approx(1 - 200 / 800)


def test_an_open_planned_outage_runs_to_now_in_a_running_period(store: Store) -> None:
    store.start_instance("a", 0.0, 60.0)
    store.heartbeat("a", 595.0)  # alive: 5 s before now
    outage(store, "R1", 500.0, None, planned=True)  # still open
    site = availability_report(store, "site", (0.0, 1000.0), now=600.0)
    assert site.report.observed == 600.0
    assert site.report.unmonitored == 0.0  # the heartbeat is fresh: all of it was watched
    assert site.report.downtime == 100.0  # 500 to now, not to the period's end
    assert site.planned_downtime == 100.0
    # the budget is the whole period's (1 - 0.99982) x 1000 s, the burn so far against it
    assert site.report.budget == pytest.approx(0.18)
    assert site.report.burn == pytest.approx(100.0 / 0.18)


def test_a_silent_monitor_leaves_the_time_since_its_last_heartbeat_unwatched(
    store: Store,
) -> None:
    store.start_instance("a", 0.0, 60.0)
    store.heartbeat("a", 400.0)  # then nothing: 200 s of silence by now (> 60 s)
    site = availability_report(store, "site", (0.0, 1000.0), now=600.0)
    assert site.report.observed == 600.0
    assert site.report.unmonitored == 200.0


def test_touching_outages_are_one_interval(store: Store) -> None:
    outage(store, "R1", 100.0, 200.0)
    outage(store, "R2", 200.0, 300.0)  # begins the instant R1 is served again
    site = availability_report(store, "site", (0.0, 1000.0), now=1000.0)
    assert site.report.downtime == 200.0
    assert site.to_json()["outages"] == [[100.0, 300.0]]


@pytest.mark.parametrize(("down", "met"), [(100.0, True), (101.0, False)])
def test_met_when_availability_equals_the_target(store: Store, down: float, met: bool) -> None:
    # 1 - 100 / 6400 = 0.984375 exactly (binary fractions, no rounding)
    outage(store, "R1", 1000.0, 1000.0 + down)
    site = availability_report(store, "site", (0.0, 6400.0), now=6400.0, target=0.984375)
    assert site.report.availability == (0.984375 if met else 1 - 101 / 6400)
    assert site.to_json()["met"] is met


def test_site_burn_is_over_30_days_when_both_windows_are_configured(store: Store) -> None:
    now = datetime(2026, 3, 15, 12, 0, tzinfo=ZoneInfo(TZ)).timestamp()
    # 60 s down 20 days ago: inside the last 30 days, before this month began
    outage(store, "R1", now - 20 * DAY, now - 20 * DAY + 60.0)
    settings = TierLiveConfig(windows=("month", "30d"), availability_cache=30.0, target=0.999)
    cache = AvailabilityCache(store, settings, TZ, ["site"], clock=lambda: now)
    figures = {f.window: f.report for f in cache.figures()}
    assert figures["month"].downtime == 0.0
    assert figures["30d"].downtime == 60.0
    # budget over 30 days: 0.001 x 2,592,000 s = 2,592 s; 60 / 2,592 = 5 / 216
    assert cache.site_burn() == pytest.approx(5 / 216)
    only_month = AvailabilityCache(store, TierLiveConfig(windows=("month",), target=0.999), TZ,
                                   ["site"], clock=lambda: now)
    only_month.figures()
    assert only_month.site_burn() == 0.0


@pytest.mark.parametrize(("text", "kind", "name", "label"), [
    ("site", "site", "site", "site"),
    ("power", "subsystem", "power", "power"),
    ("subsystem:cooling", "subsystem", "cooling", "cooling"),
    ("load:R01", "load", "R01", "load:R01"),
    (" R01 ", "load", "R01", "load:R01"),
])
def test_scopes(text: str, kind: str, name: str, label: str) -> None:
    scope = Scope.parse(text)
    assert (scope.kind, scope.name, scope.label) == (kind, name, label)


@pytest.mark.parametrize("text", ["", "  ", "subsystem:plumbing", "load:"])
def test_bad_scopes(text: str) -> None:
    with pytest.raises(ValueError):
        Scope.parse(text)


def test_only_load_outages_exposures_and_gaps_inside_the_period_count(store: Store) -> None:
    """Period 1000-2000. Outside it, or of another kind, nothing counts."""
    store.open_outage("device", "ups-a", 1100.0, "no answer", subsystem="power")  # not a load
    store.close_outage("device", "ups-a", 1900.0)
    outage(store, "R1", 500.0, 900.0)  # before
    outage(store, "R1", 2100.0, 2200.0)  # after
    outage(store, "R1", 1500.0, 1600.0, planned=True)  # inside
    store.add_unmonitored(300.0, 400.0, "before")
    store.add_unmonitored(2300.0, 2400.0, "after")
    store.add_unmonitored(1700.0, 1750.0, "inside")
    store.open_exposure("bypass", "R1", 1200.0, subsystem="power")
    store.close_exposure("bypass", "R1", 1300.0)
    store.open_exposure("bypass", "R1", 200.0, subsystem="power")  # over before the period
    store.close_exposure("bypass", "R1", 250.0)
    store.open_exposure("bypass", "ups-a", 1200.0)  # a device's own: no subsystem
    store.close_exposure("bypass", "ups-a", 1400.0)
    store.open_exposure("cpu_hot", "R1", 1200.0, subsystem="power")  # not a tier kind
    store.close_exposure("cpu_hot", "R1", 1400.0)
    got = availability_report(store, "site", (1000.0, 2000.0), now=5000.0)
    assert (got.report.downtime, got.report.unmonitored) == (100.0, 50.0)
    assert got.report.exposure == {"bypass": 100.0}
    assert got.to_json()["events"] == [{
        "load": "R1", "subsystem": "power", "start": 1500.0, "end": 1600.0, "cause": "x",
        "planned": True, "maintenance_id": None}]
    power = availability_report(store, Scope.parse("power"), (1000.0, 2000.0), now=5000.0)
    assert power.scope == Scope("subsystem", "power") and power.report.exposure == {
        "bypass": 100.0}


def test_an_empty_store_watched_nothing(tmp_path: Path) -> None:
    empty = Store.open(f"sqlite:///{tmp_path / 'e.sqlite'}")
    got = availability_report(empty, "site", (0.0, 1000.0), now=1000.0)
    assert got.report.unmonitored == 1000.0 and got.report.availability is None


def test_time_before_the_first_observation_was_not_watched(tmp_path: Path) -> None:
    late = Store.open(f"sqlite:///{tmp_path / 'l.sqlite'}")
    late.record_transition("load", "R1", None, "served", 400.0)
    got = availability_report(late, "site", (0.0, 1000.0), now=1000.0)
    assert got.report.unmonitored == 400.0


def test_a_heartbeat_exactly_max_silence_ago_is_still_watching(store: Store) -> None:
    store.start_instance("a", 0.0, 60.0)
    store.heartbeat("a", 940.0)
    got = availability_report(store, "site", (0.0, 2000.0), now=1000.0, max_silence=60.0)
    assert got.report.unmonitored == 0.0
    got = availability_report(store, "site", (0.0, 2000.0), now=1000.5, max_silence=60.0)
    assert got.report.unmonitored == 60.5


def test_a_running_period_stops_at_the_clock_when_no_now_is_given(store: Store) -> None:
    began = time.time() - 100.0
    got = availability_report(store, "site", (began, began + 86400.0))
    assert 100.0 <= got.report.observed <= time.time() - began


def test_month_bounds_from_any_moment_of_the_month() -> None:
    now = datetime(2026, 3, 15, 12, 34, 56, 789000, tzinfo=ZoneInfo(TZ)).timestamp()
    start, end = month_bounds(now, TZ)
    assert datetime.fromtimestamp(start, ZoneInfo(TZ)).isoformat() == "2026-03-01T00:00:00+07:00"
    assert datetime.fromtimestamp(end, ZoneInfo(TZ)).isoformat() == "2026-04-01T00:00:00+07:00"


def test_the_cache_by_subsystem_with_a_live_heartbeat(store: Store) -> None:
    now = datetime(2026, 3, 15, 12, 0, tzinfo=ZoneInfo(TZ)).timestamp()
    store.start_instance("a", 0.0, 60.0)
    store.heartbeat("a", now - 10.0)
    outage(store, "R1", now - 600.0, now - 540.0, subsystem="power")
    outage(store, "Z1", now - 120.0, None, subsystem="cooling")  # open: runs to now
    clock = [now]
    settings = TierLiveConfig(windows=("1h", "month"), availability_cache=30.0, target=0.999)
    cache = AvailabilityCache(store, settings, TZ, ["power", "cooling", "site"],
                              clock=lambda: clock[0])
    got = {(f.scope, f.window): f.report for f in cache.figures()}
    assert got[("power", "1h")].downtime == 60.0
    assert got[("cooling", "1h")].downtime == 120.0
    assert got[("site", "1h")].downtime == 180.0
    month_start = datetime(2026, 3, 1, tzinfo=ZoneInfo(TZ)).timestamp()
    assert got[("site", "month")].observed == now - month_start  # to now, not the month's end
    assert got[("site", "month")].unmonitored == 0.0
    assert (cache.computations, cache.errors) == (1, 0)
    clock[0] = now + 30.0  # exactly the cache's lifetime later: computed afresh
    cache.figures()
    assert cache.computations == 2
