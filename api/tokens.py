"""API bearer tokens: created once, shown once, kept only as a SHA-256 digest.

A token reads `tw_<key>_<secret>`: `key` (8 hex digits) is public, names the token in lists
and finds its row; `secret` is 32 random bytes (256 bits, URL-safe base64). The store keeps
the SHA-256 of the whole token and compares digests in constant time.

Why a plain SHA-256 and not a slow password hash (scrypt, PBKDF2): a slow hash protects
guessable secrets such as passwords, by making each guess cost. These secrets are 256-bit
random numbers, so a stolen digest cannot be reversed by guessing whatever the hash's speed,
while a slow hash would cost tens of milliseconds of CPU on every API request (an easy
denial of service). GitHub and PyPI keep their API tokens the same way.

Roles, each including the ones before it:

    viewer    read the API and the status page (when reads need a token)
    operator  also acknowledge alerts, book and remove maintenance windows
    admin     everything: reports on demand, tokens
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Any

from tierwatch.core.store import Store
from tierwatch.core.store import tokens as rows

ROLES: tuple[str, ...] = ("viewer", "operator", "admin")
_TOKEN = re.compile(r"^tw_([0-9a-f]{8})_([A-Za-z0-9_-]{43})$")
# last_used is written at most this often per token: a busy client is not a write per request
LAST_USED_EVERY = 60.0


def role_rank(role: str) -> int:
    return ROLES.index(role)


def allows(role: str, needed: str) -> bool:
    return role in ROLES and role_rank(role) >= role_rank(needed)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class TokenInfo:
    """A token as lists show it: never its secret, never its digest."""

    id: int
    key: str
    name: str
    role: str
    created: float
    expires: float | None
    last_used: float | None
    revoked: float | None

    def active(self, now: float) -> bool:
        return self.revoked is None and (self.expires is None or now < self.expires)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "key": self.key, "name": self.name, "role": self.role,
                "created": self.created, "expires": self.expires,
                "last_used": self.last_used, "revoked": self.revoked}


def _info(row: Any) -> TokenInfo:
    return TokenInfo(row.id, row.key, row.name, row.role, row.created_ts, row.expires_ts,
                     row.last_used_ts, row.revoked_ts)


def create_token(store: Store, name: str, role: str, now: float,
                 expires: float | None = None) -> tuple[TokenInfo, str]:
    """A new token: (its info, the token itself - shown to the person once, never stored)."""
    name = name.strip()
    if not name:
        raise ValueError("a token needs a name (who or what uses it)")
    if len(name) > 128:
        raise ValueError("a token's name is at most 128 characters")
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r} (use {', '.join(ROLES)})")
    if expires is not None and expires <= now:
        raise ValueError("a token must expire in the future")
    for _ in range(8):  # a clash of 32-bit keys is rare; try again
        key = secrets.token_hex(4)
        token = f"tw_{key}_{secrets.token_urlsafe(32)}"
        try:
            row_id = rows.insert_token(store, key=key, name=name, role=role,
                                       digest=digest(token), created=now, expires=expires)
        except rows.KeyTaken:
            continue
        return TokenInfo(row_id, key, name, role, now, expires, None, None), token
    raise RuntimeError("could not find a free token key")


def verify(store: Store, presented: str, now: float) -> TokenInfo | None:
    """The active token `presented` is, or None (malformed, unknown, revoked, expired)."""
    match = _TOKEN.match(presented.strip())
    if match is None:
        return None
    row = rows.token_by_key(store, match.group(1))
    if row is None or not hmac.compare_digest(row.digest, digest(presented.strip())):
        return None
    info = _info(row)
    if not info.active(now):
        return None
    if info.last_used is None or now - info.last_used >= LAST_USED_EVERY:
        rows.set_last_used(store, info.id, now)
    return info


def list_tokens(store: Store, include_revoked: bool = False) -> list[TokenInfo]:
    return [_info(row) for row in rows.token_rows(store, include_revoked)]


def find_token(store: Store, ref: str) -> TokenInfo | None:
    """A token by its id or key (revoked ones too)."""
    row = rows.token_by_ref(store, ref.strip())
    return None if row is None else _info(row)


def revoke(store: Store, ref: str, now: float) -> TokenInfo | None:
    """Revoke a token by id or key; returns it (None when there is no such active token)."""
    found = find_token(store, ref)
    if found is None or found.revoked is not None:
        return None
    rows.set_revoked(store, found.id, now)
    return find_token(store, str(found.id))
