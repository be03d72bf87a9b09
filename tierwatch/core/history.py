"""Writes what the state sees into the store: transitions, device outages, exposure, and
the status each change leaves (`current_status`), one batch of changes in one transaction.

A device that becomes unreachable opens a device outage, closed when it answers again; it is
planned when a maintenance window on at that moment covers the device
(tierwatch/core/maintenance.py).
Conditions that are exposure rather than downtime (a UPS on battery or on bypass) open and
close exposure intervals. A heartbeat marks the instance alive, so the time it was not
running is recorded as unmonitored at the next start, never counted as uptime.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tierwatch.core.maintenance import planned_window
from tierwatch.core.model import DEVICE_COMPONENT, Status, StatusChange
from tierwatch.core.store import NOT_RUNNING, Store
from tierwatch.core.store.fencing import Fenced

if TYPE_CHECKING:
    from tierwatch.core.runtime import Runtime

log = logging.getLogger(__name__)

HEARTBEAT_EVERY = 15.0  # seconds between an instance's heartbeats in the store
# no heartbeat for this long: nobody watches (four missed); availability and the report
# count the time since the last one as unmonitored
MAX_SILENCE = 4 * HEARTBEAT_EVERY

# conditions recorded as exposure intervals (reported beside downtime, never as downtime)
EXPOSURE_CONDITIONS = ("on_battery", "bypass")


class History:
    """A component; also usable on its own with `handle(changes)`."""

    def __init__(self, store: Store, instance: str = "main",
                 heartbeat_every: float = HEARTBEAT_EVERY, record: bool = True,
                 timezone: str = "Asia/Ho_Chi_Minh", current: bool = False) -> None:
        """`current`: also write the status each change leaves (`current_status`, what the
        tier instance and a pair's standby read), in the same transaction as the
        transitions and outages (else the StorePublisher writes it, on its own)."""
        self.store = store
        self.instance = instance
        self.timezone = timezone
        # the tier instance mirrors the shards' statuses: they are recorded by the shards
        self.record = record
        self.current = current
        self.heartbeat_every = heartbeat_every
        self._task: asyncio.Task[None] | None = None
        self.write_errors = 0

    async def start(self, rt: Runtime) -> None:
        self.timezone = rt.site.timezone
        now = time.time()
        self.store.start_instance(self.instance, now, max_silence=self.heartbeat_every * 3)
        if self.record:
            rt.state.subscribe(self.handle)
        self._task = asyncio.create_task(self._beat())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        try:
            self.store.heartbeat(self.instance, time.time())
        except Fenced:
            pass  # a deposed leader's: refused, counted and logged by the fence
        except Exception:
            log.exception("last heartbeat failed")

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_every)
            try:
                self.store.heartbeat(self.instance, time.time())
            except Fenced:
                pass  # refused, counted and logged by the fence; the leadership steps down
            except Exception:
                self.write_errors += 1
                log.exception("heartbeat write failed")

    def handle(self, changes: list[StatusChange]) -> None:
        try:
            # what the writes need to read, read first: a read on another connection inside
            # the transaction would share (and end) the one connection of an in-memory store
            windows = {c: planned_window(self.store, c.ts, devices={c.device},
                                         timezone=self.timezone)
                       for c in changes if c.component == DEVICE_COMPONENT
                       and "unreachable" in c.conditions}
            with self.store.write():  # one transaction: all of it, or none (Store.write)
                self.store.record_changes(changes)
                for change in changes:
                    if change.component == DEVICE_COMPONENT:
                        self._device(change, windows.get(change))
                if self.current:
                    self.store.set_current(changes, self.instance)
        except Fenced:
            pass  # refused, counted and logged by the fence; the leadership steps down
        except Exception:
            self.write_errors += 1
            log.exception("writing %d status changes to the store failed", len(changes))

    def _device(self, change: StatusChange, window: int | None) -> None:
        if "unreachable" in change.conditions:
            self.store.open_outage("device", change.device, change.ts, change.reason,
                                   planned=window is not None, maintenance_id=window)
        elif change.old == Status.UNKNOWN or change.old is None:
            self.store.close_outage("device", change.device, change.ts)
        for condition in EXPOSURE_CONDITIONS:
            if condition in change.conditions:
                self.store.open_exposure(condition, change.device, change.ts,
                                         detail=change.reason)
            else:
                self.store.close_exposure(condition, change.device, change.ts)


@dataclass(frozen=True, slots=True)
class BlindSpan:
    """An interval nobody was watching, and why: `not_running` (no heartbeat between two
    starts), `starting` (statuses not known yet after a start), `no_record` (before the
    store's first observation), `silent` (no instance has beaten since), or the recorded
    text of any other reason."""

    start: float
    end: float
    reason: str


def _reason(text: str) -> str:
    if text == NOT_RUNNING:
        return "not_running"
    if text.startswith("tierwatch starting"):
        return "starting"
    return text


def blind_gaps(store: Store, start: float, stop: float,
               max_silence: float = MAX_SILENCE) -> list[BlindSpan]:
    """Every interval of [start, stop) nobody was watching, with its reason: the recorded
    gaps (not running, starting up), the time before the store's first observation, and the
    time since the last heartbeat when no instance has beaten for `max_silence`. Availability
    of loads (livetier/downtime.py) and of services (services/metrics.py) leaves these out
    alike, and the monthly report lists them (report/monthly.py)."""
    blind = [BlindSpan(gap.start, gap.end if gap.end is not None else stop,
                       _reason(gap.reason))
             for gap in store.unmonitored(since=start, until=stop)]
    first = store.first_observation()
    if first is None:
        blind.append(BlindSpan(start, stop, "no_record"))
    elif first > start:
        blind.append(BlindSpan(start, min(first, stop), "no_record"))
    beat = store.last_heartbeat()
    if beat is not None and stop - beat > max_silence:
        blind.append(BlindSpan(beat, stop, "silent"))
    return blind


def blind_spans(store: Store, start: float, stop: float,
                max_silence: float = MAX_SILENCE) -> list[tuple[float, float | None]]:
    """`blind_gaps` as (start, end) pairs, what tier/availability.py takes."""
    return [(gap.start, gap.end) for gap in blind_gaps(store, start, stop, max_silence)]
