"""Simulated Modbus TCP devices: a pymodbus server per device, serving a register map.

Each device is a model of sim/modbus_models.yaml: a Modbus profile (the same register maps
the collector reads, collector/modbus/profiles/) and values in the map's units. The
registers are computed from the values at each request (collector/modbus/codec.encode, in
the map's word and byte order), so a fault shows at the next poll. Faults come from the
same faults.json as the SNMP agents (`tierwatch sim fault gen-1 start-failure`).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from collector.modbus.codec import encode
from collector.modbus.profile import ModbusProfile, RegisterDef, load_profiles
from collector.profile import split_scale

log = logging.getLogger(__name__)

MODELS_FILE = Path(__file__).resolve().parent / "modbus_models.yaml"
SILENT = "the device accepts connections and never answers (a hung gateway or comms card)"
_FUNCTIONS = {1: "coil", 2: "discrete", 3: "holding", 4: "input"}


class ModbusSimError(Exception):
    pass


@dataclass(frozen=True)
class ModbusModel:
    name: str
    profile: ModbusProfile
    values: dict[str, float]
    faults: dict[str, dict[str, Any]]  # fault -> {set: {...}, ramp: {...}, description}


def load_modbus_models(path: Path = MODELS_FILE) -> dict[str, ModbusModel]:
    spec = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    models = {}
    for name, body in (spec.get("models") or {}).items():
        profile = load_profiles([body["profile"]])[-1]
        keys = {r.key for r in profile.definition.registers}
        values = {str(k): float(v) for k, v in (body.get("values") or {}).items()}
        faults = dict(body.get("faults") or {})
        for where, names in [("values", values),
                             *((f"faults.{f}", {**(s.get("set") or {}), **(s.get("ramp") or {})})
                               for f, s in faults.items())]:
            unknown = sorted(set(names) - keys)
            if unknown:
                raise ModbusSimError(f"{path}: models.{name}.{where}: {unknown} are not "
                                     f"registers of {body['profile']}")
        models[name] = ModbusModel(name, profile, values, faults)
    return models


@dataclass
class ModbusSimDevice:
    id: str
    model: ModbusModel
    unit: int = 1
    overrides: dict[str, float] = field(default_factory=dict)
    faults: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    requests: int = 0
    _since: dict[str, float] = field(default_factory=dict)

    def available_faults(self) -> dict[str, str]:
        out = {name: str(spec.get("description", "")) for name, spec in self.model.faults.items()}
        out["silent"] = SILENT
        return out

    @property
    def silent(self) -> bool:
        return any(name == "silent" for name, _ in self.faults)

    def values(self, now: float | None = None) -> dict[str, float]:
        """The device's values now: the model's, the inventory's, then each active fault's."""
        now = time.monotonic() if now is None else now
        active = {name for name, _ in self.faults}
        for name in list(self._since):
            if name not in active:
                del self._since[name]
        out = {**self.model.values, **self.overrides}
        for name, _ in self.faults:
            spec = self.model.faults.get(name) or {}
            since = self._since.setdefault(name, now)
            out.update({k: float(v) for k, v in (spec.get("set") or {}).items()})
            for key, rate in (spec.get("ramp") or {}).items():
                out[key] = out.get(key, 0.0) + float(rate) * (now - since)
        return out

    def words(self, function: str) -> dict[int, int]:
        """address -> register (or bit) of one function table, from the values now."""
        values = self.values()
        out: dict[int, int] = {}
        for register in self.model.profile.definition.registers:
            if register.function != function or register.key not in values:
                continue
            value = _bounded(register, values[register.key])
            if register.bit:
                out[register.address] = 1 if value else 0
                continue
            mul, div = split_scale(register.scale)
            raw = (value - register.offset) * div / mul
            for i, word in enumerate(encode(raw, register.type, register.word_order,
                                            register.byte_order)):
                out[register.address + i] = word
        return out


def _bounded(register: RegisterDef, value: float) -> float:
    """A ramped value stays where the register can hold it."""
    if register.range is not None:
        value = min(max(value, register.range[0]), register.range[1])
    return value if math.isfinite(value) else 0.0


def _context_class() -> type:
    """A pymodbus device context that reads a ModbusSimDevice (built on first use: pymodbus
    is imported only by what serves Modbus)."""
    from pymodbus.constants import ExcCodes
    from pymodbus.datastore.context import ModbusBaseDeviceContext

    class SimContext(ModbusBaseDeviceContext):
        def __init__(self, device: ModbusSimDevice, refresh: Any) -> None:
            self.device = device
            self.refresh = refresh

        def reset(self) -> None:
            return None

        async def async_getValues(self, func_code: int, address: int, count: int = 1
                                  ) -> Any:
            self.refresh()
            self.device.requests += 1
            waited = 0.0
            while self.device.silent and waited < 30.0:  # never answer while silent
                await asyncio.sleep(0.2)
                waited += 0.2
                self.refresh()
            return self.getValues(func_code, address, count)

        def getValues(self, func_code: int, address: int, count: int = 1) -> Any:
            function = _FUNCTIONS.get(func_code)
            if function is None:
                return ExcCodes.ILLEGAL_FUNCTION
            table = self.device.words(function)
            wanted = range(address, address + count)
            if any(a not in table for a in wanted):
                return ExcCodes.ILLEGAL_ADDRESS
            values = [table[a] for a in wanted]
            return [bool(v) for v in values] if function in ("coil", "discrete") else values

        def setValues(self, func_code: int, address: int, values: Any) -> Any:
            return ExcCodes.ILLEGAL_FUNCTION  # read-only: tierwatch never writes

    return SimContext


class ModbusServer:
    """One device on its own TCP port."""

    def __init__(self, device: ModbusSimDevice, refresh: Any = lambda: None) -> None:
        self.device = device
        self.refresh = refresh
        self._server: Any = None
        self._task: asyncio.Task[None] | None = None
        self.address: tuple[str, int] | None = None

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> tuple[str, int]:
        from pymodbus.datastore import ModbusServerContext
        from pymodbus.server import ModbusTcpServer

        context = ModbusServerContext(
            devices={self.device.unit: _context_class()(self.device, self.refresh)},
            single=False)
        for attempt in (port, 0) if port else (0,):
            self._server = ModbusTcpServer(context, address=(host, attempt))
            self._task = asyncio.create_task(self._server.serve_forever(),
                                             name=f"modbus sim {self.device.id}")
            for _ in range(200):
                transport = getattr(self._server, "transport", None)
                if transport is not None or self._task.done():
                    break
                await asyncio.sleep(0.01)
            transport = getattr(self._server, "transport", None)
            if transport is not None:
                self.address = transport.sockets[0].getsockname()[:2]
                return self.address
            await self.stop()
        raise ModbusSimError(f"{self.device.id}: cannot listen on {host}:{port}")

    async def stop(self) -> None:
        if self._server is not None:
            try:
                await self._server.shutdown()
            except Exception:  # a server that never listened has nothing to shut down
                log.debug("modbus sim %s: shutdown", self.device.id, exc_info=True)
            self._server = None
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None


def devices_from(specs: list[Mapping[str, Any]], models: Mapping[str, ModbusModel]
                 ) -> dict[str, ModbusSimDevice]:
    out = {}
    for spec in specs:
        model = models.get(spec["model"])
        if model is None:
            raise ModbusSimError(f"Modbus device {spec['id']}: unknown model {spec['model']!r}")
        out[spec["id"]] = ModbusSimDevice(spec["id"], model, int(spec.get("unit", 1)),
                                          {k: float(v) for k, v in (spec.get("set") or {}).items()})
    return out
