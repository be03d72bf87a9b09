"""GET /api/v1/outages: load and device outages overlapping a period, by scope.

    /api/v1/outages?scope=power&month=2026-10
    /api/v1/outages?scope=load:R01&start=2026-10-01T00:00:00%2B07:00
    /api/v1/outages?scope=device:ups-b&open=true

`scope`: site (every load outage), a subsystem (power, cooling, network), load:ID, or
device:ID (a device that stopped answering). Newest first.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel

from api.deps import ConfigDep, ReaderDep, StoreDep
from api.errors import ERRORS
from api.pagination import Page, PageParams, page_params
from api.params import MONTH_REGEX, TIME_HELP, TIME_REGEX, period
from tier.topology import SUBSYSTEMS
from tierwatch.core.store import Outage

router = APIRouter(prefix="/api/v1/outages", tags=["availability"], responses=ERRORS)


class OutageOut(BaseModel):
    id: int
    kind: str  # load | device
    subject: str
    subsystem: str | None
    start: float
    end: float | None
    duration: float | None  # None while open
    cause: str
    planned: bool
    affected: list[str]
    maintenance_id: int | None


def _scope(scope: str) -> dict[str, str]:
    if scope == "site":
        return {"kind": "load"}
    name = scope.removeprefix("subsystem:")
    if name in SUBSYSTEMS:
        return {"kind": "load", "subsystem": name}
    kind, sep, subject = scope.partition(":")
    if sep and kind in ("load", "device") and subject:
        return {"kind": kind, "subject": subject}
    raise HTTPException(
        422, f"scope {scope!r}: use site, {', '.join(SUBSYSTEMS)}, load:ID or device:ID"
    )


def outage_out(o: Outage) -> OutageOut:
    return OutageOut(
        id=o.id,
        kind=o.kind,
        subject=o.subject,
        subsystem=o.subsystem,
        start=o.start,
        end=o.end,
        duration=None if o.end is None else o.end - o.start,
        cause=o.cause,
        planned=o.planned,
        affected=list(o.affected),
        maintenance_id=o.maintenance_id,
    )


@router.get("", response_model=Page[OutageOut])
def list_outages(
    _who: ReaderDep,
    store: StoreDep,
    config: ConfigDep,
    page: Annotated[PageParams, Depends(page_params)],
    scope: Annotated[str, Query(max_length=300)] = "site",
    month: Annotated[str | None, Query(pattern=MONTH_REGEX, description="YYYY-MM")] = None,
    start: Annotated[str | None, Query(pattern=TIME_REGEX, description=TIME_HELP)] = None,
    end: Annotated[str | None, Query(pattern=TIME_REGEX, description=TIME_HELP)] = None,
    open_only: Annotated[bool, Query(alias="open")] = False,
) -> Page[OutageOut]:
    where = _scope(scope)
    begin, stop = period(start, end, month, config.site.timezone)
    found = store.outages(since=begin, until=stop, **where)
    if open_only:
        found = [o for o in found if o.end is None]
    found.sort(key=lambda o: (o.start, o.id), reverse=True)
    return page.cut([outage_out(o) for o in found])
