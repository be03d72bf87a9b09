"""The seam between the poller and the wire: read registers or bits, get plain ints back.

`TcpModbusClient` speaks Modbus TCP itself (Modbus Messaging on TCP/IP Implementation Guide
V1.0b; Modbus Application Protocol V1.1b3) on an asyncio stream, and treats every frame as
hostile: the MBAP header must carry protocol 0, the transaction id and unit just sent, and
a length within the protocol's bound (2..254: a PDU is at most 253 bytes), read exactly; the
PDU must be the function asked or its exception form, and its byte count must be exactly
what `count` registers or bits take, and be what the frame carries. Anything else is
refused with a `ModbusError` whose `reason` labels the refusal counter, and the connection is
closed (a stream out of step is never read again). pymodbus's client was the first choice;
it logs a traceback from the event loop for a frame it cannot decode and reports it as a
timeout, where this client names the fault (docs/modbus.md). pymodbus serves the simulator
and the tests' devices, and is the peer in bench/modbus_poll.py.
`FakeModbusClient` serves a dict of registers, for unit tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import struct
from collections.abc import Mapping
from typing import Protocol

from collector.modbus.profile import MAX_BITS_PER_READ, MAX_REGISTERS_PER_READ

FUNCTION_CODES = {"coil": 1, "discrete": 2, "holding": 3, "input": 4}
# Modbus Application Protocol V1.1b3, section 7
EXCEPTION_NAMES = {
    1: "illegal function", 2: "illegal data address", 3: "illegal data value",
    4: "server device failure", 5: "acknowledge", 6: "server device busy",
    8: "memory parity error", 10: "gateway path unavailable",
    11: "gateway target device failed to respond",
}
_MBAP = struct.Struct(">HHHB")  # transaction, protocol, length, unit
MAX_LENGTH = 254  # unit id + the largest PDU (253 bytes)


class ModbusError(Exception):
    """A read that gave nothing usable. `reason` is the counter label: exception (the
    device refused this request), or, failing the whole poll: wrong_function, wrong_count,
    wrong_unit, bad_length, protocol, timeout, connection."""

    def __init__(self, reason: str, message: str, exception_code: int | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.exception_code = exception_code

    @property
    def transport(self) -> bool:
        """Whether the device as a whole could not be read (the poll fails), rather than
        this one request (the registers it carried are refused)."""
        return self.reason != "exception"


class ModbusClient(Protocol):
    async def read(self, function: str, address: int, count: int) -> list[int]:
        """`count` registers (0..65535) or bits (0/1) from `address`; raises ModbusError."""
        ...

    async def close(self) -> None: ...


def read_request(transaction: int, unit: int, function: str, address: int, count: int
                 ) -> bytes:
    """The request frame: MBAP header and a read PDU (function, address, count)."""
    limit = MAX_BITS_PER_READ if function in ("coil", "discrete") else MAX_REGISTERS_PER_READ
    if not 1 <= count <= limit or not 0 <= address <= 0xFFFF or address + count > 0x10000:
        raise ValueError(f"cannot read {count} from {address} (1..{limit}, within 0..65535)")
    return _MBAP.pack(transaction, 0, 6, unit) + struct.pack(
        ">BHH", FUNCTION_CODES[function], address, count)


def parse_answer(function: str, count: int, pdu: bytes) -> list[int]:
    """The values of an answer's PDU, after the checks in the module notes."""
    asked = FUNCTION_CODES[function]
    if not pdu:
        raise ModbusError("bad_length", "an empty PDU")
    code = pdu[0]
    if code == asked | 0x80:
        if len(pdu) != 2:
            raise ModbusError("bad_length", f"an exception answer of {len(pdu)} bytes, not 2")
        exc = pdu[1]
        name = EXCEPTION_NAMES.get(exc, "unknown exception")
        raise ModbusError("exception", f"the device answered exception {exc} ({name})", exc)
    if code != asked:
        raise ModbusError("wrong_function",
                          f"asked function {asked}, the answer is function {code}")
    bits = function in ("coil", "discrete")
    want = (count + 7) // 8 if bits else 2 * count
    if len(pdu) < 2 or pdu[1] != want or len(pdu) != 2 + want:
        said = pdu[1] if len(pdu) > 1 else None
        raise ModbusError("wrong_count", f"asked {count} {'bits' if bits else 'registers'} "
                          f"({want} bytes); the answer says {said} and carries "
                          f"{max(0, len(pdu) - 2)}")
    data = pdu[2:]
    if bits:
        return [(data[i // 8] >> (i % 8)) & 1 for i in range(count)]
    return list(struct.unpack(f">{count}H", data))


class TcpModbusClient:
    """One device's TCP connection, opened at the first read and again after a failure;
    one request in flight at a time (a Modbus TCP device may not pipeline)."""

    def __init__(self, host: str, port: int, unit: int, timeout: float, retries: int) -> None:
        self.host, self.port, self.unit = host, port, unit
        self.timeout = timeout
        self.retries = retries
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._lock = asyncio.Lock()
        self._ids = itertools.count(random.randrange(0x10000))  # a guessable id is a risk

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._reader is not None and self._writer is not None \
                and not self._writer.is_closing():
            return self._reader, self._writer
        try:
            async with asyncio.timeout(self.timeout):
                reader, writer = await asyncio.open_connection(self.host, self.port)
        except TimeoutError:
            raise ModbusError("connection", f"cannot connect to {self.host}:{self.port} "
                                            f"within {self.timeout:g}s") from None
        except OSError as exc:
            raise ModbusError("connection", f"cannot connect to {self.host}:{self.port}: "
                                            f"{exc.strerror or exc}") from None
        self._reader, self._writer = reader, writer
        return reader, writer

    async def read(self, function: str, address: int, count: int) -> list[int]:
        async with self._lock:
            for attempt in range(self.retries + 1):
                try:
                    return await self._once(function, address, count)
                except ModbusError as exc:
                    if exc.reason != "exception":
                        await self.close()  # out of step, or gone: never read it again
                    if exc.reason not in ("timeout", "connection") or attempt == self.retries:
                        raise
            raise AssertionError("unreachable")

    async def _once(self, function: str, address: int, count: int) -> list[int]:
        reader, writer = await self._connect()
        transaction = next(self._ids) & 0xFFFF
        try:
            writer.write(read_request(transaction, self.unit, function, address, count))
            async with asyncio.timeout(self.timeout):
                await writer.drain()
                header = await reader.readexactly(_MBAP.size)
                got_id, protocol, length, unit = _MBAP.unpack(header)
                if protocol != 0:
                    raise ModbusError("protocol", f"protocol id {protocol}, not 0 (Modbus)")
                if not 2 <= length <= MAX_LENGTH:
                    raise ModbusError("bad_length", f"MBAP length {length}, outside 2.."
                                                    f"{MAX_LENGTH}")
                pdu = await reader.readexactly(length - 1)
        except TimeoutError:
            raise ModbusError("timeout", f"no answer within {self.timeout:g}s") from None
        except asyncio.IncompleteReadError as exc:
            raise ModbusError("connection", f"the device closed the connection after "
                                            f"{len(exc.partial)} bytes of a frame") from None
        except OSError as exc:
            raise ModbusError("connection", f"connection lost: {exc.strerror or exc}") from None
        if got_id != transaction:
            raise ModbusError("protocol", f"an answer to transaction {got_id}, not "
                                          f"{transaction}")
        if unit != self.unit:
            raise ModbusError("wrong_unit", f"an answer from unit {unit}, not {self.unit}")
        return parse_answer(function, count, pdu)

    async def close(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


class FakeModbusClient:
    """Registers from a dict ((function, address) -> value); a missing one answers
    exception 2, as a device does. Records the reads it gets."""

    def __init__(self, values: Mapping[tuple[str, int], int]) -> None:
        self.values = dict(values)
        self.reads: list[tuple[str, int, int]] = []

    async def read(self, function: str, address: int, count: int) -> list[int]:
        self.reads.append((function, address, count))
        out = []
        for at in range(address, address + count):
            if (function, at) not in self.values:
                raise ModbusError("exception", "the device answered exception 2 "
                                  "(illegal data address)", 2)
            out.append(self.values[(function, at)])
        return out

    async def close(self) -> None:
        return None
