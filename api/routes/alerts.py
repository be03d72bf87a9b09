"""Alerts: list (anyone who may read), acknowledge (operator).

    POST /api/v1/alerts/17/ack  {"comment": "đang xử lý, thay ắc quy lúc 22:00"}

`{ref}` is an alert's id or its whole fingerprint (matched exactly, never as a pattern).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from api import alerting
from api.deps import ContextDep, OperatorDep, ReaderDep, StoreDep
from api.errors import ERRORS, WRITE_ERRORS, ErrorOut
from api.pagination import Page, PageParams, page_params
from api.routes.devices import json_number
from tierwatch.core.store import AlertRecord

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"], responses=ERRORS)


class AckOut(BaseModel):
    ts: float
    by: str | None
    comment: str | None
    until: float | None  # the acknowledgement lapses then (re-notifies if still firing)


class AlertOut(BaseModel):
    id: int
    fingerprint: str
    name: str
    severity: str
    state: str  # pending | firing | resolved
    labels: dict[str, str]
    annotations: dict[str, str]
    summary: str
    value: float | None
    since: float  # when the condition first held
    fired: float | None
    resolved: float | None
    muted: str | None  # maintenance:<id> | inhibited: notifications held, and why
    ack: AckOut | None


class AckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: str = Field(default="", max_length=2000)


def alert_out(a: AlertRecord) -> AlertOut:
    return AlertOut(
        id=a.id,
        fingerprint=a.fingerprint,
        name=a.alertname,
        severity=a.severity,
        state=a.state,
        labels=dict(a.labels),
        annotations=dict(a.annotations),
        summary=a.annotations.get("summary", ""),
        value=json_number(a.value),
        since=a.active_since,
        fired=a.fired,
        resolved=a.resolved,
        muted=a.muted,
        ack=None if a.acked is None else AckOut(ts=a.acked, by=a.acked_by,
                                                comment=a.ack_comment, until=a.ack_until),
    )


@router.get("", response_model=Page[AlertOut])
def list_alerts(
    _who: ReaderDep,
    store: StoreDep,
    page: Annotated[PageParams, Depends(page_params)],
    state: Annotated[Literal["active", "all"], Query()] = "active",
) -> Page[AlertOut]:
    found = alerting.list_alerts(store, include_resolved=state == "all")
    return page.cut([alert_out(a) for a in found])


_CONFLICT: dict[int | str, dict[str, Any]] = {
    **WRITE_ERRORS, 409: {"model": ErrorOut, "description": "the alert is already resolved"}}


@router.post("/{ref}/ack", response_model=AlertOut, responses=_CONFLICT)
def ack_alert(
    who: OperatorDep,
    ref: Annotated[str, Path(min_length=1, max_length=64)],
    body: AckIn,
    context: ContextDep,
    store: StoreDep,
) -> AlertOut:
    try:
        found = alerting.acknowledge(context, store, ref, who.name, body.comment)
    except alerting.NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except ValueError as exc:  # resolved: there is nothing left to acknowledge
        raise HTTPException(409, str(exc)) from None
    return alert_out(found)
