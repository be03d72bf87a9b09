"""The monthly report's figures from a seeded month of history, checked exactly.

tests/report/seed.py writes October 2026 into a real SQLite store: two outages of
known length (one planned, inside a maintenance window), three hours on bypass, six hours
of an inlet above 27 °C, and a day tierwatch was not running. Every figure below follows
from those by hand.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from report.data import build_report, month_period, parse_month, previous_month
from report.monthly import gather, make_report
from tests.report import seed
from tests.report.seed import END, MONTH, NOW, START, at
from tier.score import score
from tierwatch.core.store import Store

DAY = 86400.0
OBSERVED = END - START  # 31 days
UNMONITORED = DAY  # 20 October
MONITORED = OBSERVED - UNMONITORED
DOWNTIME = 300.0 + 120.0
BYPASS = 3 * 3600.0
HOT = 6 * 3600.0


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store.open(f"sqlite:///{tmp_path / 's.sqlite'}")
    seed.seed(s)
    return s


@pytest.fixture
def report(store: Store, tmp_path: Path):  # type: ignore[no-untyped-def]
    return make_report(store, seed.settings(tmp_path, "sqlite://"), MONTH, NOW)


def test_the_month_is_october_in_the_site_time_zone() -> None:
    assert month_period(MONTH, "Asia/Ho_Chi_Minh") == (START, END)
    assert OBSERVED == 31 * DAY
    assert previous_month(NOW, "Asia/Ho_Chi_Minh") == MONTH
    assert previous_month(at(1, 3, month=1) + 0, "Asia/Ho_Chi_Minh") == "2025-12"


def test_coverage_shows_the_day_tierwatch_was_down(report) -> None:  # type: ignore[no-untyped-def]
    cov = report.coverage
    assert (cov.observed, cov.monitored, cov.unmonitored) == (OBSERVED, MONITORED, UNMONITORED)
    assert [(g.start, g.end, g.reason) for g in cov.gaps] == [(at(20), at(21), "not_running")]
    assert report.complete and report.has_data


def test_availability_against_the_tier_iii_budget(report) -> None:  # type: ignore[no-untyped-def]
    site = report.site_availability
    assert site.report.downtime == DOWNTIME
    assert site.planned_downtime == 120.0
    assert site.outages == 2
    assert site.report.availability == pytest.approx(1 - DOWNTIME / MONITORED, abs=1e-12)
    assert site.report.budget == pytest.approx((1 - 0.99982) * OBSERVED)  # 8 min 2 s
    assert site.report.burn == pytest.approx(DOWNTIME / ((1 - 0.99982) * OBSERVED))
    assert site.report.met is True
    power = next(s for s in report.subsystems if s.name == "power")
    assert power.availability.report.downtime == DOWNTIME


def test_availability_per_day(report) -> None:  # type: ignore[no-untyped-def]
    days = {round((d.start - START) / DAY) + 1: d for d in report.days}
    assert len(days) == 31
    assert days[3].downtime == 300.0 and days[3].availability == pytest.approx(1 - 300 / DAY)
    assert days[10].downtime == 120.0
    assert days[20].availability is None and days[20].unmonitored == DAY
    assert sum(d.downtime for d in report.days) == DOWNTIME
    assert all(d.availability == 1.0 for n, d in days.items() if n not in (3, 10, 20))


def test_redundancy_over_the_month(report) -> None:  # type: ignore[no-untyped-def]
    (power,) = report.subsystems
    assert power.design_tier == 2  # R7 has one cord
    # ups-b on bypass: the UPS group at N, so power at tier I for those three hours
    assert dict(power.time_at_tier) == {2: MONITORED - BYPASS, 1: BYPASS}
    assert power.lowest_live_tier == 1 and power.live_tier_end == 2
    assert power.n_plus_1 == MONITORED - BYPASS
    groups = {g.id: g for g in power.groups}
    assert groups["ups"].without_spare == BYPASS and groups["ups"].lowest_label == "N"
    assert groups["ups"].design_label == "N+1" and groups["ups"].design_spare == 1
    assert groups["generator"].without_spare == 0.0
    # path A is a single point of failure of R7 the whole (monitored) month, by design
    assert {(e.node, e.present, e.by_design) for e in power.spofs} == {
        ("PDU-A", MONITORED, True), ("SWB-A", MONITORED, True), ("UPS-A", MONITORED, True)}
    maint = {e.node: e for e in power.maintainability}
    assert set(maint) == {"PDU-A", "SWB-A", "UPS-A"}
    assert all(e.present == MONITORED and e.by_design for e in maint.values())
    # during the bypass, losing path A would drop R1 as well
    assert maint["UPS-A"].loads == ("R1", "R7")
    assert report.lowest_live_tier == 1 and report.design_tier == 2


def test_readiness_is_the_live_score_averaged_over_monitored_time(report, store, tmp_path
                                                                  ) -> None:  # type: ignore[no-untyped-def]
    cfg = seed.config(tmp_path, "sqlite://")
    env = (MONITORED - HOT) / MONITORED
    burn = DOWNTIME / ((1 - 0.99982) * OBSERVED)
    normal = score(cfg.topology, {"UPS-A": "ok", "UPS-B": "ok"}, environment_share=env,
                   availability_burn=burn).score
    on_bypass = score(cfg.topology, {"UPS-A": "ok", "UPS-B": "bypass"},
                      environment_share=env, availability_burn=burn).score
    assert on_bypass < normal
    expected = round((normal * (MONITORED - BYPASS) + on_bypass * BYPASS) / MONITORED, 2)
    assert report.readiness_month == expected
    assert report.readiness_design == score(cfg.topology, environment_share=env,
                                            availability_burn=burn).score


def test_exposure_environment_and_maintenance(report) -> None:  # type: ignore[no-untyped-def]
    assert dict(report.exposure_totals) == {"on_battery": 0.0, "bypass": BYPASS}
    (bypass,) = report.exposure
    assert (bypass.kind, bypass.device, bypass.spans) == ("bypass", "ups-b",
                                                          ((at(15, 8), at(15, 11)),))
    (sensor,) = report.sensors
    assert (sensor.subject, sensor.known, sensor.in_band) == (
        "env-1/sensor Inlet", MONITORED, MONITORED - HOT)
    assert report.environment_share == (MONITORED - HOT) / MONITORED
    (window,) = report.maintenance
    assert (window.record.title, window.start, window.end) == ("Thay PDU-B", at(10, 22),
                                                              at(10, 23))
    assert [o.subject for o in window.outages] == ["R1"]


def test_outages_listed_with_cause_and_planned(report) -> None:  # type: ignore[no-untyped-def]
    rows = [(o.subject, o.start, o.end, o.planned, o.cause, o.affected) for o in report.outages]
    assert rows == [
        ("R7", at(3, 10), at(3, 10, 5), False, "no path: PDU-A failed", ("R7",)),
        ("R1", at(10, 22), at(10, 22, 2), True, "no path: PDU-B removed", ("R1",)),
    ]


def test_recommendations_follow_from_the_gaps(report) -> None:  # type: ignore[no-untyped-def]
    recs = {r.key: dict(r.params) for r in report.recommendations}
    assert recs == {
        "single_corded": {"loads": ["R7"]},
        "maintainability_design": {"subsystem": "power", "nodes": ["PDU-A", "SWB-A", "UPS-A"]},
        "planned_outage": {"loads": ["R1"]},
        "no_spare_live": {"subsystem": "power", "group": "ups", "duration_s": BYPASS},
        "bypass": {"devices": ["ups-b"], "duration_s": BYPASS},
        "unmonitored": {"duration_s": UNMONITORED, "share": UNMONITORED / OBSERVED},
    }  # the budget was not spent (7 min of 8), the inlets were in band 99.2 % of the time


def test_json_carries_the_same_figures(report) -> None:  # type: ignore[no-untyped-def]
    data = json.loads(json.dumps(report.to_json()))
    assert data["month"] == MONTH and data["has_data"] is True
    summary = data["summary"]["availability"]
    assert summary["downtime_s"] == DOWNTIME and summary["planned_downtime_s"] == 120.0
    assert data["coverage"]["unmonitored"][0]["start"] == "2026-10-20T00:00:00+07:00"
    assert data["subsystems"]["power"]["time_at_tier_s"] == {"2": MONITORED - BYPASS,
                                                            "1": BYPASS}
    assert data["outages"][0]["duration_s"] == 300.0
    assert data["exposure"]["totals_s"]["bypass"] == BYPASS


# --------------------------------------------------------------------------- bad input


def test_a_month_with_no_data_says_so(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'empty.sqlite'}")
    report = make_report(store, seed.settings(tmp_path, "sqlite://"), MONTH, NOW)
    assert not report.has_data
    assert report.site_availability is None  # not 100 %
    assert report.coverage.monitored == 0 and report.coverage.unmonitored == OBSERVED
    assert [g.reason for g in report.coverage.gaps] == ["no_record"]
    data = report.to_json()
    assert data["has_data"] is False and data["summary"]["availability"] is None
    assert data["recommendations"][0]["key"] == "no_data"


def test_a_month_partly_unmonitored_shows_the_blind_part(tmp_path: Path) -> None:
    """tierwatch first started on 11 October: the ten days before are unmonitored, not up."""
    store = Store.open(f"sqlite:///{tmp_path / 'late.sqlite'}")
    store.start_instance("main", at(11), max_silence=45)
    store.record_changes([seed.change("ups-a", "device", None, seed.Status.OK, at(11))])
    store.open_outage("load", "R7", at(12), "no path", subsystem="power")
    store.close_outage("load", "R7", at(12, 0, 1))
    store.heartbeat("main", NOW)
    report = make_report(store, seed.settings(tmp_path, "sqlite://"), MONTH, NOW)
    assert [(g.start, g.end, g.reason) for g in report.coverage.gaps] == [
        (START, at(11), "no_record")]
    assert report.coverage.monitored == END - at(11)
    assert report.site_availability.report.availability == pytest.approx(
        1 - 60 / (END - at(11)))
    assert all(d.availability is None for d in report.days[:10])


def test_a_silent_monitor_leaves_the_rest_of_the_month_unmonitored(tmp_path: Path) -> None:
    """The report is made while tierwatch is not running: its last heartbeat was on the
    25th, so nobody watched from then on."""
    store = Store.open(f"sqlite:///{tmp_path / 'silent.sqlite'}")
    store.start_instance("main", at(1), max_silence=45)
    store.record_changes([seed.change("ups-a", "device", None, seed.Status.OK, at(1))])
    store.heartbeat("main", at(25))
    report = make_report(store, seed.settings(tmp_path, "sqlite://"), MONTH, NOW)
    assert [(g.start, g.end, g.reason) for g in report.coverage.gaps] == [
        (at(25), END, "silent")]


@pytest.mark.parametrize("month", ["2026-13", "2026-1", "26-10", "2026/10", "", "2026-00",
                                   "0000-01", "9999-12", "1969-12", "october", "2026-10-01"])
def test_a_malformed_month_is_refused(month: str) -> None:
    with pytest.raises(ValueError, match="not a month"):
        parse_month(month)


def test_a_month_not_begun_is_refused(store: Store, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="has not begun"):
        make_report(store, seed.settings(tmp_path, "sqlite://"), "2026-12", NOW)


def test_a_month_still_running_is_observed_up_to_now(store: Store, tmp_path: Path) -> None:
    now = at(16)
    report = make_report(store, seed.settings(tmp_path, "sqlite://"), MONTH, now)
    assert not report.complete
    assert report.coverage.observed == now - START
    # the budget is the whole month's, however much of it has gone
    assert report.site_availability.report.budget == pytest.approx((1 - 0.99982) * OBSERVED)
    assert len(report.days) == 15


def test_the_data_step_is_pure(store: Store, tmp_path: Path) -> None:
    inputs = gather(store, seed.settings(tmp_path, "sqlite://"), MONTH, NOW)
    assert build_report(inputs).to_json() == build_report(inputs).to_json()


@pytest.mark.parametrize("scope", ["site", "power"])
def test_the_report_agrees_with_the_availability_api(report, store: Store, scope: str
                                                     ) -> None:  # type: ignore[no-untyped-def]
    """The monthly report and GET /api/v1/availability take the same figures from the same
    store: downtime, monitored time, availability, budget."""
    from livetier.downtime import availability_report

    api = availability_report(store, scope, (START, END), now=NOW).report
    mine = (report.site_availability if scope == "site"
            else next(s.availability for s in report.subsystems if s.name == scope)).report
    assert (mine.downtime, mine.monitored, mine.unmonitored) == (
        api.downtime, api.monitored, api.unmonitored)
    assert mine.availability == api.availability and mine.budget == api.budget
