"""The simulated data center: one SNMP v1/v2c agent per device, with fault injection.

Each device serves a model's .snmprec data (sim/data/) on its own UDP port on loopback.
Faults are OID values laid over the data (sim/models.yaml names them per model), plus two
that every device has: `silent` (the agent stops answering) and `port-down` (an interface
goes down). The fault set lives in `faults.json` in the run directory: `tierwatch sim fault`
writes it, the agents re-read it when it changes, so a person, a test and the demo all
inject faults the same way.
"""

from __future__ import annotations

import asyncio
import bisect
import functools
import json
import logging
import os
import socket
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import yaml

from collector.snmp import ber
from collector.snmp import message as message_codec
from collector.snmp.client import SnmpDecodeError
from sim import snmprec

log = logging.getLogger(__name__)

SIM_DIR = Path(__file__).resolve().parent
DATA_DIR = SIM_DIR / "data"
MODELS_FILE = SIM_DIR / "models.yaml"
INVENTORY_FILE = SIM_DIR / "datacenter.yaml"
IF_OPER_STATUS = (1, 3, 6, 1, 2, 1, 2, 2, 1, 8)
GENERIC_FAULTS = {
    "silent": "the agent stops answering (a dead management card, a cut cable)",
    "port-down": "an interface goes down (ifOperStatus down); --port N picks it (default 1)",
}


class SimError(Exception):
    pass


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Model:
    name: str
    data: dict[tuple[int, ...], snmprec.Entry]
    faults: dict[str, dict[tuple[int, ...], Any]]  # fault -> OID -> value
    descriptions: dict[str, str]
    # fault -> (trap OID sent when injected, trap OID sent when cleared); see sim/traps.py
    traps: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)


def _oid(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in str(text).strip(".").split("."))


def load_models(path: Path = MODELS_FILE) -> dict[str, Model]:
    spec = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    models: dict[str, Model] = {}
    for name, body in (spec.get("models") or {}).items():
        data = snmprec.load(DATA_DIR / body["data"])
        faults: dict[str, dict[tuple[int, ...], Any]] = {}
        descriptions: dict[str, str] = {}
        traps: dict[str, tuple[str | None, str | None]] = {}
        for fault, fspec in (body.get("faults") or {}).items():
            overlay = {}
            for oid_text, value in (fspec.get("set") or {}).items():
                oid = _oid(oid_text)
                if oid not in data:
                    raise SimError(f"{path}: models.{name}.faults.{fault}: {oid_text} is not "
                                   f"in {body['data']}")
                overlay[oid] = value
            faults[fault] = overlay
            descriptions[fault] = fspec.get("description", "")
            if fspec.get("trap") or fspec.get("clear_trap"):
                traps[fault] = (fspec.get("trap"), fspec.get("clear_trap"))
        models[name] = Model(name, data, faults, descriptions, traps)
    return models


@dataclass
class SimDevice:
    id: str
    model: Model
    community: str
    overrides: dict[tuple[int, ...], Any] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)
    faults: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    requests: int = 0
    malformed: int = 0

    def __post_init__(self) -> None:
        self._oids = sorted(self.model.data)

    def available_faults(self) -> dict[str, str]:
        faults = dict(self.model.descriptions)
        faults["silent"] = GENERIC_FAULTS["silent"]
        if any(oid[:-1] == IF_OPER_STATUS for oid in self._oids):
            faults["port-down"] = GENERIC_FAULTS["port-down"]
        return faults

    @property
    def silent(self) -> bool:
        return any(name == "silent" for name, _ in self.faults)

    def overlay(self) -> dict[tuple[int, ...], Any]:
        merged = dict(self.overrides)
        for name, params in self.faults:
            if name == "port-down":
                merged[(*IF_OPER_STATUS, int(params.get("port", 1)))] = 2
            else:
                merged.update(self.model.faults.get(name, {}))
        return merged

    def value(self, oid: tuple[int, ...], overlay: Mapping[tuple[int, ...], Any]
              ) -> tuple[int, Any] | None:
        entry = self.model.data.get(oid)
        if entry is None:
            return None
        if oid in overlay:
            value = overlay[oid]
            if entry.tag in (4, 68) and isinstance(value, str):
                value = value.encode("utf-8")
            return entry.tag, value
        return entry.tag, entry.at(time.monotonic() - self.started)

    def next_oid(self, oid: tuple[int, ...], v1: bool) -> tuple[int, ...] | None:
        i = bisect.bisect_right(self._oids, oid)
        while i < len(self._oids):
            candidate = self._oids[i]
            if not (v1 and self.model.data[candidate].tag == 70):  # no Counter64 on v1
                return candidate
            i += 1
        return None


