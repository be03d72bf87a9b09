"""Maintenance windows: when they are on, what they cover, and the silences they need.

A window has a start, an end, and optionally a recurrence (daily, weekly or monthly from its
first start, the same length each time, in the site's time zone, until `until`). Its scope
names what the planned work touches:

    {"devices": ["ups-a"], "components": ["ups-a/ups", "UPS-A"], "subsystems": ["power"]}

An alert is covered when its `device` label is a listed device; or `device/component`,
`component` or `node` is a listed component; or its `subsystem` is a listed subsystem.
Covered alerts are not notified while the window is on; each is recorded as a planned event.
Load outages (the live tier), device outages (history), alerts and the report read windows
through this one module. Alertmanager silences for a window are the alerts room's
(alerts/silences.py).
"""

from __future__ import annotations

import calendar
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tierwatch.core.store import NotFound, Store

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


def planned_window(store: Store, now: float, *, timezone: str, subsystem: str = "",
                   nodes: Iterable[str] = (), devices: Iterable[str] = (),
                   components: Iterable[str] = ()) -> int | None:
    """The id of a window on at `now` covering any of these topology nodes, devices,
    "device/component"s or the subsystem: the live tier's recorder asks this when a load's
    outage opens, to mark it planned (livetier/recorder.py)."""
    candidates: list[dict[str, str]] = [{"subsystem": subsystem}] if subsystem else []
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


# --------------------------------------------------------------------------- redundancy


@dataclass(frozen=True)
class RedundancyCheck:
    """What a window's scope would do to the live topology (the live tier's what-if, run by
    whoever holds it: the API and the CLI before booking, the live tier when a window
    starts). `dropped` are the loads it would leave unserved; `blocking` the nodes already
    out of service that make it so (a UPS on bypass)."""

    nodes: tuple[str, ...]  # the topology nodes the window takes out
    dropped: tuple[str, ...]
    tier_before: int  # the site's live tier now
    tier_after: int  # with the scope's nodes out
    blocking: tuple[str, ...] = ()
    unchecked: tuple[str, ...] = ()  # scope entries no node answers to (whole subsystems)

    @property
    def ok(self) -> bool:
        return not self.dropped

    def refusal(self) -> str:
        why = f" (out of service already: {', '.join(self.blocking)})" if self.blocking else ""
        return (f"taking {', '.join(self.nodes)} out of service now would drop "
                f"{', '.join(self.dropped)}{why}")

    def warnings(self) -> list[str]:
        out = []
        if self.tier_after < self.tier_before:
            out.append(f"the window would lower the live tier from {self.tier_before} to "
                       f"{self.tier_after}")
        if self.unchecked:
            out.append(f"not checked against redundancy: {', '.join(self.unchecked)} "
                       "(a whole subsystem)")
        return out

    def to_json(self) -> dict[str, Any]:
        return {"nodes": list(self.nodes), "dropped": list(self.dropped),
                "tier_before": self.tier_before, "tier_after": self.tier_after,
                "blocking": list(self.blocking), "unchecked": list(self.unchecked),
                "ok": self.ok}


class WouldDropLoads(ValueError):
    """A window refused: it would drop loads, and nobody forced it."""

    def __init__(self, check: RedundancyCheck) -> None:
        super().__init__(check.refusal())
        self.check = check


def scope_nodes(scope: Scope, bindings: Mapping[str, tuple[str, str | None]],
                node_ids: Iterable[str]) -> tuple[list[str], list[str]]:
    """(topology nodes a scope takes out, scope entries that name no node). A device takes
    out every node bound to it; `DEVICE/COMPONENT` the nodes bound to that component; a
    node id itself. A whole subsystem is not a what-if (it drops everything by
    definition): it is returned as unchecked."""
    known = set(node_ids)
    nodes = {c for c in scope.components if c in known}
    for node, (device, component) in bindings.items():
        named = component is not None and f"{device}/{component}" in scope.components
        if device in scope.devices or named:
            nodes.add(node)
    unchecked = [f"subsystem {s}" for s in sorted(scope.subsystems)]
    return sorted(nodes), unchecked


