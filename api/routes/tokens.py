"""API tokens (admin): list, create (the token is in the answer, once), revoke."""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Response
from pydantic import BaseModel, ConfigDict, Field

from api import tokens
from api.deps import AdminDep, StoreDep
from api.errors import ERRORS, WRITE_ERRORS, ErrorOut

router = APIRouter(prefix="/api/v1/tokens", tags=["tokens"], responses=ERRORS)


class TokenOut(BaseModel):
    id: int
    key: str
    name: str
    role: str
    created: float
    expires: float | None
    last_used: float | None
    revoked: float | None


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=128, pattern=r"\S")
    role: Literal["viewer", "operator", "admin"]
    expires_in: float | None = Field(
        default=None, gt=0, le=10 * 366 * 86400, description="seconds until it expires"
    )


class CreatedOut(BaseModel):
    token: str = Field(description="shown this once; only its SHA-256 is kept")
    info: TokenOut


def token_out(info: tokens.TokenInfo) -> TokenOut:
    return TokenOut(**info.to_json())


@router.get("", response_model=list[TokenOut])
def list_all(_who: AdminDep, store: StoreDep) -> list[TokenOut]:
    return [token_out(t) for t in tokens.list_tokens(store)]


@router.post("", response_model=CreatedOut, status_code=201, responses=WRITE_ERRORS)
def create(_who: AdminDep, body: TokenIn, store: StoreDep) -> CreatedOut:
    now = time.time()
    try:
        info, token = tokens.create_token(
            store,
            body.name,
            body.role,
            now,
            None if body.expires_in is None else now + body.expires_in,
        )
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    return CreatedOut(token=token, info=token_out(info))


_IN_USE: dict[int | str, dict[str, Any]] = {
    **WRITE_ERRORS,
    409: {"model": ErrorOut, "description": "the token this request uses"},
}


@router.delete("/{key}", status_code=204, responses=_IN_USE)
def revoke(
    who: AdminDep, key: Annotated[str, Path(pattern=r"^[0-9a-f]{8}$")], store: StoreDep
) -> Response:
    if key == who.key:  # an admin locking themselves out by mistake; the CLI still can
        raise HTTPException(
            409,
            "this is the token the request uses: revoke it with "
            "another admin token or `tierwatch token revoke`",
        )
    if tokens.revoke(store, key, time.time()) is None:
        raise HTTPException(404, f"no active token {key!r}")
    return Response(status_code=204)
