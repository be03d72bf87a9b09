"""GET /api/v1/ha: this instance's part in an active/standby pair (tierwatch/core/ha.py).

`role` is `leader` or `standby` for a pair member, `single` for an instance in no pair;
`holder`, `token`, `lease_expires` and `since` are the lease row as this member last read it
(the database's clock, epoch seconds): who leads, under which fencing token, until when
unless renewed, and since when.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import ContextDep, ReaderDep
from api.errors import ERRORS

router = APIRouter(prefix="/api/v1/ha", tags=["ha"], responses=ERRORS)


class HaOut(BaseModel):
    enabled: bool
    role: str  # leader | standby | single
    instance: str | None = None  # this member (ha.instance)
    lease_name: str | None = None  # main | tier | shard-k-of-n
    holder: str | None = None  # who holds the lease now (None: it has lapsed)
    token: int | None = None
    lease_expires: float | None = None
    since: float | None = None  # when the holder's term began
    role_since: float | None = None  # when this member took its current role
    failovers: int = 0
    fenced_writes: int = 0


@router.get("", response_model=HaOut)
def get_ha(_who: ReaderDep, context: ContextDep) -> dict[str, Any]:
    if context.ha is None:
        return {"enabled": False, "role": "single"}
    return context.ha.status()
