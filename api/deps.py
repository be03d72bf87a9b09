"""Dependencies of the API routes, as `Annotated` aliases (one place to change how a route
reaches the service, the store or the live tier)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from tierwatch.live import LiveTier
from tierwatch.service import Service
from tierwatch.store import Store


def get_service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


def get_store(request: Request) -> Store:
    store = get_service(request).store
    if store is None:
        raise HTTPException(503, "the store is not open yet")
    return store


def get_live(request: Request) -> LiveTier:
    live = get_service(request).live
    if live is None:
        raise HTTPException(
            404, "no topology configured (add a `topology:` section to tierwatch.yaml)"
        )
    if live.snapshot is None:
        raise HTTPException(503, "the live tier has not scored the topology yet")
    return live


ServiceDep = Annotated[Service, Depends(get_service)]
StoreDep = Annotated[Store, Depends(get_store)]
LiveTierDep = Annotated[LiveTier, Depends(get_live)]
