"""The lease row of an active/standby pair (table `ha_lease`), on PostgreSQL.

One row per instance name ("main", "tier"): who holds it, until when, and a token that grows
by one on every takeover. Every time is the database's clock (`now()`), so the two
instances' clocks never matter. `try_acquire` is the only way in: one statement takes an
expired lease (token + 1) or renews the holder's own; the row it leaves is the answer.
`token_is_current` is what fencing.py checks at the start of every write of the leader.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

_NOW = "extract(epoch from now())"

# take the row when it is free or expired (a new term: token + 1), renew it when this
# holder has it under the token it was given and it has not expired (same term); leave
# anybody else's alone. A holder is its name and its token: a restarted process of the same
# name (it knows no token) waits for the lapse like anyone. RETURNING says whether this call
# took or renewed it. The row lock the upsert takes waits for writes still checking the old
# token (FOR SHARE below): a takeover commits only after them, and none of theirs after it
_RENEWING = ("ha_lease.holder = EXCLUDED.holder AND ha_lease.token = :token "
             "AND ha_lease.expires_ts > EXCLUDED.acquired_ts")
_ACQUIRE = text(f"""
INSERT INTO ha_lease (name, holder, token, acquired_ts, expires_ts)
VALUES (:name, :holder, 1, {_NOW}, {_NOW} + :seconds)
ON CONFLICT (name) DO UPDATE SET
    holder = EXCLUDED.holder,
    token = CASE WHEN {_RENEWING} THEN ha_lease.token ELSE ha_lease.token + 1 END,
    acquired_ts = CASE WHEN {_RENEWING} THEN ha_lease.acquired_ts
                       ELSE EXCLUDED.acquired_ts END,
    expires_ts = EXCLUDED.expires_ts
WHERE ({_RENEWING}) OR ha_lease.expires_ts <= EXCLUDED.acquired_ts
RETURNING token
""")

_READ = text(f"SELECT holder, token, acquired_ts, expires_ts, {_NOW} AS now "
             "FROM ha_lease WHERE name = :name")

# a share lock on the row until the write's transaction ends: a takeover (the upsert above)
# waits for it, and a write that waited for a takeover finds the new token and is refused
_CURRENT = text(f"SELECT token FROM ha_lease WHERE name = :name AND holder = :holder "
                f"AND token = :token AND expires_ts > {_NOW} FOR SHARE")

_RELEASE = text(f"UPDATE ha_lease SET expires_ts = {_NOW} "
                "WHERE name = :name AND holder = :holder AND token = :token")


@dataclass(frozen=True)
class Lease:
    """The lease row as the database had it, with the database's time of reading."""

    name: str
    holder: str
    token: int
    acquired: float  # when the holder's term began
    expires: float
    now: float  # the database's clock when this was read
    ours: bool = False  # try_acquire: this call took or renewed it


def _lease(name: str, row: Any, ours: bool = False) -> Lease:
    return Lease(name, str(row.holder), int(row.token), float(row.acquired_ts),
                 float(row.expires_ts), float(row.now), ours)


def try_acquire(engine: Engine, name: str, holder: str, seconds: float,
                token: int | None = None) -> Lease:
    """Renew the lease `name` (`holder` holds it under `token`), or take it if it is free or
    has lapsed, for `seconds`; the row after the attempt either way, `ours` when this call
    renewed or took it."""
    with engine.begin() as conn:
        took = conn.execute(_ACQUIRE, {"name": name, "holder": holder, "token": token,
                                       "seconds": float(seconds)}).first()
        return _lease(name, conn.execute(_READ, {"name": name}).one(), took is not None)


def read_lease(engine: Engine, name: str) -> Lease | None:
    with engine.connect() as conn:
        row = conn.execute(_READ, {"name": name}).first()
    return None if row is None else _lease(name, row)


def token_is_current(conn: Connection, name: str, holder: str, token: int) -> bool:
    """Whether `holder` still holds `name` with `token`, unexpired; locks the row (shared)
    until `conn`'s transaction ends."""
    found = conn.execute(_CURRENT, {"name": name, "holder": holder, "token": token}).first()
    return found is not None


def release(engine: Engine, name: str, holder: str, token: int) -> bool:
    """End `holder`'s term now (a clean stop): the standby takes over at its next renewal
    instead of waiting for the lease to lapse. False if the term had already ended."""
    with engine.begin() as conn:
        return bool(conn.execute(_RELEASE, {"name": name, "holder": holder,
                                            "token": token}).rowcount)
