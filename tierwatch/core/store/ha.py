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
# holder has it and it has not expired (same token); leave anybody else's alone. The row
# lock the upsert takes waits for writes still checking the old token (FOR SHARE below):
# a takeover commits only after them, and after it none of theirs can commit
_ACQUIRE = text(f"""
INSERT INTO ha_lease (name, holder, token, acquired_ts, expires_ts)
VALUES (:name, :holder, 1, {_NOW}, {_NOW} + :seconds)
ON CONFLICT (name) DO UPDATE SET
    holder = EXCLUDED.holder,
    token = CASE WHEN ha_lease.holder = EXCLUDED.holder
                      AND ha_lease.expires_ts > EXCLUDED.acquired_ts
                 THEN ha_lease.token ELSE ha_lease.token + 1 END,
    acquired_ts = CASE WHEN ha_lease.holder = EXCLUDED.holder
                            AND ha_lease.expires_ts > EXCLUDED.acquired_ts
                       THEN ha_lease.acquired_ts ELSE EXCLUDED.acquired_ts END,
    expires_ts = EXCLUDED.expires_ts
WHERE ha_lease.holder = EXCLUDED.holder OR ha_lease.expires_ts <= EXCLUDED.acquired_ts
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

    def held_by(self, holder: str) -> bool:
        return self.holder == holder and self.expires > self.now


def _lease(name: str, row: Any) -> Lease:
    return Lease(name, str(row.holder), int(row.token), float(row.acquired_ts),
                 float(row.expires_ts), float(row.now))


def try_acquire(engine: Engine, name: str, holder: str, seconds: float) -> Lease:
    """Take or renew the lease `name` for `holder` for `seconds` if it may; the row after
    the attempt either way (held by `holder` or by somebody else)."""
    with engine.begin() as conn:
        conn.execute(_ACQUIRE, {"name": name, "holder": holder, "seconds": float(seconds)})
        return _lease(name, conn.execute(_READ, {"name": name}).one())


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
