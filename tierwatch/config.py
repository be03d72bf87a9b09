"""tierwatch.yaml: the root model, assembled from each room's section, validated once at the
edge.

`load(path)` reads the file, validates every key (unknown keys are errors), resolves
`${ENV_VAR}` secrets and cross-checks references (credentials, profiles, topology). Every
problem is reported at once with its key path and, where known, its line:

    tierwatch.yaml:14: devices[3].credentials: unknown credentials 'ops-v4'

Each section's model lives with its room (collector/config.py, alerts/config.py, ...); this
module only assembles them and asks each room to check what a single field cannot.
Secrets are `SecretStr`: their values never reach a repr, a log line or an error message.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError, field_validator

from alerts.config import AlertsConfig, check_alerts, rule_file_warnings
from api.config import ApiConfig
from collector.agents.config import AgentsConfig, agent_warnings, check_agents
from collector.config import (
    CredentialConfig,
    DeviceConfig,
    SnmpConfig,
    check_snmp,
    resolved_credentials,
)
from collector.modbus.config import ModbusConfig, check_modbus
from collector.probes.config import ProbesConfig, check_probes
from collector.snmp.client import Credentials
from collector.traps.config import TrapsConfig, check_traps
from exporters.influx_config import InfluxConfig, influx_warnings
from livetier.config import TierLiveConfig
from nethealth.config import NetHealthConfig, check_nethealth
from power.config import PowerConfig, check_power
from report.config import ReportsConfig, check_reports
from services.config import ServicesConfig, check_services
from tier.quantity import WrittenFloat
from tier.topology import TopologyConfig, validate_topology
from tierwatch.core.configerrors import ConfigError, pydantic_problems
from tierwatch.core.configerrors import read_yaml as read_document
from tierwatch.core.configtypes import (
    SiteConfig,
    Strict,
    check_secrets,
    split_host_port,
)
from tierwatch.core.ha import HaConfig
from tierwatch.core.store.config import StoreConfig

__all__ = ["Config", "ConfigError", "LoadResult", "load", "load_with_warnings", "parse"]


class ServerConfig(Strict):
    listen: str = "127.0.0.1:9650"

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        split_host_port(value, default_port=None)
        return value


class Config(Strict):
    site: SiteConfig
    server: ServerConfig = ServerConfig()
    snmp: SnmpConfig = SnmpConfig()
    credentials: dict[str, CredentialConfig] = Field(default_factory=dict)
    devices: list[DeviceConfig] = Field(default_factory=list)
    store: StoreConfig = StoreConfig()
    agents: AgentsConfig = AgentsConfig()
    probes: ProbesConfig = ProbesConfig()
    modbus: ModbusConfig = ModbusConfig()
    traps: TrapsConfig = TrapsConfig()
    topology: TopologyConfig = TopologyConfig()
    tier: TierLiveConfig = TierLiveConfig()
    influx: InfluxConfig = InfluxConfig()
    alerts: AlertsConfig = AlertsConfig()
    api: ApiConfig = ApiConfig()
    reports: ReportsConfig = ReportsConfig()
    # e-government service checks (services/config.py); the services themselves, what they
    # depend on and who uses them are topology.services (tier/services.py)
    services: ServicesConfig = ServicesConfig()
    nethealth: NetHealthConfig = NetHealthConfig()
    power: PowerConfig = PowerConfig()
    # one member of an active/standby pair (tierwatch/core/ha.py, docs/operations.md)
    ha: HaConfig = Field(default_factory=HaConfig)

    # Where the file came from; set by load(), not read from YAML.
    source: Path | None = Field(default=None, exclude=True)

    def device(self, device_id: str) -> DeviceConfig:
        for device in self.devices:
            if device.id == device_id:
                return device
        raise KeyError(device_id)

    def device_ids(self) -> list[str]:
        """Every device the live state tracks: SNMP devices, host agents, probed links and
        sites. A topology node's `device:` may name any of them."""
        return [*(d.id for d in self.devices), *(h.id for h in self.agents.hosts),
                *(t.id for _, _, t in self.probes.targets()),
                *(m.id for m in self.modbus.devices)]

    def resolved_credentials(self, name: str) -> Credentials:
        """Credentials with secrets read from the environment (checked by load())."""
        return resolved_credentials(self.credentials, name)


# --------------------------------------------------------------------------- loading


@dataclass
class LoadResult:
    config: Config
    warnings: list[str]


def load(path: str | Path) -> Config:
    """Load and validate a config file; raise ConfigError listing every problem."""
    return load_with_warnings(path).config


def load_with_warnings(path: str | Path) -> LoadResult:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror or exc}"]) from None
    return parse(text, path)


# sections that moved, read at their old place for one more release: old path -> new
_MOVED = {("alerts", "traps"): "traps"}


class _Loader(yaml.SafeLoader):
    """The safe loader, with floats that remember their text (tier/quantity.py): the
    topology reads `capacity: 3.6` as exactly 36/10 from what was written."""


def _written_float(loader: yaml.SafeLoader, node: yaml.Node) -> float:
    assert isinstance(node, yaml.ScalarNode)
    return WrittenFloat(loader.construct_yaml_float(node), node.value)


_Loader.add_constructor("tag:yaml.org,2002:float", _written_float)


