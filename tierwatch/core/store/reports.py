"""What the monthly report reads from the store beyond the core queries, and the register of
report files. Only this module knows these queries' columns."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select

from tierwatch.core.store.base import Store
from tierwatch.core.store.schema import reports, transitions

# beyond this many subjects, read them all and filter here (an IN list has limits)
SUBJECTS_IN_QUERY = 900


def subjects_with_conditions(store: Store, conditions: Iterable[str]) -> set[str]:
    """Components that ever reported one of these conditions."""
    wanted = sorted(conditions)
    if not wanted:
        return set()
    with store.engine.connect() as conn:
        rows = conn.execute(select(transitions.c.subject).distinct().where(
            transitions.c.kind == "component",
            or_(*(transitions.c.conditions.like(f'%"{c}"%') for c in wanted))))
        return {row.subject for row in rows}


def sensor_subjects(store: Store, devices: Iterable[str]) -> set[str]:
    """The `sensor ...` components these devices ever reported."""
    wanted = sorted(devices)
    if not wanted:
        return set()
    with store.engine.connect() as conn:
        rows = conn.execute(select(transitions.c.subject).distinct().where(
            transitions.c.kind == "component",
            or_(*(transitions.c.subject.like(f"{d}/sensor%") for d in wanted))))
        return {row.subject for row in rows}


def transitions_of(store: Store, subjects: set[str], start: float, stop: float) -> list[Any]:
    """Device and component transition rows of `subjects`: the last at or before `start`
    of each, then every one in (start, stop), in time order."""
    if not subjects:
        return []
    kinds = transitions.c.kind.in_(("device", "component"))
    narrow = len(subjects) <= SUBJECTS_IN_QUERY
    latest = select(transitions.c.kind, transitions.c.subject,
                    func.max(transitions.c.ts).label("ts")).where(
        kinds, transitions.c.ts <= start)
    inside = select(transitions).where(kinds, transitions.c.ts > start, transitions.c.ts < stop)
    if narrow:
        latest = latest.where(transitions.c.subject.in_(sorted(subjects)))
        inside = inside.where(transitions.c.subject.in_(sorted(subjects)))
    last = latest.group_by(transitions.c.kind, transitions.c.subject).subquery()
    before = select(transitions).join(last, and_(
        transitions.c.kind == last.c.kind, transitions.c.subject == last.c.subject,
        transitions.c.ts == last.c.ts))
    with store.engine.connect() as conn:
        rows = [*conn.execute(before.order_by(transitions.c.ts, transitions.c.id)),
                *conn.execute(inside.order_by(transitions.c.ts, transitions.c.id))]
    return [r for r in rows if narrow or r.subject in subjects]


def record_file(store: Store, *, month: str, lang: str, fmt: str, path: str, body: bytes,
                created: float, trigger: str, complete: bool) -> int:
    """Register a report file (replacing the row of the same month, language and format);
    the new row's id."""
    with store.write() as conn:
        conn.execute(delete(reports).where(reports.c.month == month, reports.c.lang == lang,
                                           reports.c.format == fmt))
        result = conn.execute(insert(reports).values(
            month=month, lang=lang, format=fmt, path=path, size=len(body),
            sha256=hashlib.sha256(body).hexdigest(), created_ts=created, trigger=trigger,
            complete=complete))
        return int(result.inserted_primary_key[0])  # type: ignore[index]


def file_rows(store: Store, month: str | None = None, limit: int = 50, offset: int = 0
              ) -> tuple[int, list[Any]]:
    """(how many there are, one page of rows), newest month first."""
    query = select(reports)
    count = select(func.count()).select_from(reports)
    if month:
        query = query.where(reports.c.month == month)
        count = count.where(reports.c.month == month)
    query = query.order_by(reports.c.month.desc(), reports.c.lang, reports.c.format,
                           reports.c.id).limit(limit).offset(offset)
    with store.engine.connect() as conn:
        total = int(conn.execute(count).scalar() or 0)
        return total, list(conn.execute(query))


def file_row(store: Store, report_id: int) -> Any | None:
    with store.engine.connect() as conn:
        return conn.execute(select(reports).where(reports.c.id == report_id)).first()
