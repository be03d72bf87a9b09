"""Modbus register maps as data: the YAML schema of a Modbus profile, and where they live.

A profile lists registers: where each is (function table, zero-based protocol address),
how its words become a number (type, word and byte order, scale, offset), which raw values
mean "not available", the plausible range of the result, enum names, and constant labels
(so per-phase registers become one metric with a `phase` label). Status rules are the same
as SNMP profiles' (collector/profile.py): the same conditions, the same component statuses.

    name: power-meter
    component: meter
    registers:
      - {name: meter_power_watts, function: input, address: 3052, type: float32, scale: 1000,
         range: [-1e7, 1e7], help: Total active power}
      - {name: meter_phase_voltage_volts, id: voltage_l1, labels: {phase: "1"},
         function: input, address: 3028, type: float32, range: [0, 1000]}
    status:
      - {when: {metric: meter_comm_ok, in: [lost]}, status: failed}
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from collector import profile_files
from collector.profile import CompiledRule, LabelName, MetricName, StatusRule, rule_metric_names

SHIPPED = Path(__file__).resolve().parent / "profiles"

Function = Literal["holding", "input", "coil", "discrete"]
ValueType = Literal["uint16", "int16", "uint32", "int32", "float32", "bool"]
# registers each type occupies (a coil or discrete input is one bit)
WIDTH: dict[str, int] = {"uint16": 1, "int16": 1, "uint32": 2, "int32": 2, "float32": 2,
                         "bool": 1}
# the Modbus limits of one read (Modbus Application Protocol V1.1b3, 6.1-6.4)
MAX_REGISTERS_PER_READ = 125
MAX_BITS_PER_READ = 2000


class ModbusProfileError(Exception):
    """A Modbus profile file that cannot be used; the message names the file and the key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RegisterDef(_Strict):
    """One value on the device: `width` registers (or one bit) at `address`."""

    name: MetricName
    function: Function = "holding"
    address: Annotated[int, Field(ge=0, le=65535)]
    type: ValueType = "uint16"
    # 32-bit values: which register holds the high word. "big" (AB CD, Modbus's own order)
    # or "little" (CD AB, as many meters send floats)
    word_order: Literal["big", "little"] = "big"
    # within each register: "big" as the protocol says, "little" for devices that swap
    byte_order: Literal["big", "little"] = "big"
    scale: float = 1.0
    offset: float = 0.0
    help: str = ""
    kind: Literal["gauge", "counter"] = "gauge"
    enum: dict[int, str] | None = None
    # raw values the device uses for "not measured" (0xFFFF, 0x7FFF ...): no sample
    unavailable: list[int] = Field(default_factory=list)
    # plausible values after scaling: outside them (or NaN, infinite) the reading is refused
    # and counted, never shown; a float sent in another word order lands here
    range: tuple[float, float] | None = None
    labels: dict[LabelName, str] = Field(default_factory=dict)
    # what status rules call it when two registers share a name (per-phase values)
    id: MetricName | None = None

    @property
    def key(self) -> str:
        return self.id or self.name

    @property
    def width(self) -> int:
        return WIDTH[self.type]

    @property
    def bit(self) -> bool:
        return self.function in ("coil", "discrete")

    def where(self) -> str:
        """How error messages name it: 'holding register 1027' or 'coil 12'."""
        if self.bit:
            return f"{'discrete input' if self.function == 'discrete' else 'coil'} {self.address}"
        return f"{self.function} register {self.address}"

    @model_validator(mode="after")
    def _consistent(self) -> RegisterDef:
        if self.bit != (self.type == "bool"):
            raise ValueError("coils and discrete inputs are type bool; registers are not")
        if self.address + self.width > 65536:
            raise ValueError(f"address {self.address} + {self.width} registers passes 65535")
        if self.kind == "counter" and not self.name.endswith("_total"):
            raise ValueError(f"counter {self.name!r} must end in _total")
        if self.enum is not None and self.type == "float32":
            raise ValueError("an enum needs an integer type")
        if self.range is not None and self.range[0] > self.range[1]:
            raise ValueError("range: the low end is above the high end")
        if "state" in self.labels:
            raise ValueError("'state' is the label of state sets")
        return self


class ModbusProfileDef(_Strict):
    name: str
    description: str = ""
    include: list[str] = Field(default_factory=list)
    component: str | None = None  # the component the status rules describe
    registers: list[RegisterDef] = Field(min_length=1)
    status: list[StatusRule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _rules_name_registers(self) -> ModbusProfileDef:
        keys = [r.key for r in self.registers]
        doubled = sorted({k for k in keys if keys.count(k) > 1})
        if doubled:
            raise ValueError(f"registers: {doubled} defined twice; give each an `id`")
        for rule in self.status:
            for name in rule_metric_names(rule.when):
                if name not in keys:
                    raise ValueError(f"status rule refers to unknown register {name!r}")
        if self.status and not self.component:
            raise ValueError("status rules need `component:`")
        return self


class ModbusProfile:
    """A loaded profile with its rules compiled."""

    def __init__(self, definition: ModbusProfileDef) -> None:
        self.definition = definition
        self.name = definition.name
        self.rules = [CompiledRule(r.when, r.status, r.condition, r.reason)
                      for r in definition.status]

    def __repr__(self) -> str:
        return f"ModbusProfile({self.name!r})"


def _dirs(extra: Iterable[Path]) -> list[Path]:
    return [*(Path(d) for d in extra), SHIPPED]


def known_profiles(extra_dirs: Iterable[Path] = ()) -> dict[str, Path]:
    """Profile name -> file, earlier directories winning (a site overrides a shipped map)."""
    return profile_files.find(_dirs(extra_dirs))


@lru_cache(maxsize=256)
def _load_cached(path: Path, _mtime: int, _size: int) -> ModbusProfile:
    return ModbusProfile(profile_files.read(path, ModbusProfileDef.model_validate,
                                            ModbusProfileError))


def load_profile_file(path: Path) -> ModbusProfile:
    stat = path.stat()
    return _load_cached(path, stat.st_mtime_ns, stat.st_size)


def load_profiles(names: Sequence[str], extra_dirs: Iterable[Path] = ()) -> list[ModbusProfile]:
    """The named profiles and everything they include, each once, includes first."""
    return profile_files.resolve(names, known_profiles(extra_dirs), load_profile_file,
                                 lambda p: p.definition.include, ModbusProfileError,
                                 "Modbus profile")
