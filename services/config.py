"""The `services:` section of tierwatch.yaml: how the e-government services are checked.

What a service is, what it depends on and who uses it is the topology's
(`topology.services`, tier/services.py); this section says how to see it work:

    services:
      interval: 15s              # each check, from each source, once per interval
      timeout: 5s                # the whole check: DNS, connect, TLS, request, answer
      concurrency: 256           # checks in flight at once
      jitter: 1s                 # each round starts up to this much after its beat
      limits: {header_bytes: 16KiB, body_bytes: 256KiB, banner_bytes: 4KiB}
      sources:                   # vantage points: a source address per check
        - {id: dc, address: 127.0.0.1}
        - {id: w7, address: 127.0.0.2, agency: ubnd-w7}   # seen from an agency's site
      checks:
        - service: portal
          http: https://portal.thanhpho.gov.vn/
          connect_to: 127.0.0.1            # dial here, keep the URL's name for SNI and Host
          status: [200]
          body: "Dịch vụ công"             # a regular expression the body must match
          ca_file: city-ca.pem             # PEM; relative to this file
          from: [dc, w7]
        - {service: dns, dns: portal.thanhpho.gov.vn, resolvers: ["127.0.0.1:5353"],
           expect: [127.0.0.5]}
        - {service: mail, smtp: "mail.thanhpho.gov.vn:25", starttls: true}
        - {service: mail, imap: "mail.thanhpho.gov.vn:143", starttls: true}
        - {service: video, sip: "127.0.0.1:5060", transport: udp}
        - {service: docs, tcp: "127.0.0.1:8080", banner: "^SSH-"}

A check belongs to one service (a node of `topology.services`). Its probes are the check
from each of its sources (for DNS, also each resolver); the check passes while every probe
not run from an agency's vantage point passes.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Collection
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BeforeValidator, ConfigDict, Field, field_validator, model_validator

from tierwatch.core.configtypes import (
    ByteSize,
    Duration,
    Interval,
    Strict,
    split_host_port,
)

KINDS = ("http", "dns", "smtp", "imap", "sip", "tcp")
DEFAULT_PORTS = {"smtp": 25, "imap": 143, "sip": 5060}
DNS_TYPES = ("A", "AAAA", "CNAME", "MX", "NS", "TXT", "SOA", "PTR", "SRV")


def _list(value: object) -> object:
    return [value] if isinstance(value, str | int) else value


def _host_port(value: str, default: int | None) -> tuple[str, int]:
    host, port = split_host_port(value, default)
    if not port:
        raise ValueError(f"{value!r}: needs HOST:PORT (port 1-65535)")
    return host, port


def _ip(value: str) -> str:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise ValueError(f"{value!r} is not an IP address") from None
    return value


class Limits(Strict):
    """How much of a server's answer is read before it is refused (every byte is hostile)."""

    header_bytes: ByteSize = 16 * 1024  # status line and headers together
    headers: int = Field(default=100, ge=1, le=10_000)
    body_bytes: ByteSize = 256 * 1024  # read for the body match; the rest is not read
    banner_bytes: ByteSize = 4096  # an SMTP/IMAP/TCP greeting or reply, all its lines
    line_bytes: ByteSize = 8192  # one line of any text protocol


class Source(Strict):
    """A vantage point: the local address checks are sent from."""

    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")]
    address: str
    agency: str | None = None  # an agency whose view this is (topology.services.agencies)

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        return _ip(value)


