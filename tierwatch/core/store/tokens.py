"""The API tokens table: rows keep a token's public key, name, role and SHA-256 digest,
never the token itself (api/tokens.py makes and checks tokens).

Not fenced (store/fencing.py): tokens are the operator's bookkeeping, not the monitor's
record. `tierwatch token` writes them from no pair member at all, and either member of a pair
stamps `last_used` on the reads it serves (the standby's API writes nothing else: it refuses
POST and DELETE)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from tierwatch.core.store.base import Store
from tierwatch.core.store.schema import api_tokens


class KeyTaken(Exception):
    """Another token already has this public key."""


def insert_token(store: Store, *, key: str, name: str, role: str, digest: str, created: float,
                 expires: float | None) -> int:
    """The new row's id. Raises KeyTaken when the key is in use."""
    try:
        with store.engine.begin() as conn:
            result = conn.execute(insert(api_tokens).values(
                key=key, name=name, role=role, digest=digest, created_ts=created,
                expires_ts=expires))
            return int(result.inserted_primary_key[0])  # type: ignore[index]
    except IntegrityError:
        raise KeyTaken(key) from None


def token_by_key(store: Store, key: str) -> Any | None:
    with store.engine.connect() as conn:
        return conn.execute(select(api_tokens).where(api_tokens.c.key == key)).first()


def token_by_ref(store: Store, ref: str) -> Any | None:
    """A token row by its key, or by its id when `ref` is a number."""
    clause = api_tokens.c.key == ref
    if ref.isdigit():
        clause = or_(clause, api_tokens.c.id == int(ref))
    with store.engine.connect() as conn:
        return conn.execute(select(api_tokens).where(clause)).first()


def token_rows(store: Store, include_revoked: bool = False) -> list[Any]:
    query = select(api_tokens).order_by(api_tokens.c.id)
    if not include_revoked:
        query = query.where(api_tokens.c.revoked_ts.is_(None))
    with store.engine.connect() as conn:
        return list(conn.execute(query))


def set_last_used(store: Store, token_id: int, now: float) -> None:
    with store.engine.begin() as conn:
        conn.execute(update(api_tokens).where(api_tokens.c.id == token_id)
                     .values(last_used_ts=now))


def set_revoked(store: Store, token_id: int, now: float) -> None:
    with store.engine.begin() as conn:
        conn.execute(update(api_tokens).where(api_tokens.c.id == token_id)
                     .values(revoked_ts=now))
