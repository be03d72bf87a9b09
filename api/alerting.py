"""What the API asks of the alerting room: alerts (list, acknowledge) and maintenance
windows (book, list, remove), in one place so the routes and the status page do not care
where they live.

Maintenance windows are rows of the store's `maintenance_windows` table, booked here with
the same rules as `tierwatch maintenance add` (a title, an end after the start, a scope
naming devices, components/nodes or subsystems). Alerts come from the alerting engine's
store tables when that engine is part of the build (`Store.alerts`); until then the list
is empty and there is nothing to acknowledge.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from tier.topology import SUBSYSTEMS
from tierwatch.config import Config
from tierwatch.reports import occurrences
from tierwatch.store import Store

RECURRENCES = ("none", "daily", "weekly", "monthly")
SCOPE_KEYS = ("devices", "components", "subsystems")


class NotFound(LookupError):
    pass


# --------------------------------------------------------------------------- alerts


@dataclass(frozen=True)
class AlertView:
    id: int
    name: str
    severity: str
    state: str  # pending | firing | resolved
    labels: Mapping[str, str]
    summary: str
    since: float
    acked_by: str | None
    acked: float | None


def alerting_available(store: Store) -> bool:
    return callable(getattr(store, "alerts", None))


def list_alerts(store: Store, include_resolved: bool = False) -> list[AlertView]:
    """Alerts newest first (active ones only unless `include_resolved`)."""
    if not alerting_available(store):
        return []
    states = None if include_resolved else ("pending", "firing")
    records = store.alerts(states=states, limit=10_000)  # type: ignore[attr-defined]
    return [_view(r) for r in records]


def _view(record: Any) -> AlertView:
    annotations = getattr(record, "annotations", {}) or {}
    return AlertView(record.id, record.alertname, record.severity, record.state,
                     dict(record.labels), annotations.get("summary", ""),
                     record.active_since, record.acked_by, record.acked)


def acknowledge(store: Store, config: Config, ref: str, by: str, comment: str, now: float
                ) -> AlertView:
    """Acknowledge an alert by id or fingerprint. Raises NotFound."""
    if not alerting_available(store):
        raise NotFound(f"no alert {ref!r}")
    try:
        alert = store.find_alert(ref)  # type: ignore[attr-defined]
    except LookupError as exc:
        raise NotFound(str(exc)) from None
    ack_for = getattr(getattr(config, "alerts", None), "ack_for", None)
    record = store.ack_alert(alert.id, by, comment, now, ack_for=ack_for)  # type: ignore[attr-defined]
    return _view(record)


# --------------------------------------------------------------------------- maintenance


@dataclass(frozen=True)
class WindowView:
    id: int
    title: str
    start: float
    end: float
    recurrence: str
    until: float | None
    scope: dict[str, list[str]]
    created_by: str
    created: float
    comment: str
    deleted: float | None

    def occurrences(self, since: float, until: float, timezone: str
                    ) -> list[tuple[float, float]]:
        return occurrences(self.start, self.end, self.recurrence, self.until, since, until,
                           timezone)

    def active_at(self, now: float, timezone: str) -> bool:
        if self.deleted is not None and self.deleted <= now:
            return False
        return any(lo <= now < hi for lo, hi in self.occurrences(now, now + 1e-6, timezone))

    def next_occurrence(self, now: float, timezone: str) -> tuple[float, float] | None:
        if self.deleted is not None:
            return None
        for lo, hi in self.occurrences(now, now + 400 * 86400.0, timezone):
            if hi > now:
                return lo, hi
        return None


def _window(row: Any) -> WindowView:
    try:
        scope = json.loads(row.scope or "{}")
    except ValueError:
        scope = {}
    return WindowView(int(row.id), row.title, float(row.start_ts), float(row.end_ts),
                      row.recurrence or "none", row.until_ts, scope, row.created_by or "",
                      float(row.created_ts), row.comment or "", row.deleted_ts)


def windows(store: Store, include_deleted: bool = False) -> list[WindowView]:
    return [_window(r) for r in store.maintenance(include_deleted=include_deleted)]


def _resolve_devices(config: Config, names: Sequence[str]) -> list[str]:
    by_key: dict[str, str] = {}
    for device_id in config.device_ids():
        by_key[device_id.lower()] = device_id
    for device in config.devices:
        if device.name:
            by_key[device.name.lower()] = device.id
    found: list[str] = []
    unknown: list[str] = []
    for name in names:
        hit = by_key.get(name.strip().lower())
        (found if hit else unknown).append(hit or name)
    if unknown:
        raise ValueError(f"unknown devices: {', '.join(unknown)}")
    return found


def book(store: Store, config: Config, *, title: str, start: float, end: float,
         scope: Mapping[str, Sequence[str]], by: str, now: float, recurrence: str = "none",
         until: float | None = None, comment: str = "") -> WindowView:
    """Book a maintenance window. Raises ValueError naming what is wrong."""
    if not title.strip():
        raise ValueError("a maintenance window needs a title")
    if recurrence not in RECURRENCES:
        raise ValueError(f"recurrence must be one of {', '.join(RECURRENCES)}")
    if until is not None and recurrence == "none":
        raise ValueError("until applies to recurring windows only")
    if end <= start:
        raise ValueError("a maintenance window must end after it starts")
    unknown = set(scope) - set(SCOPE_KEYS)
    if unknown:
        raise ValueError(f"unknown scope keys {', '.join(sorted(unknown))} "
                         f"(use {', '.join(SCOPE_KEYS)})")
    data = {key: [str(v) for v in scope.get(key) or []] for key in SCOPE_KEYS}
    data["devices"] = _resolve_devices(config, data["devices"])
    bad = [s for s in data["subsystems"] if s not in SUBSYSTEMS]
    if bad:
        raise ValueError(f"unknown subsystems: {', '.join(bad)} (use {', '.join(SUBSYSTEMS)})")
    nodes = config.topology.node_ids()
    devices = set(config.device_ids())
    bad = [c for c in data["components"]
           if c not in nodes and c.partition("/")[0] not in devices]
    if bad:
        raise ValueError(f"unknown components: {', '.join(bad)} (a topology node, or "
                         "DEVICE/COMPONENT)")
    cleaned = {k: sorted(set(v)) for k, v in data.items() if v}
    if not cleaned:
        raise ValueError("a maintenance window needs a scope: devices, components or "
                         "subsystems")
    window_id = store.add_maintenance(title.strip(), start, end, cleaned, by, now,
                                      recurrence=recurrence, until=until, comment=comment)
    found = next(w for w in windows(store) if w.id == window_id)
    return found


def remove(store: Store, window_id: int, now: float) -> None:
    if not store.delete_maintenance(window_id, now):
        raise NotFound(f"no maintenance window {window_id}")


def local_iso(ts: float | None, timezone: str) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, ZoneInfo(timezone)).isoformat()
