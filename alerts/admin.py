"""What people do to alerts: list and acknowledge (maintenance windows are booked through
tierwatch/core/maintenance.py).

These work on the store alone, so the CLI (with tierwatch running or not) and the API
share them. A running tierwatch reads the store on its next evaluation: it stops re-notifying
an acknowledged alert and silences it in Alertmanager within one evaluation interval.
"""

from __future__ import annotations

from tierwatch.core.store import AlertRecord, NotFound, Store

__all__ = ["NotFound", "acknowledge", "list_alerts"]


def list_alerts(store: Store, include_resolved: bool = False, since: float | None = None,
                limit: int = 200) -> list[AlertRecord]:
    states = None if include_resolved else ("pending", "firing")
    return store.alerts(states=states, since=since, limit=limit)


def acknowledge(store: Store, ref: str, by: str, comment: str, now: float, *, ack_for: float
                ) -> AlertRecord:
    """Acknowledge the alert `ref` (its id or fingerprint) for `ack_for` seconds. Raises
    NotFound or ValueError."""
    alert = store.find_alert(ref)
    return store.ack_alert(alert.id, by, comment, now, ack_for=ack_for)
