"""GET /api/v1/components: the status of every component of every device (a UPS output,
a PDU phase, a switch port, a sensor ...), filtered by device and status."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from api.deps import ReaderDep, StateDep
from api.errors import ERRORS
from api.pagination import Page, PageParams, page_params
from api.routes.devices import ComponentOut

router = APIRouter(prefix="/api/v1/components", tags=["devices"], responses=ERRORS)


@router.get("", response_model=Page[ComponentOut])
def list_components(
    _who: ReaderDep,
    state: StateDep,
    page: Annotated[PageParams, Depends(page_params)],
    device: Annotated[str | None, Query(max_length=128)] = None,
    status: Annotated[Literal["ok", "degraded", "failed", "unknown"] | None, Query()] = None,
) -> Page[ComponentOut]:
    found = [
        ComponentOut.of(dev.id, c)
        for dev in state.devices.values()
        if device is None or dev.id == device
        for c in dev.components.values()
        if status is None or str(c.status) == status
    ]
    return page.cut(found)
