"""One member of an active/standby pair (`ha.enabled`): the wiring of the roles.

The leadership (tierwatch/core/ha.py) decides who leads; this file says what each role
runs. Both members open the one PostgreSQL store and keep a `Service` built (config loaded,
profiles compiled):

* standby: `Service.start_standby()`, the store mirrored into the live state every 2 s
  (tierwatch/core/storefeed.py), /metrics and the API read-only (api/standby.py);
* leader: `Service.start()`, every room that polls, scores, records and pages, its writes
  fenced by the lease token (the store's fence is the leadership's).

A term's components are started once; stepping down stops them and builds the next term's
(`Service.successor()`) on the same live state, store and /metrics, so a member can lead
again. The API is pointed at each term's context as it begins.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable

from api.context import ApiContext
from tierwatch.config import Config
from tierwatch.core.ha import Leadership
from tierwatch.core.store import Store
from tierwatch.service import Service
from tierwatch.sharding import Shard

log = logging.getLogger(__name__)


class PairMember:
    def __init__(self, config: Config, publish: Callable[[ApiContext], None],
                 shard: Shard | None = None, tier_only: bool = False) -> None:
        """`publish`: hands the API the context of the term that begins."""
        self.store = Store.open(config.store.resolved_url())
        self.service = Service(config, shard=shard, tier_only=tier_only, store=self.store)
        # the lease is per role: "main", "tier" (the tier instance of a sharded site), a shard
        self.leadership = Leadership(self.store.engine, self.service.instance, config.ha,
                                     on_lead=self._lead, on_standby=self._stand_by)
        self.store.fence = self.leadership.fence
        self.service.metrics.register(self.leadership.collector())
        self._publish = publish

    def api_context(self) -> ApiContext:
        return dataclasses.replace(self.service.api_context(), ha=self.leadership)

    async def start(self) -> None:
        """Standby first; the first look at the lease may make this member the leader."""
        self._publish(self.api_context())
        await self.service.start_standby()
        await self.leadership.start()

    async def _lead(self, token: int) -> None:
        log.warning("leading (token %d): starting the rooms that poll, record and page", token)
        await self.service.start()

    async def _stand_by(self) -> None:
        ended = self.service
        await ended.stop()
        self.service = ended.successor()
        self._publish(self.api_context())
        await self.service.start_standby()

    async def stop(self) -> None:
        """Stop renewing, stop the rooms (a leader's last writes still under its token),
        then end the term in the store so the other member takes over at once."""
        await self.leadership.stop()
        try:
            await self.service.stop()
        finally:
            await self.leadership.resign()
            self.store.close()
