"""Maintenance windows: when they are on, what they cover, and the silences they need.

A window has a start, an end, and optionally a recurrence (daily, weekly or monthly from its
first start, the same length each time, in the site's time zone, until `until`). Its scope
names what the planned work touches:

    {"devices": ["ups-a"], "components": ["ups-a/ups", "UPS-A"], "subsystems": ["power"]}

An alert is covered when its `device` label is a listed device; or `device/component`,
`component` or `node` is a listed component; or its `subsystem` is a listed subsystem.
Covered alerts are not notified while the window is on; each is recorded as a planned event.
With Alertmanager, each occurrence gets matching silences (one per kind of scope entry,
since a silence's matchers all have to hold).
"""

from __future__ import annotations

import calendar
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from alerts.matchers import Matcher

RECURRENCES = ("none", "daily", "weekly", "monthly")
SCOPE_KEYS = ("devices", "components", "subsystems")


@dataclass(frozen=True)
class Scope:
    devices: frozenset[str] = frozenset()
    components: frozenset[str] = frozenset()
    subsystems: frozenset[str] = frozenset()

    @classmethod
    def from_json(cls, raw: Mapping[str, Any] | str) -> Scope:
        data: Mapping[str, Any] = json.loads(raw or "{}") if isinstance(raw, str) else raw
        unknown = set(data) - set(SCOPE_KEYS) - {"subsystem"}
        if unknown:
            raise ValueError(f"unknown scope keys: {', '.join(sorted(unknown))} "
                             f"(use {', '.join(SCOPE_KEYS)})")
        subsystems = set(data.get("subsystems") or [])
        if data.get("subsystem"):
            subsystems.add(str(data["subsystem"]))
        return cls(frozenset(map(str, data.get("devices") or [])),
                   frozenset(map(str, data.get("components") or [])),
                   frozenset(subsystems))

    def to_json(self) -> dict[str, list[str]]:
        return {k: sorted(getattr(self, k)) for k in SCOPE_KEYS if getattr(self, k)}

    @property
    def empty(self) -> bool:
        return not (self.devices or self.components or self.subsystems)

    def covers(self, labels: Mapping[str, str]) -> bool:
        device = labels.get("device", "")
        if device and device in self.devices:
            return True
        component = labels.get("component", "")
        node = labels.get("node", "")
        if self.components and (
            (device and component and f"{device}/{component}" in self.components)
            or (component and component in self.components)
            or (node and node in self.components)
        ):
            return True
        subsystem = labels.get("subsystem", "")
        return bool(subsystem) and subsystem in self.subsystems

    def silence_matchers(self) -> list[list[Matcher]]:
        """Matcher sets whose union is what the scope covers (one silence each)."""
        sets: list[list[Matcher]] = []
        if self.devices:
            sets.append([_any_of("device", self.devices)])
        plain = sorted(c for c in self.components if "/" not in c)
        if plain:
            sets.append([_any_of("component", plain)])
            sets.append([_any_of("node", plain)])
        by_device: dict[str, list[str]] = {}
        for entry in sorted(c for c in self.components if "/" in c):
            device, _, component = entry.partition("/")
            by_device.setdefault(device, []).append(component)
        for device, components in sorted(by_device.items()):
            sets.append([Matcher.parse(f'device="{_q(device)}"'),
                         _any_of("component", components)])
        if self.subsystems:
            sets.append([_any_of("subsystem", self.subsystems)])
        return sets


