"""Dependencies of the API routes, as `Annotated` aliases: the service and what it holds
(config, state, store, the live tier), and who is asking (`ReaderDep`, `OperatorDep`,
`AdminDep`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from api.security import Principal, reader, require
from tierwatch.config import Config
from livetier.engine import LiveTier
from tierwatch.service import Service
from tierwatch.core.state import State
from tierwatch.core.store import Store


def get_service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


def get_config(request: Request) -> Config:
    return get_service(request).config


def get_state(request: Request) -> State:
    return get_service(request).state


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
ConfigDep = Annotated[Config, Depends(get_config)]
StateDep = Annotated[State, Depends(get_state)]
StoreDep = Annotated[Store, Depends(get_store)]
LiveTierDep = Annotated[LiveTier, Depends(get_live)]
ReaderDep = Annotated[Principal, Depends(reader)]
OperatorDep = Annotated[Principal, Depends(require("operator"))]
AdminDep = Annotated[Principal, Depends(require("admin"))]
