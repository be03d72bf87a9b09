"""tierwatch's own per-device series: up, device and component status, poll self-metrics.

One definition, read by /metrics (exporters/state_exposition.py fills them into its text
templates) and by the built-in alert engine (alerts read `tierwatch_device_up` like any
series). `own_series(dev, labels)` lists a device's series as (name, labels, value).
"""

from __future__ import annotations

from collections.abc import Mapping

from tierwatch.core.model import Status
from tierwatch.core.state import DeviceState

STATUSES = [s.value for s in Status]

# tierwatch's own per-device series
UP = "tierwatch_device_up"
DEVICE_STATUS = "tierwatch_device_status"
COMPONENT_STATUS = "tierwatch_component_status"
DURATION = "tierwatch_poll_duration_seconds"
LAST_POLL = "tierwatch_device_last_poll_timestamp_seconds"
POLLS = "tierwatch_polls_total"
ERRORS = "tierwatch_poll_errors_total"
SKIPPED = "tierwatch_polls_skipped_total"
VARBINDS = "tierwatch_varbinds_total"
REBOOTS = "tierwatch_device_reboots_total"
SELF_FAMILIES: dict[str, tuple[str, str]] = {  # family as exposed: (TYPE, HELP)
    UP: ("gauge", "1 when the device answers its polls, 0 when unreachable"),
    DEVICE_STATUS: ("gauge", "Status of each device (worst of its components), one series "
                             "per status, 1 for the current one"),
    COMPONENT_STATUS: ("gauge", "Status of each component, one series per status, 1 for the "
                                "current one"),
    DURATION: ("gauge", "Duration of the device's last poll"),
    LAST_POLL: ("gauge", "When the device was last polled"),
    POLLS: ("counter", "Polls made"),
    ERRORS: ("counter", "Failed polls by reason"),
    SKIPPED: ("counter", "Polls skipped because the previous one still ran"),
    VARBINDS: ("counter", "Varbinds received"),
    REBOOTS: ("counter", "Reboots seen (uptime going back, wraps excluded)"),
}
Series = tuple[str, Mapping[str, str], float]  # name, labels, value (a Sample's first three)


class OwnLabels:
    """A device's label sets for its own series, the same dict every scrape (so the
    template's check that the series did not change compares identities)."""

    __slots__ = ("device", "sets")

    def __init__(self, device: str) -> None:
        self.device = {"device": device}
        self.sets: dict[tuple[str, ...], dict[str, str]] = {}

    def get(self, *pairs: str) -> dict[str, str]:
        found = self.sets.get(pairs)
        if found is None:
            if len(self.sets) > 10_000:  # components and error reasons that came and went
                self.sets.clear()
            found = self.sets[pairs] = {**self.device,
                                        **dict(zip(pairs[::2], pairs[1::2], strict=True))}
        return found


def own_series(dev: DeviceState, labels: OwnLabels) -> list[Series]:
    """tierwatch's own series for one device (up, statuses, poll self-metrics)."""
    d = labels.device
    out: list[Series] = [(UP, d, 1 if dev.reachable else 0)]
    out += [(DEVICE_STATUS, labels.get("status", s), 1 if dev.status == s else 0)
            for s in STATUSES]
    out += [(POLLS, d, dev.polls_total), (SKIPPED, d, dev.polls_skipped_total),
            (VARBINDS, d, dev.varbinds_total), (REBOOTS, d, dev.reboots_total)]
    for comp in dev.components.values():
        out += [(COMPONENT_STATUS, labels.get("component", comp.component, "status", s),
                 1 if comp.status == s else 0) for s in STATUSES]
    if dev.last_poll_duration is not None:
        out.append((DURATION, d, dev.last_poll_duration))
    if dev.last_poll_ts is not None:
        out.append((LAST_POLL, d, dev.last_poll_ts))
    for reason, count in sorted(dev.poll_errors_total.items()):
        out.append((ERRORS, labels.get("reason", reason), count))
    return out
