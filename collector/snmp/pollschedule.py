"""The SNMP poll schedule: each device polled every `interval` seconds on the running event
loop, one timer for all of them.

APScheduler runs everything else (host agents, the monthly report). SNMP polls are by far
the most frequent job, and at hundreds of polls a second APScheduler's bookkeeping per run
(job store updates, time-zone-aware datetimes, events, an executor) costs about as much CPU
as mapping the poll's answer. This keeps APScheduler's contract for them:

* a device's first poll comes at the time `add()` is given (the service spreads them with
  its jitter), then every `interval` seconds on the loop's monotonic clock, in phase;
* a poll still running at its device's next tick is not queued: the tick is skipped and
  reported to `on_skip` (the service counts and logs it); so is every tick the loop was too
  busy to serve before the following one;
* `stop()` cancels the polls in flight and waits for them.

Time comes through a narrow seam, `tierwatch.core.timer.Timer` (`time()` and `call_at()`): the
running event loop itself in the service, a fake clock in the unit tests, so they count
ticks exactly without waiting for them.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
from collections.abc import Callable, Coroutine
from typing import Any

from tierwatch.core.timer import Cancellable, Timer

_SLACK = 0.001  # a timer may fire this early and its ticks still count as due


class PollSchedule:
    def __init__(self, run: Callable[[str], Coroutine[Any, Any, None]],
                 on_skip: Callable[[str], None], *, timer: Timer | None = None) -> None:
        """`timer`: where time comes from (default: the event loop `start()` runs on)."""
        self._run = run
        self._on_skip = on_skip
        self._given_timer = timer
        self._clock: Timer | None = None
        # (due, tie-break, key): the tie-break is also the entry's identity; an entry whose
        # tie-break is not its key's current one is stale (the key removed or added again)
        self._heap: list[tuple[float, int, str]] = []
        self._interval: dict[str, float] = {}
        self._current: dict[str, int] = {}
        self._order = itertools.count()
        self.running: dict[str, asyncio.Task[None]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: Cancellable | None = None
        self._timer_at = math.inf

    def add(self, key: str, interval: float, first: float) -> None:
        """Poll `key` every `interval` s, first at `first` on the timer's clock (the loop's
        `loop.time()` by default).
        Adding a key again (after `remove`, or with another interval) replaces its ticks."""
        self._interval[key] = interval
        order = self._current[key] = next(self._order)
        heapq.heappush(self._heap, (first, order, key))
        self._arm()

    def remove(self, key: str) -> None:
        """No more ticks for `key` (a poll in flight finishes)."""
        self._interval.pop(key, None)
        self._current.pop(key, None)

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._clock = self._given_timer or self._loop
        self._arm()

    async def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._loop = None
        self._clock = None
        tasks = list(self.running.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.running.clear()

    def _arm(self) -> None:
        clock = self._clock
        if clock is None or not self._heap:
            return
        due = self._heap[0][0]
        if due >= self._timer_at and self._timer is not None:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = due
        self._timer = clock.call_at(due, self._fire)

    def _finished(self, task: asyncio.Task[None]) -> None:
        key = task.get_name()[5:]  # "poll <key>"
        if self.running.get(key) is task:
            del self.running[key]

    def _fire(self) -> None:
        self._timer = None
        self._timer_at = math.inf
        loop = self._loop
        clock = self._clock
        if loop is None or clock is None:
            return
        now = clock.time()
        heap = self._heap
        while heap and heap[0][0] <= now + _SLACK:
            due, order, key = heapq.heappop(heap)
            if self._current.get(key) != order:  # removed, or added again since
                continue
            interval = self._interval[key]
            if key in self.running:
                self._on_skip(key)
            else:
                task = loop.create_task(self._run(key), name=f"poll {key}")
                self.running[key] = task
                task.add_done_callback(self._finished)
            due += interval
            if due <= now:  # the loop was late by more than an interval: those ticks are lost
                missed = math.floor((now - due) / interval) + 1
                for _ in range(missed):
                    self._on_skip(key)
                due += missed * interval
            order = self._current[key] = next(self._order)
            heapq.heappush(heap, (due, order, key))
        self._arm()
