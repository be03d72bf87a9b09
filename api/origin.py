"""The status page's forms (/login, /logout) are taken only from this site's own pages.

Without this, a page on another site could post its own token to /login from a visitor's
browser (login CSRF: the visitor then reads, and acts on, the attacker's view) or log the
visitor out. A browser says where a request comes from in headers a page cannot set:

* `Sec-Fetch-Site` (sent by current browsers to HTTPS and loopback sites): only
  `same-origin` passes. `same-site` (a sibling host name) and `cross-site` are refused, and
  so is `none` (typed in or from a bookmark: no form of ours was used).
* `Origin` (sent with every POST by current browsers, over HTTP too): it must name this
  site, host and port as the browser addressed it (the `Host` header, or `X-Forwarded-Host`
  from a reverse proxy); `null` (a sandboxed frame, a privacy-stripped redirect) is refused.
* `Referer`, only when there is no `Origin` (browsers from before 2020): the same test.

A request with none of them is not from a browser that could have been led there by another
site (curl, a script, a monitoring probe): it is let through; what it sends is a token it
already holds, checked like any other. Each refusal is counted in
`tierwatch_http_refused_total{reason="cross_site"}`.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from fastapi import Request
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

_DEFAULT_PORT = {"http": 80, "https": 443}


def _authority(text: str, scheme: str) -> tuple[str, int] | None:
    """'host[:port]' -> (host, port) with the scheme's default port; None if malformed."""
    try:
        parts = urlsplit(f"{scheme}://{text.strip()}")
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname or parts.username is not None or parts.path:
        return None
    return parts.hostname.lower(), port if port is not None else _DEFAULT_PORT[scheme]


def _names_this_site(url: str, request: Request) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if parts.scheme not in _DEFAULT_PORT or not parts.netloc:
        return False
    seen = _authority(parts.netloc, parts.scheme)
    hosts = [request.headers.get("host", "")]
    forwarded = request.headers.get("x-forwarded-host")
    if forwarded:
        hosts.append(forwarded.split(",")[0])
    return seen is not None and any(seen == _authority(h, parts.scheme) for h in hosts if h)


def cross_site_reason(request: Request) -> str | None:
    """Why this request is not from one of this site's own pages, or None if it is (or
    carries nothing a browser would have sent)."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site.strip().lower() != "same-origin":
        return f"Sec-Fetch-Site is {fetch_site.strip()[:20]!r}, not same-origin"
    origin = request.headers.get("origin")
    if origin is not None:
        return None if _names_this_site(origin, request) else "Origin is another site"
    referer = request.headers.get("referer")
    if referer is not None and not _names_this_site(referer, request):
        return "Referer is another site"
    return None


class RefusedRequests(Collector):
    """tierwatch_http_refused_total{reason}: requests the HTTP side refused, by reason."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {"cross_site": 0}

    def count(self, reason: str) -> None:
        self.counts[reason] = self.counts.get(reason, 0) + 1

    def collect(self) -> Iterable[Metric]:
        family = CounterMetricFamily(
            "tierwatch_http_refused", "HTTP requests refused, by reason (cross_site: a "
            "session form sent from another site's page)", labels=["reason"])
        for reason, value in sorted(self.counts.items()):
            family.add_metric([reason], value)
        yield family
