"""The HTTP face of tierwatch: /metrics, health, and (as rooms land) the JSON API."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse

from exporters.prometheus import CONTENT_TYPE
from tierwatch import __version__

if TYPE_CHECKING:
    from tierwatch.service import Service


def create_app(service: Service) -> FastAPI:
    app = FastAPI(title="tierwatch", version=__version__,
                  description="Tier III monitoring of a city data center and its network")
    app.state.service = service

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(service.exporter.render(), media_type=CONTENT_TYPE)

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"])
    def readyz() -> JSONResponse:
        ready = service.ready()
        body = {"status": "ready" if ready else "starting",
                "devices": len(service.state.devices),
                "polled": sum(d.last_poll_ts is not None
                              for d in service.state.devices.values())}
        return JSONResponse(body, status_code=200 if ready else 503)

    from api.routes import availability, tier, whatif

    for module in (tier, whatif, availability):
        app.include_router(module.router)
    return app