def read_yaml(text: str) -> Any:
    """YAML text as the config loader reads it: safely, floats keeping their text."""
    return yaml.load(text, Loader=_Loader)  # a SafeLoader subclass


def parse(text: str, path: Path = Path("tierwatch.yaml")) -> LoadResult:
    doc = read_document(text, path, loader=_Loader)
    data = doc.data if doc.data is not None else {}
    if not isinstance(data, dict):
        raise ConfigError([f"{path}:1: the file must be a mapping of sections (site, devices ...)"])
    data, moved = _move_deprecated(data)

    def as_written(key_path: str) -> str:
        """The key where the file has it (a moved section is named at its old place)."""
        for new, old in moved.items():
            if key_path == new or key_path.startswith((new + ".", new + "[")):
                return old + key_path[len(new):]
        return key_path

    def line(key_path: str, message: str) -> str:
        key = as_written(key_path)
        return f"{doc.where(key)}: {key}: {message}"

    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError([line(p, msg) for p, msg in pydantic_problems(exc)]) from None
    # the cross-checks resolve files named relative to the config (services' CA files)
    config = config.model_copy(update={"source": path})

    # the store's URL is a secret of its own kind: only its password may be a ${ENV} (or
    # the whole URL), and a URL without a password is not a secret written in clear
    secret_problems, secret_warnings = check_secrets(config, skip={"store.url"})
    problems = [line(p, msg) for p, msg in [*cross_check(config), *secret_problems]]
    warnings = [line(new, f"deprecated place: move it to the top-level `{new}:` section "
                          "(read here until the next release)") for new in moved]
    warnings += [line(p, msg) for p, msg in
                 [*secret_warnings, *_store_warnings(config.store),
                  *agent_warnings(config.agents), *influx_warnings(config.influx),
                  *rule_file_warnings(config.alerts)]]
    if problems:
        raise ConfigError(problems, warnings)
    return LoadResult(config.model_copy(update={"source": path}), warnings)


def _move_deprecated(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Sections still written at their old place, moved to the new one: (data, new -> old)."""
    moved: dict[str, str] = {}
    for (parent, child), new in _MOVED.items():
        section = data.get(parent)
        if isinstance(section, dict) and child in section and new not in data:
            data = {**data, parent: {k: v for k, v in section.items() if k != child},
                    new: section[child]}
            moved[new] = f"{parent}.{child}"
    return data, moved


def cross_check(config: Config) -> list[tuple[str, str]]:
    """References between sections, and what a single field validator cannot see: each
    room checks its own section with what it needs of the others."""
    device_ids = set(config.device_ids())
    snmp_ids = {d.id for d in config.devices}
    problems = check_snmp(config.snmp, config.credentials, config.devices)
    problems += [("store.url", p) for p in config.store.problems()]
    problems += _check_ha(config)
    problems += _ids_across_sections(config)
    problems += check_agents(config.agents)
    problems += check_probes(config.probes, snmp_ids)
    problems += check_modbus(config.modbus)
    problems += check_traps(config.traps, config.credentials, device_ids)
    problems += check_reports(config.reports, device_ids, config.alerts.smtp)
    # topology nodes bind to any device: SNMP devices, agent hosts, probed links and sites
    for line in validate_topology(config.topology, device_ids):
        key_path, _, message = line.partition(": ")
        problems.append((key_path, message))
    problems += check_alerts(config.alerts, device_ids, config.snmp.profile_dirs)
    problems += check_services(config.services, set(config.topology.services.ids()),
                               {a.id for a in config.topology.services.agencies},
                               config.source.parent if config.source else None)
    problems += check_nethealth(config.nethealth, device_ids)
    problems += check_power(config.power, device_ids, config.topology.node_ids())
    return problems


def _check_ha(config: Config) -> list[tuple[str, str]]:
    """A pair shares its lease and its record through one PostgreSQL database."""
    if not config.ha.enabled or config.store.problems():
        return []
    backend = config.store.resolved_url().get_backend_name()
    if backend != "postgresql":
        return [("ha.enabled", f"an active/standby pair needs a PostgreSQL store both members "
                               f"share (store.url is {backend}); see docs/operations.md")]
    return []


def _store_warnings(store: StoreConfig) -> list[tuple[str, str]]:
    if store.literal_password():
        return [("store.url", "password written literally in the URL; prefer ${ENV_VAR} "
                              "(postgresql+psycopg://user:${PGPASSWORD}@...)")]
    return []


def _ids_across_sections(config: Config) -> list[tuple[str, str]]:
    """Agents, links and sites are devices too: one id, one device, over every section."""
    first = {d.id: f"devices[{i}]" for i, d in reversed(list(enumerate(config.devices)))}
    problems = []
    others = [(f"agents.hosts[{i}]", h.id) for i, h in enumerate(config.agents.hosts)]
    others += [(f"probes.{kind}[{i}]", t.id) for kind, i, t in config.probes.targets()]
    others += [(f"modbus.devices[{i}]", m.id) for i, m in enumerate(config.modbus.devices)]
    for key, device_id in others:
        if device_id in first:
            problems.append((f"{key}.id", f"duplicate device id {device_id!r} "
                                          f"(first at {first[device_id]})"))
        else:
            first[device_id] = key
    return problems


def dump_redacted(config: Config) -> dict[str, Any]:
    """The effective config as plain data, every secret replaced by '**********'."""
    return config.model_dump(mode="json", exclude={"source"})
