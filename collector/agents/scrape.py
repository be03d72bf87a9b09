"""Scrape a host agent that speaks the Prometheus text format, once.

node_exporter, windows_exporter, ipmi_exporter: one HTTP GET, the body size-limited and the
whole exchange under one deadline, parsed with prometheus_client's own parser (classic text
or OpenMetrics, by the answer's Content-Type), then mapped by the host's agent profiles
(`collector.agents.profile.AgentPlan`) into samples and component statuses.

Every failure is a `PollResult` with a reason, never an exception: `timeout`, `connect`,
`protocol` (not HTTP), `http_status`, `not_metrics` (an HTML page), `too_large`, `parse`,
`no_data`. The state counts them (`tierwatch_poll_errors_total{device,reason}`) and, after
N in a row, marks the host unreachable.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

import httpx
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as parse_openmetrics,
)
from prometheus_client.parser import text_string_to_metric_families as parse_text

from collector.agents.profile import AgentPlan, Mapped
from tierwatch.core.model import PollResult

# the classic text format first: every agent speaks it, and its parser is the lenient one
ACCEPT = "text/plain;version=0.0.4;q=1.0,application/openmetrics-text;q=0.5,*/*;q=0.1"
# bodies this large are parsed off the event loop, so probes and polls keep their schedule
PARSE_IN_THREAD_BYTES = 64 * 1024


@dataclass(frozen=True)
class AgentTarget:
    url: str
    timeout: float = 5.0  # the whole exchange: connect, headers, body
    max_body: int = 10 * 1000 * 1000  # bytes after decompression
    headers: Mapping[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:  # headers may hold a bearer token
        return f"AgentTarget(url={self.url!r}, timeout={self.timeout}, max_body={self.max_body})"


class AgentError(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass
class Scrape:
    """One scrape: the result the state takes, and what tierwatch reports about itself."""

    result: PollResult
    body_bytes: int = 0
    series_scraped: int = 0  # samples in the agent's answer
    series_kept: int = 0  # series the profiles kept


def open_client(verify_tls: bool | str = True) -> httpx.AsyncClient:
    """One client per agent: keep-alive to the agent, its own TLS settings."""
    return httpx.AsyncClient(verify=verify_tls, follow_redirects=False, trust_env=False,
                             timeout=None)


async def fetch(client: httpx.AsyncClient, target: AgentTarget) -> tuple[bytes, str]:
    """The body and Content-Type of the agent's answer; AgentError on any failure."""
    headers = {"Accept": ACCEPT, "Accept-Encoding": "gzip", **target.headers}
    try:
        async with asyncio.timeout(target.timeout):
            async with client.stream("GET", target.url, headers=headers) as response:
                if response.status_code != 200:
                    raise AgentError("http_status", f"HTTP {response.status_code} from the agent")
                content_type = response.headers.get("content-type", "")
                if content_type.split(";")[0].strip().lower() in ("text/html",
                                                                   "application/xhtml+xml"):
                    raise AgentError("not_metrics", f"the agent answered {content_type}, "
                                     "not metrics (an error page?)")
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > target.max_body:
                    raise AgentError("too_large", f"body of {int(declared)} bytes is over the "
                                     f"{target.max_body}-byte limit")
                chunks: list[bytes] = []
                size = 0
                # decoded bytes are counted: a small gzip body must not unpack without end
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > target.max_body:
                        raise AgentError("too_large", f"body over the {target.max_body}-byte "
                                         "limit; scrape abandoned")
                    chunks.append(chunk)
                return b"".join(chunks), content_type
    except TimeoutError:
        raise AgentError("timeout", f"no complete answer within {target.timeout:g}s") from None
    except httpx.ConnectError as exc:
        raise AgentError("connect", f"cannot connect: {_why(exc)}") from None
    except (httpx.RemoteProtocolError, httpx.LocalProtocolError, httpx.DecodingError) as exc:
        raise AgentError("protocol", f"not a valid HTTP answer: {_why(exc)}") from None
    except httpx.HTTPError as exc:
        raise AgentError("http", f"{exc.__class__.__name__}: {_why(exc)}") from None


def _why(exc: BaseException) -> str:
    return str(exc) or exc.__class__.__name__


def _printable(text: str, limit: int = 160) -> str:
    """A parser message quotes the bad line: keep it short and free of control bytes."""
    cleaned = "".join(c if c.isprintable() else "\ufffd" for c in text)
    return cleaned if len(cleaned) <= limit else cleaned[:limit] + "..."


def parse_and_map(body: bytes, content_type: str, plan: AgentPlan,
                  base_labels: Mapping[str, str], ts: float) -> tuple[Mapped, int]:
    """Parse the body with prometheus_client's parser and map it; AgentError('parse')."""
    text = body.decode("utf-8", errors="replace")
    openmetrics = content_type.lower().startswith("application/openmetrics-text")
    counted = _Counting(parse_openmetrics(text) if openmetrics else parse_text(text))
    try:
        mapped = plan.map(counted, base_labels, ts)
    except Exception as exc:  # the parser raises ValueError mostly, but any is a bad body
        raise AgentError("parse", f"not the Prometheus text format: {_printable(_why(exc))}"
                         ) from None
    return mapped, counted.samples


class _Counting:
    """Iterates the parser's families, counting samples on the way (one pass, no copy)."""

    def __init__(self, families: Iterable[object]) -> None:
        self._families = families
        self.samples = 0

    def __iter__(self) -> Iterator[object]:
        for family in self._families:
            self.samples += len(getattr(family, "samples", ()))
            yield family


async def scrape(device_id: str, client: httpx.AsyncClient, target: AgentTarget,
                 plan: AgentPlan, base_labels: Mapping[str, str],
                 now: float | None = None) -> Scrape:
    """Scrape one agent once. Errors come back in the result, never raised."""
    ts = time.time() if now is None else now
    started = time.perf_counter()
    out = Scrape(PollResult(device_id, ts))
    try:
        body, content_type = await fetch(client, target)
        out.body_bytes = len(body)
        if not body.strip():
            raise AgentError("no_data", "the agent answered with an empty body")
        if len(body) > PARSE_IN_THREAD_BYTES:
            mapped, parsed = await asyncio.to_thread(parse_and_map, body, content_type, plan,
                                                     base_labels, ts)
        else:
            mapped, parsed = parse_and_map(body, content_type, plan, base_labels, ts)
        out.series_scraped, out.series_kept = parsed, mapped.kept
        if not mapped.samples:
            raise AgentError("no_data", f"none of the {parsed} series the agent sent is one "
                             "its profiles keep (wrong profile?)")
    except AgentError as exc:
        out.result.error = exc.reason
        out.result.message = str(exc)
    else:
        r = out.result
        r.samples, r.components, r.roles, r.metadata = (mapped.samples, mapped.components,
                                                        mapped.roles, mapped.metadata)
    out.result.duration = time.perf_counter() - started
    return out
