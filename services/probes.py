"""Probes: each check of the `services:` section, from each of its sources (and, for DNS,
to each resolver), and the one function that runs a probe within its timeout.

`run_probe` never raises (but for cancellation): every way a check can end is a
`ProbeResult` with a reason: ok, timeout, conn_refused, reset, unreachable, dns (the name
did not resolve), tls (the handshake failed), cert_expired, cert_untrusted, hostname,
status, body, banner, starttls, answer, redirect, bad_answer (the server's bytes were
refused as hostile: `refusal` says which rule), error (a defect of ours: logged).
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from services.config import CheckConfig, Limits, ServicesConfig, Source, resolve_path
from services.http import http_probe
from services.mail import imap_probe, smtp_probe
from services.plain import dns_probe, tcp_probe
from services.result import CheckFailed, ProbeResult, Refused
from services.sip import sip_probe

log = logging.getLogger(__name__)

_UNREACHABLE = {errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EADDRNOTAVAIL}


@dataclass(frozen=True)
class Probe:
    key: str  # unique: service/check[/source][/resolver]
    service: str
    check: str  # the check's label
    kind: str  # http | dns | smtp | imap | sip | tcp
    source: str  # the source id ("" when none is configured)
    address: str | None  # the local address sent from
    agency: str | None  # the agency whose view this is (its vantage point), if any
    resolver: str | None  # DNS: the resolver asked
    config: CheckConfig
    interval: float
    timeout: float
    ca_file: str | None  # absolute

    @property
    def labels(self) -> tuple[str, str, str]:
        """(service, check, source) as metric labels; a DNS resolver is part of the check."""
        check = self.check if self.resolver is None else f"{self.check} @{self.resolver}"
        return self.service, check, self.source


def build_probes(section: ServicesConfig, base_dir: Path | None) -> list[Probe]:
    sources = {s.id: s for s in section.sources}
    out: list[Probe] = []
    for check in section.checks:
        ca_file = (str(resolve_path(check.ca_file, base_dir)) if check.ca_file is not None
                   else None)
        interval = check.interval or section.interval
        timeout = check.timeout or section.timeout
        froms: list[Source | None] = [sources[s] for s in check.sources] or [None]
        resolvers: list[str | None] = list(check.resolvers) if check.kind == "dns" else [None]
        for source in froms:
            for resolver in resolvers:
                parts = [check.service, check.label]
                if source is not None:
                    parts.append(f"from {source.id}")
                if resolver is not None:
                    parts.append(f"@{resolver}")
                out.append(Probe(
                    key="/".join(parts), service=check.service, check=check.label,
                    kind=check.kind, source=source.id if source else "",
                    address=source.address if source else None,
                    agency=source.agency if source else None, resolver=resolver,
                    config=check, interval=interval, timeout=timeout, ca_file=ca_file))
    return out


Runner = Callable[[Probe, Limits, ProbeResult], Awaitable[None]]


async def _http(p: Probe, limits: Limits, r: ProbeResult) -> None:
    await http_probe(p.config, p.address, limits, p.ca_file, r)


async def _smtp(p: Probe, limits: Limits, r: ProbeResult) -> None:
    await smtp_probe(p.config, p.address, limits, p.ca_file, r)


async def _imap(p: Probe, limits: Limits, r: ProbeResult) -> None:
    await imap_probe(p.config, p.address, limits, p.ca_file, r)


async def _sip(p: Probe, limits: Limits, r: ProbeResult) -> None:
    await sip_probe(p.config, p.address, limits, p.ca_file, r)


async def _tcp(p: Probe, limits: Limits, r: ProbeResult) -> None:
    await tcp_probe(p.config, p.address, limits, p.ca_file, r)


async def _dns(p: Probe, limits: Limits, r: ProbeResult) -> None:
    assert p.resolver is not None
    await dns_probe(p.config, p.address, limits, p.resolver, r)


RUNNERS: dict[str, Runner] = {"http": _http, "smtp": _smtp, "imap": _imap, "sip": _sip,
                              "tcp": _tcp, "dns": _dns}


async def run_probe(probe: Probe, limits: Limits,
                    clock: Callable[[], float] = time.time) -> ProbeResult:
    """Run one probe within its timeout; the result says how it ended."""
    result = ProbeResult(ok=False, reason="error", started=clock())
    began = time.perf_counter()
    try:
        async with asyncio.timeout(probe.timeout):
            await RUNNERS[probe.kind](probe, limits, result)
    except TimeoutError:
        _fail(result, "timeout", f"no complete answer within {probe.timeout:g}s")
    except CheckFailed as exc:
        _fail(result, exc.reason, str(exc))
    except Refused as exc:
        _fail(result, "bad_answer", str(exc))
        result.refusal = exc.reason
    except ssl.SSLCertVerificationError as exc:  # pragma: no cover - mapped by the checks
        _fail(result, "cert_untrusted", str(exc))
    except ssl.SSLError as exc:
        _fail(result, "tls", f"TLS handshake failed: {exc.reason or exc}")
    except ConnectionRefusedError:
        _fail(result, "conn_refused", "connection refused")
    except (ConnectionResetError, BrokenPipeError, ConnectionAbortedError):
        _fail(result, "reset", "the server reset the connection")
    except socket.gaierror as exc:
        _fail(result, "dns", f"cannot resolve: {exc.strerror or exc}")
    except OSError as exc:
        if exc.errno in _UNREACHABLE:
            _fail(result, "unreachable", exc.strerror or str(exc))
        else:
            _fail(result, "error", f"{type(exc).__name__}: {exc.strerror or exc}")
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # a defect of ours: the probe fails, the loop goes on
        log.exception("service check %s crashed", probe.key)
        _fail(result, "error", f"internal error: {type(exc).__name__}")
    else:
        result.ok = True
        result.reason = "ok"
        result.message = ""
    result.duration = time.perf_counter() - began
    return result


def _fail(result: ProbeResult, reason: str, message: str) -> None:
    result.ok = False
    result.reason = reason
    result.message = message
