"""/healthz (the process answers), /readyz (config loaded, first poll round done), /metrics."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.types import Receive, Scope, Send

from api.deps import ContextDep
from exporters.prometheus import CONTENT_TYPE

router = APIRouter(tags=["health"])


class HealthOut(BaseModel):
    status: str


class ReadyOut(BaseModel):
    status: str  # ready | starting
    devices: int
    polled: int


class PartsResponse(Response):
    """A body of several bytes objects sent one after another, never joined: /metrics is
    the state's tens of megabytes, then the registry's few kilobytes.

    Sent a mebibyte at a time, so the server's flow control holds back the next piece until
    the client has taken the last: the HTTP layer never holds a second copy of the whole.
    """

    chunk = 1 << 20

    def __init__(self, parts: Sequence[bytes], media_type: str) -> None:
        self.parts = list(parts)
        super().__init__(media_type=media_type,
                         headers={"content-length": str(sum(map(len, self.parts)))})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code,
                    "headers": self.raw_headers})
        chunk, last = self.chunk, len(self.parts) - 1
        for n, part in enumerate(self.parts):
            for at in range(0, max(len(part), 1), chunk):  # one piece copied at a time
                piece = part[at:at + chunk] if len(part) > chunk else part
                more = n < last or at + chunk < len(part)
                await send({"type": "http.response.body", "body": piece, "more_body": more})


@router.get("/metrics", include_in_schema=False)
def metrics(context: ContextDep) -> Response:
    return PartsResponse(context.exporter.render_parts(), media_type=CONTENT_TYPE)


@router.get("/healthz", response_model=HealthOut)
def healthz() -> dict[str, str]:
    return {"status": "ok"}


_STARTING: dict[int | str, dict[str, Any]] = {
    503: {"model": ReadyOut, "description": "not ready: the first poll round is not done"}
}


@router.get("/readyz", response_model=ReadyOut, responses=_STARTING)
def readyz(context: ContextDep) -> JSONResponse:
    ready = context.ready() and context.store() is not None
    body = ReadyOut(
        status="ready" if ready else "starting",
        devices=len(context.state.devices),
        polled=sum(d.last_poll_ts is not None for d in context.state.devices.values()),
    )
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)
