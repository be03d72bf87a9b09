"""Run the service and its HTTP server until SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable

from api.context import ApiContext
from api.main import create_app, set_context
from tierwatch.config import Config
from tierwatch.core.gcsettle import settle_garbage_collector
from tierwatch.httpserver import HttpServer
from tierwatch.pair import PairMember
from tierwatch.service import Service
from tierwatch.sharding import Shard

log = logging.getLogger(__name__)


async def start(config: Config, listen: str | None = None, shard: Shard | None = None,
                tier_only: bool = False) -> tuple[Service | PairMember, HttpServer]:
    """The service (or, with `ha.enabled`, one member of a pair) and its HTTP server."""
    running: Service | PairMember
    if config.ha.enabled:
        app = None

        def publish(context: ApiContext) -> None:
            if app is not None:
                set_context(app, context)

        running = PairMember(config, publish, shard=shard, tier_only=tier_only)
        app = create_app(running.api_context())
    else:
        running = Service(config, shard=shard, tier_only=tier_only)
        app = create_app(running.api_context())
    server = HttpServer(app, listen or config.server.listen)
    await server.start()
    try:
        await running.start()
    except BaseException:  # a store that cannot be opened, ...: nothing left serving
        await running.stop()
        await server.stop()
        raise
    service = running.service if isinstance(running, PairMember) else running
    role = (f"shard {shard}" if shard else "the tier instance" if tier_only else "")
    if config.ha.enabled:
        role = f"{role + ', ' if role else ''}pair member {config.ha.instance}"
    log.info("tierwatch%s serving %s/metrics for %d devices; store %s",
             f" ({role})" if role else "", server.url, len(service.state.devices),
             config.store.resolved_url().render_as_string(hide_password=True))
    return running, server


async def run_forever(config: Config, listen: str | None = None,
                      on_started: Callable[[Service | PairMember, HttpServer], Awaitable[None]]
                      | None = None,
                      shard: Shard | None = None, tier_only: bool = False) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    service, server = await start(config, listen, shard=shard, tier_only=tier_only)
    settle_garbage_collector()
    try:
        if on_started is not None:
            await on_started(service, server)
        await stop.wait()
        log.info("stopping")
    finally:
        await service.stop()
        await server.stop()
