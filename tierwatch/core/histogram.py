"""A cumulative histogram of non-negative durations, as Prometheus wants it: each room's
lag histograms (link probes, service checks) count here with their own bounds."""

from __future__ import annotations

import bisect
from collections.abc import Sequence


class LagCounts:
    """Durations counted per bucket (`bounds`, ascending), their sum and their number;
    a negative duration (a clock read early) counts as 0."""

    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = tuple(bounds)
        self.counts = [0] * (len(self.bounds) + 1)
        self.total = 0.0
        self.count = 0

    def observe(self, lag: float) -> float:
        """Count `lag`; the value counted (never below 0)."""
        lag = max(0.0, lag)
        self.counts[bisect.bisect_left(self.bounds, lag)] += 1
        self.total += lag
        self.count += 1
        return lag

    def buckets(self) -> list[tuple[str, float]]:
        """(le, cumulative count) per bound, then +Inf."""
        out, running = [], 0
        for bound, count in zip(self.bounds, self.counts, strict=False):
            running += count
            out.append((repr(bound), float(running)))
        out.append(("+Inf", float(self.count)))
        return out