# a varbind as the responder builds it: (OID as a tuple, BER tag, plain value)
Answer = tuple[tuple[int, ...], int, Any]


def _dotted(oid: tuple[int, ...]) -> str:
    return ".".join(map(str, oid))


# --------------------------------------------------------------------------- protocol


class Responder(asyncio.DatagramProtocol):
    """One simulated agent: GET, GETNEXT and GETBULK over v1 and v2c, on our own codec."""

    def __init__(self, device: SimDevice, faults: FaultFile) -> None:
        self.device = device
        self.faults = faults
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.faults.refresh()
        device = self.device
        device.requests += 1
        if device.silent:
            return
        try:
            answer = self._answer(data)
        except (SnmpDecodeError, ValueError, KeyError) as exc:
            device.malformed += 1
            log.debug("sim %s: undecodable request from %s: %s", device.id, addr, exc)
            return
        except Exception:  # the simulator must outlive any request a test throws at it
            device.malformed += 1
            log.exception("sim %s: request from %s failed", device.id, addr)
            return
        if answer is not None and self.transport is not None:
            self.transport.sendto(answer, addr)

    def _answer(self, data: bytes) -> bytes | None:
        message = message_codec.decode_community_message(data)
        if message.community != self.device.community.encode():
            return None  # a wrong community gets silence, as real agents answer it
        pdu = message.pdu
        if not isinstance(pdu, message_codec.Pdu):
            return None  # traps are not for an agent
        v1 = message.version == 0
        overlay = self.device.overlay()
        wanted = [tuple(int(x) for x in oid.split(".")) for oid, _ in pdu.varbinds]
        out: list[Answer] = []
        error: tuple[int, int] | None = None
        if pdu.tag == ber.GET_REQUEST:
            for i, oid in enumerate(wanted):
                found = self.device.value(oid, overlay)
                if found is None or (v1 and found[0] == ber.COUNTER64):
                    if v1:
                        error = (2, i + 1)  # noSuchName
                        break
                    out.append((oid, ber.NO_SUCH_OBJECT_TAG, None))
                else:
                    out.append((oid, *found))
        elif pdu.tag == ber.GET_NEXT_REQUEST:
            for i, oid in enumerate(wanted):
                nxt = self._next(oid, overlay, v1)
                if nxt is None:
                    if v1:
                        error = (2, i + 1)
                        break
                    out.append((oid, ber.END_OF_MIB_VIEW_TAG, None))
                else:
                    out.append(nxt)
        elif pdu.tag == ber.GET_BULK_REQUEST and not v1:
            non_rep, max_rep = pdu.error_status, min(pdu.error_index, 200)
            for oid in wanted[:non_rep]:
                out.append(self._next(oid, overlay, False)
                           or (oid, ber.END_OF_MIB_VIEW_TAG, None))
            cursors = wanted[non_rep:]
            ended = [False] * len(cursors)
            for _ in range(max_rep):
                if not cursors or all(ended):
                    break
                # every repetition carries one varbind per column, in request order: a
                # column past the end repeats endOfMibView so the layout stays row-major
                for j, cursor in enumerate(cursors):
                    nxt = None if ended[j] else self._next(cursor, overlay, False)
                    if nxt is None:
                        ended[j] = True
                        out.append((cursor, ber.END_OF_MIB_VIEW_TAG, None))
                    else:
                        out.append(nxt)
                        cursors[j] = nxt[0]
                if len(out) > 1500:  # keep the answer within a UDP datagram's reach
                    break
        else:
            return None  # SET is not simulated
        if error is not None:
            varbinds = message_codec.encode_typed_varbinds(
                [(_dotted(oid), ber.NULL, None) for oid in wanted])
            body = message_codec.encode_pdu(ber.RESPONSE, pdu.request_id, varbinds, *error)
        else:
            varbinds = message_codec.encode_typed_varbinds(
                [(_dotted(oid), tag, value) for oid, tag, value in out])
            body = message_codec.encode_pdu(ber.RESPONSE, pdu.request_id, varbinds)
        header = message_codec.community_header(message.version, message.community)
        return message_codec.encode_community_message(header, body)

    def _next(self, oid: tuple[int, ...], overlay: Mapping[tuple[int, ...], Any], v1: bool
              ) -> Answer | None:
        nxt = self.device.next_oid(oid, v1)
        if nxt is None:
            return None
        found = self.device.value(nxt, overlay)
        assert found is not None
        return (nxt, *found)


