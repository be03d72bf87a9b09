"""Real Modbus TCP devices for tests: the simulator's pymodbus servers (sim/modbus.py) on
free loopback ports, each serving a register map with values the test chooses, and a
raw TCP server that answers with frames a test writes byte by byte (a hostile device)."""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import AsyncIterator, Callable
from typing import Any

from collector.modbus.config import ModbusConfig
from collector.modbus.profile import ModbusProfile
from sim.modbus import ModbusModel, ModbusServer, ModbusSimDevice, load_modbus_models


def model(name: str, profile: ModbusProfile | None = None) -> ModbusModel:
    """A shipped simulator model, optionally serving another register map (a device that
    sends its floats in another order than the profile the collector reads says)."""
    base = load_modbus_models()[name]
    return base if profile is None else ModbusModel(base.name, profile, base.values,
                                                    base.faults)


@contextlib.asynccontextmanager
async def modbus_device(device_id: str, sim_model: ModbusModel, unit: int = 1,
                        **values: float) -> AsyncIterator[tuple[ModbusSimDevice, str]]:
    """A pymodbus server on a free loopback port: (the simulated device, "host:port")."""
    device = ModbusSimDevice(device_id, sim_model, unit, dict(values))
    server = ModbusServer(device)
    host, port = await server.start("127.0.0.1", 0)
    try:
        yield device, f"{host}:{port}"
    finally:
        await server.stop()


def config(devices: list[dict[str, Any]], **defaults: Any) -> ModbusConfig:
    return ModbusConfig.model_validate({
        "defaults": {"interval": 5, "timeout": 0.5, "retries": 0, **defaults},
        "devices": devices})


Answer = Callable[[int, int, bytes], bytes | None]  # (transaction id, unit, request pdu)


def mbap(transaction: int, unit: int, pdu: bytes, length: int | None = None) -> bytes:
    """A Modbus TCP frame: MBAP header (transaction, protocol 0, length, unit) + PDU."""
    size = len(pdu) + 1 if length is None else length
    return struct.pack(">HHHB", transaction, 0, size, unit) + pdu


@contextlib.asynccontextmanager
async def hostile_device(answer: Answer) -> AsyncIterator[str]:
    """A TCP server on a free loopback port that reads each request frame and sends what
    `answer` makes of it (None: nothing)."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                header = await reader.readexactly(7)
                transaction, _, length, unit = struct.unpack(">HHHB", header)
                pdu = await reader.readexactly(length - 1)
                out = answer(transaction, unit, pdu)
                if out is not None:
                    writer.write(out)
                    await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.close()
        await server.wait_closed()
