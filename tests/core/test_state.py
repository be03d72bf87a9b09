"""The live state: statuses, status changes, unreachability, reboots."""

from __future__ import annotations

from collector.snmp.poller import PollResult
from tierwatch.core.model import DEVICE_COMPONENT, ComponentStatus, Sample, Status
from tierwatch.core.state import UPTIME_WRAP_SECONDS, State


def ok(device: str, ts: float, status: Status = Status.OK, uptime: float | None = None,
       boots: float | None = None, conditions: frozenset[str] = frozenset()) -> PollResult:
    roles = {}
    if uptime is not None:
        roles["uptime"] = uptime
    if boots is not None:
        roles["engine_boots"] = boots
    return PollResult(device, ts, samples=[Sample("x", {"device": device}, 1.0, ts)],
                      components=[ComponentStatus("ups", status, "r", conditions)], roles=roles)


def failed(device: str, ts: float) -> PollResult:
    return PollResult(device, ts, error="timeout", message="no answer")


def test_first_poll_announces_statuses() -> None:
    state = State(["a"])
    changes = state.update(ok("a", 1.0))
    assert {(c.component, c.old, c.new) for c in changes} == {
        ("ups", None, Status.OK), (DEVICE_COMPONENT, None, Status.OK)}


def test_status_change_is_emitted_once_with_old_and_new() -> None:
    state = State(["a"])
    seen: list[object] = []
    state.subscribe(seen.extend)
    state.update(ok("a", 1.0))
    changes = state.update(ok("a", 2.0, Status.DEGRADED, conditions=frozenset({"on_battery"})))
    assert [(c.component, c.old, c.new) for c in changes] == [
        ("ups", Status.OK, Status.DEGRADED), (DEVICE_COMPONENT, Status.OK, Status.DEGRADED)]
    assert changes[1].conditions == frozenset({"on_battery"})
    assert state.update(ok("a", 3.0, Status.DEGRADED, conditions=frozenset({"on_battery"}))) == []
    assert len(seen) == 4


def test_unreachable_after_n_failures_and_back_on_first_good_poll() -> None:
    state = State(["a"], unreachable_after=3)
    state.update(ok("a", 1.0))
    assert state.update(failed("a", 2.0)) == []
    assert state.devices["a"].samples == []  # stale values leave at once
    assert state.update(failed("a", 3.0)) == []
    changes = state.update(failed("a", 4.0))
    assert {(c.component, c.new) for c in changes} == {
        ("ups", Status.UNKNOWN), (DEVICE_COMPONENT, Status.UNKNOWN)}
    dev = state.devices["a"]
    assert dev.reachable is False and dev.poll_errors_total == {"timeout": 3}
    assert state.update(failed("a", 5.0)) == []  # no repeated changes while down
    changes = state.update(ok("a", 6.0))
    assert {(c.component, c.new) for c in changes} == {
        ("ups", Status.OK), (DEVICE_COMPONENT, Status.OK)}
    assert dev.reachable is True and dev.consecutive_failures == 0


def test_unreachable_is_dated_from_the_first_unanswered_poll() -> None:
    # polls at 1 (answered), 2, 3, 4 (not): the third failure confirms it, but the device
    # has not answered since the poll at 2, so that is when its outage began; an answer at
    # 6 ends the run, and the next run of failures (7, 8, 9) starts at 7, not at 2
    state = State(["a"], unreachable_after=3)
    state.update(ok("a", 1.0))
    state.update(failed("a", 2.0))
    state.update(failed("a", 3.0))
    changes = state.update(failed("a", 4.0))
    assert {(c.component, c.ts) for c in changes} == {("ups", 2.0), (DEVICE_COMPONENT, 2.0)}
    state.update(ok("a", 6.0))
    for ts in (7.0, 8.0):
        assert state.update(failed("a", ts)) == []
    assert {c.ts for c in state.update(failed("a", 9.0))} == {7.0}


def test_removed_device_vanishes() -> None:
    state = State(["a", "b"])
    state.update(ok("b", 1.0))
    state.set_devices(["a"])
    assert list(state.devices) == ["a"]
    assert state.update(ok("b", 2.0)) == []  # an in-flight poll of a removed device


def test_reboot_is_uptime_going_back_confirmed_by_engine_boots() -> None:
    state = State(["a"])
    state.update(ok("a", 1.0, uptime=5000.0, boots=3))
    state.update(ok("a", 2.0, uptime=10.0, boots=4))
    assert state.devices["a"].reboots_total == 1


def test_uptime_back_without_new_engine_boot_is_not_a_reboot() -> None:
    state = State(["a"])
    state.update(ok("a", 1.0, uptime=5000.0, boots=3))
    state.update(ok("a", 2.0, uptime=10.0, boots=3))  # agent restarted, engine did not
    assert state.devices["a"].reboots_total == 0


def test_sysuptime_wrap_is_not_a_reboot() -> None:
    state = State(["a"])
    state.update(ok("a", 1.0, uptime=UPTIME_WRAP_SECONDS - 30))
    state.update(ok("a", 61.0, uptime=30.0))
    assert state.devices["a"].reboots_total == 0
    state.update(ok("a", 62.0, uptime=5000.0))
    state.update(ok("a", 63.0, uptime=12.0))  # far from the wrap point: a reboot
    assert state.devices["a"].reboots_total == 1


def test_trap_event_updates_component_and_device() -> None:
    state = State(["a"])
    state.update(ok("a", 1.0))
    changes = state.apply_event("a", "ups", Status.DEGRADED, "trap: on battery", 2.0,
                                frozenset({"on_battery"}))
    assert [(c.component, c.new) for c in changes] == [
        ("ups", Status.DEGRADED), (DEVICE_COMPONENT, Status.DEGRADED)]
