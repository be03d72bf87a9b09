"""What people do to alerts and maintenance windows: list, acknowledge, book, remove.

These work on the store alone, so the CLI (with tierwatch running or not) and the API
share them. A running tierwatch reads the store on its next evaluation: it stops re-notifying
an acknowledged alert, silences it in Alertmanager, and applies a new window (suppression
and Alertmanager silences) within one evaluation interval.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from alerts.maintenance import RECURRENCES, SCOPE_KEYS, Scope, Window
from tierwatch.config import Config
from tierwatch.core.store import AlertRecord, NotFound, Store

__all__ = ["NotFound", "acknowledge", "book_maintenance", "list_alerts", "remove_maintenance",
           "windows"]


def list_alerts(store: Store, include_resolved: bool = False, since: float | None = None,
                limit: int = 200) -> list[AlertRecord]:
    states = None if include_resolved else ("pending", "firing")
    return store.alerts(states=states, since=since, limit=limit)


def acknowledge(store: Store, config: Config, ref: str, by: str, comment: str, now: float
                ) -> AlertRecord:
    """Acknowledge the alert `ref` (its id or fingerprint). Raises NotFound or ValueError."""
    alert = store.find_alert(ref)
    return store.ack_alert(alert.id, by, comment, now, ack_for=config.alerts.ack_for)


@dataclass(frozen=True)
class Booking:
    window: Window
    warnings: list[str]


def resolve_devices(config: Config, names: Iterable[str]) -> tuple[list[str], list[str]]:
    """Device ids for ids or names (UPS-A -> ups-a, any case); unknown ones returned apart."""
    by_key: dict[str, str] = {}
    for device in config.devices:
        by_key[device.id.lower()] = device.id
        if device.name:
            by_key[device.name.lower()] = device.id
    found: list[str] = []
    unknown: list[str] = []
    for name in names:
        device_id = by_key.get(name.strip().lower())
        if device_id:
            found.append(device_id)
        else:
            unknown.append(name)
    return found, unknown


def book_maintenance(store: Store, config: Config, *, title: str, start: float, end: float,
                     scope: Mapping[str, Any], by: str, now: float, recurrence: str = "none",
                     until: float | None = None, comment: str = "") -> Booking:
    """Book a window. Device names are turned into ids; an empty scope is refused."""
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
    data = {k: list(scope.get(k) or []) for k in SCOPE_KEYS}
    if data["devices"]:
        ids, unknown = resolve_devices(config, data["devices"])
        if unknown:
            raise ValueError(f"unknown devices: {', '.join(unknown)}")
        data["devices"] = ids
    checked = Scope.from_json(data)
    if checked.empty:
        raise ValueError("a maintenance window needs a scope: devices, components or "
                         "subsystems")
    if recurrence == "none" and end < now:
        warnings.append("the window is already over")
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
