"""The HTTP face of tierwatch: /metrics, health, the JSON API under /api/v1, the status page.

`create_app(context)` builds the FastAPI app over what the wiring hands it (api/context.py): one
router per resource (api/routes/), errors as JSON with a message (api/errors.py), request
bodies size-limited (api/limits.py), CORS only for the origins configured, and bearer
tokens with roles for every write (api/security.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from api import errors
from api.limits import BodyLimit
from api.origin import RefusedRequests
from api.routes import (
    alerts,
    availability,
    components,
    devices,
    discover,
    ha,
    health,
    maintenance,
    outages,
    power,
    reports,
    services,
    status,
    tier,
    tokens,
    topology,
    whatif,
)
from api.standby import StandbyGuard
from tierwatch.core.version import __version__

if TYPE_CHECKING:
    from api.context import ApiContext

ROUTERS = (health, devices, components, topology, tier, whatif, outages, availability, alerts,
           maintenance, reports, tokens, power, status, services, discover, ha)


def create_app(context: ApiContext, clock: Callable[[], float] = time.time) -> FastAPI:
    """The API and status page over what the wiring hands it; `clock` tells the status
    page the time (a test passes a fixed one)."""
    app = FastAPI(
        title="tierwatch", version=__version__,
        description="Tier III monitoring of a city data center and its dedicated network. "
                    "Reads need a bearer token unless `api.read_auth: open`; writes always "
                    "do (`tierwatch token create --role operator|admin`).",
    )
    app.state.context = context
    app.state.clock = clock
    app.state.cache = {}
    app.state.refused = RefusedRequests()
    context.exporter.metrics.register(app.state.refused)
    errors.install(app)
    for module in ROUTERS:
        app.include_router(module.router)
    api = context.config.api
    if api.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(api.cors_origins),
                           allow_methods=["GET", "POST", "DELETE"],
                           allow_headers=["Authorization", "Content-Type"],
                           allow_credentials=False)
    app.add_middleware(BodyLimit, max_body=api.max_body)
    app.add_middleware(StandbyGuard)  # outermost: a standby refuses a write before all else
    return app


def set_context(app: FastAPI, context: ApiContext) -> None:
    """Serve from another context from the next request on (a pair member's new term:
    tierwatch/pair.py); the state and /metrics registry are the same, the rooms new."""
    app.state.context = context
