"""/healthz (the process answers), /readyz (config loaded, first poll round done), /metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api.deps import ServiceDep
from exporters.prometheus import CONTENT_TYPE

router = APIRouter(tags=["health"])


class HealthOut(BaseModel):
    status: str


class ReadyOut(BaseModel):
    status: str  # ready | starting
    devices: int
    polled: int


@router.get("/metrics", include_in_schema=False)
def metrics(service: ServiceDep) -> Response:
    return Response(service.exporter.render(), media_type=CONTENT_TYPE)


@router.get("/healthz", response_model=HealthOut)
def healthz() -> dict[str, str]:
    return {"status": "ok"}


_STARTING: dict[int | str, dict[str, Any]] = {
    503: {"model": ReadyOut, "description": "not ready: the first poll round is not done"}
}


@router.get("/readyz", response_model=ReadyOut, responses=_STARTING)
def readyz(service: ServiceDep) -> JSONResponse:
    ready = service.ready() and service.store is not None
    body = ReadyOut(
        status="ready" if ready else "starting",
        devices=len(service.state.devices),
        polled=sum(d.last_poll_ts is not None for d in service.state.devices.values()),
    )
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)