class CheckConfig(Strict):
    service: str
    name: str | None = None  # default: "<kind> <target>"
    # what to check: exactly one of these
    http: str | None = None  # http:// or https:// URL
    dns: str | None = None  # the name to ask for
    smtp: str | None = None  # HOST[:PORT]
    imap: str | None = None  # HOST[:PORT]
    sip: str | None = None  # HOST[:PORT]
    tcp: str | None = None  # HOST:PORT
    # common
    interval: Interval | None = None
    timeout: Duration | None = None
    sources: Annotated[list[str], BeforeValidator(_list)] = Field(
        default_factory=list, alias="from")
    # HTTP
    method: Literal["GET", "HEAD"] = "GET"
    status: Annotated[list[int], BeforeValidator(_list)] = Field(default_factory=list)
    body: str | None = None  # a regular expression
    redirects: int = Field(default=5, ge=0, le=20)
    connect_to: str | None = None  # an IP address to dial instead of resolving the URL's host
    # TLS (https, STARTTLS, tcp with tls)
    tls: bool = False  # tcp: speak TLS at once
    starttls: bool = False  # smtp / imap
    ca_file: str | None = None
    server_name: str | None = None  # SNI and the name the certificate must carry
    tls_min: Literal["1.0", "1.1", "1.2", "1.3"] | None = None
    # DNS
    resolvers: Annotated[list[str], BeforeValidator(_list)] = Field(default_factory=list)
    type: str = "A"
    expect: Annotated[list[str], BeforeValidator(_list)] = Field(default_factory=list)
    transport: Literal["udp", "tcp"] = "udp"  # DNS and SIP
    # TCP
    banner: str | None = None  # a regular expression the greeting must match
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("http")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None:
            return value
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https"):
            raise ValueError(f"{value!r}: only http:// and https:// URLs can be checked")
        if not parts.hostname:
            raise ValueError(f"{value!r}: the URL has no host")
        try:
            _ = parts.port
        except ValueError:
            raise ValueError(f"{value!r}: the port must be a number from 1 to 65535") from None
        return value

    @field_validator("body", "banner")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"{value!r} is not a regular expression: {exc}") from None
        return value

    @field_validator("status")
    @classmethod
    def _codes(cls, value: list[int]) -> list[int]:
        for code in value:
            if not 100 <= code <= 699:
                raise ValueError(f"{code}: a status code is 100-699")
        return value

    @field_validator("connect_to")
    @classmethod
    def _connect_to(cls, value: str | None) -> str | None:
        return None if value is None else _ip(value)

    @field_validator("type")
    @classmethod
    def _dns_type(cls, value: str) -> str:
        if value.upper() not in DNS_TYPES:
            raise ValueError(f"{value!r}: use one of {', '.join(DNS_TYPES)}")
        return value.upper()

    @model_validator(mode="after")
    def _one_target(self) -> CheckConfig:
        given = [k for k in KINDS if getattr(self, k) is not None]
        if not given:
            raise ValueError("a check needs a target: one of http: URL, dns: NAME, "
                             "smtp: HOST, imap: HOST, sip: HOST, tcp: HOST:PORT")
        if len(given) > 1:
            raise ValueError(f"one target per check, not {' and '.join(given)}")
        kind = given[0]
        target = getattr(self, kind)
        if not str(target).strip():
            raise ValueError(f"{kind}: the target is empty")
        if kind in ("smtp", "imap", "sip"):
            _host_port(target, DEFAULT_PORTS[kind])
        elif kind == "tcp":
            _host_port(target, None)
        elif kind == "dns":
            if not self.resolvers:
                raise ValueError("a dns check needs resolvers: [HOST:PORT, ...]")
            for resolver in self.resolvers:
                host, _ = _host_port(resolver, 53)
                _ip(host)
        if self.starttls and kind not in ("smtp", "imap"):
            raise ValueError("starttls is for smtp and imap checks")
        if self.tls and kind != "tcp":
            raise ValueError("tls is for tcp checks (https:// URLs speak TLS by themselves)")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in KINDS if getattr(self, k) is not None)

    @property
    def target(self) -> str:
        return str(getattr(self, self.kind))

    @property
    def label(self) -> str:
        return self.name or f"{self.kind} {self.target}"

    def uses_tls(self) -> bool:
        return (self.kind == "http" and self.target.startswith("https:")) or self.starttls \
            or self.tls


class ServicesConfig(Strict):
    interval: Interval = 15.0
    timeout: Duration = 5.0
    concurrency: int = Field(default=256, ge=1, le=100_000)
    jitter: Duration | None = None  # default: 1 % of the interval, at most 1 s
    limits: Limits = Limits()
    sources: list[Source] = Field(default_factory=list)
    checks: list[CheckConfig] = Field(default_factory=list)

    def jitter_for(self, interval: float) -> float:
        return self.jitter if self.jitter is not None else min(1.0, interval * 0.01)


def check_services(section: ServicesConfig, service_ids: Collection[str],
                   agency_ids: Collection[str], base_dir: Path | None
                   ) -> list[tuple[str, str]]:
    """What one field cannot see: a check's service is a node of topology.services, its
    sources are declared, its CA file is a PEM certificate file, its timeout is shorter
    than its interval; a source's agency is declared."""
    problems: list[tuple[str, str]] = []
    source_ids: set[str] = set()
    for i, source in enumerate(section.sources):
        key = f"services.sources[{i}]"
        if source.id in source_ids:
            problems.append((f"{key}.id", f"duplicate source id {source.id!r}"))
        source_ids.add(source.id)
        if source.agency is not None and source.agency not in agency_ids:
            problems.append((f"{key}.agency", f"unknown agency {source.agency!r} (declare it "
                                              "under topology.services.agencies)"))
    names: dict[tuple[str, str], int] = {}
    for i, check in enumerate(section.checks):
        key = f"services.checks[{i}]"
        if check.service not in service_ids:
            problems.append((f"{key}.service", f"unknown service {check.service!r} (a node of "
                                               "topology.services)"))
        seen = names.setdefault((check.service, check.label), i)
        if seen != i:
            problems.append((f"{key}.name", f"two checks of {check.service!r} named "
                                            f"{check.label!r} (give `name:`)"))
        for j, wanted in enumerate(check.sources):
            if wanted not in source_ids:
                problems.append((f"{key}.from[{j}]", f"unknown source {wanted!r} (declare it "
                                                     "under services.sources)"))
        interval = check.interval or section.interval
        timeout = check.timeout or section.timeout
        if timeout >= interval:
            problems.append((f"{key}.timeout", f"timeout {timeout:g}s is not shorter than the "
                                               f"interval {interval:g}s"))
        if check.ca_file is not None:
            problem = pem_problem(resolve_path(check.ca_file, base_dir))
            if problem:
                problems.append((f"{key}.ca_file", problem))
    return problems


def resolve_path(name: str, base_dir: Path | None) -> Path:
    path = Path(name).expanduser()
    return path if path.is_absolute() or base_dir is None else base_dir / path


def pem_problem(path: Path) -> str | None:
    """Why `path` is not a file of PEM certificates (None when it is)."""
    from cryptography import x509

    try:
        data = path.read_bytes()
    except OSError as exc:
        return f"cannot read {str(path)!r}: {exc.strerror or exc}"
    if b"-----BEGIN CERTIFICATE-----" not in data:
        return f"{str(path)!r} is not a PEM certificate file (no BEGIN CERTIFICATE block)"
    try:
        x509.load_pem_x509_certificates(data)
    except ValueError as exc:
        return f"{str(path)!r} is not a valid PEM certificate file: {exc}"
    return None
