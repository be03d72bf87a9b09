"""Misbehaving SNMP agents for bad-input tests, built on the simulator's responder.

Each serves normal .snmprec-style data but breaks the protocol in one way:

* `non_increasing`: asked for the successor of an existing row, it answers that same row;
* `endless`: every GETNEXT answer is a new, larger OID under the asked column, forever;
* `truncated`: every answer is cut in half (undecodable);
* `garbage`: every answer is random bytes;
* `toobig_non_repeaters`: a GETBULK with two or more non-repeaters is answered tooBig
  (error-status 1), as an agent with a low message-size limit might.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

from collector.snmp import ber
from collector.snmp import message as message_codec
from sim import snmprec
from sim.agent import FaultFile, Model, Responder, SimDevice


def model_from(values: Mapping[str, tuple[int, Any]], name: str = "bad") -> Model:
    """A simulator model from {oid: (tag, value)}."""
    data = {}
    for oid, (tag, value) in values.items():
        key = tuple(int(x) for x in oid.split("."))
        data[key] = snmprec.Entry(key, tag, value)
    return Model(name, data, {}, {})


class _BadResponder(Responder):
    def __init__(self, device: SimDevice, faults: FaultFile, mode: str) -> None:
        super().__init__(device, faults)
        self.mode = mode
        self.served = 0

    def _next(self, oid, overlay, v1):  # type: ignore[no-untyped-def]
        self.served += 1
        if self.mode == "non_increasing" and oid in self.device.model.data:
            return oid, ber.INTEGER, 1  # the same OID again
        if self.mode == "endless":
            return (*oid, 1), ber.INTEGER, self.served
        return super()._next(oid, overlay, v1)

    def _answer(self, data: bytes) -> bytes | None:
        if self.mode == "toobig_non_repeaters":
            message = message_codec.decode_community_message(data)
            pdu = message.pdu
            if (isinstance(pdu, message_codec.Pdu) and pdu.tag == ber.GET_BULK_REQUEST
                    and pdu.error_status >= 2):  # (a GETBULK's non-repeaters)
                varbinds = message_codec.encode_typed_varbinds(
                    [(oid, ber.NULL, None) for oid, _ in pdu.varbinds])
                body = message_codec.encode_pdu(ber.RESPONSE, pdu.request_id, varbinds, 1, 0)
                header = message_codec.community_header(message.version, message.community)
                return message_codec.encode_community_message(header, body)
        answer = super()._answer(data)
        if answer is None:
            return None
        if self.mode == "truncated":
            return answer[: len(answer) // 2]
        if self.mode == "garbage":
            return os.urandom(len(answer))
        return answer


@contextlib.asynccontextmanager
async def bad_agent(mode: str, values: Mapping[str, tuple[int, Any]],
                    community: str = "public", host: str = "127.0.0.1",
                    port: int = 0) -> AsyncIterator[tuple[str, int]]:
    """Serve `values` on a loopback UDP port (a free one by default), misbehaving in `mode`
    (any other mode serves the values as they are)."""
    device = SimDevice("bad", model_from(values), community)
    faults = FaultFile(Path("/nonexistent-tierwatch-dir/faults.json"), {})  # never any
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(
        lambda: _BadResponder(device, faults, mode), local_addr=(host, port))
    try:
        host, port = transport.get_extra_info("sockname")[:2]
        yield host, port
    finally:
        transport.close()
