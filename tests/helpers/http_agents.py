"""Host agents on loopback that answer well or badly, for scrape and bad-input tests.

`serve(mode, body=...)` starts an HTTP server on a free loopback port that answers every
request in one way:

* `ok`: 200, the Prometheus text format `body` (changeable between scrapes: `agent.body`);
* `gzip`: 200, `body` gzip-compressed (Content-Encoding: gzip);
* `openmetrics`: 200, `body` as application/openmetrics-text;
* `html`: 200 with an HTML error page (a proxy's or a login page);
* `http_500`: 500 with an HTML body;
* `garbage`: 200 text/plain with random bytes;
* `huge`: 200 text/plain, valid lines without end (chunked, no Content-Length);
* `silent`: accepts the connection and never answers;
* `not_http`: answers with bytes that are not HTTP at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

HTML = (b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
        b"<body><h1>502 Bad Gateway</h1><hr>nginx</body></html>\n")


@dataclass
class Agent:
    host: str
    port: int
    mode: str
    body: bytes = b""
    requests: int = 0
    _writers: list[asyncio.StreamWriter] = field(default_factory=list)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/metrics"


def _response(status: str, content_type: str, body: bytes, extra: str = "") -> bytes:
    head = (f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n{extra}Connection: close\r\n\r\n")
    return head.encode() + body


async def _handle(agent: Agent, reader: asyncio.StreamReader,
                  writer: asyncio.StreamWriter) -> None:
    agent._writers.append(writer)
    task = asyncio.current_task()
    if task is not None:
        agent._tasks.append(task)  # type: ignore[arg-type]
    try:
        while await reader.readline() not in (b"\r\n", b"\n", b""):
            pass
        agent.requests += 1
        mode = agent.mode
        if mode == "silent":
            await asyncio.sleep(3600)
            return
        if mode == "ok":
            writer.write(_response("200 OK", "text/plain; version=0.0.4; charset=utf-8",
                                   agent.body))
        elif mode == "gzip":
            writer.write(_response("200 OK", "text/plain; version=0.0.4",
                                   gzip.compress(agent.body), "Content-Encoding: gzip\r\n"))
        elif mode == "openmetrics":
            writer.write(_response("200 OK", "application/openmetrics-text; version=1.0.0",
                                   agent.body))
        elif mode == "html":
            writer.write(_response("200 OK", "text/html; charset=utf-8", HTML))
        elif mode == "http_500":
            writer.write(_response("500 Internal Server Error", "text/html", HTML))
        elif mode == "garbage":
            writer.write(_response("200 OK", "text/plain", os.urandom(4096)))
        elif mode == "not_http":
            writer.write(b"\x00\x01\x02 SSH-2.0-OpenSSH_9.2\r\n" + os.urandom(64))
        elif mode == "huge":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"
                         b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
            line_no = 0
            while True:
                chunk = b"".join(b'node_filler{n="%d"} 1\n' % (line_no + i) for i in range(2000))
                line_no += 2000
                writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                await writer.drain()
        await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


@contextlib.asynccontextmanager
async def serve(mode: str, body: bytes = b"") -> AsyncIterator[Agent]:
    agent = Agent("127.0.0.1", 0, mode, body)
    server = await asyncio.start_server(lambda r, w: _handle(agent, r, w), "127.0.0.1", 0)
    agent.port = server.sockets[0].getsockname()[1]
    try:
        yield agent
    finally:
        server.close()
        for writer in agent._writers:
            with contextlib.suppress(Exception):
                writer.close()
        for task in agent._tasks:
            task.cancel()
        if agent._tasks:
            await asyncio.gather(*agent._tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 2)
