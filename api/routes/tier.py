"""GET /api/v1/tier: the live Tier snapshot, and the statuses and demands it scored.

The `tierwatch score` and `tierwatch whatif` commands read this to work on the live state;
`topology_fingerprint` lets them check that the monitor runs the topology they loaded.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import LiveTierDep, ReaderDep
from api.errors import ERRORS, ErrorOut

router = APIRouter(prefix="/api/v1/tier", tags=["tier"], responses=ERRORS)
NOT_SCORED: dict[int | str, dict[str, Any]] = {
    503: {"model": ErrorOut, "description": "the live tier has not scored the topology yet"}
}


class TierResponse(BaseModel):
    as_of: float  # epoch seconds of the state scored (the latest status change in it)
    computed_at: float
    seq: int
    settled: bool  # every bound device has answered or been declared unreachable
    pending: list[str]  # nodes whose device has not answered yet (taken as available)
    topology_fingerprint: str
    statuses: dict[str, str]  # bound node -> status (nodes left out are available)
    readings: dict[str, dict[str, Any]]  # bound node -> status, reason, conditions
    demands: dict[str, float]  # measured demands (declared ones are in the topology)
    score_seconds: float
    snapshot: dict[str, Any]  # as `tierwatch score --json` prints it


@router.get("", response_model=TierResponse, responses=NOT_SCORED)
def get_tier(_who: ReaderDep, live: LiveTierDep) -> dict[str, Any]:
    snap = live.snapshot
    assert snap is not None  # get_live answers 503 before the first score
    return {**snap.to_json(), "topology_fingerprint": live.fingerprint}
