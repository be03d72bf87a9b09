"""What a sweep covers: address ranges as people write them, expanded and bounded.

    10.10.0.0/24          a prefix: its hosts (not the network and broadcast addresses of
                          an IPv4 prefix longer than /31, which would reach every host)
    10.10.0.10-10.10.0.40 a range, both ends included; 10.10.0.10-40 the same
    10.10.0.5             one address; 10.10.0.5:1161 with its own port
    [fd00::5]:1161        IPv6 in brackets when a port follows
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Sequence

MAX_ADDRESSES = 65536  # one sweep; a /16 of IPv4 is the most anyone means


class TargetError(ValueError):
    """A range that cannot be read, or a sweep larger than allowed."""


IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _split_port(text: str, default_port: int) -> tuple[str, int]:
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep:
            raise TargetError(f"{text!r}: missing ']'")
        if not rest:
            return host, default_port
        if not rest.startswith(":"):
            raise TargetError(f"{text!r}: expected ]:PORT")
        return host, _port(rest[1:], text)
    if text.count(":") == 1:
        host, _, port = text.partition(":")
        return host, _port(port, text)
    return text, default_port


def _port(text: str, where: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise TargetError(f"{where!r}: bad port {text!r}")
    return int(text)


def _addresses(spec: str) -> Iterator[IPAddress]:
    if "/" in spec:
        try:
            net = ipaddress.ip_network(spec, strict=False)
        except ValueError as exc:
            raise TargetError(f"{spec!r}: {exc}") from None
        if net.version == 4 and net.prefixlen < 31:
            yield from net.hosts()
        else:
            yield from net
        return
    if "-" in spec:
        first_text, _, last_text = spec.partition("-")
        try:
            first = ipaddress.ip_address(first_text)
            if last_text.isdigit() and first.version == 4:  # 10.10.0.10-40
                last: IPAddress = ipaddress.ip_address(
                    ".".join([*first_text.split(".")[:3], last_text]))
            else:
                last = ipaddress.ip_address(last_text)
        except ValueError:
            raise TargetError(f"{spec!r}: not an address, prefix or range") from None
        if last.version != first.version or int(last) < int(first):
            raise TargetError(f"{spec!r}: the range ends before it starts")
        if int(last) - int(first) >= MAX_ADDRESSES:
            raise TargetError(f"{spec!r}: more than {MAX_ADDRESSES} addresses")
        for value in range(int(first), int(last) + 1):
            yield ipaddress.ip_address(value)
        return
    try:
        yield ipaddress.ip_address(spec)
    except ValueError:
        raise TargetError(f"{spec!r}: not an address, prefix or range") from None


def expand(specs: Sequence[str], default_port: int = 161,
           limit: int = MAX_ADDRESSES) -> list[tuple[str, int]]:
    """Every (address, port) the specs name, each once, in the order given."""
    seen: dict[tuple[str, int], None] = {}
    for raw in specs:
        text = raw.strip()
        if not text:
            continue
        ranged = "/" in text or "-" in text
        host, port = (text, default_port) if ranged and not text.startswith("[") \
            else _split_port(text, default_port)
        if "/" in host and ":" in host.rpartition("/")[2]:  # 10.0.0.0/24:1161
            prefix, _, port_text = host.rpartition(":")
            host, port = prefix, _port(port_text, text)
        for address in _addresses(host):
            seen[(str(address), port)] = None
            if len(seen) > limit:
                raise TargetError(f"more than {limit} addresses to sweep; split the ranges")
    return list(seen)