# --------------------------------------------------------------------------- faults file


class Faulted(Protocol):
    """A simulated device of any protocol: it carries the faults injected into it."""

    faults: list[tuple[str, dict[str, Any]]]


class FaultFile:
    """faults.json in the run directory: {device: [[fault, {params}], ...]}."""

    def __init__(self, path: Path, devices: Mapping[str, Faulted]) -> None:
        self.path = path
        self.devices = devices
        self._mtime: int | None = None
        self._checked = 0.0

    def refresh(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._checked < 0.05:
            return
        self._checked = now
        try:
            mtime = self.path.stat().st_mtime_ns
        except FileNotFoundError:
            mtime = None
        if mtime == self._mtime and not force:
            return
        self._mtime = mtime
        data = read_faults(self.path)
        for device_id, device in self.devices.items():
            device.faults = [(name, params) for name, params in data.get(device_id, [])]


def read_faults(path: Path) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("sim: cannot read %s: %s", path, exc)
        return {}
    return {dev: [(str(f), dict(p)) for f, p in items] for dev, items in raw.items()}


def write_faults(path: Path, faults: Mapping[str, list[tuple[str, dict[str, Any]]]]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({k: v for k, v in faults.items() if v}, indent=1),
                   encoding="utf-8")
    os.replace(tmp, path)


# --------------------------------------------------------------------------- running


@dataclass
class ModbusSpec:
    id: str
    model: str  # a model of sim/modbus_models.yaml
    unit: int = 1
    port: int = 0
    set: dict[str, Any] = field(default_factory=dict)


def load_modbus_inventory(path: Path = INVENTORY_FILE) -> list[ModbusSpec]:
    spec = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return [ModbusSpec(**item) for item in spec.get("modbus", [])]


@dataclass
class DeviceSpec:
    id: str
    model: str
    community: str = "public"
    port: int = 0  # 0: any free port
    set: dict[str, Any] = field(default_factory=dict)


def load_inventory(path: Path = INVENTORY_FILE) -> list[DeviceSpec]:
    spec = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return [DeviceSpec(**item) for item in spec.get("devices", [])]


class Simulator:
    """All simulated devices of one run, serving on loopback until stopped."""

    def __init__(self, run_dir: Path, inventory: list[DeviceSpec] | None = None,
                 host: str = "127.0.0.1", models: dict[str, Model] | None = None,
                 trap_sinks: Sequence[tuple[str, int]] = (),
                 modbus: list[ModbusSpec] | None = None) -> None:
        from sim.modbus import devices_from, load_modbus_models

        self.run_dir = run_dir
        self.host = host
        self.trap_sinks = list(trap_sinks)  # where devices send traps when faults change
        self._by_device: dict[str, asyncio.DatagramTransport] = {}
        self._emitter_task: asyncio.Task[None] | None = None
        self.models = models or load_models()
        self.specs = inventory if inventory is not None else load_inventory()
        self.devices: dict[str, SimDevice] = {}
        self.addresses: dict[str, tuple[str, int]] = {}
        self._transports: list[asyncio.DatagramTransport] = []
        for spec in self.specs:
            if spec.model not in self.models:
                raise SimError(f"device {spec.id}: unknown model {spec.model!r}")
            overrides = {_oid(k): v for k, v in spec.set.items()}
            self.devices[spec.id] = SimDevice(spec.id, self.models[spec.model], spec.community,
                                              overrides)
        self.fault_file = FaultFile(run_dir / "faults.json", self.devices)
        # Modbus devices (sim/modbus.py): a pymodbus server each, faults from the same file
        self.modbus_specs = modbus if modbus is not None else (
            load_modbus_inventory() if inventory is None else [])
        self.modbus_devices = devices_from([vars(m) for m in self.modbus_specs],
                                           load_modbus_models() if self.modbus_specs else {})
        self.modbus_fault_file = FaultFile(run_dir / "faults.json", self.modbus_devices)
        self._modbus_servers: list[Any] = []

    async def start(self) -> None:
        from sim.modbus import ModbusServer

        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.fault_file.refresh(force=True)
        self.modbus_fault_file.refresh(force=True)
        for mspec in self.modbus_specs:
            server = ModbusServer(self.modbus_devices[mspec.id], self.modbus_fault_file.refresh)
            self.addresses[mspec.id] = await server.start(self.host, mspec.port)
            self._modbus_servers.append(server)
        loop = asyncio.get_running_loop()
        for spec in self.specs:
            device = self.devices[spec.id]
            sock = _bind(self.host, spec.port)
            transport, _ = await loop.create_datagram_endpoint(
                functools.partial(Responder, device, self.fault_file), sock=sock)
            self._transports.append(transport)
            self._by_device[spec.id] = transport
            self.addresses[spec.id] = sock.getsockname()[:2]
        self._write_inventory()
        if self.trap_sinks:
            from sim.traps import TrapEmitter

            emitter = TrapEmitter(self.trap_sinks, self.devices, self._send_from,
                                  self.fault_file.refresh)
            self._emitter_task = asyncio.create_task(emitter.run(), name="sim traps")

    def _send_from(self, device_id: str, datagram: bytes, sink: tuple[str, int]) -> None:
        transport = self._by_device.get(device_id)
        if transport is not None:
            transport.sendto(datagram, sink)

    def _write_inventory(self) -> None:
        devices: dict[str, dict[str, Any]] = {}
        for dev_id, (host, port) in self.addresses.items():
            found = self.devices.get(dev_id) or self.modbus_devices[dev_id]
            devices[dev_id] = {"address": f"{host}:{port}", "model": found.model.name,
                               "faults": found.available_faults(),
                               "protocol": "snmp" if dev_id in self.devices else "modbus"}
        info = {"pid": os.getpid(), "devices": devices}
        (self.run_dir / "sim.json").write_text(json.dumps(info, indent=1), encoding="utf-8")

    async def stop(self) -> None:
        if self._emitter_task is not None:
            self._emitter_task.cancel()
        for transport in self._transports:
            transport.close()
        self._transports.clear()
        for server in self._modbus_servers:
            await server.stop()
        self._modbus_servers.clear()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.bind((host, port))
    except OSError:
        if port == 0:
            raise
        sock.bind((host, 0))  # the usual port is taken: any free one will do
    sock.setblocking(False)
    return sock


# --------------------------------------------------------------------------- control


def inject(run_dir: Path, device: str, fault: str, params: dict[str, Any] | None = None
           ) -> None:
    """Add a fault to a running simulator (validated against what it serves)."""
    info = read_inventory(run_dir)
    devices = info["devices"]
    if device not in devices:
        raise SimError(f"unknown device {device!r} (simulated: {', '.join(sorted(devices))})")
    available = devices[device]["faults"]
    if fault not in available:
        raise SimError(f"{device} has no fault {fault!r} (it has: {', '.join(sorted(available))})")
    path = run_dir / "faults.json"
    faults = read_faults(path)
    current = [f for f in faults.get(device, []) if f[0] != fault]
    current.append((fault, params or {}))
    faults[device] = current
    write_faults(path, faults)


def clear(run_dir: Path, device: str | None = None) -> None:
    info = read_inventory(run_dir)
    path = run_dir / "faults.json"
    if device is None:
        write_faults(path, {})
        return
    if device not in info["devices"]:
        raise SimError(f"unknown device {device!r}")
    faults = read_faults(path)
    faults.pop(device, None)
    write_faults(path, faults)


def read_inventory(run_dir: Path) -> dict[str, Any]:
    try:
        info: dict[str, Any] = json.loads((run_dir / "sim.json").read_text(encoding="utf-8"))
        return info
    except FileNotFoundError:
        raise SimError(f"no simulator runs in {run_dir} (start one with `tierwatch demo` "
                       f"or `tierwatch sim serve`)") from None
