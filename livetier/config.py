"""The `tier:` section of tierwatch.yaml: how the live Tier engine runs (livetier/engine.py).

    tier:
      debounce: 200ms     # a burst of status changes gives one re-score, this long after
                          # the first change of the burst
      refresh: 30s        # re-score anyway this often when measured demands have moved
      target: 0.99982     # the availability target (Tier III); budget = (1 - target) x period
      min_coverage: 0.95  # availability is called met or missed only when at least this
                          # share of the period was monitored (else "not enough data")
      windows: [5m, 30m, 1h, 6h, 1d, 3d, 30d, month]   # tierwatch_availability_ratio{window}
      availability_cache: 15s   # /metrics recomputes availability at most this often
      load_metrics_max: 200   # availability series per load too, when there are at most
                              # this many loads (0: site and subsystems only)

The topology itself is the `topology:` section (tier/topology.py).
"""

from __future__ import annotations

from pydantic import Field, field_validator

from tier.availability import MIN_COVERAGE
from tierwatch.core.configtypes import Duration, Interval, Strict, parse_duration

MONTH = "month"  # the calendar month so far, in the site's time zone
DEFAULT_WINDOWS = ("5m", "30m", "1h", "6h", "1d", "3d", "30d", MONTH)


class TierLiveConfig(Strict):
    debounce: Duration = 0.2
    refresh: Interval = 30.0
    target: float = Field(default=0.99982, gt=0.0, lt=1.0)
    min_coverage: float = Field(default=MIN_COVERAGE, ge=0.0, le=1.0)
    windows: tuple[str, ...] = DEFAULT_WINDOWS
    availability_cache: Duration = 15.0
    # per-load availability series (8 windows x 2 metrics each) cost a scrape little for a
    # few hundred loads and a lot for a 1,500-rack hall; the API has every load anyway
    load_metrics_max: int = Field(default=200, ge=0)

    @field_validator("windows")
    @classmethod
    def _windows(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        seen: set[str] = set()
        for window in value:
            if window in seen:
                raise ValueError(f"window {window!r} listed twice")
            seen.add(window)
            if window != MONTH and parse_duration(window) <= 0:
                raise ValueError(f"window {window!r} must be longer than 0")
        return value

    def window_seconds(self) -> dict[str, float | None]:
        """window label -> length in seconds (None for the calendar month)."""
        return {w: None if w == MONTH else parse_duration(w) for w in self.windows}
