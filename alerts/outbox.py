"""The durable delivery queue: notifications survive a receiver that is down, and a restart.

A notification is written to `notification_outbox` in the same transaction as the alert
change that caused it, so either both happened or neither did. The worker delivers due rows
oldest first and marks each `sent` the moment the receiver accepted it; a failure sets the
next attempt with exponential backoff (2 s, 4 s, 8 s ... up to `retry_max`), and after
`give_up_after` the row is `dead` (counted and logged, never silently dropped).

Exactly once: a row is sent again only if tierwatch stopped between the receiver's "yes"
and the commit that records it (milliseconds); the retry carries the same Idempotency-Key
(webhook) or Message-ID (e-mail), and Alertmanager itself merges re-posts of one alert.
Notifications for one alert to one receiver go out in order: a resolved notice never
overtakes the firing notice still waiting for its retry.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from alerts.aio import wait_event
from alerts.config import DeliveryConfig
from alerts.notify import DeliveryError
from tierwatch.core.store import Store
from tierwatch.core.store import alerting as tables

log = logging.getLogger(__name__)

BATCH = 200


@dataclass(frozen=True)
class OutboxRow:
    id: int
    key: str
    created: float
    alert_id: int | None
    channel: str
    receiver: str
    kind: str
    payload: Any
    attempts: int
    next_ts: float

    @property
    def lane(self) -> tuple[str, str, int | None]:
        return self.channel, self.receiver, self.alert_id


Deliver = Callable[[OutboxRow, float], Awaitable[None]]


class Outbox:
    def __init__(self, store: Store, deliver: Deliver, config: DeliveryConfig,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.deliver = deliver
        self.config = config
        self.clock = clock
        self.wake = asyncio.Event()
        # self-metrics: (channel, result) -> count; queue depth and age from the last pass
        self.results: dict[tuple[str, str], int] = {}
        self.pending = 0
        self.oldest_pending_age = 0.0
        self._last_cleanup = 0.0

    def _count(self, channel: str, result: str) -> None:
        key = (channel, result)
        self.results[key] = self.results.get(key, 0) + 1

    async def run(self) -> None:
        """Deliver forever: after each pass, sleep until the next row is due or woken."""
        while True:
            try:
                next_due = await self.deliver_due()
            except Exception:  # a store hiccup must not end delivery for good
                log.exception("notification delivery pass failed")
                next_due = self.clock() + 5.0
            delay = 5.0 if next_due is None else max(0.05, min(5.0, next_due - self.clock()))
            self.wake.clear()
            await wait_event(self.wake, delay)

    def _rows(self) -> list[OutboxRow]:
        return [OutboxRow(r.id, r.key, r.created_ts, r.alert_id, r.channel, r.receiver,
                          r.kind, json.loads(r.payload), r.attempts, r.next_ts)
                for r in tables.pending_notifications(self.store, BATCH)]

    async def deliver_due(self) -> float | None:
        """One pass over the queue; returns when the next pending row falls due."""
        now = self.clock()
        rows = self._rows()
        if rows:
            # a pair's deposed leader pages nobody: Fenced (the store's fence, store/
            # fencing.py) ends the pass before any row is sent; the new leader sends them
            self.store.confirm_lease()
        blocked: set[tuple[str, str, int | None]] = set()
        next_due: float | None = None
        for row in rows:
            when = row.next_ts
            if row.lane in blocked:
                continue
            if when > now:
                blocked.add(row.lane)  # later notices of this alert wait behind it
                next_due = when if next_due is None else min(next_due, when)
                continue
            try:
                await self.deliver(row, self.clock())
            except DeliveryError as exc:
                blocked.add(row.lane)
                retry_at = self._failed(row, str(exc), exc.retry)
                if retry_at is not None:
                    next_due = retry_at if next_due is None else min(next_due, retry_at)
                continue
            except Exception as exc:  # a bug in a sender: keep the row, retry later
                log.exception("delivering notification %s failed", row.id)
                blocked.add(row.lane)
                retry_at = self._failed(row, f"internal error: {type(exc).__name__}", True)
                if retry_at is not None:
                    next_due = retry_at if next_due is None else min(next_due, retry_at)
                continue
            self._sent(row)
        self._refresh_stats()
        if now - self._last_cleanup > 3600:
            self._cleanup(now)
        if len(rows) == BATCH:
            return now  # more waiting beyond this batch
        return next_due

    def _sent(self, row: OutboxRow) -> None:
        tables.notification_sent(self.store, row.id, self.clock(), row.attempts + 1)
        self._count(row.channel, "sent")
        log.info("notification %s (%s %s to %s) delivered", row.id, row.kind, row.channel,
                 row.receiver or row.channel)

    def _failed(self, row: OutboxRow, error: str, retry: bool) -> float | None:
        now = self.clock()
        attempts = row.attempts + 1
        dead = (not retry) or now - row.created >= self.config.give_up_after
        backoff = min(self.config.retry_max, self.config.retry_initial * 2 ** (attempts - 1))
        backoff *= random.uniform(0.9, 1.1)  # receivers coming back are not hit in step
        next_ts = now + backoff
        tables.notification_failed(self.store, row.id, dead=dead, attempts=attempts,
                                   next_ts=next_ts, error=error)
        self._count(row.channel, "dead" if dead else "failed")
        if dead:
            log.error("notification %s (%s %s to %s) given up after %d attempts: %s", row.id,
                      row.kind, row.channel, row.receiver or row.channel, attempts, error)
            return None
        log.warning("notification %s (%s %s to %s) failed, attempt %d, retry in %.0fs: %s",
                    row.id, row.kind, row.channel, row.receiver or row.channel, attempts,
                    backoff, error)
        return next_ts

    def _refresh_stats(self) -> None:
        self.pending, oldest = tables.pending_summary(self.store)
        self.oldest_pending_age = max(0.0, self.clock() - oldest) if oldest else 0.0

    def _cleanup(self, now: float) -> None:
        self._last_cleanup = now
        tables.purge_sent(self.store, now - self.config.keep_sent_for)

    def rows(self, state: str | None = None) -> list[Any]:
        """The queue as it stands (for tests, the CLI and the API)."""
        return tables.notifications(self.store, state)
