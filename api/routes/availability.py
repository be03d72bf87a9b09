"""GET /api/v1/availability: downtime, availability, budget and exposure of one scope.

    /api/v1/availability?scope=load:R01&start=1767225600&end=1767312000
    /api/v1/availability?scope=power&start=2026-12-01T00:00:00%2B07:00
    /api/v1/availability?scope=site&month=2026-10

`scope` is site, a subsystem (power, cooling, network) or load:ID; the period is a month
(YYYY-MM, site time) or `start` and `end` (epoch seconds or ISO 8601 with an offset; end
defaults to now, start to 30 days before end); `target` defaults to the configured one
(Tier III: 0.99982). The figures are livetier/downtime.py's `availability_report`.

`coverage` is the monitored share of the observed period; `verdict` is "met" or "missed"
against the target, or "not_enough_data" while less than `tier.min_coverage` (95 %) of
the period was monitored: 100 % over 12 s of five days is not a month met.
"""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel

from api.deps import ConfigDep, ReaderDep, StoreDep
from api.errors import ERRORS
from api.params import MONTH_REGEX, TIME_HELP, TIME_REGEX, period
from livetier.downtime import availability_report
from tier.availability import coverage, verdict

router = APIRouter(prefix="/api/v1/availability", tags=["availability"], responses=ERRORS)


class EventOut(BaseModel):
    load: str
    subsystem: str | None
    start: float
    end: float | None
    cause: str
    planned: bool
    maintenance_id: int | None


class AvailabilityOut(BaseModel):
    scope: str
    period: list[float]
    observed_s: float
    monitored_s: float
    unmonitored_s: float
    unmonitored_share: float
    downtime_s: float
    availability: float | None  # None: nothing in the period was monitored
    availability_worst: float | None
    target: float
    budget_s: float
    burn: float
    budget_remaining_s: float
    met: bool | None
    coverage: float  # monitored share of the observed period, monitored_s / observed_s
    verdict: Literal["met", "missed", "not_enough_data"]
    exposure_s: dict[str, float]
    exposure_total_s: float
    outages: list[list[float]]
    planned_downtime_s: float
    events: list[EventOut]


@router.get("", response_model=AvailabilityOut)
def get_availability(
    _who: ReaderDep,
    config: ConfigDep,
    store: StoreDep,
    scope: Annotated[str, Query(max_length=300, description="site, power, load:R01 ...")] = "site",
    month: Annotated[str | None, Query(pattern=MONTH_REGEX, description="YYYY-MM")] = None,
    start: Annotated[str | None, Query(pattern=TIME_REGEX, description=TIME_HELP)] = None,
    end: Annotated[str | None, Query(pattern=TIME_REGEX, description=TIME_HELP)] = None,
    target: Annotated[float | None, Query(gt=0, lt=1)] = None,
) -> dict[str, Any]:
    begin, stop = period(start, end, month, config.site.timezone)
    try:
        result = availability_report(
            store, scope, (begin, stop), now=time.time(), target=target or config.tier.target
        )
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    return {
        **result.to_json(),
        "coverage": coverage(result.report),
        "verdict": verdict(result.report, config.tier.min_coverage),
    }
