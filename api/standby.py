"""The API of an active/standby pair's member says which it is, and the standby writes
nothing.

Every answer carries `X-Tierwatch-Role: leader|standby`. On the standby a write (any method
but GET, HEAD, OPTIONS, outside the few POSTs that only read) is answered 503 with who the
leader is, before any route runs: the standby's store would refuse it anyway (its fence
holds no token), but a person should read where to go, not a store error. Members of no
pair (`ha.enabled: false`) pass through untouched.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from api.context import ApiContext

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# POSTs that change nothing in the store: a what-if is computed, a login sets a cookie
READ_ONLY_POSTS = frozenset({"/api/v1/whatif", "/login", "/logout"})
ROLE_HEADER = b"x-tierwatch-role"


class StandbyGuard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        context: ApiContext = scope["app"].state.context
        ha = context.ha
        if ha is None:
            await self.app(scope, receive, send)
            return
        role = str(ha.role).encode()
        if (role == b"standby" and scope["method"] not in SAFE_METHODS
                and scope["path"].rstrip("/") not in READ_ONLY_POSTS):
            body = json.dumps({"status": 503, "message": (
                f"this instance ({ha.instance}) is the standby of an active/standby pair and "
                f"writes nothing; {ha.leader_text()}")}, ensure_ascii=False).encode()
            await send({"type": "http.response.start", "status": 503, "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()), (ROLE_HEADER, role),
                (b"retry-after", b"5")]})
            await send({"type": "http.response.body", "body": body})
            return

        async def with_role(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []),
                                                  (ROLE_HEADER, role)]}
            await send(message)

        await self.app(scope, receive, with_role)
