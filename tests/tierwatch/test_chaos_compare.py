"""The chaos harness's own parts, without processes: the script is reproducible and
well-formed, and the comparison fails where the store differs from the script (a doubled
transition, a lost one, an outage too long, a double page) and allows what a kill
excuses (an edge seen late because nobody was watching)."""

from __future__ import annotations

from tests.helpers.chaos_compare import (
    AlertRow,
    Observed,
    Page,
    Played,
    Result,
    Span,
    Transition,
    TrapRow,
    compare,
)
from tests.helpers.chaos_script import KINDS, Fault, Script, make_script

T0 = 1_800_000_000.0
BATTERY = Fault(1, KINDS["battery"], "ups-a", 10.0, 30.0)
SCRIPT = Script(seed=0, duration=40.0, interval=1.0, faults=(BATTERY,), kills=())
ON = frozenset({"on_battery"})


def device_row(ts: float, old: str | None, new: str, conditions: frozenset[str] = frozenset()
               ) -> Transition:
    return Transition(T0 + ts, "device", "ups-a", old, new, conditions)


def page(ts: float, status: str, key: str, member: str = "a") -> Page:
    # startsAt: when the alert fired, T0 + 10.5 (T0 is 2027-01-15 08:00:00 UTC)
    return Page(T0 + ts, member, status, "fp1", "UpsOnBattery", "2027-01-15T08:00:10.500Z",
                key)


def observed(**changes: object) -> Observed:
    """What a correct run of SCRIPT leaves: injected at 10.0, cleared at 30.0; the polls
    (every second) saw it at 10.4 and 30.6; the traps arrived 0.1 s after each edge."""
    base = Observed(
        script=SCRIPT, t0=T0,
        played=[Played(BATTERY, T0 + 10.0, T0 + 30.0)],
        blind=[],
        transitions=[device_row(-5.0, None, "ok"), device_row(10.4, "ok", "degraded", ON),
                     device_row(30.6, "degraded", "ok")],
        outages=[],
        exposures=[Span("on_battery", "ups-a", T0 + 10.4, T0 + 30.6)],
        alerts=[AlertRow("fp1", "UpsOnBattery", {"device": "ups-a", "alertname": "UpsOnBattery"},
                         "resolved", T0 + 10.5, T0 + 10.5, T0 + 30.7)],
        traps=[TrapRow(T0 + 10.1, "ups-a", "1.3.6.1.4.1.318.0.5"),
               TrapRow(T0 + 30.1, "ups-a", "1.3.6.1.4.1.318.0.9")],
        pages=[page(10.6, "firing", "k1"), page(30.8, "resolved", "k2")],
    )
    for name, value in changes.items():
        setattr(base, name, value)
    return base


def failing(result: Result) -> list[str]:
    return [check.check for check in result.failed]


def test_a_store_that_matches_the_script_passes_every_check() -> None:
    result = compare(observed())
    assert result.ok, result.table()
    # transitions in and out, exposure, alert, its pages, two traps; three site-wide
    assert len(result.checks) == 2 + 1 + 2 + 2 + 3


def test_a_transition_recorded_twice_fails() -> None:
    rows = observed().transitions
    doubled = [*rows[:2], device_row(12.0, "degraded", "ok"),
               device_row(13.0, "ok", "degraded", ON), rows[2]]
    assert failing(compare(observed(transitions=doubled))) == [
        "ups-a takes on_battery", "ups-a drops on_battery"]


def test_a_lost_transition_fails() -> None:
    rows = observed().transitions
    assert "ups-a drops on_battery" in failing(compare(observed(transitions=rows[:2])))


def test_a_restart_repeating_the_status_is_not_a_second_transition() -> None:
    rows = observed().transitions
    repeated = [*rows[:2], device_row(20.0, None, "degraded", ON), rows[2]]
    assert compare(observed(transitions=repeated)).ok


def test_an_exposure_two_seconds_too_long_fails() -> None:
    # cleared at 30.0: recorded at 32.6 is more than one interval (1 s) + 0.5 s late
    late = [Span("on_battery", "ups-a", T0 + 10.4, T0 + 32.6)]
    assert failing(compare(observed(exposures=late))) == ["exposure on_battery"]


