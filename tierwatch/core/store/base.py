"""Durable history: status transitions, outages, exposure, unmonitored time, maintenance.

SQLAlchemy Core over SQLite (the embedded default) or PostgreSQL (shared and sharded
installs), by URL alone. The schema is owned by Alembic migrations (tierwatch/migrations);
`Store.open()` brings any database to the newest revision before use.

Times are UTC epoch seconds (floats): interval arithmetic is what the store is for, and
every reader converts to the site's time zone only when it shows a time to a person.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Table,
    and_,
    create_engine,
    delete,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, DBAPIError, OperationalError
from sqlalchemy.pool import StaticPool

from tierwatch.core.files import STORE_MODE, create_with_mode
from tierwatch.core.model import StatusChange
from tierwatch.core.store.fencing import Fence
from tierwatch.core.store.schema import (
    alert_events,
    alerts,
    current_readings,
    current_status,
    exposures,
    heartbeats,
    maintenance_silences,
    maintenance_windows,
    outages,
    transitions,
    trap_events,
    unmonitored,
)

log = logging.getLogger(__name__)

NOT_RUNNING = "tierwatch was not running"  # the reason of a gap between two starts


@dataclass(frozen=True)
class Interval:
    start: float
    end: float | None  # None: still open
    reason: str = ""  # unmonitored intervals: why nobody was watching, as recorded


@dataclass(frozen=True)
class Outage:
    id: int
    kind: str
    subject: str
    subsystem: str | None
    start: float
    end: float | None
    cause: str
    planned: bool
    affected: list[str] = field(default_factory=list)
    maintenance_id: int | None = None


def _outage(row: Any) -> Outage:
    return Outage(row.id, row.kind, row.subject, row.subsystem, row.start_ts, row.end_ts,
                  row.cause, bool(row.planned), json.loads(row.affected or "[]"),
                  row.maintenance_id)


@dataclass(frozen=True)
class AlertRecord:
    """One alert incident as the store keeps it (what `tierwatch alerts list` shows)."""

    id: int
    fingerprint: str
    alertname: str
    severity: str
    labels: dict[str, str]
    annotations: dict[str, str]
    state: str  # pending | firing | resolved
    value: float | None
    active_since: float
    fired: float | None
    resolved: float | None
    notified: float | None
    escalated: float | None
    muted: str | None
    acked: float | None
    acked_by: str | None
    ack_comment: str | None
    ack_until: float | None
    silence_id: str | None

    @property
    def is_acked(self) -> bool:
        return self.acked is not None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "fingerprint": self.fingerprint, "alertname": self.alertname,
            "severity": self.severity, "labels": self.labels, "annotations": self.annotations,
            "state": self.state, "value": self.value, "active_since": self.active_since,
            "fired": self.fired, "resolved": self.resolved, "notified": self.notified,
            "escalated": self.escalated, "muted": self.muted,
            "ack": None if self.acked is None else {
                "ts": self.acked, "by": self.acked_by, "comment": self.ack_comment,
                "until": self.ack_until},
        }


def alert_record(row: Any) -> AlertRecord:
    return AlertRecord(row.id, row.fingerprint, row.alertname, row.severity,
                       json.loads(row.labels or "{}"), json.loads(row.annotations or "{}"),
                       row.state, row.value, row.active_since, row.fired_ts, row.resolved_ts,
                       row.notified_ts, row.escalated_ts, row.muted, row.acked_ts,
                       row.acked_by, row.ack_comment, row.ack_until, row.silence_id)


class NotFound(LookupError):
    """No such alert or window (the message says which)."""


MIGRATION_LOCK = 0x7469657277  # "tierw": the advisory lock migrations take on PostgreSQL


def migrate(engine: Engine) -> None:
    """Bring the database to the newest schema revision."""
    from alembic import command
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    # no `sqlalchemy.url`: Alembic keeps options in a ConfigParser, which takes '%' for its
    # interpolation (a %-escaped password crashed the start) and would hold the password;
    # the migrations run on the connection handed over below
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # shards starting together on a fresh database: one migrates, the others wait
            # for its commit and then find nothing left to do
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def _prepare_sqlite_file(path: Path) -> None:
    """A new store file is made 0600 before SQLite opens it (SQLite would make it 0644 less
    the umask; its -wal and -shm files take the database file's mode). An existing one
    that other users may read is left as it is, with a warning: chmod is the operator's."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if create_with_mode(path, STORE_MODE):
        return
    with contextlib.suppress(OSError):
        mode = path.stat().st_mode & 0o777
        if mode & 0o007:
            log.warning("the store %s is open to other users (mode %04o): it holds the site's "
                        "history and the API token hashes; chmod 600 %s (and its -wal, -shm)",
                        path, mode, path)


class StoreUnavailable(Exception):
    """The store cannot be opened or brought to the newest schema. The message says which
    store (never its password), what is wrong and what to do; it is meant for a person."""


def _sqlite_file(url: URL) -> Path | None:
    """The database file of an SQLite URL; None for an in-memory or a URI-form database."""
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    return Path(database)


def _unavailable(url: URL, exc: Exception, schema: bool = False) -> StoreUnavailable:
    """What an operator needs from a failure to open the store: which, what, what to do.
    `schema`: the database opened but its schema revision is not one this version knows."""
    lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    said = lines[0] if lines else type(exc).__name__
    path = _sqlite_file(url) if url.get_backend_name() == "sqlite" else None
    which = str(path.resolve()) if path else url.render_as_string(hide_password=True)
    if schema:
        return StoreUnavailable(
            f"the store {which} has a schema this tierwatch does not know ({said}): it was "
            f"written by a newer version; run that version, or restore a backup made with "
            f"this one")
    if path is None:
        return StoreUnavailable(f"the store {which} cannot be used: {said}")
    if isinstance(exc, DBAPIError) and not isinstance(exc, OperationalError):
        # SQLITE_CORRUPT, SQLITE_NOTADB: the file itself is damaged or not a database
        return StoreUnavailable(
            f"the store {which} is damaged or is not an SQLite database (SQLite: {said}). "
            f"Restore it from the last backup (docs/operations.md, \"Back up the store\"), "
            f"or move it aside to start with an empty store: "
            f"mv {which} {which}.damaged (and its -wal and -shm files, if any)")
    return StoreUnavailable(
        f"the store {which} cannot be opened ({said}): check that the file and its "
        f"directory belong to the user tierwatch runs as, and that the disk is not full")


class Store:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # an active/standby pair's leader writes only while its lease token is current
        self.fence: Fence | None = None
        # the write transaction open in this thread or task, which inner writes join
        self._open_write: contextvars.ContextVar[Connection | None] = contextvars.ContextVar(
            f"store-write-{id(self)}", default=None)

    @contextlib.contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction: committed when the block ends, rolled back if it raises.
        Every write of the monitor's record goes through here (store/fencing.py): with a
        fence, the transaction first checks this instance's lease token and raises Fenced,
        writing nothing, when another instance has taken over.

        A write inside another (in the same thread or task) joins it: what one status
        change leaves (its transitions, outages, the current status) commits at once or
        not at all, so a process killed between two of them cannot leave a record the
        next leader would repeat or miss. Never await, nor start a task, inside a write."""
        joined = self._open_write.get()
        if joined is not None:
            yield joined
            return
        with self.engine.begin() as conn:
            if self.fence is not None:
                self.fence.check(conn)
            mark = self._open_write.set(conn)
            try:
                yield conn
            finally:
                self._open_write.reset(mark)

    def confirm_lease(self) -> None:
        """Raise Fenced unless this instance may write now (before an act outside the
        store that only the leader may do, such as sending a page)."""
        if self.fence is not None:
            with self.write():
                pass

    @classmethod
    def open(cls, url: str | URL) -> Store:
        """Open the store at an SQLAlchemy URL and migrate it to the newest schema.
        Raises StoreUnavailable, with what to do, when it cannot be used."""
        from alembic.util.exc import CommandError  # a revision this version does not know

        url = make_url(url)
        try:
            engine = cls._engine(url)
        except (OSError, ArgumentError, ImportError) as exc:
            # the SQLite file's directory cannot be made; no such dialect or driver
            raise _unavailable(url, exc) from exc
        try:
            migrate(engine)
        except DatabaseError as exc:
            engine.dispose()
            raise _unavailable(url, exc) from exc
        except CommandError as exc:
            engine.dispose()
            raise _unavailable(url, exc, schema=True) from exc
        return cls(engine)

    @staticmethod
    def _engine(url: URL) -> Engine:
        kwargs: dict[str, Any] = {}
        sqlite = url.get_backend_name() == "sqlite"
        if sqlite:
            kwargs["connect_args"] = {"check_same_thread": False}
            path = _sqlite_file(url)
            if path is None:
                if not url.database or url.database == ":memory:":
                    kwargs["poolclass"] = StaticPool  # one shared in-memory database
            else:
                _prepare_sqlite_file(path)
        engine = create_engine(url, future=True, **kwargs)
        if sqlite:
            from sqlalchemy import event

            @event.listens_for(engine, "connect")
            def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
                cur.execute("PRAGMA synchronous=NORMAL")
                cur.execute("PRAGMA busy_timeout=5000")
                cur.close()

        return engine

    def close(self) -> None:
        self.engine.dispose()

    # ------------------------------------------------------------------ transitions

    def record_changes(self, changes: Sequence[StatusChange]) -> None:
        """Device and component transitions from the state."""
        if not changes:
            return
        rows = [{
            "ts": c.ts,
            "kind": "device" if c.component == "device" else "component",
            "subject": c.device if c.component == "device" else f"{c.device}/{c.component}",
            "subsystem": None,
            "old": str(c.old) if c.old is not None else None,
            "new": str(c.new),
            "reason": c.reason,
            "conditions": json.dumps(sorted(c.conditions)),
        } for c in changes]
        with self.write() as conn:
            conn.execute(insert(transitions), rows)

    def record_transition(self, kind: str, subject: str, old: str | None, new: str, ts: float,
                          reason: str = "", subsystem: str | None = None,
                          conditions: Iterable[str] = ()) -> None:
        with self.write() as conn:
            conn.execute(insert(transitions).values(
                ts=ts, kind=kind, subject=subject, subsystem=subsystem, old=old, new=new,
                reason=reason, conditions=json.dumps(sorted(conditions))))

    def record_transitions(self, rows: Sequence[dict[str, Any]]) -> None:
        """Many transitions in one transaction: dicts with ts, kind, subject, new and
        optionally old, reason, subsystem, conditions (an iterable of names)."""
        if not rows:
            return
        values = [{
            "ts": row["ts"], "kind": row["kind"], "subject": row["subject"],
            "subsystem": row.get("subsystem"), "old": row.get("old"), "new": row["new"],
            "reason": row.get("reason", ""),
            "conditions": json.dumps(sorted(row.get("conditions", ()))),
        } for row in rows]
        with self.write() as conn:
            conn.execute(insert(transitions), values)

    def first_observation(self) -> float | None:
        """When this store first saw anything (its earliest transition or outage): time
        before it was not watched by tierwatch at all."""
        with self.engine.connect() as conn:
            first_transition = conn.execute(select(func.min(transitions.c.ts))).scalar()
            first_outage = conn.execute(select(func.min(outages.c.start_ts))).scalar()
        known = [float(t) for t in (first_transition, first_outage) if t is not None]
        return min(known) if known else None

    def transitions(self, kind: str | None = None, subject: str | None = None,
                    since: float | None = None, until: float | None = None) -> list[Any]:
        query = select(transitions).order_by(transitions.c.ts, transitions.c.id)
        if kind:
            query = query.where(transitions.c.kind == kind)
        if subject:
            query = query.where(transitions.c.subject == subject)
        if since is not None:
            query = query.where(transitions.c.ts >= since)
        if until is not None:
            query = query.where(transitions.c.ts < until)
        with self.engine.connect() as conn:
            return list(conn.execute(query))

    # ------------------------------------------------------------------ outages

    def open_outage(self, kind: str, subject: str, start: float, cause: str,
                    subsystem: str | None = None, planned: bool = False,
                    affected: Iterable[str] = (), maintenance_id: int | None = None) -> int:
        """Open an outage unless one is already open for the subject; returns its id."""
        with self.write() as conn:
            existing = conn.execute(select(outages.c.id).where(
                outages.c.kind == kind, outages.c.subject == subject,
                outages.c.end_ts.is_(None))).scalar()
            if existing is not None:
                return int(existing)
            result = conn.execute(insert(outages).values(
                kind=kind, subject=subject, subsystem=subsystem, start_ts=start, cause=cause,
                planned=planned, affected=json.dumps(sorted(set(affected))),
                maintenance_id=maintenance_id))
            return int(result.inserted_primary_key[0])  # type: ignore[index]

    def close_outage(self, kind: str, subject: str, end: float) -> bool:
        with self.write() as conn:
            result = conn.execute(update(outages).where(
                outages.c.kind == kind, outages.c.subject == subject,
                outages.c.end_ts.is_(None)).values(end_ts=end))
            return bool(result.rowcount)

    def add_outage_affected(self, kind: str, subject: str, loads: Iterable[str]) -> bool:
        """Add loads to the `affected` list of the subject's open outage (if one is open)."""
        with self.write() as conn:
            row = conn.execute(select(outages.c.id, outages.c.affected).where(
                outages.c.kind == kind, outages.c.subject == subject,
                outages.c.end_ts.is_(None))).first()
            if row is None:
                return False
            merged = sorted(set(json.loads(row.affected or "[]")) | set(loads))
            conn.execute(update(outages).where(outages.c.id == row.id)
                         .values(affected=json.dumps(merged)))
            return True

    def open_outages(self, kind: str | None = None) -> list[Outage]:
        query = select(outages).where(outages.c.end_ts.is_(None))
        if kind:
            query = query.where(outages.c.kind == kind)
        with self.engine.connect() as conn:
            return [_outage(r) for r in conn.execute(query.order_by(outages.c.start_ts))]

    def outages(self, since: float | None = None, until: float | None = None,
                kind: str | None = None, subject: str | None = None,
                subsystem: str | None = None) -> list[Outage]:
        """Outages overlapping [since, until)."""
        query = select(outages).order_by(outages.c.start_ts, outages.c.id)
        if since is not None:
            query = query.where(or_(outages.c.end_ts.is_(None), outages.c.end_ts > since))
        if until is not None:
            query = query.where(outages.c.start_ts < until)
        if kind:
            query = query.where(outages.c.kind == kind)
        if subject:
            query = query.where(outages.c.subject == subject)
        if subsystem:
            query = query.where(outages.c.subsystem == subsystem)
        with self.engine.connect() as conn:
            return [_outage(r) for r in conn.execute(query)]

    # ------------------------------------------------------------------ exposure

    def open_exposure(self, kind: str, subject: str, start: float,
                      subsystem: str | None = None, detail: str = "") -> None:
        with self.write() as conn:
            open_ = conn.execute(select(exposures.c.id).where(
                exposures.c.kind == kind, exposures.c.subject == subject,
                exposures.c.end_ts.is_(None))).scalar()
            if open_ is None:
                conn.execute(insert(exposures).values(kind=kind, subject=subject,
                                                      subsystem=subsystem, start_ts=start,
                                                      detail=detail))

    def close_exposure(self, kind: str, subject: str, end: float) -> None:
        with self.write() as conn:
            conn.execute(update(exposures).where(
                exposures.c.kind == kind, exposures.c.subject == subject,
                exposures.c.end_ts.is_(None)).values(end_ts=end))

    def exposures(self, since: float | None = None, until: float | None = None,
                  kind: str | None = None, *, kinds: Iterable[str] | None = None,
                  subject: str | None = None, subsystem: str | None = None,
                  with_subsystem: bool = False, open_only: bool = False) -> list[Any]:
        """Exposure intervals overlapping [since, until). `with_subsystem` keeps only the
        intervals the tier engine records (per load and capacity group, subsystem set),
        leaving out the device-level ones."""
        query = select(exposures).order_by(exposures.c.start_ts, exposures.c.id)
        if since is not None:
            query = query.where(or_(exposures.c.end_ts.is_(None), exposures.c.end_ts > since))
        if until is not None:
            query = query.where(exposures.c.start_ts < until)
        if kind:
            query = query.where(exposures.c.kind == kind)
        if kinds is not None:
            query = query.where(exposures.c.kind.in_(list(kinds)))
        if subject is not None:
            query = query.where(exposures.c.subject == subject)
        if subsystem is not None:
            query = query.where(exposures.c.subsystem == subsystem)
        if with_subsystem:
            query = query.where(exposures.c.subsystem.is_not(None))
        if open_only:
            query = query.where(exposures.c.end_ts.is_(None))
        with self.engine.connect() as conn:
            return list(conn.execute(query))

    # ------------------------------------------------------------------ current status

    def set_current(self, changes: Sequence[StatusChange], writer: str) -> None:
        """Upsert the status each change leaves its device or component in."""
        if not changes:
            return
        latest: dict[tuple[str, str], dict[str, Any]] = {}
        for c in changes:  # a batch may move one component twice: the last move wins
            latest[(c.device, c.component)] = {
                "device": c.device, "component": c.component, "status": str(c.new),
                "reason": c.reason, "conditions": json.dumps(sorted(c.conditions)),
                "reachable": ("unreachable" not in c.conditions) if c.component == "device"
                else None,
                "ts": c.ts, "writer": writer}
        with self.write() as conn:
            _upsert(conn, current_status, list(latest.values()), ["device", "component"])

    def current_status(self) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(select(current_status).order_by(
                current_status.c.device, current_status.c.component)))

    def set_readings(self, device: str, samples: Sequence[tuple[str, dict[str, str], float]],
                     ts: float, writer: str) -> None:
        row = {"device": device, "samples": json.dumps(samples, ensure_ascii=False),
               "ts": ts, "writer": writer}
        with self.write() as conn:
            _upsert(conn, current_readings, [row], ["device"])

    def current_readings(self) -> dict[str, list[tuple[str, dict[str, str], float]]]:
        with self.engine.connect() as conn:
            rows = list(conn.execute(select(current_readings)))
        return {r.device: [(n, dict(lab), float(v)) for n, lab, v in json.loads(r.samples)]
                for r in rows}

    def heartbeats(self) -> dict[str, float]:
        """instance -> its last sign of life."""
        with self.engine.connect() as conn:
            return {r.instance: float(r.ts) for r in conn.execute(select(heartbeats))}

    # ------------------------------------------------------------------ monitoring gaps

    def start_instance(self, instance: str, now: float, max_silence: float) -> Interval | None:
        """Record a start; if the last heartbeat is older than `max_silence`, the time since
        is unmonitored (returned). Outages open at shutdown stay open: nothing closes them
        but a fresh observation."""
        gap: Interval | None = None
        with self.write() as conn:
            row = conn.execute(select(heartbeats).where(
                heartbeats.c.instance == instance)).first()
            if row is not None and now - row.ts > max_silence:
                gap = Interval(row.ts, now)
                conn.execute(insert(unmonitored).values(
                    start_ts=row.ts, end_ts=now, reason=NOT_RUNNING))
            if row is None:
                conn.execute(insert(heartbeats).values(instance=instance, started_ts=now,
                                                       ts=now))
            else:
                conn.execute(update(heartbeats).where(heartbeats.c.instance == instance)
                             .values(started_ts=now, ts=now))
        if gap:
            log.warning("no heartbeat from %.0f to %.0f: recorded as unmonitored", gap.start,
                        gap.end or now)
        return gap

    def heartbeat(self, instance: str, now: float) -> None:
        with self.write() as conn:
            conn.execute(update(heartbeats).where(heartbeats.c.instance == instance)
                         .values(ts=now))

    def last_heartbeat(self) -> float | None:
        """The latest sign of life of any instance (None: never started)."""
        with self.engine.connect() as conn:
            found = conn.execute(select(func.max(heartbeats.c.ts))).scalar()
        return None if found is None else float(found)

    def add_unmonitored(self, start: float, end: float, reason: str) -> None:
        with self.write() as conn:
            conn.execute(insert(unmonitored).values(start_ts=start, end_ts=end, reason=reason))

    def unmonitored(self, since: float | None = None, until: float | None = None
                    ) -> list[Interval]:
        query = select(unmonitored).order_by(unmonitored.c.start_ts)
        if since is not None:
            query = query.where(unmonitored.c.end_ts > since)
        if until is not None:
            query = query.where(unmonitored.c.start_ts < until)
        with self.engine.connect() as conn:
            return [Interval(r.start_ts, r.end_ts, r.reason or "") for r in conn.execute(query)]

    # ------------------------------------------------------------------ maintenance

    def add_maintenance(self, title: str, start: float, end: float, scope: dict[str, Any],
                        created_by: str, now: float, recurrence: str = "none",
                        until: float | None = None, comment: str = "") -> int:
        if end <= start:
            raise ValueError("a maintenance window must end after it starts")
        with self.write() as conn:
            result = conn.execute(insert(maintenance_windows).values(
                title=title, start_ts=start, end_ts=end, recurrence=recurrence, until_ts=until,
                scope=json.dumps(scope, sort_keys=True), created_by=created_by,
                created_ts=now, comment=comment))
            return int(result.inserted_primary_key[0])  # type: ignore[index]

    def maintenance(self, include_deleted: bool = False) -> list[Any]:
        query = select(maintenance_windows).order_by(maintenance_windows.c.start_ts)
        if not include_deleted:
            query = query.where(maintenance_windows.c.deleted_ts.is_(None))
        with self.engine.connect() as conn:
            return list(conn.execute(query))

    def delete_maintenance(self, window_id: int, now: float) -> bool:
        with self.write() as conn:
            result = conn.execute(update(maintenance_windows).where(and_(
                maintenance_windows.c.id == window_id,
                maintenance_windows.c.deleted_ts.is_(None))).values(deleted_ts=now))
            return bool(result.rowcount)

    def maintenance_window(self, window_id: int) -> Any | None:
        with self.engine.connect() as conn:
            return conn.execute(select(maintenance_windows).where(
                maintenance_windows.c.id == window_id)).first()

    def maintenance_silences(self, window_id: int | None = None, active_only: bool = True
                             ) -> list[Any]:
        query = select(maintenance_silences).order_by(maintenance_silences.c.id)
        if window_id is not None:
            query = query.where(maintenance_silences.c.window_id == window_id)
        if active_only:
            query = query.where(maintenance_silences.c.expired_ts.is_(None))
        with self.engine.connect() as conn:
            return list(conn.execute(query))

    def add_maintenance_silence(self, window_id: int, occurrence_start: float, matchers: str,
                                silence_id: str, now: float) -> bool:
        """Record a silence made for a window occurrence; False if one is already recorded
        (another process made it first)."""
        from sqlalchemy.exc import IntegrityError

        try:
            with self.write() as conn:
                conn.execute(insert(maintenance_silences).values(
                    window_id=window_id, occurrence_start=occurrence_start,
                    matchers=matchers[:255], silence_id=silence_id, created_ts=now))
                # the window row names its latest silence (the table keeps them all)
                conn.execute(update(maintenance_windows).where(
                    maintenance_windows.c.id == window_id).values(silence_id=silence_id))
            return True
        except IntegrityError:
            return False

    def expire_maintenance_silence(self, row_id: int, now: float) -> None:
        with self.write() as conn:
            conn.execute(update(maintenance_silences).where(
                maintenance_silences.c.id == row_id).values(expired_ts=now))

    # ------------------------------------------------------------------ alerts

    def alerts(self, states: Iterable[str] | None = ("pending", "firing"),
               since: float | None = None, limit: int | None = None) -> list[AlertRecord]:
        """Alerts in these states (None: all), newest activity first; `since` keeps those
        active at or after that time."""
        query = select(alerts).order_by(alerts.c.active_since.desc(), alerts.c.id.desc())
        if states is not None:
            query = query.where(alerts.c.state.in_(list(states)))
        if since is not None:
            query = query.where(or_(alerts.c.resolved_ts.is_(None),
                                    alerts.c.resolved_ts >= since))
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return [alert_record(r) for r in conn.execute(query)]

    def alert(self, alert_id: int) -> AlertRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(alerts).where(alerts.c.id == alert_id)).first()
        return alert_record(row) if row is not None else None

    def find_alert(self, ref: str) -> AlertRecord:
        """An alert by id, or by its whole fingerprint (the newest incident of it).

        Compared for equality, never as a pattern: a reference from an API path may hold
        `%` or `_`, and a prefix would let a short guess reach someone else's alert."""
        ref = ref.strip()
        if ref.isdigit():
            found = self.alert(int(ref))
            if found is None:
                raise NotFound(f"no alert with id {ref}")
            return found
        with self.engine.connect() as conn:
            row = conn.execute(select(alerts).where(alerts.c.fingerprint == ref)
                               .order_by(alerts.c.id.desc()).limit(1)).first()
        if row is None:
            raise NotFound(f"no alert with fingerprint {ref!r}")
        return alert_record(row)

    def ack_alert(self, alert_id: int, by: str, comment: str, now: float,
                  ack_for: float | None = None) -> AlertRecord:
        """Acknowledge an active alert: who, when, why. It stops re-notifying and is not
        escalated; after `ack_for` seconds (if given) the acknowledgement lapses."""
        if not by.strip():
            raise ValueError("an acknowledgement needs a name (who)")
        with self.write() as conn:
            row = conn.execute(select(alerts).where(alerts.c.id == alert_id)).first()
            if row is None:
                raise NotFound(f"no alert with id {alert_id}")
            if row.state == "resolved":
                raise ValueError(f"alert {alert_id} ({row.alertname}) is already resolved")
            until = now + ack_for if ack_for else None
            conn.execute(update(alerts).where(alerts.c.id == alert_id).values(
                acked_ts=now, acked_by=by.strip(), ack_comment=comment, ack_until=until))
            conn.execute(insert(alert_events).values(
                ts=now, alert_id=alert_id, fingerprint=row.fingerprint,
                alertname=row.alertname, kind="acked", actor=by.strip(), detail=comment))
            fresh = conn.execute(select(alerts).where(alerts.c.id == alert_id)).first()
        return alert_record(fresh)

    def alert_events(self, alert_id: int | None = None, since: float | None = None,
                     until: float | None = None, kinds: Iterable[str] | None = None
                     ) -> list[Any]:
        query = select(alert_events).order_by(alert_events.c.ts, alert_events.c.id)
        if alert_id is not None:
            query = query.where(alert_events.c.alert_id == alert_id)
        if since is not None:
            query = query.where(alert_events.c.ts >= since)
        if until is not None:
            query = query.where(alert_events.c.ts < until)
        if kinds is not None:
            query = query.where(alert_events.c.kind.in_(list(kinds)))
        with self.engine.connect() as conn:
            return list(conn.execute(query))

    def planned_events(self, since: float | None = None, until: float | None = None
                       ) -> list[Any]:
        """What happened inside maintenance windows: each alert a window held back, with
        the window's title (the availability report lists these as planned work)."""
        query = (select(alert_events, maintenance_windows.c.title)
                 .join(maintenance_windows,
                       maintenance_windows.c.id == alert_events.c.maintenance_id)
                 .where(alert_events.c.kind == "suppressed")
                 .order_by(alert_events.c.ts))
        if since is not None:
            query = query.where(alert_events.c.ts >= since)
        if until is not None:
            query = query.where(alert_events.c.ts < until)
        with self.engine.connect() as conn:
            return list(conn.execute(query))

    # ------------------------------------------------------------------ traps

    def record_trap_events(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            with self.write() as conn:
                conn.execute(insert(trap_events), list(rows))

    def count_trap_events(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(trap_events)).scalar_one())

    def prune_trap_events(self, before: float, keep: int) -> int:
        """Delete trap events older than `before`, and all but the newest `keep` (by id,
        which grows with every insert); answers how many rows went."""
        with self.write() as conn:
            gone = conn.execute(delete(trap_events).where(trap_events.c.ts < before)).rowcount
            newest = conn.execute(select(func.max(trap_events.c.id))).scalar()
            if newest is not None and newest > keep:
                gone += conn.execute(delete(trap_events).where(
                    trap_events.c.id <= newest - keep)).rowcount
        return int(gone or 0)

    def trap_events(self, since: float | None = None, device: str | None = None,
                    limit: int | None = None) -> list[Any]:
        query = select(trap_events).order_by(trap_events.c.ts.desc(), trap_events.c.id.desc())
        if since is not None:
            query = query.where(trap_events.c.ts >= since)
        if device is not None:
            query = query.where(trap_events.c.device == device)
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return list(conn.execute(query))

def _upsert(conn: Any, table: Table, rows: list[dict[str, Any]], keys: list[str]) -> None:
    """INSERT ... ON CONFLICT (keys) DO UPDATE, in SQLite's or PostgreSQL's dialect."""
    dialect_insert: Any
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    elif conn.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    else:  # pragma: no cover - other databases: delete and insert in one transaction
        for row in rows:
            conn.execute(delete(table).where(*(table.c[k] == row[k] for k in keys)))
        conn.execute(insert(table), rows)
        return
    stmt = dialect_insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=keys,
        set_={c.name: stmt.excluded[c.name] for c in table.columns if c.name not in keys})
    conn.execute(stmt, rows)
