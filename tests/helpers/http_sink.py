"""A loopback HTTP server that answers writes with scripted statuses and records them.

For unit tests of push exporters: the real client library talks real HTTP to it, so
headers, compression and status handling are the library's, not a mock's.
"""

from __future__ import annotations

import contextlib
import gzip
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Request:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes  # decompressed when the client sent gzip


@dataclass
class Sink:
    url: str
    # statuses to answer, in order; once used up, `default` answers every request
    script: list[int | tuple[int, dict[str, str]]] = field(default_factory=list)
    default: int = 204
    requests: list[Request] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)  # the status each request got

    def accepted_lines(self) -> list[str]:
        """Lines of the requests answered 2xx."""
        out = []
        for req, status in zip(self.requests, self.answers, strict=True):
            if 200 <= status < 300:
                out.extend(line for line in req.body.decode().split("\n") if line)
        return out


@contextlib.contextmanager
def run_sink(script: list[int | tuple[int, dict[str, str]]] | None = None,
             default: int = 204) -> Iterator[Sink]:
    sink = Sink(url="", script=list(script or []), default=default)
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            if self.headers.get("Content-Encoding") == "gzip":
                raw = gzip.decompress(raw)
            parts = urllib.parse.urlsplit(self.path)
            with lock:
                item = sink.script.pop(0) if sink.script else sink.default
                status, headers = item if isinstance(item, tuple) else (item, {})
                sink.requests.append(Request(parts.path, urllib.parse.parse_qs(parts.query),
                                             dict(self.headers.items()), raw))
                sink.answers.append(status)
            body = b"" if status == 204 else b'{"code":"error","message":"scripted"}'
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    sink.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield sink
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
