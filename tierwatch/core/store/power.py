"""The power room's table: readings written every interval, read back by time range."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, insert, select

from tierwatch.core.store.base import Store
from tierwatch.core.store.schema import power_readings

Reading = tuple[float, float]  # (ts, value)


def add_power_readings(store: Store, ts: float,
                       rows: Iterable[tuple[str, str, float]]) -> None:
    """(kind, subject, value) rows, all at `ts`."""
    values = [{"ts": ts, "kind": k, "subject": s, "value": v} for k, s, v in rows]
    if values:
        with store.write() as conn:
            conn.execute(insert(power_readings), values)


def power_readings_of(store: Store, kind: str, subject: str, since: float, until: float
                      ) -> list[Reading]:
    """(ts, value) of one figure in [since, until), oldest first."""
    query = (select(power_readings.c.ts, power_readings.c.value)
             .where(power_readings.c.kind == kind, power_readings.c.subject == subject,
                    power_readings.c.ts >= since, power_readings.c.ts < until)
             .order_by(power_readings.c.ts))
    with store.engine.connect() as conn:
        return [(float(r.ts), float(r.value)) for r in conn.execute(query)]


def power_subjects(store: Store, kind: str, since: float, until: float) -> list[str]:
    query = (select(power_readings.c.subject).distinct()
             .where(power_readings.c.kind == kind, power_readings.c.ts >= since,
                    power_readings.c.ts < until).order_by(power_readings.c.subject))
    with store.engine.connect() as conn:
        return [str(r.subject) for r in conn.execute(query)]


def prune_power_readings(store: Store, before: float) -> int:
    with store.write() as conn:
        return int(conn.execute(delete(power_readings).where(
            power_readings.c.ts < before)).rowcount or 0)
