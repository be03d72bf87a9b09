"""Every device the collector knows, of every kind: SNMP devices, host agents, probed links
and sites. The wiring builds one `DeviceDirectory` from the collector's sections and hands it
to the rooms that show or join on devices (alerts, the API)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from urllib.parse import urlsplit

from collector.agents.config import AgentsConfig
from collector.config import DeviceConfig
from collector.modbus.config import ModbusConfig
from collector.probes.config import ProbesConfig
from tierwatch.core.model import DeviceInfo


class DeviceDirectory:
    """id -> DeviceInfo; SNMP devices' profiles are read live (`profile: auto` resolves at
    the first poll)."""

    def __init__(self, devices: Sequence[DeviceConfig], agents: AgentsConfig,
                 probes: ProbesConfig,
                 snmp_profiles: Callable[[], Mapping[str, list[str]]] = dict,
                 modbus: ModbusConfig | None = None) -> None:
        self._snmp = {d.id: d for d in devices}
        self._snmp_profiles = snmp_profiles
        self._others: dict[str, DeviceInfo] = {}
        for host in agents.hosts:  # host:port only: a URL's path or query is not shown
            self._others[host.id] = DeviceInfo(host.id, host.name or host.id, "agent",
                                               urlsplit(host.url).netloc, tuple(host.profile),
                                               dict(host.labels))
        for section, _, target in probes.targets():
            kind = "site" if section == "sites" else "link"
            self._others[target.id] = DeviceInfo(target.id, target.name or target.id, kind,
                                                 None, (), dict(target.labels))
        for meter in modbus.devices if modbus is not None else ():
            where, port = meter.host_port
            self._others[meter.id] = DeviceInfo(meter.id, meter.name or meter.id, "modbus",
                                                f"{where}:{port}", tuple(meter.profile),
                                                dict(meter.labels))

    def get(self, device_id: str) -> DeviceInfo | None:
        device = self._snmp.get(device_id)
        if device is None:
            return self._others.get(device_id)
        resolved = self._snmp_profiles().get(device_id)
        return DeviceInfo(device.id, device.name or device.id, "snmp", device.address,
                          tuple(resolved or device.profile), dict(device.labels))

    def __iter__(self) -> Iterator[DeviceInfo]:
        resolved = self._snmp_profiles()
        for device in self._snmp.values():
            yield DeviceInfo(device.id, device.name or device.id, "snmp", device.address,
                             tuple(resolved.get(device.id) or device.profile),
                             dict(device.labels))
        yield from self._others.values()

    def names(self) -> dict[str, str | None]:
        """id -> configured name (None where none is configured): for booking by name."""
        out: dict[str, str | None] = {d.id: d.name for d in self._snmp.values()}
        out.update({i.id: (i.name if i.name != i.id else None) for i in self._others.values()})
        return out
