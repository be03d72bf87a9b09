"""The plain TCP check (connect; optionally TLS at once; optionally a greeting that must
match `banner`) and the DNS check (the answer for a name from one resolver, by dnspython).

A banner is read line by line through the bounded reader: at most `limits.banner_bytes`
and `limits.line_bytes` per line, until a line matches or the bound is reached. A DNS
answer is parsed by dnspython (which refuses malformed messages); its rcode must be
NOERROR, it must hold records of the asked type and, with `expect`, every expected value.
"""

from __future__ import annotations

import asyncio
import re
import ssl
import time

import dns.asyncquery
import dns.exception
import dns.message
import dns.rcode
import dns.rdatatype

from services.config import CheckConfig, Limits, _host_port
from services.http import resolve
from services.result import BoundedReader, CheckFailed, ProbeResult, Refused, text
from services.tlsinfo import context, peer_cert, read_unverified, tls_version, verify_reason


async def tcp_probe(check: CheckConfig, local: str | None, limits: Limits,
                    ca_file: str | None, result: ProbeResult) -> None:
    host, port = _host_port(check.target, None)
    mark = time.perf_counter()
    address = await resolve(host, port)
    now = time.perf_counter()
    result.phases["dns"], mark = now - mark, now
    reader, writer = await asyncio.open_connection(
        address, port, local_addr=(local, 0) if local else None, limit=limits.line_bytes)
    try:
        now = time.perf_counter()
        result.phases["connect"], mark = now - mark, now
        if check.tls:
            name = check.server_name or host
            try:
                await writer.start_tls(context(ca_file, check.tls_min, True),
                                       server_hostname=name)
            except ssl.SSLCertVerificationError as exc:
                reason, message = verify_reason(exc)
                cert = await read_unverified(address, port, name, local, f"{host}:{port}",
                                             message, check.tls_min)
                if cert is not None:
                    result.certs.append(cert)
                raise CheckFailed(reason, message) from None
            now = time.perf_counter()
            result.phases["tls"], mark = now - mark, now
            result.tls_version = tls_version(writer)
            cert = peer_cert(writer, f"{host}:{port}", True)
            if cert is not None:
                result.certs.append(cert)
        if check.banner is not None:
            pattern = re.compile(check.banner)
            lines = BoundedReader(reader, limits.line_bytes, limits.banner_bytes, 1000)
            while True:
                try:
                    line = await lines.line()
                except Refused as exc:
                    if exc.reason in ("closed", "truncated"):
                        raise CheckFailed("banner", "the greeting ended without a line "
                                                    f"matching {check.banner!r}") from None
                    raise
                if "first_byte" not in result.phases:
                    result.phases["first_byte"] = time.perf_counter() - mark
                if pattern.search(line.decode("utf-8", "replace")):
                    return
    finally:
        writer.close()


async def dns_probe(check: CheckConfig, local: str | None, limits: Limits,
                    resolver: str, result: ProbeResult) -> None:
    host, port = _host_port(resolver, 53)
    rdtype = dns.rdatatype.from_text(check.type)
    query = dns.message.make_query(check.target, rdtype)
    mark = time.perf_counter()
    try:
        if check.transport == "tcp":
            answer = await dns.asyncquery.tcp(query, host, port=port, source=local,
                                              timeout=None)
        else:
            answer = await dns.asyncquery.udp(query, host, port=port, source=local,
                                              timeout=None, ignore_unexpected=True)
    except dns.exception.FormError as exc:
        raise Refused("garbage", f"malformed DNS answer: {exc}") from None
    except dns.message.BadTSIG as exc:  # pragma: no cover - no TSIG asked
        raise Refused("garbage", f"DNS answer: {exc}") from None
    except dns.exception.DNSException as exc:
        if isinstance(exc, dns.exception.Timeout):
            raise TimeoutError from None
        raise Refused("garbage", f"DNS answer: {exc}") from None
    result.phases["first_byte"] = time.perf_counter() - mark
    rcode = answer.rcode()
    if rcode != dns.rcode.NOERROR:
        raise CheckFailed("answer", f"{resolver} answered {dns.rcode.to_text(rcode)} for "
                                    f"{check.target} {check.type}")
    values: list[str] = []
    for rrset in answer.answer:
        if rrset.rdtype == rdtype:
            values += [rd.to_text() for rd in rrset]
    result.answers = tuple(values[:50])
    if not values:
        raise CheckFailed("answer", f"{resolver}: no {check.type} record for {check.target}")
    missing = [v for v in check.expect if v not in values]
    if missing:
        raise CheckFailed("answer", f"{resolver}: {check.target} {check.type} is "
                                    f"{', '.join(values[:5])}, not {', '.join(missing)}")
    del limits  # the answer's size is bounded by the transport (64 KiB); dnspython parses it


__all__ = ["dns_probe", "tcp_probe", "text"]
