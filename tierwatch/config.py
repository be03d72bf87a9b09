"""tierwatch.yaml: the pydantic model, validated once at the edge.

`load(path)` reads the file, validates every key (unknown keys are errors), resolves
`${ENV_VAR}` secrets and cross-checks references (credentials, profiles, topology). Every
problem is reported at once with its key path and, where known, its line:

    tierwatch.yaml:14: devices[3].credentials: unknown credentials 'ops-v4'

Secrets are `SecretStr`: their values never reach a repr, a log line or an error message.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BeforeValidator,
    Field,
    SecretStr,
    ValidationError,
    field_serializer,
    field_validator,
    model_validator,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from alerts.config import AlertsConfig, rule_file_warnings
from api.config import ApiConfig
from collector.agent_config import AgentsConfig, agent_secret_warnings, check_agents
from collector.probe_config import ProbesConfig, check_probes
from collector.snmp.client import Credentials
from exporters.influx_config import InfluxConfig, check_influx, influx_secret_warnings
from tier.quantity import WrittenFloat
from tier.report.config import ReportsConfig, check_reports
from tier.topology import TopologyConfig, validate_topology
from tierwatch.configtypes import (
    ENV_REF,
    Duration,
    Interval,
    Strict,
    check_device_id,
    check_label_names,
    expand,
    reveal,
    unset_reference,
)
from tierwatch.configtypes import parse_duration as parse_duration  # used by tests and rooms
from tierwatch.liveconfig import TierLiveConfig

# --------------------------------------------------------------------------- value types

_ENV_REF = ENV_REF


def _version(value: object) -> str:
    text = str(value).strip().lower().removeprefix("v")
    if text in ("1", "2c", "3"):
        return text
    if text == "2":
        return "2c"
    raise ValueError("SNMP version must be 1, 2c or 3")


# --------------------------------------------------------------------------- sections


class SiteConfig(Strict):
    name: str
    timezone: str = "Asia/Ho_Chi_Minh"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from None
        return value


class ServerConfig(Strict):
    listen: str = "127.0.0.1:9650"

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        split_host_port(value, default_port=None)
        return value


class SnmpDefaults(Strict):
    interval: Interval = 30.0
    timeout: Duration = 2.0  # per request attempt
    retries: int = Field(default=1, ge=0, le=10)
    max_repetitions: int = Field(default=25, ge=1, le=200)
    # a walk that returns more rows than this is cut and counted (an agent that never ends)
    max_rows: int = Field(default=100_000, ge=1)


class SnmpConfig(Strict):
    # native: our own v1/v2c/v3 codec (fast); pysnmp: the reference; snmpkit: optional (AGPL)
    engine: Literal["native", "pysnmp", "snmpkit"] = "native"
    defaults: SnmpDefaults = SnmpDefaults()
    # polls in flight at once over all devices
    concurrency: int = Field(default=64, ge=1, le=10_000)
    # consecutive failed polls before a device is declared unreachable (status unknown)
    unreachable_after: int = Field(default=3, ge=1, le=100)
    # random delay added to each device's first poll, as a share of its interval
    jitter: float = Field(default=0.1, ge=0.0, le=1.0)
    # extra directories of profile files, searched before the shipped ones
    profile_dirs: list[Path] = Field(default_factory=list)


class CredentialConfig(Strict):
    version: Annotated[Literal["1", "2c", "3"], BeforeValidator(_version)]
    community: SecretStr | None = None
    user: str | None = None
    auth_protocol: Literal["MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512"] | None = None
    auth_key: SecretStr | None = None
    priv_protocol: Literal["DES", "AES", "AES192", "AES256"] | None = None
    priv_key: SecretStr | None = None
    context: str = ""

    @field_validator("auth_protocol", "priv_protocol", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.upper().replace("-", "")
            return {"SHA1": "SHA", "AES128": "AES"}.get(value, value)
        return value

    @model_validator(mode="after")
    def _fields_for_version(self) -> CredentialConfig:
        if self.version in ("1", "2c"):
            if self.community is None:
                raise ValueError(f"version {self.version} needs a community")
            extra = [k for k in ("user", "auth_protocol", "auth_key", "priv_protocol",
                                 "priv_key") if getattr(self, k) is not None]
            if extra:
                verb = "applies" if len(extra) == 1 else "apply"
                raise ValueError(f"{', '.join(extra)} only {verb} to version 3")
        else:
            if not self.user:
                raise ValueError("version 3 needs a user")
            if self.community is not None:
                raise ValueError("community does not apply to version 3 (use user and keys)")
            if (self.auth_protocol is None) != (self.auth_key is None):
                raise ValueError("auth_protocol and auth_key go together")
            if (self.priv_protocol is None) != (self.priv_key is None):
                raise ValueError("priv_protocol and priv_key go together")
            if self.priv_protocol and not self.auth_protocol:
                raise ValueError("privacy needs authentication (authPriv)")
        return self

    def secret_fields(self) -> Iterable[tuple[str, SecretStr]]:
        for key in ("community", "auth_key", "priv_key"):
            value = getattr(self, key)
            if value is not None:
                yield key, value


def _profile_list(value: object) -> object:
    if isinstance(value, str):
        return [value]
    return value


class DeviceConfig(Strict):
    id: str
    address: str
    credentials: str
    profile: Annotated[list[str], BeforeValidator(_profile_list), Field(min_length=1)] = [  # noqa: RUF012 (pydantic copies defaults)
        "auto"]
    name: str | None = None
    interval: Interval | None = None
    timeout: Duration | None = None
    retries: int | None = Field(default=None, ge=0, le=10)
    max_repetitions: int | None = Field(default=None, ge=1, le=200)
    # extra labels put on every sample of this device (room, rack, owner ...)
    labels: dict[str, str] = Field(default_factory=dict)

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        return check_device_id(value)

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        split_host_port(value.removeprefix("udp://"), default_port=161)
        return value

    @field_validator("labels")
    @classmethod
    def _label_names(cls, value: dict[str, str]) -> dict[str, str]:
        return check_label_names(value)

    @property
    def host_port(self) -> tuple[str, int]:
        host, port = split_host_port(self.address.removeprefix("udp://"), default_port=161)
        assert port is not None
        return host, port


def _parse_url(text: str) -> URL:
    """An SQLAlchemy URL, or a ValueError that does not repeat the text (SQLAlchemy's own
    error quotes it whole, password and all)."""
    try:
        return make_url(text)
    except (ArgumentError, ValueError):
        raise ValueError("not an SQLAlchemy URL (dialect+driver://user:password@host:port/"
                         "database, e.g. postgresql+psycopg://tierwatch:${PGPASSWORD}@db/"
                         "tierwatch)") from None


class StoreConfig(Strict):
    """`store.url`: an SQLAlchemy URL; SQLite by default, PostgreSQL for shared and sharded
    installs. A secret, as the credentials are: the whole URL may be `${ENV_VAR}`, or its
    password alone (postgresql+psycopg://tierwatch:${PGPASSWORD}@db:5432/tierwatch); the
    variable's value is taken as it is (no %-escapes needed). Shown anywhere (a dump, an
    error) only as written, with a literal password as ***."""

    url: SecretStr = SecretStr("sqlite:///tierwatch.sqlite")

    @field_validator("url")
    @classmethod
    def _a_url(cls, value: SecretStr) -> SecretStr:
        raw = value.get_secret_value()
        if not ENV_REF.match(raw):  # a whole-URL reference is checked by cross_check()
            _parse_url(raw)
        return value

    @field_serializer("url")
    def _as_written(self, value: SecretStr) -> str:
        raw = value.get_secret_value()
        if ENV_REF.match(raw):
            return raw
        url = _parse_url(raw)
        if self._literal_password(url):
            return url.render_as_string(hide_password=True)
        return raw  # no password, or a ${ENV_VAR} one: nothing secret in the text

    @staticmethod
    def _literal_password(url: URL) -> bool:
        return bool(url.password) and not ENV_REF.match(str(url.password))

    def _written(self) -> URL | None:
        """The URL as the file writes it; None when it comes whole from the environment."""
        raw = self.url.get_secret_value()
        return None if ENV_REF.match(raw) else _parse_url(raw)

    def resolved_url(self) -> URL:
        """The URL to connect with, `${ENV_VAR}` references read (checked by load()). An
        SQLAlchemy URL object: it renders itself with the password as ***."""
        url = self._written()
        if url is None:  # the variable's value is used as it is: no nested references
            return _parse_url(expand(self.url.get_secret_value()))
        if url.password is not None and ENV_REF.match(str(url.password)):
            url = url.set(password=expand(str(url.password)))
        return url

    def problems(self) -> list[str]:
        """What load() reports: a variable that is not set, or one that holds no URL."""
        raw = self.url.get_secret_value()
        url = self._written()
        if url is None:
            if (name := unset_reference(raw)) is not None:
                return [f"environment variable {name} is not set"]
            try:
                _parse_url(expand(raw))
            except ValueError:
                return [f"environment variable {raw[2:-1]} does not hold an SQLAlchemy URL"]
            return []
        name = unset_reference(str(url.password)) if url.password is not None else None
        return [] if name is None else [f"environment variable {name} is not set"]

    def literal_password(self) -> bool:
        """The file holds a password in clear (warned about by load())."""
        url = self._written()
        return url is not None and self._literal_password(url)


class Config(Strict):
    site: SiteConfig
    server: ServerConfig = ServerConfig()
    snmp: SnmpConfig = SnmpConfig()
    credentials: dict[str, CredentialConfig] = Field(default_factory=dict)
    devices: list[DeviceConfig] = Field(default_factory=list)
    store: StoreConfig = StoreConfig()
    agents: AgentsConfig = AgentsConfig()
    probes: ProbesConfig = ProbesConfig()
    topology: TopologyConfig = TopologyConfig()
    tier: TierLiveConfig = TierLiveConfig()
    influx: InfluxConfig = InfluxConfig()
    alerts: AlertsConfig = AlertsConfig()
    api: ApiConfig = ApiConfig()
    reports: ReportsConfig = ReportsConfig()

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
                *(t.id for _, _, t in self.probes.targets())]

    def resolved_credentials(self, name: str) -> Credentials:
        """Credentials with secrets read from the environment (checked by load())."""
        cred = self.credentials[name]
        return Credentials(
            version=cred.version,
            community=_reveal(cred.community),
            user=cred.user or "",
            auth_protocol=cred.auth_protocol,
            auth_key=_reveal(cred.auth_key),
            priv_protocol=cred.priv_protocol,
            priv_key=_reveal(cred.priv_key),
            context=cred.context,
        )


_reveal = reveal


def split_host_port(value: str, default_port: int | None) -> tuple[str, int | None]:
    """'host', 'host:port', '[v6]:port' -> (host, port). Raises ValueError with the reason."""
    text = value.strip()
    if not text:
        raise ValueError("address is empty")
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep:
            raise ValueError(f"{value!r}: missing ']' after an IPv6 address")
        port_text = rest.removeprefix(":") if rest else ""
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    else:
        host, port_text = text, ""  # a bare IPv6 address or a host name
    if not host:
        raise ValueError(f"{value!r}: no host")
    if not port_text:
        if default_port is None:
            raise ValueError(f"{value!r}: needs host:port")
        return host, default_port
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ValueError(f"{value!r}: port must be a number from 0 to 65535")
    return host, int(port_text)


# --------------------------------------------------------------------------- loading


@dataclass
class ConfigError(Exception):
    """The file cannot be used. `problems` are complete lines: 'file:line: key.path: message'."""

    problems: list[str]
    warnings: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join(self.problems)


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
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = read_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([f"{at}: not valid YAML: {problem}"]) from None
    lines = _line_index(root)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError([f"{path}:1: the file must be a mapping of sections (site, devices ...)"])

    def where(key_path: str) -> str:
        line = _nearest_line(lines, key_path)
        return f"{path}:{line}" if line else str(path)

    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        problems = [f"{where(p)}: {p}: {msg}" for p, msg in _pydantic_problems(exc)]
        raise ConfigError(problems) from None

    problems = [f"{where(p)}: {p}: {msg}" for p, msg in cross_check(config)]
    warnings = [f"{where(p)}: {p}: {msg}"
                for p, msg in _literal_secret_warnings(config) + rule_file_warnings(config)]
    if problems:
        raise ConfigError(problems, warnings)
    return LoadResult(config.model_copy(update={"source": path}), warnings)


def cross_check(config: Config) -> list[tuple[str, str]]:
    """References between sections, and what a single field validator cannot see."""
    from collector.profiles import known_profiles  # deferred: profiles load YAML files

    problems: list[tuple[str, str]] = []
    seen: dict[str, int] = {}
    known = known_profiles(config.snmp.profile_dirs)
    for i, device in enumerate(config.devices):
        key = f"devices[{i}]"
        if device.id in seen:
            problems.append((f"{key}.id", f"duplicate device id {device.id!r} "
                             f"(first at devices[{seen[device.id]}])"))
        seen.setdefault(device.id, i)
        if device.credentials not in config.credentials:
            names = ", ".join(sorted(config.credentials)) or "none defined"
            problems.append((f"{key}.credentials",
                             f"unknown credentials {device.credentials!r} (known: {names})"))
        for j, name in enumerate(device.profile):
            if name == "auto":
                if len(device.profile) > 1:
                    problems.append((f"{key}.profile[{j}]",
                                     "'auto' cannot be combined with other profiles"))
            elif name not in known:
                problems.append((f"{key}.profile[{j}]" if len(device.profile) > 1
                                 else f"{key}.profile",
                                 f"unknown profile {name!r} (known: {', '.join(sorted(known))})"))
    for name, cred in config.credentials.items():
        for key, secret in cred.secret_fields():
            ref = _ENV_REF.match(secret.get_secret_value())
            if ref and ref.group(1) not in os.environ:
                problems.append((f"credentials.{name}.{key}",
                                 f"environment variable {ref.group(1)} is not set"))
    problems.extend(("store.url", p) for p in config.store.problems())
    problems.extend(_ids_across_sections(config))
    problems.extend(check_agents(config))
    problems.extend(check_probes(config))
    problems.extend(check_influx(config))
    problems.extend(check_reports(config.reports, set(config.device_ids()),
                                  config.alerts.smtp))
    # topology nodes bind to any device: SNMP devices, agent hosts, probed links and sites
    for line in validate_topology(config.topology, set(config.device_ids())):
        key_path, _, message = line.partition(": ")
        problems.append((key_path, message))
    from alerts.config import cross_check as alerts_cross_check

    problems.extend(alerts_cross_check(config))
    return problems


def _ids_across_sections(config: Config) -> list[tuple[str, str]]:
    """Agents, links and sites are devices too: one id, one device, over every section."""
    first = {d.id: f"devices[{i}]" for i, d in reversed(list(enumerate(config.devices)))}
    problems = []
    others = [(f"agents.hosts[{i}]", h.id) for i, h in enumerate(config.agents.hosts)]
    others += [(f"probes.{kind}[{i}]", t.id) for kind, i, t in config.probes.targets()]
    for key, device_id in others:
        if device_id in first:
            problems.append((f"{key}.id", f"duplicate device id {device_id!r} "
                                          f"(first at {first[device_id]})"))
        else:
            first[device_id] = key
    return problems


def _literal_secret_warnings(config: Config) -> list[tuple[str, str]]:
    warnings = agent_secret_warnings(config) + influx_secret_warnings(config)
    for name, cred in config.credentials.items():
        for key, secret in cred.secret_fields():
            if not _ENV_REF.match(secret.get_secret_value()):
                warnings.append((f"credentials.{name}.{key}",
                                 "secret written literally in the file; prefer ${ENV_VAR}"))
    if config.store.literal_password():
        warnings.append(("store.url", "password written literally in the URL; prefer "
                                      "${ENV_VAR} (postgresql+psycopg://user:${PGPASSWORD}@...)"))
    smtp = config.alerts.smtp
    if smtp is not None and smtp.password is not None and not _ENV_REF.match(
            smtp.password.get_secret_value()):
        warnings.append(("alerts.smtp.password",
                         "secret written literally in the file; prefer ${ENV_VAR}"))
    return warnings


def _pydantic_problems(exc: ValidationError) -> list[tuple[str, str]]:
    out = []
    for err in exc.errors(include_url=False, include_input=False):
        parts: list[str] = []
        for item in err["loc"]:
            if isinstance(item, int):
                parts.append(f"[{item}]")
            elif _is_branch_tag(str(item)):
                continue  # pydantic names union branches in loc; operators do not need them
            else:
                parts.append(("." if parts else "") + str(item))
        key = "".join(parts) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling; see docs/configuration.md)"
        elif err["type"] == "missing":
            msg = "required key is missing"
        out.append((key, msg))
    return out


def _is_branch_tag(item: str) -> bool:
    return item in {"str", "int", "float", "list[str]", "dict[str,any]", "function-after",
                    "function-before", "function-plain", "literal['1','2c','3']"} or (
        item.startswith(("function-", "literal[", "tagged-union[", "json-or-python["))
    )


def _line_index(root: yaml.Node | None) -> dict[str, int]:
    """Map key paths ('devices[3].credentials') to 1-based line numbers in the YAML text."""
    index: dict[str, int] = {}

    def walk(node: yaml.Node, key: str) -> None:
        index.setdefault(key, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for k_node, v_node in node.value:
                child = f"{key}.{k_node.value}" if key else str(k_node.value)
                index[child] = k_node.start_mark.line + 1
                walk(v_node, child)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, f"{key}[{i}]")

    if root is not None:
        walk(root, "")
    return index


def _nearest_line(index: dict[str, int], key_path: str) -> int | None:
    """The line of the key, or of its closest ancestor that the file has."""
    probe = key_path
    while probe:
        if probe in index:
            return index[probe]
        cut = max(probe.rfind("."), probe.rfind("["))
        probe = probe[:cut] if cut > 0 else ""
    return None


def dump_redacted(config: Config) -> dict[str, Any]:
    """The effective config as plain data, every secret replaced by '**********'."""
    return config.model_dump(mode="json", exclude={"source"})
