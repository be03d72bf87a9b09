"""GET /api/v1/availability: downtime, availability, budget and exposure of one scope.

    /api/v1/availability?scope=load:R01&start=1767225600&end=1767312000
    /api/v1/availability?scope=power&start=2026-12-01T00:00:00%2B07:00

`scope` is site, a subsystem (power, cooling, network) or load:ID; `start` and `end` are
epoch seconds or ISO 8601 times (end defaults to now, start to 30 days before end);
`target` defaults to the configured one (Tier III: 0.99982).
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Query

from api.deps import ServiceDep, StoreDep
from tierwatch.availability import availability_report

router = APIRouter(prefix="/api/v1/availability", tags=["availability"])

THIRTY_DAYS = 30 * 86400.0


def parse_time(value: str, name: str) -> float:
    try:
        return float(value)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise HTTPException(
            422, f"{name}: {value!r} is neither epoch seconds nor an ISO 8601 time"
        ) from None
    if moment.tzinfo is None:
        raise HTTPException(422, f"{name}: {value!r} needs a UTC offset (e.g. +07:00)")
    return moment.timestamp()


@router.get("")
def get_availability(
    service: ServiceDep,
    store: StoreDep,
    scope: str = Query("site", description="site, power, load:R01 ..."),
    start: str | None = None,
    end: str | None = None,
    target: float | None = Query(None, gt=0, lt=1),
) -> dict[str, Any]:
    now = time.time()
    stop = parse_time(end, "end") if end else now
    begin = parse_time(start, "start") if start else stop - THIRTY_DAYS
    try:
        result = availability_report(
            store, scope, (begin, stop), now=now, target=target or service.config.tier.target
        )
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    return result.to_json()
