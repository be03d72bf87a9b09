"""Value types every config section uses: durations, sizes, ids, label maps, addresses,
secrets, and the `site:` section every room reads.

Each room's section model (collector, alerts, livetier ...) is built from these; the root
model in tierwatch/config.py assembles the sections.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Iterator
from typing import Annotated, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    SecretStr,
    field_validator,
)

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}

ENV_REF = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def parse_duration(value: object) -> float:
    """`30s`, `1m`, `1m30s`, `500ms`, `2h` or a number of seconds -> seconds."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 30s, 1m or a number of seconds")
    if isinstance(value, int | float):
        return float(value)
    if not isinstance(value, str):
        raise ValueError("expected a duration such as 30s, 1m or a number of seconds")
    text = value.strip()
    try:
        return float(text)
    except ValueError:
        pass
    pos, total = 0, 0.0
    for match in _DURATION.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        pos = match.end()
    if pos != len(text) or not text:
        raise ValueError(f"{value!r} is not a duration (use e.g. 30s, 1m, 1m30s, 500ms)")
    return total


def _at_least_1s(value: float) -> float:
    if value < 1.0:
        raise ValueError("must be at least 1s")
    return value


def _positive(value: float) -> float:
    if value <= 0:
        raise ValueError("must be more than 0")
    return value


Duration = Annotated[float, BeforeValidator(parse_duration), AfterValidator(_positive)]
Interval = Annotated[float, BeforeValidator(parse_duration), AfterValidator(_at_least_1s)]

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kKmMgG]i?[bB]?|[bB])?\s*$")
_SIZE_UNITS = {"": 1, "b": 1, "k": 1000, "m": 1000**2, "g": 1000**3,
               "ki": 1024, "mi": 1024**2, "gi": 1024**3}


def parse_size(value: object) -> int:
    """`10MB`, `512KiB`, `1GB` or a number of bytes -> bytes."""
    if isinstance(value, bool):
        raise ValueError("expected a size such as 10MB, 512KiB or a number of bytes")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and (match := _SIZE.match(value)):
        unit = (match.group(2) or "").lower().removesuffix("b")
        return int(float(match.group(1)) * _SIZE_UNITS[unit])
    raise ValueError(f"{value!r} is not a size (use e.g. 10MB, 512KiB or bytes)")


def _positive_int(value: int) -> int:
    if value <= 0:
        raise ValueError("must be more than 0")
    return value


ByteSize = Annotated[int, BeforeValidator(parse_size), AfterValidator(_positive_int)]

_DEVICE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


def check_device_id(value: str) -> str:
    if not _DEVICE_ID.fullmatch(value):
        raise ValueError(f"{value!r}: a device id is letters, digits, '.', '_', ':' and "
                         "'-', starting with a letter or digit")
    return value


def check_label_names(value: dict[str, str]) -> dict[str, str]:
    """Extra labels a device puts on its samples: valid names, never `device` itself."""
    for key in value:
        if not _LABEL_NAME.fullmatch(key) or key.startswith("__"):
            raise ValueError(f"{key!r} is not a valid Prometheus label name")
        if key == "device":
            raise ValueError("'device' is set by tierwatch itself")
    return value


DeviceId = Annotated[str, AfterValidator(check_device_id)]
Labels = Annotated[dict[str, str], AfterValidator(check_label_names)]


def expand(value: str) -> str:
    """`${NAME}` -> the environment variable's value (load() checks it is set); any other
    text is taken literally, as written."""
    ref = ENV_REF.match(value)
    if ref:
        return os.environ.get(ref.group(1), "")
    return value


def unset_reference(value: str) -> str | None:
    """The name of the variable a `${NAME}` value refers to, if it is not set."""
    ref = ENV_REF.match(value)
    return ref.group(1) if ref and ref.group(1) not in os.environ else None


def reveal(secret: SecretStr | None) -> str:
    """A secret's value: `${ENV}` references read from the environment (checked at load)."""
    if secret is None:
        return ""
    return expand(secret.get_secret_value())


LITERAL_SECRET = "secret written literally in the file; prefer ${ENV_VAR}"


def secret_fields(model: BaseModel, prefix: str = "") -> Iterator[tuple[str, SecretStr]]:
    """Every secret in a config model, with its key path (`credentials.ops.auth_key`)."""
    for name, value in model:
        yield from _secrets_in(value, f"{prefix}.{name}" if prefix else name)



def _secrets_in(value: Any, key: str) -> Iterator[tuple[str, SecretStr]]:
    if isinstance(value, SecretStr):
        yield key, value
    elif isinstance(value, BaseModel):
        yield from secret_fields(value, key)
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from _secrets_in(item, f"{key}[{i}]")
    elif isinstance(value, dict):
        for name, item in value.items():
            yield from _secrets_in(item, f"{key}.{name}")


def check_secrets(model: BaseModel, skip: Collection[str] = ()
                  ) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(problems, warnings) for every secret of a config but those at the `skip` key paths:
    a `${ENV}` reference to a variable that is not set is a problem; a secret written
    literally is a warning."""
    problems: list[tuple[str, str]] = []
    warnings: list[tuple[str, str]] = []
    for key, secret in secret_fields(model):
        if key in skip:
            continue
        ref = ENV_REF.match(secret.get_secret_value())
        if ref is None:
            warnings.append((key, LITERAL_SECRET))
        elif ref.group(1) not in os.environ:
            problems.append((key, f"environment variable {ref.group(1)} is not set"))
    return problems, warnings


def sent_in_clear(url: str) -> bool:
    """Whether a secret sent to `url` crosses the network unencrypted (plain http to anything
    but this host)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    return parts.scheme == "http" and not (host in ("localhost", "::1")
                                           or host.startswith("127."))


IN_CLEAR = "sent over plain http, the token crosses the network in clear (use https)"


# --------------------------------------------------------------------------- addresses


def split_host_port(value: str, default_port: int | None) -> tuple[str, int | None]:
    """'host', 'host:port', '[v6]:port' -> (host, port). Raises ValueError with the reason."""
    text = value.strip()
    if not text:
        raise ValueError("address is empty")
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep:
            raise ValueError(f"{value!r}: missing ']' after an IPv6 address")
        if rest and not rest.startswith(":"):
            raise ValueError(f"{value!r}: ':port' expected after ']'")
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


def host_port(value: str, default_port: int) -> tuple[str, int]:
    """split_host_port with a default port: always a port."""
    host, port = split_host_port(value, default_port)
    assert port is not None
    return host, port


# --------------------------------------------------------------------------- site


class SiteConfig(Strict):
    """`site:`: the site's name and time zone (reports, maintenance windows, schedules)."""

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
