"""Alerts: list (anyone who may read), acknowledge (operator).

POST /api/v1/alerts/17/ack  {"comment": "đang xử lý, thay ắc quy lúc 22:00"}
"""

from __future__ import annotations

import time
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from api import alerting
from api.deps import ConfigDep, OperatorDep, ReaderDep, StoreDep
from api.errors import ERRORS, WRITE_ERRORS
from api.pagination import Page, PageParams, page_params

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"], responses=ERRORS)


class AlertOut(BaseModel):
    id: int
    name: str
    severity: str
    state: str
    labels: dict[str, str]
    summary: str
    since: float
    acked_by: str | None
    acked: float | None


class AckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: str = Field(default="", max_length=2000)


def alert_out(a: alerting.AlertView) -> AlertOut:
    return AlertOut(
        id=a.id,
        name=a.name,
        severity=a.severity,
        state=a.state,
        labels=dict(a.labels),
        summary=a.summary,
        since=a.since,
        acked_by=a.acked_by,
        acked=a.acked,
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


@router.post("/{ref}/ack", response_model=AlertOut, responses=WRITE_ERRORS)
def ack_alert(
    who: OperatorDep,
    ref: Annotated[str, Path(min_length=1, max_length=64)],
    body: AckIn,
    store: StoreDep,
    config: ConfigDep,
) -> AlertOut:
    try:
        found = alerting.acknowledge(store, config, ref, who.name, body.comment, time.time())
    except alerting.NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    return alert_out(found)
