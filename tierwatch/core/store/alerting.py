"""The alerting tables: alerts, their events and the notification outbox.

The alerts room commits one evaluation in ONE transaction (the alerts' new states, their
history events, and the notifications they are owed): `alert_transaction(store)` yields an
`AlertWriter` bound to that transaction. The outbox worker reads and updates its rows
through the functions below. Only this module knows these tables' columns.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection

from tierwatch.core.store.base import Store
from tierwatch.core.store.schema import alert_events, alerts, notification_outbox


def _json(value: Mapping[str, str]) -> str:
    return json.dumps(dict(value), ensure_ascii=False)


class AlertWriter:
    """Writes to the alert tables inside one transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def insert(self, *, fingerprint: str, name: str, severity: str, labels: Mapping[str, str],
               annotations: Mapping[str, str], state: str, value: float, active_since: float,
               fired_at: float | None) -> int:
        result = self.conn.execute(insert(alerts).values(
            fingerprint=fingerprint, alertname=name, severity=severity, labels=_json(labels),
            annotations=_json(annotations), state=state, value=value,
            active_since=active_since, fired_ts=fired_at))
        return int(result.inserted_primary_key[0])  # type: ignore[index]

    def delete(self, alert_id: int) -> None:
        self.conn.execute(delete(alerts).where(alerts.c.id == alert_id))

    def firing(self, alert_id: int, *, fired_at: float | None, value: float,
               labels: Mapping[str, str], annotations: Mapping[str, str]) -> None:
        self.conn.execute(update(alerts).where(alerts.c.id == alert_id).values(
            state="firing", fired_ts=fired_at, value=value, labels=_json(labels),
            annotations=_json(annotations)))

    def resolved(self, alert_id: int, now: float) -> None:
        self.conn.execute(update(alerts).where(alerts.c.id == alert_id).values(
            state="resolved", resolved_ts=now))

    def muted(self, alert_id: int, muted: str | None) -> None:
        self.conn.execute(update(alerts).where(alerts.c.id == alert_id).values(muted=muted))

    def notified(self, alert_id: int, now: float) -> None:
        self.conn.execute(update(alerts).where(alerts.c.id == alert_id).values(notified_ts=now))

    def escalated(self, alert_id: int, now: float) -> None:
        self.conn.execute(update(alerts).where(alerts.c.id == alert_id)
                          .values(escalated_ts=now))

    def event(self, *, ts: float, alert_id: int | None, fingerprint: str, name: str,
              kind: str, actor: str = "", detail: str = "",
              maintenance_id: int | None = None) -> None:
        self.conn.execute(insert(alert_events).values(
            ts=ts, alert_id=alert_id, fingerprint=fingerprint, alertname=name, kind=kind,
            actor=actor, detail=detail, maintenance_id=maintenance_id))

    def queue(self, *, now: float, alert_id: int | None, channel: str, receiver: str,
              kind: str, payload: Any) -> str:
        """Add a notification to the outbox; returns its idempotency key."""
        key = f"tierwatch-{uuid.uuid4()}"
        self.conn.execute(insert(notification_outbox).values(
            key=key, created_ts=now, alert_id=alert_id, channel=channel, receiver=receiver,
            kind=kind, payload=json.dumps(payload, ensure_ascii=False), state="pending",
            attempts=0, next_ts=now, last_error=""))
        return key


@contextmanager
def alert_transaction(store: Store) -> Iterator[AlertWriter]:
    """One transaction over the alert tables: committed when the block ends, rolled back
    if it raises."""
    with store.write() as conn:
        yield AlertWriter(conn)


def active_alerts(store: Store) -> list[Any]:
    """Alert rows still pending or firing, oldest first (restored at start)."""
    with store.engine.connect() as conn:
        return list(conn.execute(select(alerts).where(alerts.c.state.in_(["pending", "firing"]))
                                 .order_by(alerts.c.id)))


def acknowledgements(store: Store, ids: Sequence[int]) -> dict[int, Any]:
    """id -> (acked_ts, ack_until, silence_id) of these alerts."""
    if not ids:
        return {}
    with store.engine.connect() as conn:
        return {r.id: r for r in conn.execute(
            select(alerts.c.id, alerts.c.acked_ts, alerts.c.ack_until, alerts.c.silence_id)
            .where(alerts.c.id.in_(list(ids))))}


def set_silence(store: Store, alert_id: int, silence_id: str | None) -> None:
    with store.write() as conn:
        conn.execute(update(alerts).where(alerts.c.id == alert_id)
                     .values(silence_id=silence_id))


# --------------------------------------------------------------------------- the outbox


def pending_notifications(store: Store, limit: int) -> list[Any]:
    with store.engine.connect() as conn:
        return list(conn.execute(select(notification_outbox)
                                 .where(notification_outbox.c.state == "pending")
                                 .order_by(notification_outbox.c.id).limit(limit)))


def notification_sent(store: Store, row_id: int, now: float, attempts: int) -> None:
    with store.write() as conn:
        conn.execute(update(notification_outbox).where(notification_outbox.c.id == row_id)
                     .values(state="sent", sent_ts=now, attempts=attempts, last_error=""))


def notification_failed(store: Store, row_id: int, *, dead: bool, attempts: int,
                        next_ts: float, error: str) -> None:
    with store.write() as conn:
        conn.execute(update(notification_outbox).where(notification_outbox.c.id == row_id)
                     .values(state="dead" if dead else "pending", attempts=attempts,
                             next_ts=next_ts, last_error=error[:1000]))


def pending_summary(store: Store) -> tuple[int, float | None]:
    """(rows waiting, the oldest one's creation time)."""
    with store.engine.connect() as conn:
        count, oldest = conn.execute(
            select(func.count(), func.min(notification_outbox.c.created_ts))
            .where(notification_outbox.c.state == "pending")).one()
    return int(count or 0), oldest


def purge_sent(store: Store, before: float) -> None:
    with store.write() as conn:
        conn.execute(delete(notification_outbox).where(
            notification_outbox.c.state == "sent", notification_outbox.c.sent_ts < before))


def notifications(store: Store, state: str | None = None) -> list[Any]:
    """The queue as it stands (tests, the CLI and the API)."""
    query = select(notification_outbox).order_by(notification_outbox.c.id)
    if state is not None:
        query = query.where(notification_outbox.c.state == state)
    with store.engine.connect() as conn:
        return list(conn.execute(query))
