"""Value types every config section uses: durations, sizes, ids, label maps, secrets.

They live apart from tierwatch/config.py so that a room's own section model (collector,
alerts, tier ...) can use them while config.py imports that section: no import cycle.
"""

from __future__ import annotations

import os
import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, SecretStr

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
