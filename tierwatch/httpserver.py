"""Running the ASGI app inside the service's event loop (uvicorn, no extra process)."""

from __future__ import annotations

import asyncio
import logging
import socket

import uvicorn

from tierwatch.core.configtypes import split_host_port

log = logging.getLogger(__name__)


class HttpServer:
    def __init__(self, app: object, listen: str) -> None:
        host, port = split_host_port(listen, default_port=None)
        assert port is not None
        self.host, self.port = host.strip("[]"), port
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None
        self.app = app

    async def start(self) -> tuple[str, int]:
        """Bind (port 0 picks a free one) and serve; returns the address actually bound."""
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        bound = sock.getsockname()[:2]
        config = uvicorn.Config(self.app, log_level="warning", access_log=False,  # type: ignore[arg-type]
                                lifespan="off", timeout_graceful_shutdown=2)
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        while not self._server.started:
            if self._task.done():
                self._task.result()  # raises the startup error
            await asyncio.sleep(0.01)
        self.host, self.port = bound[0], bound[1]
        return self.host, self.port

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, 5)
            except (TimeoutError, asyncio.CancelledError):
                self._task.cancel()
