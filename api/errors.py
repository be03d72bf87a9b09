"""Errors as JSON with a message, whatever goes wrong: `{"status": 404, "message": "..."}`.

Validation errors (422) add the fields at fault; an unexpected failure is logged and
answered with a plain 500 that says nothing of its insides. `ERRORS` documents these
answers in the OpenAPI schema, so clients (and schemathesis) know every status a route
may give.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)


class ErrorDetail(BaseModel):
    location: str
    message: str


class ErrorOut(BaseModel):
    status: int
    message: str
    errors: list[ErrorDetail] | None = None


def _doc(text: str) -> dict[str, Any]:
    return {"model": ErrorOut, "description": text}


ERRORS: dict[int | str, dict[str, Any]] = {
    401: _doc("no valid bearer token"),
    403: _doc("the token's role does not allow this"),
    404: _doc("no such resource"),
    422: _doc("invalid request"),
}
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    413: _doc("request body too large"),
}


def error(status: int, message: str, headers: dict[str, str] | None = None,
          errors: list[ErrorDetail] | None = None) -> JSONResponse:
    body = ErrorOut(status=status, message=message, errors=errors)
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, headers=headers)


def _location(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in loc)


def install(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        return error(exc.status_code, message, dict(exc.headers or {}))

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [ErrorDetail(location=_location(e.get("loc", ())),
                               message=str(e.get("msg", "invalid")))
                   for e in exc.errors()]
        first = details[0] if details else None
        message = (f"invalid request: {first.location}: {first.message}" if first
                   else "invalid request")
        return error(422, message, errors=details)

    @app.exception_handler(Exception)
    async def crashed(request: Request, exc: Exception) -> JSONResponse:
        log.exception("%s %s failed", request.method, request.url.path)
        return error(500, "internal error (see the tierwatch log)")
