"""Simulated devices send traps too: a fault injected or cleared sends the model's trap.

`models.yaml` names them per fault (`trap:` when injected, `clear_trap:` when cleared);
`port-down` sends IF-MIB linkDown / linkUp for its port. Traps are SNMPv2c, sent from the
device's own socket (so the receiver knows the device by its address and port) to the trap
sinks the simulator was given: `tierwatch demo` points it at its own trap receiver, which is
how the demo shows a UPS on battery paging within a second rather than at the next poll.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pyasn1.codec.ber import encoder
from pysnmp.proto import api, rfc1902

log = logging.getLogger(__name__)

SYS_UPTIME = (1, 3, 6, 1, 2, 1, 1, 3, 0)
SNMP_TRAP_OID = (1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0)
LINK_DOWN = "1.3.6.1.6.3.1.1.5.3"
LINK_UP = "1.3.6.1.6.3.1.1.5.4"


def _oid(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in str(text).strip(".").split("."))


def encode_v2c_trap(community: str, trap_oid: str, uptime_ticks: int,
                    varbinds: Sequence[tuple[str, Any]] = ()) -> bytes:
    """An SNMPv2c trap datagram. Varbind values: int -> Integer32, str -> OCTET STRING."""
    module = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]
    pdu = module.SNMPv2TrapPDU()
    module.apiTrapPDU.set_defaults(pdu)
    binds: list[tuple[Any, Any]] = [
        (rfc1902.ObjectName(SYS_UPTIME), rfc1902.TimeTicks(uptime_ticks % 2**32)),
        (rfc1902.ObjectName(SNMP_TRAP_OID), rfc1902.ObjectIdentifier(_oid(trap_oid))),
    ]
    for oid, value in varbinds:
        asn1 = rfc1902.Integer32(value) if isinstance(value, int) else rfc1902.OctetString(
            str(value).encode("utf-8"))
        binds.append((rfc1902.ObjectName(_oid(oid)), asn1))
    module.apiPDU.set_varbinds(pdu, binds)
    message = module.Message()
    module.apiMessage.set_defaults(message)
    module.apiMessage.set_community(message, community)
    module.apiMessage.set_pdu(message, pdu)
    return bytes(encoder.encode(message))


def traps_for(fault: str, params: Mapping[str, Any], cleared: bool,
              model_traps: Mapping[str, tuple[str | None, str | None]]
              ) -> list[tuple[str, list[tuple[str, Any]]]]:
    """(trap OID, varbinds) a fault sends when injected (or cleared)."""
    if fault == "port-down":
        port = int(params.get("port", 1))
        return [(LINK_UP if cleared else LINK_DOWN, [
            (f"1.3.6.1.2.1.2.2.1.1.{port}", port),
            (f"1.3.6.1.2.1.2.2.1.7.{port}", 1),  # ifAdminStatus up
            (f"1.3.6.1.2.1.2.2.1.8.{port}", 1 if cleared else 2),
        ])]
    on_inject, on_clear = model_traps.get(fault, (None, None))
    oid = on_clear if cleared else on_inject
    return [(oid, [])] if oid else []


class TrapEmitter:
    """Watches each device's active faults and sends a trap for every change."""

    def __init__(self, sinks: Sequence[tuple[str, int]], devices: Mapping[str, Any],
                 send: Callable[[str, bytes, tuple[str, int]], None],
                 refresh: Callable[[], None], every: float = 0.1) -> None:
        # every trap goes to each sink, as a device configured with several trap receivers
        # sends it (the two instances of an active/standby pair)
        self.sinks = list(sinks)
        self.devices = devices
        self.send = send
        self.refresh = refresh
        self.every = every
        self.sent = 0
        self._seen: dict[str, dict[str, dict[str, Any]]] = {
            dev_id: {name: dict(params) for name, params in dev.faults}
            for dev_id, dev in devices.items()}

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            try:
                self.check()
            except Exception:  # the simulator outlives a bad fault file
                log.exception("sim: sending traps failed")

    def check(self) -> None:
        self.refresh()
        for dev_id, dev in self.devices.items():
            now = {name: dict(params) for name, params in dev.faults}
            before = self._seen.get(dev_id, {})
            for name, params in now.items():
                if name not in before:
                    self._emit(dev_id, dev, name, params, cleared=False)
            for name, params in before.items():
                if name not in now:
                    self._emit(dev_id, dev, name, params, cleared=True)
            self._seen[dev_id] = now

    def _emit(self, dev_id: str, dev: Any, fault: str, params: Mapping[str, Any],
              cleared: bool) -> None:
        uptime = int((time.monotonic() - dev.started) * 100)
        for oid, varbinds in traps_for(fault, params, cleared, dev.model.traps):
            datagram = encode_v2c_trap(dev.community, oid, uptime, varbinds)
            for sink in self.sinks:
                self.send(dev_id, datagram, sink)
            self.sent += 1
            log.info("sim: %s sent trap %s (%s %s)", dev_id, oid, fault,
                     "cleared" if cleared else "injected")