def _q(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _any_of(label: str, values: Iterable[str]) -> Matcher:
    values = sorted(values)
    if len(values) == 1:
        return Matcher.parse(f'{label}="{_q(values[0])}"')
    pattern = "|".join(re.escape(v) for v in values)
    return Matcher.parse(f'{label}=~"{_q(pattern)}"')


@dataclass(frozen=True)
class Window:
    id: int
    title: str
    start: float
    end: float
    recurrence: str
    until: float | None
    scope: Scope
    created_by: str = ""
    comment: str = ""
    silences: tuple[str, ...] = field(default_factory=tuple)

    @classmethod
    def from_row(cls, row: Any) -> Window:
        return cls(row.id, row.title, row.start_ts, row.end_ts, row.recurrence or "none",
                   row.until_ts, Scope.from_json(row.scope), row.created_by, row.comment)

    @property
    def length(self) -> float:
        return self.end - self.start

    def occurrences(self, since: float, until: float, tz: str) -> Iterator[tuple[float, float]]:
        """(start, end) of every occurrence overlapping [since, until)."""
        for start in _starts(self, tz, since - self.length):
            if start >= until:
                return
            end = start + self.length
            if end > since:
                yield start, end

    def active_at(self, now: float, tz: str) -> tuple[float, float] | None:
        for occurrence in self.occurrences(now, now + 1e-6, tz):
            if occurrence[0] <= now < occurrence[1]:
                return occurrence
        return None

    def to_json(self, tz: str, now: float) -> dict[str, Any]:
        zone = ZoneInfo(tz)
        nxt = next(self.occurrences(now, float("inf"), tz), None)
        return {
            "id": self.id, "title": self.title,
            "start": datetime.fromtimestamp(self.start, zone).isoformat(),
            "end": datetime.fromtimestamp(self.end, zone).isoformat(),
            "recurrence": self.recurrence,
            "until": None if self.until is None
            else datetime.fromtimestamp(self.until, zone).isoformat(),
            "scope": self.scope.to_json(), "created_by": self.created_by,
            "comment": self.comment,
            "active": self.active_at(now, tz) is not None,
            "next": None if nxt is None else {
                "start": datetime.fromtimestamp(nxt[0], zone).isoformat(),
                "end": datetime.fromtimestamp(nxt[1], zone).isoformat()},
        }


_MAX_OCCURRENCES = 100_000  # a daily window over 270 years: enough, and it always ends


def _starts(window: Window, tz: str, not_before: float) -> Iterator[float]:
    """Occurrence starts, skipping ahead to about `not_before` (a window booked years ago
    does not walk every day since)."""
    if window.recurrence == "none":
        yield window.start
        return
    zone = ZoneInfo(tz)
    first = datetime.fromtimestamp(window.start, zone)
    last = window.until if window.until is not None else float("inf")
    period = {"daily": 86400.0, "weekly": 7 * 86400.0, "monthly": 28 * 86400.0}.get(
        window.recurrence, 86400.0)
    # one period early, for daylight-saving shifts and short months
    skip = max(0, int((not_before - window.start) // period) - 1)
    if window.recurrence == "monthly":
        skip = max(0, int((not_before - window.start) // (31 * 86400.0)) - 1)
    for k in range(skip, skip + _MAX_OCCURRENCES):
        local = _shift(first, window.recurrence, k)
        if local is None:
            continue  # monthly on a day this month does not have: skipped, as cron does
        ts = local.timestamp()
        if ts > last:
            return
        yield ts


def _shift(first: datetime, recurrence: str, k: int) -> datetime | None:
    naive = first.replace(tzinfo=None)
    if recurrence == "daily":
        local = naive + timedelta(days=k)
    elif recurrence == "weekly":
        local = naive + timedelta(weeks=k)
    elif recurrence == "monthly":
        month0 = naive.month - 1 + k
        year, month = naive.year + month0 // 12, month0 % 12 + 1
        if naive.day > calendar.monthrange(year, month)[1]:
            return None
        local = naive.replace(year=year, month=month)
    else:
        raise ValueError(f"unknown recurrence {recurrence!r} (use {', '.join(RECURRENCES)})")
    return local.replace(tzinfo=first.tzinfo)


def active_windows(windows: Iterable[Window], now: float, tz: str) -> list[Window]:
    return [w for w in windows if w.active_at(now, tz) is not None]


def covering(windows: Iterable[Window], labels: Mapping[str, str], now: float, tz: str
             ) -> Window | None:
    """The first window on now whose scope covers these alert labels."""
    for window in windows:
        if window.scope.covers(labels) and window.active_at(now, tz) is not None:
            return window
    return None


def parse_time(text: str, tz: str) -> float:
    """'2026-12-01 22:00' (site time), an ISO time with an offset, or epoch seconds."""
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        pass
    try:
        value = datetime.fromisoformat(text.replace(" ", "T", 1) if " " in text else text)
    except ValueError:
        raise ValueError(f"{text!r} is not a time (write 2026-12-01 22:00 in site time, "
                         "or an ISO time with an offset)") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(tz))
    return value.timestamp()


def planned_window(store: Any, now: float, *, subsystem: str, nodes: set[str],
                   devices: set[str], components: set[str], timezone: str) -> int | None:
    """The id of a window on at `now` covering any of these topology nodes, devices,
    "device/component"s or the subsystem: the live tier's recorder asks this when a load's
    outage opens, to mark it planned (livetier/recorder.py, `TierRecorder.planned`)."""
    candidates: list[dict[str, str]] = [{"subsystem": subsystem}]
    candidates += [{"node": n, "subsystem": subsystem} for n in sorted(nodes)]
    candidates += [{"device": d} for d in sorted(devices)]
    for entry in sorted(components):
        device, _, component = entry.partition("/")
        candidates.append({"device": device, "component": component})
    windows = [Window.from_row(r) for r in store.maintenance()]
    for labels in candidates:
        found = covering(windows, labels, now, timezone)
        if found is not None:
            return found.id
    return None
