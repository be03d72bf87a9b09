"""What keeps a trap flood from costing more than a bounded share of the monitor.

* `TokenBucket`: one bucket (the receiver's global limit, over every source).
* `SourceBuckets`: a bucket per source address, at most `max_sources` of them: the least
  recently heard source is forgotten first, so a flood from a million spoofed addresses
  costs a bounded table (and meets the global bucket).
* `LogLimiter`: at most a few lines per kind of message and interval; what it holds back
  becomes one summary line per kind when the interval is over ("... 21,873 more").

All take the time as an argument: no clock of their own, so tests drive them.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass


class TokenBucket:
    """`rate` tokens a second, at most `burst` saved; each datagram takes one."""

    __slots__ = ("_last", "_tokens", "burst", "rate")

    def __init__(self, rate: float, burst: float, now: float = 0.0) -> None:
        self.rate, self.burst = float(rate), float(burst)
        self._tokens = self.burst
        self._last = now

    def take(self, now: float) -> bool:
        elapsed = now - self._last
        if elapsed > 0:  # a clock that steps back refills nothing and takes nothing away
            self._tokens = min(self.burst, self._tokens + elapsed * self.rate)
            self._last = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


class SourceBuckets:
    """A token bucket per source, at most `max_sources` remembered."""

    def __init__(self, rate: float, burst: float, max_sources: int = 4096) -> None:
        self.rate, self.burst, self.max_sources = float(rate), float(burst), max_sources
        self._buckets: OrderedDict[str, list[float]] = OrderedDict()  # source -> [tokens, last]
        self.forgotten = 0  # sources evicted to keep the table bounded

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, source: str, now: float) -> bool:
        buckets = self._buckets
        bucket = buckets.get(source)
        if bucket is None:
            bucket = buckets[source] = [self.burst, now]
            if len(buckets) > self.max_sources:
                buckets.popitem(last=False)
                self.forgotten += 1
        else:
            buckets.move_to_end(source)
            elapsed = now - bucket[1]
            if elapsed > 0:
                bucket[0] = min(self.burst, bucket[0] + elapsed * self.rate)
                bucket[1] = now
        if bucket[0] >= 1.0:
            bucket[0] -= 1.0
            return True
        return False


@dataclass(slots=True)
class _Lines:
    start: float  # the interval's start
    level: int
    logged: int = 0
    held: int = 0  # lines held back in this interval
    last: str = ""  # the last line held back, for the summary


class LogLimiter:
    """Rate-limited logging: `per_interval` lines per key and interval, then a summary.

        limiter.log("unknown_source", logging.WARNING, "trap from %s: %s", host, why, now=t)
        limiter.flush(now)   # from a periodic tick: the summaries of intervals that ended
    """

    def __init__(self, logger: logging.Logger, interval: float = 10.0,
                 per_interval: int = 5) -> None:
        self.logger = logger
        self.interval = interval
        self.per_interval = per_interval
        self._keys: dict[str, _Lines] = {}

    def log(self, key: str, level: int, msg: str, *args: object, now: float,
            exc_info: bool = False) -> bool:
        """Log unless this key has used its lines for the interval; True if logged."""
        lines = self._keys.get(key)
        if lines is None or now - lines.start >= self.interval:
            if lines is not None:
                self._summary(key, lines)
            lines = self._keys[key] = _Lines(now, level)
        if lines.logged < self.per_interval:
            lines.logged += 1
            self.logger.log(level, msg, *args, exc_info=exc_info)
            return True
        lines.held += 1
        lines.last = msg % args if args else msg
        return False

    def flush(self, now: float) -> None:
        """Summarise every key whose interval has ended, and forget it."""
        for key in [k for k, lines in self._keys.items() if now - lines.start >= self.interval]:
            self._summary(key, self._keys.pop(key))

    def _summary(self, key: str, lines: _Lines) -> None:
        if lines.held:
            self.logger.log(lines.level, "traps: %d more %s message(s) in %gs not logged one "
                            "by one (the last: %s)", lines.held, key, self.interval, lines.last)
