"""GET /api/v1/services: every e-government service (up, at risk, down, with the cause),
its checks' last results, its availability over 30 days and the month so far against its
target, what each agency can reach, and every certificate seen with its days left."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel

from api.deps import ContextDep, ReaderDep, StoreDep
from api.errors import ERRORS
from services.metrics import ServiceAvailability

router = APIRouter(prefix="/api/v1/services", tags=["services"], responses=ERRORS)


class ServicesOut(BaseModel):
    as_of: float | None  # when the states last changed (epoch seconds)
    infrastructure_known: bool  # the live tier's snapshot is part of the states
    services: list[dict[str, Any]]
    agencies: list[dict[str, Any]]
    certificates: list[dict[str, Any]]


@router.get("", response_model=ServicesOut)
def list_services(_who: ReaderDep, context: ContextDep, store: StoreDep) -> dict[str, Any]:
    component = context.services
    if component is None:
        raise HTTPException(404, "no services configured (add topology.services and "
                                 "services.checks to tierwatch.yaml)")
    now = time.time()
    body = component.to_json(now)
    figures = ServiceAvailability(store, {s.id: s.target for s in component.topology.nodes},
                                  context.config.site.timezone).compute(now)
    for service in body["services"]:
        service["availability"] = {window: figures.get((service["id"], window))
                                   for window in ("30d", "month")}
    return body
