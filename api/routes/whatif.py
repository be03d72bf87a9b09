"""POST /api/v1/whatif: could these nodes be taken out of service now, on the live state?

{"remove": ["UPS-A"]} -> {"ok": false, "verdict": "not now: UPS-B is on bypass; ...",
                          "lost": [...], "blocking": [...], "site": ..., "subsystems": ...}
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from api.deps import LiveTierDep, ReaderDep
from api.errors import ERRORS, WRITE_ERRORS
from api.routes.tier import NOT_SCORED

# a question, not a change: anyone who may read may ask it
router = APIRouter(prefix="/api/v1/whatif", tags=["tier"], responses=ERRORS)


class WhatIfRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    remove: list[Annotated[str, Field(min_length=1, max_length=255)]] = Field(
        min_length=1, max_length=10_000, description="node ids to take out of service"
    )


class WhatIfResponse(BaseModel):
    as_of: float
    topology_fingerprint: str
    statuses: dict[str, str]
    removed: list[str]
    ok: bool
    verdict: str
    lost: list[dict[str, str]]
    blocking: list[dict[str, str]]
    site: dict[str, Any]
    subsystems: dict[str, Any]


@router.post("", response_model=WhatIfResponse, responses={**WRITE_ERRORS, **NOT_SCORED})
async def post_whatif(_who: ReaderDep, body: WhatIfRequest, live: LiveTierDep) -> dict[str, Any]:
    try:
        answer, snap = await live.whatif(body.remove)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    return {
        **answer.to_json(),
        "as_of": snap.ts,
        "topology_fingerprint": live.fingerprint,
        "statuses": {n: s.value for n, s in sorted(snap.statuses.items())},
    }
