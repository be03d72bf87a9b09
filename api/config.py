"""The `api:` section of tierwatch.yaml: who may read, where from, how much may be sent.

    api:
      read_auth: token        # token (default): reads need a bearer token too; open: anyone
                              # who reaches the port may read (the demo). Writes always need one.
      cors_origins: []        # browser origins allowed to call the API (none: CORS off)
      max_body: 1MB           # larger request bodies are refused with 413
      default_lang: vi        # the status page's language when the browser does not say
      refresh: 30s            # the status page reloads itself this often
      secure_cookie: false    # true: the status page's cookie always has the Secure flag,
                              # for tierwatch behind a TLS-terminating reverse proxy that
                              # talks plain HTTP to it (false: Secure when the request came
                              # over HTTPS, as uvicorn sees it)
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from tierwatch.core.configtypes import ByteSize, Interval, Strict

_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.\-\[\]:]+$")


class ApiConfig(Strict):
    read_auth: Literal["token", "open"] = "token"
    cors_origins: tuple[str, ...] = ()
    max_body: ByteSize = 1_000_000
    default_lang: Literal["vi", "en"] = "vi"
    refresh: Interval = Field(default=30.0)
    secure_cookie: bool = False

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for origin in value:
            if origin != "*" and not _ORIGIN.match(origin):
                raise ValueError(f"{origin!r} is not an origin (scheme://host[:port], no path)")
        return value
