"""Query parameters the routes share: times (epoch seconds or ISO 8601 with an offset),
months (YYYY-MM in the site's time zone) and the period they make."""

from __future__ import annotations

import math
import time
from datetime import datetime

from fastapi import HTTPException

from report.data import month_period

MONTH_REGEX = r"^(19[7-9]\d|2\d{3})-(0[1-9]|1[0-2])$"  # report.data.MONTH_PATTERN
# epoch seconds, or an ISO 8601 time with its UTC offset
TIME_REGEX = (r"^(-?\d{1,11}(\.\d{1,9})?|\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?"
              r"(Z|[+-]\d{2}:\d{2}))$")
TIME_HELP = "epoch seconds or ISO 8601 with an offset (2026-10-01T00:00:00+07:00)"
THIRTY_DAYS = 30 * 86400.0


def parse_time(value: str, name: str) -> float:
    try:
        number = float(value)
    except ValueError:
        pass
    else:
        if not math.isfinite(number) or abs(number) > 1e11:
            raise HTTPException(422, f"{name}: {value!r} is not a time")
        return number
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise HTTPException(422, f"{name}: {value!r} is neither epoch seconds nor an ISO 8601 "
                                 "time") from None
    if moment.tzinfo is None:
        raise HTTPException(422, f"{name}: {value!r} needs a UTC offset (e.g. +07:00)")
    return moment.timestamp()


def period(start: str | None, end: str | None, month: str | None, timezone: str,
           default: float = THIRTY_DAYS) -> tuple[float, float]:
    """[start, end) from a month, or from start and end (end: now; start: `default` before
    end). A month and start/end together are refused."""
    if month is not None:
        if start is not None or end is not None:
            raise HTTPException(422, "give either month or start/end, not both")
        try:
            return month_period(month, timezone)
        except ValueError as exc:
            raise HTTPException(422, f"month: {exc}") from None
    stop = parse_time(end, "end") if end else time.time()
    begin = parse_time(start, "start") if start else stop - default
    if not stop > begin:
        raise HTTPException(422, "end must be after start")
    return begin, stop
