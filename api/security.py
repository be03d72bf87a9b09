"""Who is asking: bearer tokens (api/tokens.py) and their roles.

* Writes always need `Authorization: Bearer <token>` with a role that allows them: none
  or a bad one gives 401, too weak a role 403. A cookie never authorizes a write, so a
  page on another site cannot make a browser write (no CSRF).
* Reads need a token too unless `api.read_auth: open` (the demo). A browser reading the
  status page presents its token as the `tierwatch_token` cookie the login form sets
  (HttpOnly, SameSite=Strict).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.tokens import ROLES, allows, verify

COOKIE = "tierwatch_token"
CHALLENGE = {"WWW-Authenticate": "Bearer"}

bearer = HTTPBearer(auto_error=False, description="a token from `tierwatch token create`")
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


@dataclass(frozen=True)
class Principal:
    name: str
    role: str
    key: str | None  # the token's public key; None for anonymous reads


ANONYMOUS = Principal("anonymous", "viewer", None)


def _verify(request: Request, token: str) -> Principal | None:
    store = request.app.state.context.store()
    if store is None:
        raise HTTPException(503, "the store is not open yet")
    info = verify(store, token, time.time())
    return None if info is None else Principal(info.name, info.role, info.key)


def _from_header(request: Request, credentials: HTTPAuthorizationCredentials | None
                 ) -> Principal | None:
    if credentials is None or credentials.scheme.lower() != "bearer":
        return None
    return _verify(request, credentials.credentials)


def token_principal(request: Request, token: str) -> Principal | None:
    return _verify(request, token) if token else None


def cookie_principal(request: Request) -> Principal | None:
    return token_principal(request, request.cookies.get(COOKIE, ""))


def reads_open(request: Request) -> bool:
    return bool(request.app.state.context.config.api.read_auth == "open")


def reader(request: Request, credentials: BearerDep) -> Principal:
    """Anyone when reads are open; else a valid token (header or the status page's cookie)."""
    if reads_open(request):
        return ANONYMOUS
    found = _from_header(request, credentials) or cookie_principal(request)
    if found is None:
        raise HTTPException(401, "reading needs a bearer token (tierwatch token create "
                                 "--role viewer)", headers=CHALLENGE)
    return found


def authorize(request: Request, credentials: HTTPAuthorizationCredentials | None,
              role: str) -> Principal:
    """The principal of a bearer token whose role is at least `role`; 401 without a valid
    token, 403 with too weak a role."""
    found = _from_header(request, credentials)
    if found is None:
        raise HTTPException(401, f"this needs a bearer token with the {role} role",
                            headers=CHALLENGE)
    if not allows(found.role, role):
        raise HTTPException(403, f"this needs the {role} role; the token has "
                                 f"{found.role}")
    return found


@dataclass(frozen=True)
class Require:
    """A dependency: a bearer token whose role is at least `role`. An object rather than a
    closure, so the check runs (and is mutation-tested) per request, not per definition."""

    role: str

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"unknown role {self.role!r} ({', '.join(ROLES)})")

    def __call__(self, request: Request, credentials: BearerDep) -> Principal:
        return authorize(request, credentials, self.role)


def require(role: str) -> Require:
    return Require(role)
