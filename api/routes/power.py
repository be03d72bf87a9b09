"""The power chain: live fuel autonomy, PUE, feed headroom and the forecast (JSON), and the
one-line diagram (SVG, no JavaScript: an <img> or a browser shows it as it is).

    GET /api/v1/power               the power room's live figures
    GET /api/v1/power/diagram.svg   the one-line diagram of the power and cooling chain
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from api.deps import ContextDep, ReaderDep
from api.errors import ERRORS
from api.powerview import diagram_svg
from api.routes.status import _translator
from api.tierview import live_view

router = APIRouter(prefix="/api/v1/power", tags=["power"], responses=ERRORS)


@router.get("")
def power_figures(_who: ReaderDep, context: ContextDep) -> dict[str, Any]:
    if context.power is None:
        raise HTTPException(404, "no power: section configured (fuel, pue, feeds)")
    view = context.power.view
    if view is None:
        raise HTTPException(503, "the power figures are not computed yet")
    return view.to_json()


@router.get("/diagram.svg", response_class=Response,
            responses={200: {"content": {"image/svg+xml": {}}}})
def diagram(_who: ReaderDep, context: ContextDep, request: Request) -> Response:
    view = live_view(context, request.app.state.cache)
    if view is None:
        raise HTTPException(404, "no topology configured")
    svg = diagram_svg(view, context, _translator(request, context))
    return Response(svg, media_type="image/svg+xml",
                    headers={"Cache-Control": "no-store",
                             "Content-Security-Policy": "default-src 'none'; "
                             "style-src 'unsafe-inline'"})
