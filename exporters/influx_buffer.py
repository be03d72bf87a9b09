"""A bounded, durable queue of line-protocol batches: an SQLite file on local disk.

Every batch is committed here before it is sent and deleted only once the database has
accepted it, so an outage of the database, or a restart of tierwatch during one, loses
nothing while the queue fits in `max_bytes`. When a new batch would not fit, the oldest
batches go (their points are returned to the caller, who counts them): the newest data is
what an operator needs first after a long outage. Bodies are kept zlib-compressed, so the
bound buys roughly ten times more points than raw line protocol would.

One writer at a time (the exporter's flush task, from a worker thread); a lock keeps the
counters and the file consistent if that ever changes.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS batches (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created REAL NOT NULL,
    points INTEGER NOT NULL,
    size INTEGER NOT NULL,
    body BLOB NOT NULL
)
"""


@dataclass(frozen=True)
class Batch:
    id: int
    points: int
    size: int  # bytes on disk (compressed)
    lines: list[str]


class DiskBuffer:
    def __init__(self, path: Path, max_bytes: int) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._db = self._open(path)
        row = self._db.execute("SELECT COUNT(*), COALESCE(SUM(points), 0), "
                               "COALESCE(SUM(size), 0) FROM batches").fetchone()
        self.batches, self.points, self.bytes = int(row[0]), int(row[1]), int(row[2])
        if self.points:
            log.info("influx buffer %s holds %d points from before the restart", path,
                     self.points)

    @staticmethod
    def _open(path: Path) -> sqlite3.Connection:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            return DiskBuffer._connect(path)
        except sqlite3.DatabaseError as exc:
            # a damaged file must not keep the monitor from starting: set it aside, say so
            aside = path.with_name(f"{path.name}.damaged-{int(time.time())}")
            path.rename(aside)
            log.error("influx buffer %s is damaged (%s); moved to %s, starting empty",
                      path, exc, aside)
            return DiskBuffer._connect(path)

    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")  # a committed batch survives a power cut
        db.execute(_SCHEMA)
        db.execute("SELECT COUNT(*) FROM batches").fetchone()  # fails now if damaged
        return db

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # ------------------------------------------------------------------ writing

    def append(self, lines: list[str]) -> int:
        """Queue a batch; returns the points dropped to stay within the bound (oldest
        first, the new batch itself when it alone is too big)."""
        if not lines:
            return 0
        body = zlib.compress("\n".join(lines).encode("utf-8"), 1)
        size = len(body)
        with self._lock:
            if size > self.max_bytes:
                log.error("a batch of %d points (%d bytes) exceeds the whole influx buffer "
                          "(%d bytes): dropped", len(lines), size, self.max_bytes)
                return len(lines)
            dropped = 0
            self._db.execute("BEGIN IMMEDIATE")
            try:
                while self.bytes + size > self.max_bytes:
                    row = self._db.execute("SELECT id, points, size FROM batches "
                                           "ORDER BY id LIMIT 1").fetchone()
                    if row is None:
                        break
                    self._db.execute("DELETE FROM batches WHERE id = ?", (row[0],))
                    dropped += int(row[1])
                    self._count(-1, -int(row[1]), -int(row[2]))
                self._db.execute("INSERT INTO batches (created, points, size, body) "
                                 "VALUES (?, ?, ?, ?)", (time.time(), len(lines), size, body))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                self._reload_counts()
                raise
            self._count(1, len(lines), size)
            return dropped

    def oldest(self) -> Batch | None:
        with self._lock:
            row = self._db.execute("SELECT id, points, size, body FROM batches "
                                   "ORDER BY id LIMIT 1").fetchone()
        if row is None:
            return None
        text = zlib.decompress(row[3]).decode("utf-8")
        return Batch(int(row[0]), int(row[1]), int(row[2]), text.split("\n"))

    def remove(self, batch: Batch) -> None:
        with self._lock:
            cur = self._db.execute("DELETE FROM batches WHERE id = ?", (batch.id,))
            if cur.rowcount:
                self._count(-1, -batch.points, -batch.size)

    def split(self, batch: Batch) -> None:
        """Replace a batch by its two halves (the server found it too large)."""
        half = len(batch.lines) // 2
        self.remove(batch)
        for part in (batch.lines[:half], batch.lines[half:]):
            self.append(part)

    # ------------------------------------------------------------------ counters

    def _count(self, batches: int, points: int, size: int) -> None:
        self.batches += batches
        self.points += points
        self.bytes += size

    def _reload_counts(self) -> None:
        row = self._db.execute("SELECT COUNT(*), COALESCE(SUM(points), 0), "
                               "COALESCE(SUM(size), 0) FROM batches").fetchone()
        self.batches, self.points, self.bytes = int(row[0]), int(row[1]), int(row[2])
