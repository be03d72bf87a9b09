"""Errors as JSON with a message, whatever goes wrong: `{"status": 404, "message": "..."}`.

Validation errors (422) add the fields at fault; an unexpected failure is logged and
answered with a plain 500 that says nothing of its insides. `ERRORS` documents these
answers in the OpenAPI schema, so clients (and schemathesis) know every status a route
may give.
"""

from __future__ import annotations

import logging
import re
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
    400: _doc("the body cannot be parsed"),
    413: _doc("request body too large"),
}


def error(status: int, message: str, headers: dict[str, str] | None = None,
          errors: list[ErrorDetail] | None = None) -> JSONResponse:
    body = ErrorOut(status=status, message=message, errors=errors)
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, headers=headers)


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """The methods the OpenAPI schema lists for the path template `path` matches."""
    table = app.state.__dict__.get("_allowed")
    if table is None:
        table = []
        for template, operations in app.openapi().get("paths", {}).items():
            pattern = re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(template))
            methods = sorted(m.upper() for m in operations if m in _METHODS)
            table.append((re.compile(f"^{pattern}$"), methods))
        app.state._allowed = table
    for regex, methods in table:
        if regex.match(path):
            return methods
    return []


_METHODS = {"get", "post", "put", "patch", "delete", "head", "options"}


def _location(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in loc)


def install(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        headers = dict(exc.headers or {})
        if exc.status_code == 405:  # every method the path has, not only the first route's
            allowed = allowed_methods(app, request.url.path)
            if allowed:
                headers["Allow"] = ", ".join(allowed)
        return error(exc.status_code, message, headers)

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
