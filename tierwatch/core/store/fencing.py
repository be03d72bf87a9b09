"""Fencing: the one seam every write of an active/standby pair's leader passes through.

`Store.write()` opens a write transaction and, when the store has a `Fence`, first checks
in that same transaction that this instance's lease token is still the current one and
unexpired (store/ha.py, a shared row lock held until the commit). A write from a deposed
leader (a process that hung past its lease while the standby took over) is refused with
`Fenced` before anything is written, counted, and reported to the leadership, which steps
down. Without a fence (a single instance, SQLite) `write()` is a plain transaction.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy.engine import Connection

from tierwatch.core.store.ha import token_is_current

log = logging.getLogger(__name__)


class Fenced(Exception):
    """A write refused because this instance does not hold the lease (any more)."""


class Fence:
    """This instance's claim to write: the lease `name`, held by `holder` with `token` (None
    while it is not the leader: then every write is refused without asking)."""

    def __init__(self, name: str, holder: str,
                 on_refused: Callable[[str], None] | None = None) -> None:
        self.name = name
        self.holder = holder
        self.token: int | None = None
        self.refused = 0  # writes refused (tierwatch_ha_fenced_writes_total)
        self._on_refused = on_refused
        self._lock = threading.Lock()  # writes come from the loop and from worker threads

    def check(self, conn: Connection) -> None:
        """Raise Fenced unless this instance's token is current; call at the start of a
        write transaction, on its connection."""
        token = self.token
        if token is None:
            self._refuse("this instance is the standby: it holds no lease")
        elif not token_is_current(conn, self.name, self.holder, token):
            self._refuse(f"lease {self.name!r} token {token} is no longer current: "
                         f"another instance has taken over")

    def _refuse(self, why: str) -> None:
        with self._lock:
            self.refused += 1
        log.error("write refused (fenced): %s", why)
        if self._on_refused is not None:
            self._on_refused(why)
        raise Fenced(why)
