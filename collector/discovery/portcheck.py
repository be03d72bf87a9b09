"""Is anything listening at host:port? An address whose host answers "port unreachable"
(ICMP) has no agent, and a sweep need not wait out its timeouts for it.

The native engine's shared socket is not connected, so the kernel never tells it about
ICMP errors; this check sends one SNMPv3 engine-discovery request (RFC 3414 4: no user, no
keys; every v3 agent answers it with a Report, others ignore it) from a socket connected to
the address, and reports True as soon as the kernel says the port is unreachable. An
answer, or silence (a firewall, a host that is down), says nothing: False.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket

from collector.snmp import ber, message
from collector.snmp.transport import random_id

REPORTABLE = 0x04  # msgFlags: reportable, no authentication, no privacy


def discovery_request(msg_id: int) -> bytes:
    params, offset = message.encode_usm_parameters(b"", 0, 0, b"", b"", b"")
    pdu = message.encode_pdu(ber.GET_REQUEST, msg_id, message.encode_typed_varbinds([]))
    scoped = message.encode_scoped_pdu(b"", b"", pdu)
    return message.encode_v3_message(msg_id, REPORTABLE, params, offset, scoped)[0]


class _Check(asyncio.DatagramProtocol):
    def __init__(self, refused: asyncio.Future[bool]) -> None:
        self.refused = refused

    def datagram_received(self, data: bytes, addr: object) -> None:
        if not self.refused.done():
            self.refused.set_result(False)  # something is there

    def error_received(self, exc: Exception) -> None:
        if not self.refused.done():
            self.refused.set_result(isinstance(exc, ConnectionRefusedError))


async def port_unreachable(host: str, port: int, wait: float) -> bool:
    """True when the host says nothing listens on the port, within `wait` seconds."""
    loop = asyncio.get_running_loop()
    refused: asyncio.Future[bool] = loop.create_future()
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _Check(refused), remote_addr=(host, port), family=family)
    except OSError:
        return False
    try:
        transport.sendto(discovery_request(random_id() & 0x7FFFFFFF))
        return await asyncio.wait_for(asyncio.shield(refused), wait)
    except (TimeoutError, OSError):
        return False
    finally:
        transport.close()
        with contextlib.suppress(asyncio.InvalidStateError):
            refused.cancel()
