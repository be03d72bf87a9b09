"""What the range functions read in the built-in engine: a bounded memory of live series.

Prometheus keeps every sample in its TSDB; tierwatch keeps, in memory, only the series a
rule reads through a range function (rate, increase, delta, *_over_time), and only as far
back as the longest window a rule reads each metric over. A series is a small set of
parallel arrays, so its memory is bounded too: at most `max_points` buckets per window.

A bucket holds one sample, unless samples come faster than window / max_points apart:
then the samples of that stretch share a bucket, which keeps their last time and value,
their count, lowest, highest and sum (so min/max/avg/sum/count_over_time stay exact) and
the counter resets among them (so rate and increase add them back as Prometheus does).
What a bucket cannot tell is where inside it a window begins: the window's first bucket
counts whole, an error of at most window / max_points at the start of the window. With a
poll every 30 s and max_points 720, a window of up to 6 hours holds every sample.

A sample's time is the poll's (`Sample.ts`), so a device's samples are recorded once per
poll however often the rules are evaluated; tierwatch's own series, which carry no time,
are recorded at each evaluation. A series nobody updates ages out with its window.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from alerts.promql import Span
from tierwatch.core.model import Sample

View = Mapping[str, Sequence[Sample]]
DEFAULT_MAX_POINTS = 720

_Key = frozenset[tuple[str, str]]


class _Series:
    """One series' buckets, oldest first, in parallel arrays of floats."""

    __slots__ = ("carries", "counts", "highs", "labels", "lows", "starts", "sums", "times",
                 "values")

    def __init__(self, labels: Mapping[str, str]) -> None:
        self.labels = dict(labels)
        self.starts = array("d")  # each bucket's first sample time
        self.times = array("d")  # ... its last sample time
        self.values = array("d")  # ... its last value
        self.counts = array("d")
        self.lows = array("d")
        self.highs = array("d")
        self.sums = array("d")
        self.carries = array("d")

    def add(self, t: float, v: float, width: float) -> None:
        if self.times and t <= self.times[-1]:
            return  # the same poll seen again (or a clock that went back)
        carry = 0.0
        if self.values and v < self.values[-1]:
            carry = self.values[-1]  # a counter reset: rate adds back the value before it
        if not self.times or t - self.starts[-1] >= width:
            for arr, x in ((self.starts, t), (self.times, t), (self.values, v),
                           (self.counts, 1.0), (self.lows, v), (self.highs, v),
                           (self.sums, v), (self.carries, carry)):
                arr.append(x)
            return
        self.times[-1], self.values[-1] = t, v
        self.counts[-1] += 1
        if v < self.lows[-1] or math.isnan(self.lows[-1]):
            self.lows[-1] = v
        if v > self.highs[-1] or math.isnan(self.highs[-1]):
            self.highs[-1] = v
        self.sums[-1] += v
        self.carries[-1] += carry

    def trim(self, oldest: float) -> None:
        """Forget buckets whose last sample is older than `oldest`."""
        drop = 0
        while drop < len(self.times) and self.times[drop] < oldest:
            drop += 1
        if drop:
            for arr in (self.starts, self.times, self.values, self.counts, self.lows,
                        self.highs, self.sums, self.carries):
                del arr[:drop]

    def span(self, start: float, end: float) -> Span | None:
        lo = 0
        n = len(self.times)
        while lo < n and self.times[lo] < start:
            lo += 1
        hi = n
        while hi > lo and self.times[hi - 1] > end:
            hi -= 1
        if hi <= lo:
            return None
        return Span(self.times[lo:hi], self.values[lo:hi], self.counts[lo:hi],
                    self.lows[lo:hi], self.highs[lo:hi], self.sums[lo:hi],
                    self.carries[lo:hi])


class SeriesHistory:
    """The recent samples of the metrics in `windows` (name -> longest window, seconds)."""

    def __init__(self, windows: Mapping[str, float],
                 max_points: int = DEFAULT_MAX_POINTS) -> None:
        if max_points < 2:
            raise ValueError("max_points must be at least 2")
        self.windows = dict(windows)
        self.max_points = max_points
        self._series: dict[str, dict[_Key, _Series]] = {name: {} for name in self.windows}

    def record(self, view: View, now: float) -> None:
        for name, window in self.windows.items():
            known = self._series[name]
            width = window / self.max_points
            for s in view.get(name, ()):
                key = frozenset(s.labels.items())
                series = known.get(key)
                if series is None:
                    series = known[key] = _Series(s.labels)
                series.add(s.ts if s.ts > 0 else now, s.value, width)
            gone = []
            for key, series in known.items():
                series.trim(now - window)
                if not series.times:
                    gone.append(key)
            for key in gone:
                del known[key]

    def series_count(self) -> int:
        return sum(len(known) for known in self._series.values())

    def point_count(self) -> int:
        return sum(len(s.times) for known in self._series.values() for s in known.values())

    def windows_of(self, name: str, seconds: float, now: float,
                   keep: Callable[[Mapping[str, str]], bool]
                   ) -> Iterator[tuple[Mapping[str, str], Span]]:
        for series in self._series.get(name, {}).values():
            if not keep(series.labels):
                continue
            span = series.span(now - seconds, now)
            if span is not None:
                yield series.labels, span

    def source(self, view: View, now: float) -> LiveSource:
        """Record the view, then read it (and the history) as of `now`."""
        self.record(view, now)
        return LiveSource(view, now, self)


@dataclass(frozen=True)
class LiveSource:
    """The series one evaluation reads: the live view, and for range functions the
    history (none: range functions see no samples)."""

    view: View
    now: float
    history: SeriesHistory | None = None

    def instant(self, name: str) -> Sequence[Sample]:
        return self.view.get(name, ())

    def window(self, name: str, seconds: float, keep: Callable[[Mapping[str, str]], bool]
               ) -> Iterable[tuple[Mapping[str, str], Span]]:
        if self.history is None:
            return ()
        return self.history.windows_of(name, seconds, self.now, keep)
