"""The network health room's tables: LLDP verdicts and unexpected neighbours over time.
Only this module knows their columns.

The room (nethealth/) writes what it sees whenever a verdict or the unexpected list changes
(`record_lldp`): each writer keeps its own open rows equal to what it sees now, closing a
row when its verdict ends and opening one for the new verdict. Readers:

* the monthly report: `lldp_history` (every row overlapping the month);
* a `--tier-only` instance, which polls nothing: `open_verdicts` and `open_unexpected`
  (what the shards see now), for its live tier's unverified links.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, insert, or_, select, update

from tierwatch.core.store.base import Store
from tierwatch.core.store.schema import lldp_unexpected, lldp_verdicts


@dataclass(frozen=True)
class LinkVerdict:
    """One declared link's verdict as a writer sees it now."""

    subsystem: str
    feeder: str
    node: str
    device: str
    port: str
    verdict: str  # ok | missing | moved | unknown
    expected: str = ""
    seen_on: tuple[str, ...] = ()  # moved: the ports it is seen on instead

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.subsystem, self.feeder, self.node, self.port)


@dataclass(frozen=True)
class VerdictSpan:
    link: LinkVerdict
    start: float
    end: float | None  # None: it still holds
    writer: str


@dataclass(frozen=True)
class Sighting:
    """A neighbour nothing declares where it is seen."""

    device: str
    port: str  # the local port, as the device names it
    chassis_id: str
    sys_name: str = ""
    neighbour_port: str = ""
    neighbour_device: str | None = None
    declared_port: str | None = None  # the declared link's port it is seen on, if any

    @property
    def name(self) -> str:
        return self.sys_name or self.chassis_id


@dataclass(frozen=True)
class SightingSpan:
    sighting: Sighting
    start: float
    end: float | None
    writer: str


def _verdict(row: Any) -> VerdictSpan:
    link = LinkVerdict(row.subsystem, row.feeder, row.node, row.device, row.port, row.verdict,
                       row.expected, tuple(json.loads(row.seen_on or "[]")))
    return VerdictSpan(link, row.start_ts, row.end_ts, row.writer)


def _sighting(row: Any) -> SightingSpan:
    seen = Sighting(row.device, row.port, row.chassis_id, row.sys_name, row.neighbour_port,
                    row.neighbour_device, row.declared_port)
    return SightingSpan(seen, row.start_ts, row.end_ts, row.writer)


def _verdict_values(v: LinkVerdict) -> dict[str, Any]:
    return {"subsystem": v.subsystem, "feeder": v.feeder, "node": v.node, "device": v.device,
            "port": v.port, "verdict": v.verdict, "expected": v.expected,
            "seen_on": json.dumps(list(v.seen_on))}


def _sighting_values(s: Sighting) -> dict[str, Any]:
    return {"device": s.device, "port": s.port, "declared_port": s.declared_port,
            "chassis_id": s.chassis_id, "sys_name": s.sys_name,
            "neighbour_port": s.neighbour_port, "neighbour_device": s.neighbour_device}


def record_lldp(store: Store, writer: str, verdicts: Sequence[LinkVerdict],
                sightings: Sequence[Sighting], ts: float) -> int:
    """Make `writer`'s open rows say what it sees at `ts`: a link whose verdict (or the
    ports it moved to) changed, or that it no longer reports, has its row closed at `ts`; a
    new verdict, or a new sighting, opens a row. One transaction. Returns the rows changed."""
    changed = 0
    wanted = {v.key: v for v in verdicts}
    seen = set(sightings)
    with store.write() as conn:
        open_rows = conn.execute(select(lldp_verdicts).where(and_(
            lldp_verdicts.c.writer == writer, lldp_verdicts.c.end_ts.is_(None)))).all()
        kept: set[tuple[str, str, str, str]] = set()
        for row in open_rows:
            span = _verdict(row)
            if wanted.get(span.link.key) == span.link and span.link.key not in kept:
                kept.add(span.link.key)
                continue
            conn.execute(update(lldp_verdicts).where(lldp_verdicts.c.id == row.id)
                         .values(end_ts=max(ts, row.start_ts)))
            changed += 1
        for key, v in wanted.items():
            if key not in kept:
                conn.execute(insert(lldp_verdicts).values(**_verdict_values(v), start_ts=ts,
                                                          end_ts=None, writer=writer))
                changed += 1
        open_seen = conn.execute(select(lldp_unexpected).where(and_(
            lldp_unexpected.c.writer == writer, lldp_unexpected.c.end_ts.is_(None)))).all()
        still: set[Sighting] = set()
        for row in open_seen:
            sight = _sighting(row).sighting
            if sight in seen and sight not in still:
                still.add(sight)
                continue
            conn.execute(update(lldp_unexpected).where(lldp_unexpected.c.id == row.id)
                         .values(end_ts=max(ts, row.start_ts)))
            changed += 1
        for sight in sightings:
            if sight not in still:
                still.add(sight)
                conn.execute(insert(lldp_unexpected).values(**_sighting_values(sight),
                                                            start_ts=ts, end_ts=None,
                                                            writer=writer))
                changed += 1
    return changed


def close_lldp(store: Store, writer: str, ts: float) -> int:
    """Close every open row of `writer` at `ts` (it stops: what it saw ends there)."""
    with store.write() as conn:
        n = conn.execute(update(lldp_verdicts).where(and_(
            lldp_verdicts.c.writer == writer, lldp_verdicts.c.end_ts.is_(None)))
            .values(end_ts=ts)).rowcount
        n += conn.execute(update(lldp_unexpected).where(and_(
            lldp_unexpected.c.writer == writer, lldp_unexpected.c.end_ts.is_(None)))
            .values(end_ts=ts)).rowcount
    return int(n)


def open_verdicts(store: Store) -> list[VerdictSpan]:
    """Every verdict that holds now, of every writer."""
    query = (select(lldp_verdicts).where(lldp_verdicts.c.end_ts.is_(None))
             .order_by(lldp_verdicts.c.subsystem, lldp_verdicts.c.feeder, lldp_verdicts.c.node,
                       lldp_verdicts.c.port, lldp_verdicts.c.start_ts))
    with store.engine.connect() as conn:
        return [_verdict(r) for r in conn.execute(query)]


def open_sightings(store: Store) -> list[SightingSpan]:
    """Every unexpected neighbour seen now, of every writer."""
    query = (select(lldp_unexpected).where(lldp_unexpected.c.end_ts.is_(None))
             .order_by(lldp_unexpected.c.device, lldp_unexpected.c.port,
                       lldp_unexpected.c.start_ts))
    with store.engine.connect() as conn:
        return [_sighting(r) for r in conn.execute(query)]


def lldp_history(store: Store, since: float, until: float
                 ) -> tuple[list[VerdictSpan], list[SightingSpan]]:
    """Every verdict and sighting that held at some time in [since, until), oldest first."""
    def overlapping(table: Any) -> Any:
        return select(table).where(and_(
            table.c.start_ts < until,
            or_(table.c.end_ts.is_(None), table.c.end_ts > since))).order_by(
            table.c.start_ts, table.c.id)

    with store.engine.connect() as conn:
        verdicts = [_verdict(r) for r in conn.execute(overlapping(lldp_verdicts))]
        sightings = [_sighting(r) for r in conn.execute(overlapping(lldp_unexpected))]
    return verdicts, sightings
