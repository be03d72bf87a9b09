"""Dependencies of the API routes, as `Annotated` aliases: the context the wiring handed
the app and what it holds (config, state, store, the live tier), and who is asking
(`ReaderDep`, `OperatorDep`, `AdminDep`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from api.context import ApiContext
from api.security import Principal, reader, require
from livetier.engine import LiveTier
from tierwatch.config import Config
from tierwatch.core.state import State
from tierwatch.core.store import Store


def get_context(request: Request) -> ApiContext:
    context: ApiContext = request.app.state.context
    return context


def get_config(request: Request) -> Config:
    return get_context(request).config


def get_state(request: Request) -> State:
    return get_context(request).state


def get_store(request: Request) -> Store:
    store = get_context(request).store()
    if store is None:
        raise HTTPException(503, "the store is not open yet")
    return store


def get_live(request: Request) -> LiveTier:
    live = get_context(request).live
    if live is None:
        raise HTTPException(
            404, "no topology configured (add a `topology:` section to tierwatch.yaml)"
        )
    if live.snapshot is None:
        raise HTTPException(503, "the live tier has not scored the topology yet")
    return live


ContextDep = Annotated[ApiContext, Depends(get_context)]
ConfigDep = Annotated[Config, Depends(get_config)]
StateDep = Annotated[State, Depends(get_state)]
StoreDep = Annotated[Store, Depends(get_store)]
LiveTierDep = Annotated[LiveTier, Depends(get_live)]
ReaderDep = Annotated[Principal, Depends(reader)]
OperatorDep = Annotated[Principal, Depends(require("operator"))]
AdminDep = Annotated[Principal, Depends(require("admin"))]
