"""Maintenance windows: list (anyone who may read), book and remove (operator).

    POST /api/v1/maintenance
    {"title": "Thay ắc quy UPS-B", "start": "2026-12-01T22:00:00+07:00",
     "end": "2026-12-02T02:00:00+07:00", "scope": {"devices": ["ups-b"]}}

Times are ISO 8601 (without an offset: site time) or epoch seconds. A window removed is
kept in the store as deleted, for the monthly report.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from api import alerting
from api.deps import ConfigDep, ContextDep, OperatorDep, ReaderDep, StoreDep
from api.errors import ERRORS, WRITE_ERRORS, ErrorDetail, error
from api.pagination import Page, PageParams, page_params
from api.tokens import allows
from tierwatch.config import Config

router = APIRouter(prefix="/api/v1/maintenance", tags=["maintenance"], responses=ERRORS)

Name = Annotated[str, Field(min_length=1, max_length=255)]
# ISO 8601 (site time when it has no offset) or epoch seconds
Moment = (
    Annotated[
        str,
        Field(
            pattern=r"^(-?\d{1,11}(\.\d{1,9})?|\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}"
            r"(:\d{2}(\.\d{1,6})?)?)?(Z|[+-]\d{2}:\d{2})?)$"
        ),
    ]
    | float
)


class ScopeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    devices: list[Name] = Field(default_factory=list, max_length=1000)
    components: list[Name] = Field(
        default_factory=list, max_length=1000, description="topology nodes or DEVICE/COMPONENT"
    )
    subsystems: list[Literal["power", "cooling", "network"]] = Field(default_factory=list)


class WindowIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=500)
    start: Moment = Field(description="ISO 8601 (site time without an offset) or epoch s")
    end: Moment
    scope: ScopeIn
    recurrence: Literal["none", "daily", "weekly", "monthly"] = "none"
    until: Moment | None = Field(default=None, description="last start of a recurring window")
    comment: str = Field(default="", max_length=2000)
    force: bool = Field(default=False, description=(
        "book a window that would drop loads on the live state (admin only)"))


class WindowOut(BaseModel):
    id: int
    title: str
    start: float
    end: float
    start_local: str
    end_local: str
    recurrence: str
    until: float | None
    scope: dict[str, list[str]]
    created_by: str
    created: float
    comment: str
    active: bool
    deleted: float | None
    next_start: float | None
    warnings: list[str] = Field(default_factory=list)  # e.g. "the window is already over"
    # the live what-if on the scope when it was booked (None: no live tier here)
    check: dict[str, Any] | None = None


def _time(value: str | float, name: str, timezone: str) -> float:
    if isinstance(value, int | float):
        if not -1e11 < value < 1e11:
            raise HTTPException(422, f"{name}: {value!r} is not a time")
        return float(value)
    text = value.strip()
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        return _time(number, name, timezone)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise HTTPException(
            422, f"{name}: {value!r} is not a time (ISO 8601, e.g. 2026-12-01T22:00:00+07:00)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(timezone))
    return moment.timestamp()


def window_out(view: alerting.WindowView, config: Config, now: float) -> WindowOut:
    tz = config.site.timezone
    w = view.window
    nxt = view.next_occurrence(now, tz)
    return WindowOut(
        id=w.id,
        title=w.title,
        start=w.start,
        end=w.end,
        start_local=alerting.local_iso(w.start, tz) or "",
        end_local=alerting.local_iso(w.end, tz) or "",
        recurrence=w.recurrence,
        until=w.until,
        scope=w.scope.to_json(),
        created_by=w.created_by,
        created=view.created,
        comment=w.comment,
        active=view.active_at(now, tz),
        deleted=view.deleted,
        next_start=nxt[0] if nxt else None,
        warnings=list(view.warnings),
    )


@router.get("", response_model=Page[WindowOut])
def list_windows(
    _who: ReaderDep,
    store: StoreDep,
    config: ConfigDep,
    page: Annotated[PageParams, Depends(page_params)],
    deleted: Annotated[bool, Query(description="include removed windows")] = False,
) -> Page[WindowOut]:
    now = time.time()
    found = alerting.windows(store, include_deleted=deleted)
    found.sort(key=lambda v: (v.window.start, v.window.id), reverse=True)
    return page.cut([window_out(w, config, now) for w in found])


@router.post("", response_model=WindowOut, status_code=201,
             responses={**WRITE_ERRORS, 409: {"description": (
                 "the window would drop loads on the live state (the loads are named); an "
                 "admin may book it with force")}})
async def book_window(
    who: OperatorDep, body: WindowIn, context: ContextDep, store: StoreDep, config: ConfigDep
) -> WindowOut:
    """Book a window. Its scope is checked against redundancy on the live state first: one
    that would drop a load is refused (409, naming the loads) unless an admin forces it;
    one that would lower the live tier is booked with a warning."""
    tz = config.site.timezone
    if body.force and not allows(who.role, "admin"):
        raise HTTPException(403, f"force needs the admin role; the token has {who.role}")
    try:
        check = await alerting.redundancy_check(context, body.scope.model_dump())
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    try:
        window = alerting.book(
            context,
            store,
            title=body.title,
            start=_time(body.start, "start", tz),
            end=_time(body.end, "end", tz),
            scope=body.scope.model_dump(),
            by=who.name,
            recurrence=body.recurrence,
            until=None if body.until is None else _time(body.until, "until", tz),
            comment=body.comment,
            check=check,
            force=body.force,
        )
    except alerting.WouldDropLoads as exc:  # each load named, for a person and a script
        return error(409, f"{exc}; an admin may book it with force", errors=[  # type: ignore[return-value]
            ErrorDetail(location=f"loads.{load}", message="would be dropped")
            for load in exc.check.dropped])
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    out = window_out(window, config, time.time())
    return out.model_copy(update={"check": None if check is None else check.to_json()})


@router.delete("/{window_id}", status_code=204, responses=WRITE_ERRORS)
def remove_window(
    _who: OperatorDep,
    window_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    context: ContextDep,
    store: StoreDep,
) -> Response:
    try:
        alerting.remove(context, store, window_id)
    except alerting.NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    return Response(status_code=204)
