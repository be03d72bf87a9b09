"""What the API asks of the alerting room (alerts/): alerts (list, acknowledge) and
maintenance windows (book, list, remove), in one place for the routes and the status page.

Acknowledgements (alerts/admin.py) and windows (tierwatch/core/maintenance.py) are written to
the store; with the alert engine running (`context.alerts`, alerts/component.py) it is
triggered at once, so they apply within the second (notifications, suppression,
Alertmanager silences). Without it (`alerts.enabled: false`) a running engine elsewhere
reads them at its next evaluation.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from alerts import admin
from tier.topology import SUBSYSTEMS
from tierwatch.core import maintenance
from tierwatch.core.maintenance import RedundancyCheck, Window, WouldDropLoads
from tierwatch.core.store import AlertRecord, NotFound, Store

if TYPE_CHECKING:
    from api.context import ApiContext

__all__ = ["NotFound", "WindowView", "WouldDropLoads", "acknowledge", "book", "list_alerts",
           "redundancy_check", "remove", "windows"]


# --------------------------------------------------------------------------- alerts


def list_alerts(store: Store, include_resolved: bool = False, limit: int = 10_000
                ) -> list[AlertRecord]:
    """Alerts, newest activity first (active ones only unless `include_resolved`)."""
    return admin.list_alerts(store, include_resolved=include_resolved, limit=limit)


def acknowledge(context: ApiContext, store: Store, ref: str, by: str, comment: str
                ) -> AlertRecord:
    """Acknowledge an alert by id or fingerprint. Raises NotFound, or ValueError (an alert
    that is not active)."""
    record = admin.acknowledge(store, ref, by, comment, time.time(),
                               ack_for=context.config.alerts.ack_for)
    if context.alerts is not None:
        context.alerts.trigger()  # no more notices, Alertmanager silence: now
    return record


# --------------------------------------------------------------------------- maintenance


@dataclass(frozen=True)
class WindowView:
    """A maintenance window as the alerting room reads it, with its row's bookkeeping."""

    window: Window
    created: float
    deleted: float | None
    warnings: tuple[str, ...] = ()

    def active_at(self, now: float, timezone: str) -> bool:
        if self.deleted is not None and self.deleted <= now:
            return False
        return self.window.active_at(now, timezone) is not None

    def next_occurrence(self, now: float, timezone: str) -> tuple[float, float] | None:
        if self.deleted is not None:
            return None
        return next(self.window.occurrences(now, float("inf"), timezone), None)


def _view(row: Any, warnings: Sequence[str] = ()) -> WindowView:
    return WindowView(Window.from_row(row), float(row.created_ts), row.deleted_ts,
                      tuple(warnings))


def windows(store: Store, include_deleted: bool = False) -> list[WindowView]:
    return [_view(row) for row in store.maintenance(include_deleted=include_deleted)]


def _check_scope(context: ApiContext, scope: Mapping[str, Sequence[str]]) -> None:
    """What booking leaves to its callers: components and subsystems that exist."""
    config = context.config
    bad = [s for s in scope.get("subsystems") or [] if s not in SUBSYSTEMS]
    if bad:
        raise ValueError(f"unknown subsystems: {', '.join(bad)} (use {', '.join(SUBSYSTEMS)})")
    nodes = config.topology.node_ids()
    devices = set(config.device_ids())
    bad = [c for c in scope.get("components") or []
           if c not in nodes and c.partition("/")[0] not in devices]
    if bad:
        raise ValueError(f"unknown components: {', '.join(bad)} (a topology node, or "
                         "DEVICE/COMPONENT)")


async def redundancy_check(context: ApiContext, scope: Mapping[str, Sequence[str]]
                           ) -> RedundancyCheck | None:
    """The live what-if on a window's scope (None where this instance runs no live tier,
    or before its first score). Raises ValueError naming what is wrong with the scope."""
    _check_scope(context, scope)
    resolved = maintenance.resolve_scope(context.devices.names(),
                                         {k: list(v) for k, v in scope.items() if v})
    if context.live is None or context.live.snapshot is None:
        return None
    return await context.live.maintenance_check(resolved)


def book(context: ApiContext, store: Store, *, title: str, start: float, end: float,
         scope: Mapping[str, Sequence[str]], by: str, recurrence: str = "none",
         until: float | None = None, comment: str = "",
         check: RedundancyCheck | None = None, force: bool = False) -> WindowView:
    """Book a maintenance window. Raises ValueError naming what is wrong, WouldDropLoads
    for a window whose `check` drops loads unless `force`."""
    _check_scope(context, scope)
    done = maintenance.book_maintenance(
        store, context.devices.names(), title=title, start=start, end=end,
        scope={k: list(v) for k, v in scope.items() if v}, by=by, now=time.time(),
        recurrence=recurrence, until=until, comment=comment,
        check=None if check is None else (lambda _scope: check), force=force)
    if context.alerts is not None:
        context.alerts.trigger()  # suppression and silences now, not at the next evaluation
    row = store.maintenance_window(done.window.id)
    return _view(row, done.warnings)


def remove(context: ApiContext, store: Store, window_id: int) -> None:
    """Remove a window (kept as deleted, for the report). Raises NotFound."""
    maintenance.remove_maintenance(store, window_id, time.time())
    if context.alerts is not None:
        context.alerts.trigger()


def local_iso(ts: float | None, timezone: str) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, ZoneInfo(timezone)).isoformat()
