"""The built-in engine as pure functions, driven by a fake clock: states, dedup, inhibition,
who gets told what and when, matchers, templates and maintenance windows."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from alerts.engine import Alert, AlertState, Notice, Policy, decide, evaluate, inhibited
from alerts.matchers import Matcher, MatcherError
from alerts.promql import compile_query
from alerts.rules import INHIBIT_RULES, InhibitRule, Rule, load_rule_files
from alerts.silences import silence_matchers
from alerts.template import humanize, humanize_duration, render
from tierwatch.core.maintenance import Scope, Window, covering, parse_time
from tierwatch.core.model import Sample

TZ = "Asia/Ho_Chi_Minh"
RULES = load_rule_files([INHIBIT_RULES])


def rule(name: str = "UpsOnBattery", for_: float = 0.0, **labels: str) -> Rule:
    expr = compile_query('tierwatch_component_condition{condition="on_battery"} == 1')
    return Rule(name, "g", expr, for_, {"severity": "critical", "subsystem": "power", **labels},
                {"summary": "{{ $labels.device }} is on battery"}, "test")


def on_battery(*devices: str) -> dict[str, list[Sample]]:
    return {"tierwatch_component_condition": [
        Sample("tierwatch_component_condition",
               {"device": d, "component": "ups", "condition": "on_battery"}, 1.0)
        for d in devices]}


# --------------------------------------------------------------------------- states


def test_pending_then_firing_then_resolved_with_a_fake_clock() -> None:
    rules = [rule(for_=60)]
    ev = evaluate(rules, on_battery("ups-a"), 1000.0, {})
    (alert,) = ev.active.values()
    assert alert.state == AlertState.PENDING and alert.active_since == 1000.0
    assert [(t.old, t.new) for t in ev.transitions] == [(None, AlertState.PENDING)]

    ev = evaluate(rules, on_battery("ups-a"), 1059.0, ev.active)
    assert next(iter(ev.active.values())).state == AlertState.PENDING and not ev.transitions

    ev = evaluate(rules, on_battery("ups-a"), 1060.0, ev.active)
    (alert,) = ev.active.values()
    assert alert.state == AlertState.FIRING and alert.fired_at == 1060.0
    assert alert.annotations["summary"] == "ups-a is on battery"
    assert [(t.old, t.new) for t in ev.transitions] == [(AlertState.PENDING, AlertState.FIRING)]

    ev = evaluate(rules, {}, 1200.0, ev.active)
    assert ev.active == {}
    (t,) = ev.transitions
    assert (t.old, t.new, t.alert.resolved_at) == (AlertState.FIRING, AlertState.RESOLVED,
                                                   1200.0)


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now


@pytest.mark.parametrize(("for_", "fires_at"), [(0.0, 5000.0), (60.0, 5060.0)])
def test_fired_at_is_when_it_began_firing_however_often_it_is_evaluated(
    for_: float, fires_at: float
) -> None:
    """Evaluated every 15 s for an hour while the UPS stays on battery: the alert fired
    once, at 5000 (no hold) or 5060 (60 s hold), and says so at every evaluation and when
    it resolves."""
    clock = FakeClock(5000.0)
    rules = [rule(for_=for_)]
    ev = evaluate(rules, on_battery("ups-a"), clock.now, {})
    seen: set[float | None] = set()
    for _ in range(240):  # 240 x 15 s = one hour
        ev = evaluate(rules, on_battery("ups-a"), clock.advance(15.0), ev.active)
        (alert,) = ev.active.values()
        if alert.state == AlertState.FIRING:
            seen.add(alert.fired_at)
        assert alert.active_since == 5000.0
    assert seen == {fires_at}
    ev = evaluate(rules, {}, clock.advance(15.0), ev.active)
    (t,) = ev.transitions
    assert (t.new, t.alert.fired_at, t.alert.resolved_at) == (AlertState.RESOLVED, fires_at,
                                                              5000.0 + 3615.0)


def test_a_pending_alert_that_goes_away_never_fires() -> None:
    rules = [rule(for_=60)]
    ev = evaluate(rules, on_battery("ups-a"), 0.0, {})
    ev = evaluate(rules, {}, 30.0, ev.active)
    assert ev.active == {}
    assert [(t.old, t.new) for t in ev.transitions] == [(AlertState.PENDING,
                                                         AlertState.INACTIVE)]


def test_the_same_labels_are_one_alert() -> None:
    view = on_battery("ups-a", "ups-a")  # the trap's view and the poll's, say
    ev = evaluate([rule(), rule()], view, 0.0, {})
    assert len(ev.active) == 1 and len(ev.transitions) == 1
    ev2 = evaluate([rule()], on_battery("ups-a"), 10.0, ev.active)
    assert list(ev2.active) == list(ev.active) and ev2.transitions == []


def test_each_device_is_its_own_alert_and_rule_labels_win() -> None:
    ev = evaluate([rule(device="overridden")], on_battery("ups-a"), 0.0, {})
    (alert,) = ev.active.values()
    assert alert.labels["device"] == "overridden"  # as in Prometheus: the rule's labels win
    ev = evaluate([rule()], on_battery("ups-a", "ups-b"), 0.0, {})
    assert sorted(a.labels["device"] for a in ev.active.values()) == ["ups-a", "ups-b"]


def test_bookkeeping_survives_evaluation() -> None:
    first = evaluate([rule()], on_battery("ups-a"), 0.0, {}).active
    fp, alert = next(iter(first.items()))
    kept = {fp: Alert(**{**alert.__dict__, "id": 7, "notified_at": 1.0, "acked_at": 2.0})}
    (again,) = evaluate([rule()], on_battery("ups-a"), 5.0, kept).active.values()
    assert (again.id, again.notified_at, again.acked_at) == (7, 1.0, 2.0)


def load_rule(for_: float = 0.0) -> Rule:
    """UPS load above 80 %, its summary carrying the value."""
    expr = compile_query("ups_load_ratio > 0.8")
    return Rule("UpsOverloaded", "g", expr, for_, {"severity": "warning"},
                {"summary": "{{ $labels.device }} at {{ $value }}"}, "test")


def loads(**values: float) -> dict[str, list[Sample]]:
    return {"ups_load_ratio": [Sample("ups_load_ratio", {"device": d}, v)
                               for d, v in values.items()]}


def test_a_new_alert_carries_its_rule_labels_value_and_annotations() -> None:
    ev = evaluate([load_rule()], loads(ups_a=0.9), 100.0, {})
    (fp, alert), = ev.active.items()
    labels = {"device": "ups_a", "severity": "warning", "alertname": "UpsOverloaded"}
    assert (alert.fingerprint, alert.name, alert.labels, alert.value) == (
        fp, "UpsOverloaded", labels, 0.9)
    assert alert.annotations == {"summary": "ups_a at 0.9"}
    assert (alert.state, alert.active_since, alert.fired_at) == (AlertState.FIRING, 100.0, 100.0)
    (t,) = ev.transitions
    assert (t.alert, t.old, t.new) == (alert, None, AlertState.FIRING)


def test_an_active_alert_takes_the_new_value_and_annotations() -> None:
    ev = evaluate([load_rule()], loads(ups_a=0.9), 100.0, {})
    ev = evaluate([load_rule()], loads(ups_a=0.95), 115.0, ev.active)
    (alert,) = ev.active.values()
    assert (alert.value, alert.annotations["summary"]) == (0.95, "ups_a at 0.95")
    assert alert.labels["device"] == "ups_a" and alert.fired_at == 100.0


def test_a_hold_under_one_second_still_holds() -> None:
    ev = evaluate([load_rule(for_=0.5)], loads(ups_a=0.9), 100.0, {})
    assert next(iter(ev.active.values())).state == AlertState.PENDING
    ev = evaluate([load_rule(for_=0.5)], loads(ups_a=0.9), 100.5, ev.active)
    (t,) = ev.transitions
    assert (t.alert.state, t.alert.fired_at, t.old) == (AlertState.FIRING, 100.5,
                                                        AlertState.PENDING)


def test_a_duplicate_series_does_not_hide_the_next_one() -> None:
    view = on_battery("ups-a", "ups-a", "ups-b")  # ups-a twice, then ups-b
    ev = evaluate([rule()], view, 0.0, {})
    assert sorted(a.labels["device"] for a in ev.active.values()) == ["ups-a", "ups-b"]


def test_each_alert_that_went_away_resolves_or_lapses_on_its_own() -> None:
    rules = [rule(), load_rule(for_=60)]
    view = {**on_battery("ups-a", "ups-b"), **loads(ups_c=0.9)}
    ev = evaluate(rules, view, 0.0, {})
    ev = evaluate(rules, on_battery("ups-a"), 30.0, ev.active)  # ups-b and ups-c went away
    assert [a.labels["device"] for a in ev.active.values()] == ["ups-a"]
    done = {t.alert.labels["device"]: (t.old, t.new, t.alert.state, t.alert.resolved_at)
            for t in ev.transitions}
    assert done == {
        "ups-b": (AlertState.FIRING, AlertState.RESOLVED, AlertState.RESOLVED, 30.0),
        "ups_c": (AlertState.PENDING, AlertState.INACTIVE, AlertState.INACTIVE, None),
    }


def test_an_empty_rule_label_removes_the_series_label() -> None:
    ev = evaluate([rule(component="")], on_battery("ups-a"), 0.0, {})
    (alert,) = ev.active.values()
    assert "component" not in alert.labels and alert.labels["device"] == "ups-a"


def test_a_failing_rule_does_not_stop_the_next_one() -> None:
    broken = Rule("Broken", "g", compile_query("x * on () y"), 0.0, {}, {}, "test")
    view = {"x": [Sample("x", {"device": "a"}, 1.0)],
            "y": [Sample("y", {"device": "b"}, 1.0), Sample("y", {"device": "c"}, 1.0)],
            **on_battery("ups-a")}
    ev = evaluate([broken, rule()], view, 0.0, {})
    assert [r.name for r, _ in ev.errors] == ["Broken"]
    assert [a.name for a in ev.active.values()] == ["UpsOnBattery"]


def test_a_source_is_read_as_it_is_given() -> None:
    from alerts.series_history import LiveSource

    ev = evaluate([rule()], LiveSource(on_battery("ups-a"), 0.0), 0.0, {})
    assert [a.labels["device"] for a in ev.active.values()] == ["ups-a"]


def test_fingerprints_stay_as_stored_alerts_know_them() -> None:
    """The store keys alerts by fingerprint across upgrades: the first 16 hex digits of
    SHA-256 over `name\x01value` pairs joined by \x00, sorted by name. The value below
    was computed with sha256sum from that text, not by this code."""
    from alerts.engine import fingerprint

    labels = {"device": "ups-a", "alertname": "UpsOnBattery"}
    assert fingerprint(labels) == "8ed755844660c3ea"


# --------------------------------------------------------------------------- inhibition


def _alert(name: str, state: AlertState = AlertState.FIRING, **labels: str) -> Alert:
    from alerts.engine import fingerprint

    labels = {"alertname": name, **labels}
    return Alert(fingerprint(labels), name, labels, {}, state, 1.0, 0.0)


def test_a_switch_down_inhibits_its_ports_and_nothing_else() -> None:
    switch = _alert("DeviceUnreachable", device="core-1", subsystem="network")
    own_port = _alert("InterfaceDown", device="core-1", if_name="Te1/1/1")
    other_port = _alert("InterfaceDown", device="core-2", if_name="Te1/1/1")
    ups = _alert("UpsOnBattery", device="ups-a")
    muted = inhibited([switch, own_port, other_port, ups], RULES.inhibit)
    assert muted == {own_port.fingerprint: switch.fingerprint}


def test_a_failed_district_node_mutes_the_sites_behind_it() -> None:
    node = _alert("DeviceUnreachable", device="dist-q1", district="ninh-kieu")
    behind = _alert("AgencySiteUnreachable", device="site-a", district="ninh-kieu")
    elsewhere = _alert("AgencySiteUnreachable", device="site-b", district="cai-rang")
    no_district = _alert("AgencySiteUnreachable", device="site-c")
    ups = _alert("DeviceUnreachable", device="ups-a")  # no district: inhibits no site
    muted = inhibited([node, behind, elsewhere, no_district, ups], RULES.inhibit)
    assert muted == {behind.fingerprint: node.fingerprint}


def test_only_firing_sources_inhibit_and_nobody_inhibits_itself() -> None:
    pending = _alert("DeviceUnreachable", AlertState.PENDING, device="core-1")
    port = _alert("InterfaceDown", device="core-1")
    assert inhibited([pending, port], RULES.inhibit) == {}
    both = InhibitRule((Matcher.parse('severity="critical"'),),
                       (Matcher.parse('severity="critical"'),), ("device",))
    a = _alert("A", severity="critical", device="x")
    b = _alert("B", severity="critical", device="x")
    assert inhibited([a, b], [both]) == {}  # each matches both sides: neither mutes the other


def test_equal_labels_missing_on_both_sides_count_as_equal() -> None:
    """Alertmanager: a label absent from both alerts is equal (both empty)."""
    rule_ = InhibitRule((Matcher.parse('alertname="SiteDown"'),),
                        (Matcher.parse('alertname="LinkDown"'),), ("district",))
    source = _alert("SiteDown", device="s1")
    target = _alert("LinkDown", device="l1")
    elsewhere = _alert("LinkDown", device="l2", district="cai-rang")
    assert inhibited([source, target, elsewhere], [rule_]) == {
        target.fingerprint: source.fingerprint}


def test_a_target_is_muted_by_a_later_source_when_the_first_is_itself() -> None:
    rule_ = InhibitRule((Matcher.parse('severity="critical"'),),
                        (Matcher.parse('alertname="PortDown"'),), ("device",))
    port = _alert("PortDown", severity="critical", device="x")  # a source, and the target
    switch = _alert("SwitchDown", severity="critical", device="x")
    other = _alert("PortDown", severity="warning", device="y")
    assert inhibited([port, switch, other], [rule_]) == {port.fingerprint: switch.fingerprint}


def test_a_rule_without_a_firing_source_leaves_the_next_rule_to_mute() -> None:
    idle = InhibitRule((Matcher.parse('alertname="Nothing"'),),
                       (Matcher.parse('alertname="PortDown"'),), ())
    real = InhibitRule((Matcher.parse('alertname="SwitchDown"'),),
                       (Matcher.parse('alertname="PortDown"'),), ("device",))
    switch = _alert("SwitchDown", device="x")
    port = _alert("PortDown", device="x")
    assert inhibited([switch, port], [idle, real]) == {port.fingerprint: switch.fingerprint}


def test_a_source_matching_both_sides_is_passed_over_for_the_next() -> None:
    """Target and first source each match both sides (critical, team t): that source
    cannot mute it; the next source, critical without the team, does."""
    rule_ = InhibitRule((Matcher.parse('severity="critical"'),),
                        (Matcher.parse('team="t"'),), ("device",))
    target = _alert("A", severity="critical", device="x", team="t")
    twin = _alert("B", severity="critical", device="x", team="t")
    plain = _alert("C", severity="critical", device="x")
    muted = inhibited([twin, plain, target], [rule_])
    assert muted[target.fingerprint] == plain.fingerprint
    assert muted[twin.fingerprint] == plain.fingerprint


def test_each_target_is_checked_after_one_that_does_not_match() -> None:
    rule_ = InhibitRule((Matcher.parse('alertname="SwitchDown"'),),
                        (Matcher.parse('alertname="PortDown"'),), ("device",))
    switch = _alert("SwitchDown", device="x")
    ups = _alert("UpsOnBattery", device="x")  # no target: skipped, the next still checked
    port = _alert("PortDown", device="x")
    assert inhibited([switch, ups, port], [rule_]) == {port.fingerprint: switch.fingerprint}


# --------------------------------------------------------------------------- notifications


def _firing(severity: str = "critical", **extra: object) -> Alert:
    base = _alert("UpsOnBattery", severity=severity, device="ups-a")
    return Alert(**{**base.__dict__, "fired_at": 0.0, **extra})


POLICY = Policy(repeat_every=3600.0, escalate_after=600.0,
                escalate_severities=frozenset({"critical"}))


def test_first_page_then_repeat_then_escalation() -> None:
    assert decide(_firing(), 0.0, POLICY) == [Notice.FIRING]
    told = _firing(notified_at=0.0)
    assert decide(told, 599.0, POLICY) == []
    assert decide(told, 600.0, POLICY) == [Notice.ESCALATION]
    escalated = _firing(notified_at=0.0, escalated_at=600.0)
    assert decide(escalated, 3599.0, POLICY) == []
    assert decide(escalated, 3600.0, POLICY) == [Notice.REPEAT]


def test_an_acknowledged_alert_is_neither_repeated_nor_escalated_until_the_ack_lapses() -> None:
    acked = _firing(notified_at=0.0, acked_at=10.0, ack_until=7200.0)
    assert decide(acked, 5000.0, POLICY) == []
    assert decide(acked, 7200.0, POLICY) == [Notice.REPEAT, Notice.ESCALATION]


def test_repeat_and_escalation_count_from_the_page_at_epoch_times() -> None:
    paged = 1_800_000_000.0
    told = _firing(notified_at=paged)
    assert decide(told, paged + 599.0, POLICY) == []
    assert decide(told, paged + 600.0, POLICY) == [Notice.ESCALATION]
    escalated = _firing(notified_at=paged, escalated_at=paged + 600.0)
    assert decide(escalated, paged + 3599.0, POLICY) == []
    assert decide(escalated, paged + 3600.0, POLICY) == [Notice.REPEAT]


def test_warnings_are_not_escalated() -> None:
    assert decide(_firing("warning", notified_at=0.0), 700.0, POLICY) == []


def test_muted_alerts_page_nobody_and_resolved_only_if_someone_was_paged() -> None:
    assert decide(_firing(muted="maintenance:3"), 0.0, POLICY) == []
    assert decide(_firing(muted="inhibited", notified_at=0.0), 9999.0, POLICY) == []
    never_told = _firing(state=AlertState.RESOLVED, resolved_at=50.0)
    assert decide(never_told, 50.0, POLICY) == []
    told = _firing(state=AlertState.RESOLVED, resolved_at=50.0, notified_at=0.0,
                   escalated_at=20.0)
    assert decide(told, 50.0, POLICY) == [Notice.RESOLVED, Notice.ESCALATION_RESOLVED]


def test_with_alertmanager_repeats_are_its_job() -> None:
    am = Policy(repeat_every=None)
    assert decide(_firing(notified_at=0.0), 1e6, am) == []


# --------------------------------------------------------------------------- matchers


@pytest.mark.parametrize(("text", "labels", "hit"), [
    ('alertname="UpsOnBattery"', {"alertname": "UpsOnBattery"}, True),
    ('district!=""', {"district": "ninh-kieu"}, True),
    ('district!=""', {}, False),
    ('severity=~"critical|warning"', {"severity": "warning"}, True),
    ('severity=~"crit"', {"severity": "critical"}, False),  # anchored, as in Prometheus
    ('if_alias=~"(?i).*uplink.*"', {"if_alias": "UPLINK: router-1"}, True),
    ('device!~"ups-.*"', {"device": "core-1"}, True),
    ('name="say \\"hi\\""', {"name": 'say "hi"'}, True),
])
def test_matchers(text: str, labels: dict[str, str], hit: bool) -> None:
    assert Matcher.parse(text).matches(labels) is hit


@pytest.mark.parametrize("text", ["device", 'device="x', 'device=~"("', '1x="y"'])
def test_bad_matchers(text: str) -> None:
    with pytest.raises(MatcherError):
        Matcher.parse(text)


# --------------------------------------------------------------------------- templates


@pytest.mark.parametrize(("value", "text"), [
    (540, "9m 0s"), (0, "0s"), (59.5, "59.5s"), (3725, "1h 2m 5s"), (90061, "1d 1h 1m 1s"),
    (0.25, "250ms"),
])
def test_humanize_duration_as_prometheus(value: float, text: str) -> None:
    assert humanize_duration(value) == text


@pytest.mark.parametrize(("value", "text"), [
    (1234, "1.234k"), (0.5, "500m"), (0, "0"), (12, "12"), (1e6, "1M"),
])
def test_humanize_as_prometheus(value: float, text: str) -> None:
    assert humanize(value) == text


def test_render() -> None:
    labels = {"device": "env-1", "sensor": "inlet"}
    assert render("{{ $labels.device }}/{{$labels.sensor}} {{ $value }} °C", labels,
                  28.5) == "env-1/inlet 28.5 °C"
    assert render("{{ $value | humanizePercentage }}", labels, 0.65) == "65%"
    assert render("{{ $labels.missing }}", labels, 1) == ""


# --------------------------------------------------------------------------- maintenance


def _ts(text: str) -> float:
    return parse_time(text, TZ)


def window(start: str, end: str, recurrence: str = "none", until: str | None = None,
           **scope: list[str]) -> Window:
    return Window(1, "test", _ts(start), _ts(end), recurrence,
                  _ts(until) if until else None, Scope.from_json(scope or {"devices": ["x"]}))


def test_times_are_read_in_the_site_time_zone() -> None:
    assert _ts("2026-12-01 22:00") == datetime(2026, 12, 1, 15, 0,
                                               tzinfo=ZoneInfo("UTC")).timestamp()
    assert _ts("2026-12-01T22:00:00+00:00") == datetime(
        2026, 12, 1, 22, 0, tzinfo=ZoneInfo("UTC")).timestamp()
    with pytest.raises(ValueError):
        _ts("tomorrow")


def test_one_off_window() -> None:
    w = window("2026-12-01 22:00", "2026-12-02 00:00")
    assert w.active_at(_ts("2026-12-01 21:59"), TZ) is None
    assert w.active_at(_ts("2026-12-01 22:00"), TZ) is not None
    assert w.active_at(_ts("2026-12-01 23:59"), TZ) is not None
    assert w.active_at(_ts("2026-12-02 00:00"), TZ) is None


def test_weekly_window_until() -> None:
    w = window("2026-12-01 22:00", "2026-12-01 23:00", "weekly", until="2026-12-15 22:00")
    starts = [s for s, _ in w.occurrences(_ts("2026-11-01 00:00"), _ts("2027-01-31 00:00"),
                                          TZ)]
    assert starts == [_ts("2026-12-01 22:00"), _ts("2026-12-08 22:00"),
                      _ts("2026-12-15 22:00")]
    assert w.active_at(_ts("2026-12-08 22:30"), TZ) is not None
    assert w.active_at(_ts("2026-12-09 22:30"), TZ) is None


def test_daily_window_far_from_its_first_day() -> None:
    w = window("2020-01-01 02:00", "2020-01-01 03:00", "daily")
    assert w.active_at(_ts("2026-06-15 02:30"), TZ) is not None
    assert w.active_at(_ts("2026-06-15 03:30"), TZ) is None


def test_monthly_window_on_the_31st_skips_short_months() -> None:
    w = window("2027-01-31 01:00", "2027-01-31 02:00", "monthly")
    starts = [datetime.fromtimestamp(s, ZoneInfo(TZ)).strftime("%m-%d") for s, _ in
              w.occurrences(_ts("2027-01-01 00:00"), _ts("2027-06-01 00:00"), TZ)]
    assert starts == ["01-31", "03-31", "05-31"]


def test_scope_covers_devices_components_nodes_and_subsystems() -> None:
    scope = Scope.from_json({"devices": ["ups-a"], "components": ["pdu-1/phase 1", "UPS-B"],
                             "subsystems": ["cooling"]})
    assert scope.covers({"device": "ups-a", "component": "ups"})
    assert scope.covers({"device": "pdu-1", "component": "phase 1"})
    assert not scope.covers({"device": "pdu-1", "component": "phase 2"})
    assert scope.covers({"node": "UPS-B", "subsystem": "power"})
    assert scope.covers({"device": "env-1", "subsystem": "cooling"})
    assert not scope.covers({"device": "ups-c", "subsystem": "power"})


def test_silence_matchers_cover_the_same_alerts() -> None:
    scope = Scope.from_json({"devices": ["ups-a", "ups-b"], "components": ["pdu-1/phase 1"],
                             "subsystems": ["cooling"]})
    sets = silence_matchers(scope)
    assert len(sets) == 3  # one silence per kind: devices, device/component, subsystems
    for labels, covered in [({"device": "ups-b", "alertname": "UpsOnBattery"}, True),
                            ({"device": "pdu-1", "component": "phase 1"}, True),
                            ({"device": "pdu-1", "component": "phase 2"}, False),
                            ({"device": "env-1", "subsystem": "cooling"}, True),
                            ({"device": "ups-c", "subsystem": "power"}, False)]:
        by_silence = any(all(m.matches(labels) for m in s) for s in sets)
        assert by_silence is covered is scope.covers(labels), labels


def test_covering_picks_an_active_window_for_the_alert() -> None:
    w = window("2026-12-01 22:00", "2026-12-01 23:00", devices=["ups-a"])
    labels = {"device": "ups-a", "alertname": "UpsOnBattery"}
    assert covering([w], labels, _ts("2026-12-01 22:30"), TZ) is w
    assert covering([w], labels, _ts("2026-12-01 23:30"), TZ) is None
    assert covering([w], {"device": "ups-b"}, _ts("2026-12-01 22:30"), TZ) is None


def test_held_alerts_neither_resolve_nor_lapse() -> None:
    firing = evaluate([rule()], on_battery("ups-a"), 0.0, {}).active
    pending = evaluate([rule(for_=60)], on_battery("ups-b"), 0.0, {}).active
    both = {**firing, **pending}
    blind = {"ups-a", "ups-b"}
    ev = evaluate([rule(), rule(for_=60)], {}, 30.0, both,
                  hold=lambda a: a.labels["device"] in blind)
    assert ev.transitions == [] and ev.active == both
    ev = evaluate([rule(), rule(for_=60)], {}, 40.0, both, hold=lambda a: False)
    assert sorted((t.old, t.new) for t in ev.transitions) == sorted(
        [(AlertState.FIRING, AlertState.RESOLVED), (AlertState.PENDING, AlertState.INACTIVE)])
