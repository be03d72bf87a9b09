"""An independent rendering of the state's /metrics answer, to check exporters/
state_exposition.py against.

It shares no code with the renderer: not its value formatting, label escaping, HELP
escaping, family metadata or series builder. What it knows comes from the Prometheus text
format (version 0.0.4) and from what tierwatch promises on /metrics:

* families sorted by name, each as `# HELP`, `# TYPE`, then every device's lines of that
  family, devices in the state's order, a device's lines in the order its series come;
* a family's TYPE and HELP come from tierwatch's own table for its own series, else from
  the first device (in order) whose profile describes it (info and stateset are exposed as
  gauge; a family no profile describes is untyped, with its name as HELP);
* label values escape backslash, double quote and line feed; HELP escapes backslash and
  line feed;
* an int is written with all its digits; a float that is whole and under 10**15 in
  magnitude as an integer; NaN, +Inf, -Inf spelled so; any other float as the shortest
  decimal that reads back as the same float (scientific from 10**16 up and under 10**-4,
  as Python and Go print them).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal

from tierwatch.core.model import Status
from tierwatch.core.state import DeviceState

# tierwatch's own per-device families: TYPE and HELP, as docs/metrics.md lists them
OWN = {
    "tierwatch_device_up": (
        "gauge", "1 when the device answers its polls, 0 when unreachable"),
    "tierwatch_device_status": (
        "gauge", "Status of each device (worst of its components), one series per status, "
                 "1 for the current one"),
    "tierwatch_component_status": (
        "gauge", "Status of each component, one series per status, 1 for the current one"),
    "tierwatch_poll_duration_seconds": ("gauge", "Duration of the device's last poll"),
    "tierwatch_device_last_poll_timestamp_seconds": ("gauge", "When the device was last polled"),
    "tierwatch_polls_total": ("counter", "Polls made"),
    "tierwatch_poll_errors_total": ("counter", "Failed polls by reason"),
    "tierwatch_polls_skipped_total": (
        "counter", "Polls skipped because the previous one still ran"),
    "tierwatch_varbinds_total": ("counter", "Varbinds received"),
    "tierwatch_device_reboots_total": (
        "counter", "Reboots seen (uptime going back, wraps excluded)"),
}
PROFILE_TYPES = {"gauge": "gauge", "counter": "counter", "info": "gauge", "stateset": "gauge"}


def shortest_float(v: float) -> str:
    """The fewest significant digits that read back as `v` (finite, not whole below
    10**15), the nearest such to `v`, laid out as Python's repr and Go's strconv 'g' with
    shortest precision do. At a power of two the floats around `v` are not evenly spaced,
    so a neighbour of the correctly rounded decimal may be the one that reads back."""
    exact = Decimal(v)
    best = exact
    for digits in range(1, 18):
        near = Decimal(f"{v:.{digits - 1}e}")
        step = Decimal(1).scaleb(near.adjusted() - digits + 1)
        found = [c for c in (near, near - step, near + step) if float(c) == v]
        if found:
            # the nearest; of two as near, the one ending in an even digit
            best = min(found, key=lambda c: (abs(c - exact), c.as_tuple().digits[-1] % 2))
            break
    exponent = best.adjusted()
    figures = "".join(map(str, best.as_tuple().digits)).strip("0") or "0"
    sign = "-" if v < 0 else ""
    if -4 <= exponent < 16:
        if exponent >= 0:
            whole = figures[: exponent + 1].ljust(exponent + 1, "0")
            fraction = figures[exponent + 1:] or "0"
        else:
            whole = "0"
            fraction = "0" * (-exponent - 1) + figures
        return f"{sign}{whole}.{fraction}"
    lead = figures[0] + ("." + figures[1:] if len(figures) > 1 else "")
    return f"{sign}{lead}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"


def value_text(v: object) -> str:
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, int):
        return str(v)
    assert isinstance(v, float)
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    if v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return shortest_float(v)


def label_value(text: str) -> str:
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        else:
            out.append(ch)
    return "".join(out)


def help_text(text: str) -> str:
    out = []
    for ch in text:
        out.append({"\\": "\\\\", "\n": "\\n"}.get(ch, ch))
    return "".join(out)


def _series(dev: DeviceState) -> list[tuple[str, dict[str, str], object]]:
    """The device's samples, then tierwatch's own series for it."""
    out: list[tuple[str, dict[str, str], object]] = [
        (s.name, dict(s.labels), s.value) for s in dev.samples]
    me = {"device": dev.id}
    out.append(("tierwatch_device_up", me, 1 if dev.reachable else 0))
    for status in Status:
        out.append(("tierwatch_device_status", {**me, "status": status.value},
                    1 if dev.status == status else 0))
    out.append(("tierwatch_polls_total", me, dev.polls_total))
    out.append(("tierwatch_polls_skipped_total", me, dev.polls_skipped_total))
    out.append(("tierwatch_varbinds_total", me, dev.varbinds_total))
    out.append(("tierwatch_device_reboots_total", me, dev.reboots_total))
    for comp in dev.components.values():
        for status in Status:
            out.append(("tierwatch_component_status",
                        {**me, "component": comp.component, "status": status.value},
                        1 if comp.status == status else 0))
    if dev.last_poll_duration is not None:
        out.append(("tierwatch_poll_duration_seconds", me, dev.last_poll_duration))
    if dev.last_poll_ts is not None:
        out.append(("tierwatch_device_last_poll_timestamp_seconds", me, dev.last_poll_ts))
    for reason in sorted(dev.poll_errors_total):
        out.append(("tierwatch_poll_errors_total", {**me, "reason": reason},
                    dev.poll_errors_total[reason]))
    return out


def reference_exposition(devices: Mapping[str, DeviceState]) -> bytes:
    lines: dict[str, list[str]] = {}
    kinds: dict[str, tuple[str, str]] = {}
    for dev in devices.values():
        for name, labels, value in _series(dev):
            if name not in lines:
                lines[name] = []
                if name in OWN:
                    kinds[name] = OWN[name]
                elif name in dev.metadata:
                    meta = dev.metadata[name]
                    kinds[name] = (PROFILE_TYPES.get(meta.type, "gauge"), meta.help)
                else:
                    kinds[name] = ("untyped", "")
            pairs = ",".join(f'{k}="{label_value(v)}"' for k, v in labels.items())
            lines[name].append(f"{name}{{{pairs}}} {value_text(value)}\n")
    out = []
    for name in sorted(lines):
        kind, text = kinds[name]
        out.append(f"# HELP {name} {help_text(text or name)}\n# TYPE {name} {kind}\n")
        out.extend(lines[name])
    return "".join(out).encode()