def require_safe(check: RedundancyCheck | None, force: bool) -> list[str]:
    """The warnings a booking carries; raises WouldDropLoads for a window that would drop
    loads unless `force` (the caller checks who may force)."""
    if check is None:
        return []
    if not check.ok and not force:
        raise WouldDropLoads(check)
    warnings = check.warnings()
    if not check.ok:
        warnings.insert(0, f"forced: {check.refusal()}")
    return warnings


# --------------------------------------------------------------------------- booking


@dataclass(frozen=True)
class Booking:
    window: Window
    warnings: list[str]


def resolve_devices(devices: Mapping[str, str | None], names: Iterable[str]
                    ) -> tuple[list[str], list[str]]:
    """Device ids for ids or names (UPS-A -> ups-a, any case), from `devices` (id -> name);
    unknown ones returned apart."""
    by_key: dict[str, str] = {}
    for device_id, configured in devices.items():
        by_key[device_id.lower()] = device_id
        if configured:
            by_key[configured.lower()] = device_id
    found: list[str] = []
    unknown: list[str] = []
    for name in names:
        match = by_key.get(name.strip().lower())
        if match:
            found.append(match)
        else:
            unknown.append(name)
    return found, unknown


def resolve_scope(devices: Mapping[str, str | None], scope: Mapping[str, Any]) -> Scope:
    """A scope as booked: device names turned into ids; unknown keys, unknown devices and an
    empty scope refused (ValueError)."""
    unknown_keys = set(scope) - set(SCOPE_KEYS)
    if unknown_keys:
        raise ValueError(f"unknown scope keys {', '.join(sorted(unknown_keys))} "
                         f"(use {', '.join(SCOPE_KEYS)})")
    data = {k: list(scope.get(k) or []) for k in SCOPE_KEYS}
    if data["devices"]:
        ids, unknown = resolve_devices(devices, data["devices"])
        if unknown:
            raise ValueError(f"unknown devices: {', '.join(unknown)}")
        data["devices"] = ids
    checked = Scope.from_json(data)
    if checked.empty:
        raise ValueError("a maintenance window needs a scope: devices, components or "
                         "subsystems")
    return checked


def book_maintenance(store: Store, devices: Mapping[str, str | None], *, title: str,
                     start: float, end: float,
                     scope: Mapping[str, Any], by: str, now: float, recurrence: str = "none",
                     until: float | None = None, comment: str = "",
                     check: Callable[[Scope], RedundancyCheck | None] | None = None,
                     force: bool = False) -> Booking:
    """Book a window. Device names are turned into ids (`devices`: id -> name); an empty
    scope is refused. `check` runs the live what-if on the scope: a window that would drop
    a load raises WouldDropLoads unless `force`; one that lowers the live tier warns."""
    if not title.strip():
        raise ValueError("a maintenance window needs a title")
    if not by.strip():
        raise ValueError("a maintenance window needs a name (who books it)")
    if recurrence not in RECURRENCES:
        raise ValueError(f"recurrence must be one of {', '.join(RECURRENCES)}")
    if until is not None and recurrence == "none":
        raise ValueError("until applies to recurring windows only")
    if end <= start:
        raise ValueError("a maintenance window must end after it starts")
    unknown_keys = set(scope) - set(SCOPE_KEYS)
    if unknown_keys:
        raise ValueError(f"unknown scope keys {', '.join(sorted(unknown_keys))} "
                         f"(use {', '.join(SCOPE_KEYS)})")
    warnings: list[str] = []
    checked = resolve_scope(devices, scope)
    if recurrence == "none" and end < now:
        warnings.append("the window is already over")
    if check is not None:
        warnings += require_safe(check(checked), force)
    window_id = store.add_maintenance(title.strip(), start, end, checked.to_json(), by.strip(),
                                      now, recurrence=recurrence, until=until, comment=comment)
    row = store.maintenance_window(window_id)
    return Booking(Window.from_row(row), warnings)


def remove_maintenance(store: Store, window_id: int, now: float) -> None:
    """Remove a window (kept in the store as deleted, for the report). The running tierwatch
    expires its Alertmanager silences."""
    if not store.delete_maintenance(window_id, now):
        raise NotFound(f"no maintenance window with id {window_id}")


def windows(store: Store, include_deleted: bool = False) -> list[Window]:
    return [Window.from_row(r) for r in store.maintenance(include_deleted=include_deleted)]
