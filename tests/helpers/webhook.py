"""A webhook receiver run by the test: records every POST (headers and JSON body).

Speaks Alertmanager's webhook shape, so it receives from Alertmanager and from tierwatch's
direct delivery alike. It can refuse (`status = 503`) or be down (`stop()`, then `start()`
again on the same port) to test retries.

    with webhook_receiver() as hook:
        ... point Alertmanager or tierwatch at hook.url ...
        hook.wait_for_alert("UpsOnBattery", "firing", timeout=30)
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.helpers.procs import free_port


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: Any
    ts: float

    def alerts(self) -> list[dict[str, Any]]:
        if isinstance(self.body, dict):
            return list(self.body.get("alerts") or [])
        return []


class WebhookReceiver:
    def __init__(self, port: int | None = None, path: str = "/hook") -> None:
        self.port = port or free_port()
        self.path = path
        self.status = 200
        self.received: list[Received] = []
        self.refused = 0
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"

    def start(self) -> WebhookReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if receiver.status >= 300:
                    with receiver._lock:
                        receiver.refused += 1
                    self.send_response(receiver.status)
                    self.end_headers()
                    return
                try:
                    body: Any = json.loads(raw)
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                with receiver._lock:
                    receiver.received.append(Received(self.path, dict(self.headers.items()),
                                                      body, time.time()))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *_: Any) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name=f"webhook:{self.port}")
        self._thread.start()
        return self

    def stop(self) -> None:
        """Down: the port refuses connections until start() again."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    # ------------------------------------------------------------------ reading

    def alerts(self, alertname: str | None = None, status: str | None = None
               ) -> list[dict[str, Any]]:
        """Every alert in every message received, in order (status as the message said)."""
        with self._lock:
            messages = list(self.received)
        out = []
        for message in messages:
            for alert in message.alerts():
                if alertname and alert.get("labels", {}).get("alertname") != alertname:
                    continue
                if status and alert.get("status") != status:
                    continue
                out.append(alert)
        return out

    def wait_for_alert(self, alertname: str, status: str, timeout: float,
                       **labels: str) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for alert in self.alerts(alertname, status):
                if all(alert.get("labels", {}).get(k) == v for k, v in labels.items()):
                    return alert
            time.sleep(0.1)
        got = [(a["labels"].get("alertname"), a.get("status")) for a in self.alerts()]
        raise AssertionError(f"no {status} {alertname} {labels or ''} within {timeout}s; "
                             f"got {got}")


@contextlib.contextmanager
def webhook_receiver(port: int | None = None) -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver(port).start()
    try:
        yield receiver
    finally:
        receiver.stop()
