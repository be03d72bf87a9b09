"""Leadership of an active/standby pair: which of two instances polls, records and pages.

Both instances run on one PostgreSQL store. Every `ha.renew` seconds each calls
`try_acquire` on the lease row named after the instance's role ("main", "tier"):
the holder renews it for `ha.lease` seconds, the other finds it held and stays standby
until it lapses, then takes it with the next token (store/ha.py; the database's clock
decides, never the instances'). The holder's writes carry that token (store/fencing.py).

The leadership only decides; what a role means is the wiring's (tierwatch/pair.py):
`on_lead(token)` starts the rooms that poll, score, record and page, `on_standby()` stops
them and keeps the live state warm from the store. An instance steps down when a renewal
shows somebody else holds the lease (or holds it under a newer token), when one of its
writes is fenced (a renewal then runs at once), and, with the store out of reach, when its
own lease would have lapsed (counted on the monotonic clock from before the last renewal
was sent): a deposed leader never pages on.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from pydantic import Field, model_validator
from sqlalchemy.engine import Engine

from tierwatch.core.configtypes import Duration, Strict
from tierwatch.core.store.fencing import Fence
from tierwatch.core.store.ha import Lease, release, try_acquire

log = logging.getLogger(__name__)


def default_instance() -> str:
    """hostname-pid: unique per process, and says where to look."""
    return f"{socket.gethostname()}-{os.getpid()}"


class HaConfig(Strict):
    """The `ha:` section: run as one member of an active/standby pair (docs/operations.md)."""

    enabled: bool = False
    # who this member is, in the lease row and in GET /api/v1/ha (default hostname-pid)
    instance: str = Field(default_factory=default_instance, min_length=1, max_length=255)
    lease: Duration = 10.0  # a leader that stops renewing is replaced after this long
    renew: Duration = 3.0  # how often the leader renews and the standby looks

    @model_validator(mode="after")
    def _renew_within_lease(self) -> HaConfig:
        if self.renew * 2 > self.lease:
            raise ValueError(f"ha.renew ({self.renew:g}s) must be at most half of ha.lease "
                             f"({self.lease:g}s): one late renewal must not lose the lease")
        return self


class Role(enum.StrEnum):
    LEADER = "leader"
    STANDBY = "standby"


OnLead = Callable[[int], Awaitable[None]]
OnStandby = Callable[[], Awaitable[None]]


class Leadership:
    """One pair member's side of the lease; a task from `start()` to `stop()`."""

    def __init__(self, engine: Engine, name: str, config: HaConfig, on_lead: OnLead,
                 on_standby: OnStandby, monotonic: Callable[[], float] = time.monotonic,
                 clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self.name = name
        self.config = config
        self.instance = config.instance
        self._on_lead = on_lead
        self._on_standby = on_standby
        self._monotonic = monotonic
        self._clock = clock
        self.fence = Fence(name, self.instance, on_refused=self._fenced)
        self.role = Role.STANDBY
        self.role_since = clock()
        self.lease: Lease | None = None  # the row as last read
        self.failovers = 0  # terms this member began after an earlier holder's
        self.renew_errors = 0
        self._valid_until = 0.0  # monotonic: this member's own lease lapses after this
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._changing = asyncio.Lock()

    # ------------------------------------------------------------------ lifetime

    async def start(self) -> None:
        """The first round at once (a member alone takes a free lease before returning),
        then one every `renew` seconds."""
        self._loop = asyncio.get_running_loop()
        await self.round()
        self._task = asyncio.create_task(self._run(), name="ha leadership")

    async def stop(self) -> None:
        """Stop renewing (the role stays as it is: the wiring stops the rooms, then
        `resign()`s). A round under way ends first: a renewal cancelled while its statement
        still ran could commit after the release and hold the lease on for a whole term."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), self.config.lease)
            except TimeoutError:  # the store does not answer: nothing of ours will commit
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
            self._task = None

    async def resign(self) -> None:
        """End this member's term in the store now (a clean stop, after its rooms stopped):
        the standby takes over at its next look instead of after the lease."""
        async with self._changing:
            token, self.fence.token = self.fence.token, None
            self.role, self.role_since = Role.STANDBY, self._clock()
            if token is None:
                return
            try:
                await asyncio.to_thread(release, self.engine, self.name, self.instance, token)
                log.info("lease %r released by %s (token %d)", self.name, self.instance,
                         token)
            except Exception:
                log.exception("releasing the lease %r failed: the standby takes over "
                              "when it lapses", self.name)

    async def _run(self) -> None:
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.config.renew)
            self._wake.clear()
            if not self._stopping:
                await self.round()

    def _fenced(self, why: str) -> None:
        """A write was refused (from the loop or a worker thread): look at the lease now."""
        if self._loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has closed: nothing to wake
                self._loop.call_soon_threadsafe(self._wake.set)

    # ------------------------------------------------------------------ one round

    async def _look(self) -> tuple[Lease | None, float]:
        """Renew or try to take the lease: the row after it (None: the store did not
        answer, counted), and when the request was sent (monotonic)."""
        sent = self._monotonic()
        try:
            lease = await asyncio.to_thread(try_acquire, self.engine, self.name,
                                            self.instance, self.config.lease, self.fence.token)
        except Exception as exc:
            self.renew_errors += 1
            log.warning("lease %r: the store did not answer (%s)", self.name, exc)
            return None, sent
        self.lease = lease
        if lease.ours and lease.token == self.fence.token:
            self._valid_until = sent + self.config.lease  # renewed
        return lease, sent

    async def round(self) -> None:
        """Renew or try to take the lease once, and change role if the answer says so."""
        async with self._changing:
            lease, sent = await self._look()
            if lease is None:
                if self.role is Role.LEADER and self._monotonic() >= self._valid_until:
                    await self._become_standby("the lease lapsed while the store was out of "
                                               "reach")
                return
            if self.role is Role.LEADER:
                if lease.ours and lease.token == self.fence.token:
                    return
                await self._become_standby(
                    f"the lease is held by {lease.holder} (token {lease.token})"
                    if not lease.ours
                    else f"the lease lapsed (token {self.fence.token} -> {lease.token})")
            if lease.ours:
                await self._become_leader(lease, sent)

    async def _become_leader(self, lease: Lease, sent: float) -> None:
        self.fence.token = lease.token
        self._valid_until = sent + self.config.lease
        self.role, self.role_since = Role.LEADER, self._clock()
        if lease.token > 1:
            self.failovers += 1
        log.warning("lease %r taken by %s with token %d: leading", self.name, self.instance,
                    lease.token)
        # starting the rooms may take longer than a lease: renew meanwhile (what the
        # answers say is acted on by the next round, once the rooms are up)
        keep = asyncio.create_task(self._renew_while_starting(), name="ha renew (starting)")
        try:
            await self._on_lead(lease.token)
        except Exception:
            log.exception("starting the leader's rooms failed: stepping down")
            await self._become_standby("the leader's rooms did not start")
            with contextlib.suppress(Exception):
                await asyncio.to_thread(release, self.engine, self.name, self.instance,
                                        lease.token)
        finally:
            keep.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keep

    async def _renew_while_starting(self) -> None:
        while True:
            await asyncio.sleep(self.config.renew)
            await self._look()

    async def _become_standby(self, why: str) -> None:
        # writes are refused from this moment on, before the rooms stop
        self.fence.token = None
        self.role, self.role_since = Role.STANDBY, self._clock()
        log.warning("lease %r: %s standing down: %s", self.name, self.instance, why)
        try:
            await self._on_standby()
        except Exception:
            log.exception("stopping the leader's rooms failed")

    # ------------------------------------------------------------------ reading

    def status(self) -> dict[str, Any]:
        """What GET /api/v1/ha answers."""
        lease = self.lease
        return {
            "enabled": True, "role": str(self.role), "instance": self.instance,
            "lease_name": self.name,
            "holder": lease.holder if lease is not None and lease.expires > lease.now else None,
            "token": lease.token if lease is not None else None,
            "lease_expires": lease.expires if lease is not None else None,
            "since": lease.acquired if lease is not None else None,
            "role_since": self.role_since,
            "failovers": self.failovers, "fenced_writes": self.fence.refused,
        }

    def leader_text(self) -> str:
        """Who to send writes to, as a person reads it."""
        lease = self.lease
        if lease is None or lease.expires <= lease.now or lease.holder == self.instance:
            return "no leader holds the lease right now; retry in a few seconds"
        return f"the leader is {lease.holder} (lease token {lease.token}): send writes there"

    def collector(self) -> Collector:
        return _HaCollector(self)


class _HaCollector(Collector):
    def __init__(self, ha: Leadership) -> None:
        self.ha = ha

    def collect(self) -> Iterator[Metric]:
        ha = self.ha
        role = GaugeMetricFamily("tierwatch_ha_role", "This pair member's role (1: current)",
                                 labels=["role"])
        for name in Role:
            role.add_metric([str(name)], 1.0 if ha.role is name else 0.0)
        yield role
        yield CounterMetricFamily("tierwatch_ha_failovers",
                                  "Terms this member began after an earlier holder's",
                                  value=ha.failovers)
        yield CounterMetricFamily("tierwatch_ha_fenced_writes",
                                  "Writes refused because this member's lease token was "
                                  "not current", value=ha.fence.refused)
        yield CounterMetricFamily("tierwatch_ha_renew_errors",
                                  "Lease renewals or looks the store did not answer",
                                  value=ha.renew_errors)
        if ha.lease is not None:
            yield GaugeMetricFamily("tierwatch_ha_lease_expiry_timestamp_seconds",
                                    "When the lease as last read expires (the database's "
                                    "clock)", value=ha.lease.expires)
            yield GaugeMetricFamily("tierwatch_ha_lease_token",
                                    "The lease's fencing token as last read",
                                    value=ha.lease.token)
