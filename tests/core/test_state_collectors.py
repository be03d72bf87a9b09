"""What the state does for collectors other than SNMP: host agents and probes."""

from __future__ import annotations

from tierwatch.core.model import ComponentStatus, PollResult, Sample, Status
from tierwatch.core.state import BOOT_TIME_SLACK_SECONDS, State


def scrape(ts: float, boot_time: float) -> PollResult:
    return PollResult("db", ts, components=[ComponentStatus("host", Status.OK)],
                      roles={"boot_time": boot_time})


def test_a_later_boot_time_is_a_reboot_a_clock_step_is_not() -> None:
    state = State(["db"])
    state.update(scrape(1000.0, 500.0))
    state.update(scrape(1010.0, 500.0 + BOOT_TIME_SLACK_SECONDS / 2))  # NTP stepped the clock
    assert state.devices["db"].reboots_total == 0
    state.update(scrape(1020.0, 1015.0))
    dev = state.devices["db"]
    assert (dev.reboots_total, dev.last_reboot_ts) == (1, 1015.0)


def test_each_device_may_have_its_own_unreachable_after() -> None:
    state = State(["snmp", "probe"], unreachable_after=3)
    state.set_unreachable_after("probe", 1)
    for device in ("snmp", "probe"):
        state.update(PollResult(device, 1.0, components=[ComponentStatus("c", Status.OK)]))
        state.update(PollResult(device, 2.0, error="timeout"))
    assert state.devices["snmp"].reachable is True
    assert state.devices["probe"].reachable is False
    assert state.devices["probe"].status == Status.UNKNOWN


def test_a_failed_poll_keeps_the_samples_it_brings_and_drops_the_old_ones() -> None:
    state = State(["site"])
    old = Sample("probe_rtt_seconds", {"device": "site"}, 0.002, 1.0)
    state.update(PollResult("site", 1.0, samples=[old]))
    now = Sample("probe_loss_ratio", {"device": "site"}, 1.0, 2.0)
    state.update(PollResult("site", 2.0, samples=[now], error="timeout"))
    assert state.devices["site"].samples == [now]
    state.update(PollResult("site", 3.0, error="timeout"))  # an SNMP-style failure: nothing
    assert state.devices["site"].samples == []
