"""The seam through which the event-loop rooms wait: a clock and alarms on it.

An asyncio event loop is a `Timer` as it is (`loop.time()`, `loop.call_at()`), and is what
the service runs on; unit tests give a fake one (tests/helpers/fake_timer.py) and move its
time themselves, so what a schedule or a debounce does is counted, not waited for.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol


class Cancellable(Protocol):
    def cancel(self) -> object: ...


class Timer(Protocol):
    """A clock (seconds, monotonic) and alarms set on it."""

    def time(self) -> float: ...
    def call_at(self, when: float, callback: Callable[[], object]) -> Cancellable: ...
