"""POST /api/v1/discover (admin): sweep address ranges from the running service with its
configured credentials; the answer says what answered where, the profiles `profile: auto`
would choose and why, and which devices are configured already. One sweep at a time, and
only inside `snmp.discovery.allow` (nothing by default: an admin token is no scanner).

    POST /api/v1/discover
    {"targets": ["10.10.0.0/24"], "credentials": ["campus-v2", "ops-v3"]}
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from api.deps import AdminDep, ContextDep
from api.errors import ERRORS, WRITE_ERRORS, ErrorOut
from collector.discovery.component import DiscoveryBusy, TargetError

router = APIRouter(prefix="/api/v1/discover", tags=["discover"], responses=ERRORS)

Target = Annotated[str, Field(min_length=1, max_length=100)]


class DiscoverIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    targets: list[Target] = Field(min_length=1, max_length=64,
                                  description="addresses, prefixes, ranges (a.b.c.d-e)")
    port: int = Field(default=161, ge=1, le=65535)
    credentials: list[Annotated[str, Field(max_length=100)]] | None = Field(
        default=None, max_length=32, description="configured credentials, in the order "
                                                 "to try (default: all, as configured)")
    timeout: float = Field(default=1.0, gt=0, le=10)
    retries: int = Field(default=1, ge=0, le=3)


@router.post("", responses={**WRITE_ERRORS, 409: {"model": ErrorOut, "description":
                                                   "a sweep is running already"}})
async def discover(body: DiscoverIn, context: ContextDep, principal: AdminDep
                   ) -> dict[str, Any]:
    discovery = context.discovery
    if discovery is None:
        raise HTTPException(404, "this instance does not poll (a tier instance): sweep from "
                                 "a polling one")
    try:
        report = await discovery.sweep(body.targets, port=body.port,
                                       credentials=body.credentials, timeout=body.timeout,
                                       retries=body.retries)
    except DiscoveryBusy as exc:
        raise HTTPException(409, str(exc)) from None
    except (TargetError, ValueError) as exc:
        raise HTTPException(400, str(exc)) from None
    out = report.to_json()
    out["by"] = principal.name
    return out
