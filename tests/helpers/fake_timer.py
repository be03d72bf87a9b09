"""A fake `tierwatch.core.timer.Timer`: a clock that moves only when a test moves it, and the
alarms set on it. Tasks the alarms start still run on the real event loop: after each
alarm the timer lets them take their turn (`settle`), which yields to the loop and never
waits for wall-clock time."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable

START = 100.0


async def settle() -> None:
    """Let every task that can run, run (a poll task, then its done callback)."""
    for _ in range(4):
        await asyncio.sleep(0)


class _Handle:
    def __init__(self, callback: Callable[[], object]) -> None:
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class FakeTimer:
    """A clock that moves when told, and the alarms set on it."""

    def __init__(self, now: float = START) -> None:
        self.now = now
        self._alarms: list[tuple[float, int, _Handle]] = []
        self._seq = itertools.count()

    def time(self) -> float:
        return self.now

    def call_at(self, when: float, callback: Callable[[], object]) -> _Handle:
        handle = _Handle(callback)
        heapq.heappush(self._alarms, (when, next(self._seq), handle))
        return handle

    async def advance(self, seconds: float) -> None:
        """Time passes on a loop that is free: each alarm rings at its moment."""
        await self._ring(self.now + seconds, on_time=True)

    async def block(self, seconds: float) -> None:
        """The loop is busy for `seconds`: alarms due meanwhile ring late, at its end."""
        self.now += seconds
        await self._ring(self.now, on_time=False)

    async def _ring(self, until: float, *, on_time: bool) -> None:
        await settle()
        while self._alarms and self._alarms[0][0] <= until:
            when, _, handle = heapq.heappop(self._alarms)
            if handle.cancelled:
                continue
            if on_time:
                self.now = max(self.now, when)
            handle.callback()
            await settle()
        self.now = until

    @property
    def armed(self) -> list[float]:
        """When the alarms still set will ring (cancelled ones left out), soonest first."""
        return sorted(when for when, _, handle in self._alarms if not handle.cancelled)