def test_an_edge_in_a_blind_span_may_be_late_until_the_span_ends() -> None:
    # killed at 29.0, the restarted instance had polled everything at 36.0: the end seen
    # at 36.5 is within that span's end + one interval
    late_rows = [*observed().transitions[:2], device_row(36.5, None, "ok")]
    late_span = [Span("on_battery", "ups-a", T0 + 10.4, T0 + 36.5)]
    seen = observed(transitions=late_rows, exposures=late_span, blind=[(T0 + 29.0, T0 + 36.0)],
                    traps=observed().traps[:1])  # the clearing trap went to a dead process
    result = compare(seen)
    assert result.ok, result.table()
    assert not compare(observed(transitions=late_rows, exposures=late_span)).ok


def test_an_alert_paged_twice_with_different_keys_fails_and_a_retry_does_not() -> None:
    retried = [*observed().pages, page(11.6, "firing", "k1")]
    assert compare(observed(pages=retried)).ok
    twice = [*observed().pages, page(11.6, "firing", "k3", member="b")]
    assert failing(compare(observed(pages=twice))) == [
        "UpsOnBattery paged", "every fired alert paged once and resolved"]


def test_pages_of_a_later_incident_of_the_same_alert_are_not_this_ones() -> None:
    later = Page(T0 + 60.0, "a", "firing", "fp1", "UpsOnBattery", "2027-01-15T08:01:00.000Z",
                 "k9")
    assert compare(observed(pages=[*observed().pages, later])).ok


def test_an_alert_left_firing_fails() -> None:
    firing = [AlertRow("fp1", "UpsOnBattery", {"device": "ups-a"}, "firing", T0 + 10.5,
                       T0 + 10.5, None)]
    assert "every alert resolved at the end" in failing(compare(observed(alerts=firing)))


def test_an_unscripted_status_change_fails() -> None:
    stray = [*observed().transitions, Transition(T0 + 20.0, "device", "pdu-r01-a", "ok",
                                                 "unknown", frozenset({"unreachable"}))]
    assert failing(compare(observed(transitions=stray))) == ["no unscripted status changes"]


def test_a_silent_agent_explains_its_components_going_unknown() -> None:
    # core-1 silent from 10 to 30: its trunk port (the subject of the trunk cut at 50..70)
    # goes unknown with it; the same change at 40, outside both, is unexplained
    silent = Fault(1, KINDS["outage"], "core-1", 10.0, 30.0)
    trunk = Fault(2, KINDS["trunk-cut"], "core-1", 50.0, 70.0)
    script = Script(seed=0, duration=80.0, interval=1.0, faults=(silent, trunk), kills=())
    port = "core-1/port Gi1/0/15"

    def rows(at: float) -> list[Transition]:
        return [Transition(T0 + at, "component", port, "ok", "unknown", frozenset()),
                Transition(T0 + at + 20, "component", port, "unknown", "ok", frozenset())]

    def stray(at: float) -> list[str]:
        played = [Played(silent, T0 + 10, T0 + 30), Played(trunk, T0 + 50, T0 + 70)]
        seen = Observed(script, T0, played, [], rows(at), [], [], [], [], [])
        return [c.found for c in compare(seen).checks
                if c.check == "no unscripted status changes" and not c.ok]

    assert stray(10.4) == []
    assert stray(40.0) != []


def test_a_script_is_its_seed() -> None:
    one = make_script(seed=5, duration=300, faults=20, kills=4)
    assert one == make_script(seed=5, duration=300, faults=20, kills=4)
    assert one != make_script(seed=6, duration=300, faults=20, kills=4)
    assert len(one.faults) == 20 and len(one.kills) == 4
    for a in one.faults:
        assert 12.0 <= a.end - a.start <= 30.0
        assert a.start > 0 and a.end < 300
        for b in one.faults:  # one fault at a time on a device, 6 s apart
            if a.id < b.id and a.device == b.device:
                assert a.end + 6.0 <= b.start or b.end + 6.0 <= a.start
    assert all(b - a >= 25.0 for a, b in zip(one.kills, one.kills[1:], strict=False))
